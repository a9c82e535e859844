"""Every text the pages show, in Bahasa Indonesia and English, by key.

Codes of the shared vocabulary (`jejaring.shared.contract.enums`) carry their own labels; this
catalogue holds everything else. Keys are English and dotted by page or topic; `{name}`
placeholders are filled by `Translator`. A test checks that every key a template or module uses
is here, and that each entry has both languages.
"""

from __future__ import annotations

from jejaring.shared.contract.enums import Lang

_MONTHS = {
    "id": (
        "Januari", "Februari", "Maret", "April", "Mei", "Juni",
        "Juli", "Agustus", "September", "Oktober", "November", "Desember",
    ),
    "en": (
        "January", "February", "March", "April", "May", "June",
        "July", "August", "September", "October", "November", "December",
    ),
}  # fmt: skip

CATALOGUE: dict[str, tuple[str, str]] = {
    # --- every page ---
    "title.error": ("Kesalahan", "Error"),
    "skip_to_content": ("Langsung ke isi", "Skip to main content"),
    "nav.tools": ("Bahasa dan akun", "Language and account"),
    "language.switch": ("English", "Bahasa Indonesia"),
    "sign_out": ("Keluar", "Sign out"),
    "kelurahan": ("Kelurahan", "Kelurahan"),
    "footer": (
        "Jejaring PPATBM Kecamatan Balikpapan Tengah. Data korban rahasia: jangan "
        "tinggalkan ponsel dalam keadaan masuk.",
        "Jejaring, PPATBM Balikpapan Tengah. Victims' data is confidential: do not leave a "
        "phone signed in.",
    ),
    "errors.title": ("Ada yang perlu diperbaiki", "There is a problem"),
    "errors.prefix": ("Kesalahan", "Error"),
    "back_to_start": ("Kembali ke halaman awal", "Back to the start page"),
    "continue": ("Lanjut", "Continue"),
    "back": ("Kembali", "Back"),
    "change": ("Ubah", "Change"),
    "yes": ("Ya", "Yes"),
    "no": ("Tidak", "No"),
    "years": ("tahun", "years"),
    # --- signing in ---
    "sign_in.title": ("Masuk ke Jejaring", "Sign in to Jejaring"),
    "sign_in.lead": (
        "Masuk dengan nama pengguna dan kata sandi Anda.",
        "Sign in with your user name and password.",
    ),
    "sign_in.login": ("Nama pengguna", "User name"),
    "sign_in.login_hint": (
        "Nama pengguna yang diberikan admin kepada Anda.",
        "The user name the admin gave you.",
    ),
    "sign_in.password": ("Kata sandi", "Password"),
    "sign_in.button": ("Masuk", "Sign in"),
    "sign_in.login_missing": ("Isi nama pengguna Anda", "Enter your user name"),
    "sign_in.password_missing": ("Isi kata sandi Anda", "Enter your password"),
    "sign_in.failed": (
        "Nama pengguna atau kata sandi salah. Periksa lalu coba lagi.",
        "The user name or password is wrong. Check them and try again.",
    ),
    "sign_in.first_time": ("Pertama kali masuk?", "Signing in for the first time?"),
    "sign_in.set_password_link": (
        "Buat kata sandi dengan kode dari admin",
        "Set your password with the code from the admin",
    ),
    "notice.password_set": (
        "Kata sandi Anda sudah tersimpan. Silakan masuk.",
        "Your password is set. You can sign in now.",
    ),
    "notice.signed_out": ("Anda sudah keluar.", "You have signed out."),
    # --- setting a password ---
    "set_password.title": ("Buat kata sandi", "Set your password"),
    "set_password.lead": (
        "Admin memberi Anda nama pengguna dan kode sekali pakai. Kode hanya berlaku satu kali.",
        "The admin gave you a user name and a one-time code. The code works once only.",
    ),
    "set_password.code": ("Kode sekali pakai", "One-time code"),
    "set_password.code_hint": (
        "Kode dari admin, persis seperti yang tertulis.",
        "The code from the admin, exactly as written.",
    ),
    "set_password.password": ("Kata sandi baru", "New password"),
    "set_password.password_hint": (
        "Pilih kata sandi yang panjang dan mudah Anda ingat. Jangan pakai tanggal lahir atau nama.",
        "Choose a long password you can remember. Do not use a birthday or a name.",
    ),
    "set_password.password_again": ("Ulangi kata sandi baru", "Enter the new password again"),
    "set_password.button": ("Simpan kata sandi", "Save password"),
    "set_password.code_missing": ("Isi kode sekali pakai", "Enter the one-time code"),
    "set_password.password_missing": ("Isi kata sandi baru", "Enter a new password"),
    "set_password.mismatch": (
        "Kedua kata sandi tidak sama. Ketik ulang.",
        "The two passwords are not the same. Type them again.",
    ),
    "set_password.failed": (
        "Nama pengguna atau kode salah, atau kode sudah dipakai. Minta kode baru kepada admin "
        "bila perlu.",
        "The user name or code is wrong, or the code was used already. Ask the admin for a new "
        "code if needed.",
    ),
    # --- start pages of the roles whose pages come later ---
    # --- problems ---
    "not_found.title": ("Halaman tidak ditemukan", "Page not found"),
    "not_found.body": (
        "Halaman ini tidak ada, atau Anda tidak berhak melihatnya. Kasus hanya dapat dilihat "
        "oleh petugas kelurahannya.",
        "This page does not exist, or you may not see it. A case can be seen only by the "
        "officers of its kelurahan.",
    ),
    "unavailable.title": ("Layanan sedang tidak tersedia", "The service is not available"),
    "unavailable.body": (
        "Jejaring tidak dapat dihubungi saat ini. Tunggu sebentar lalu coba lagi.",
        "Jejaring cannot be reached right now. Wait a moment and try again.",
    ),
    "stale_form.title": ("Formulir sudah kedaluwarsa", "The form has expired"),
    "stale_form.body": (
        "Formulir ini sudah lama dibuka atau berasal dari halaman lama. Buka halamannya lagi "
        "lalu isi kembali.",
        "This form was open for a long time or came from an old page. Open the page again "
        "and fill it in again.",
    ),
    "too_large.title": ("Isian terlalu panjang", "Too much text"),
    "too_large.body": (
        "Isian formulir terlalu panjang untuk dikirim. Persingkat keterangannya.",
        "The form holds too much text to send. Shorten the description.",
    ),
    # --- the list of cases ---
    "cases.title": ("Kasus", "Cases"),
    "cases.lead": (
        "Kasus di Kelurahan {kelurahan}, yang terbaru di atas.",
        "Cases in Kelurahan {kelurahan}, newest first.",
    ),
    "cases.record": ("Catat kasus baru", "Record a new case"),
    "cases.filter": ("Saring daftar", "Filter the list"),
    "cases.filter.status": ("Status", "Status"),
    "cases.filter.risk": ("Tingkat risiko", "Risk level"),
    "cases.filter.any": ("Semua", "Any"),
    "cases.filter.from": ("Dilaporkan sejak", "Reported from"),
    "cases.filter.to": ("Dilaporkan sampai", "Reported until"),
    "cases.filter.apply": ("Terapkan saringan", "Apply filters"),
    "cases.filter.clear": ("Hapus saringan", "Clear filters"),
    "cases.count": ("{total} kasus", "{total} cases"),
    "cases.none": ("Belum ada kasus yang cocok.", "No matching cases yet."),
    "cases.reported": ("Dilaporkan", "Reported"),
    "cases.pages": ("Halaman daftar", "List pages"),
    "cases.previous": ("Sebelumnya", "Previous"),
    "cases.next": ("Berikutnya", "Next"),
    "cases.page_of": ("Halaman {page} dari {pages}", "Page {page} of {pages}"),
    "cases.back": ("Kembali ke daftar kasus", "Back to the cases"),
    # --- one case ---
    "case.title": ("Kasus {reference}", "Case {reference}"),
    "case.recorded": ("Kasus tercatat", "Case recorded"),
    "case.reference": ("Nomor kasus", "Case reference"),
    "case.risk": ("Risiko", "Risk"),
    "case.status.open": ("Terbuka", "Open"),
    "case.status.closed": ("Ditutup", "Closed"),
    "case.saved.needs": ("Kebutuhan ditambahkan.", "Needs added."),
    "case.saved.override": (
        "Pengecualian persetujuan dikonfirmasi; kasus kini dirujuk.",
        "Consent override confirmed; the case is now referred.",
    ),
    "case.sensitive": ("Sensitif", "Sensitive"),
    "case.restricted": ("Terbatas", "Restricted"),
    "case.restricted.hint": (
        "Hanya petugas yang mencatat atau ditugaskan, dan koordinator, yang dapat membuka kasus "
        "ini.",
        "Only the officer who recorded it or is assigned to it, and the coordinator, can open "
        "this case.",
    ),
    "case.override.pending": ("Menunggu konfirmasi koordinator", "Waiting for the coordinator"),
    "case.override.waiting": (
        "Pengecualian persetujuan menunggu konfirmasi koordinator. Kasus belum dirujuk ke mitra "
        "mana pun sampai dikonfirmasi oleh orang lain selain pencatatnya.",
        "The consent override waits for the coordinator's confirmation. The case is not "
        "referred to any partner until someone other than its recorder confirms it.",
    ),
    "case.override.confirm": ("Konfirmasi pengecualian", "Confirm the override"),
    "case.saved.risk": ("Tingkat risiko diubah.", "Risk level changed."),
    "case.saved.proof": ("Bukti tidak mampu disimpan.", "Proof of inability to pay saved."),
    "case.saved.closed": ("Kasus ditutup.", "Case closed."),
    "case.saved.consent": (
        "Persetujuan diubah. Rujukan ke mitra yang tidak lagi disetujui dibatalkan.",
        "Consent changed. Referrals to partners no longer covered are being cancelled.",
    ),
    "case.consent.change": ("Ubah persetujuan", "Change consent"),
    "case.consent.change.hint": (
        "Hapus centang jenis mitra yang tidak lagi disetujui. Paling sedikit satu jenis tetap "
        "dipilih: persetujuan tidak dapat dicabut seluruhnya di sini. Untuk menghentikan semua "
        "rujukan, tutup kasus.",
        "Untick the kinds of partner no longer agreed to. At least one kind stays ticked: "
        "consent cannot be withdrawn entirely here. To stop every referral, close the case.",
    ),
    "case.consent.change.button": ("Lanjut", "Continue"),
    "case.consent.narrow.missing": (
        "Pilih paling sedikit satu jenis mitra. Untuk menghentikan semua rujukan, tutup kasus.",
        "Choose at least one kind of partner. To stop every referral, close the case.",
    ),
    "case.consent.scope.unchanged": (
        "Persetujuan sama seperti sebelumnya: hapus centang jenis mitra yang tidak lagi disetujui.",
        "The consent is as it was: untick the kinds of partner no longer agreed to.",
    ),
    "case.consent.confirm.title": ("Ubah persetujuan?", "Change the consent?"),
    "case.consent.confirm.back": ("Kembali ke kasus", "Back to the case"),
    "case.consent.confirm.kept": ("Tetap disetujui", "Still agreed to"),
    "case.consent.confirm.removed": ("Tidak lagi disetujui", "No longer agreed to"),
    "case.consent.confirm.cancels": (
        "Rujukan berikut akan dibatalkan, dan mitranya diberi tahu:",
        "These referrals will be cancelled, and their partners told:",
    ),
    "case.consent.confirm.cancels_none": (
        "Tidak ada rujukan berjalan ke mitra yang tidak lagi disetujui.",
        "No open referral goes to a partner no longer agreed to.",
    ),
    "case.consent.confirm.unknown": (
        "Jenis mitra rujukan berikut tidak diketahui di sini; rujukan dibatalkan bila jenisnya "
        "tidak lagi disetujui:",
        "The partner's kind of these referrals is not known here; each is cancelled if its kind "
        "is no longer agreed to:",
    ),
    "case.consent.confirm.button": ("Ya, ubah persetujuan", "Yes, change the consent"),
    "case.consent.confirm.cancel": ("Jangan ubah", "Do not change it"),
    "case.referrals": ("Rujukan", "Referrals"),
    "case.referrals.none": (
        "Belum ada rujukan. Rujukan biasanya muncul dalam beberapa detik; muat ulang halaman ini.",
        "No referrals yet. They usually appear within seconds; reload this page.",
    ),
    "case.referral.partner": ("Mitra", "Partner"),
    "case.referral.updated": ("Terakhir berubah", "Last changed"),
    "case.referral.accept_by": ("Batas waktu menerima", "Accept by"),
    "case.referral.late": ("Lewat batas waktu", "Past its deadline"),
    "case.referral.steps": ("Riwayat rujukan", "What happened"),
    "case.referral.step.by": ("oleh {name}", "by {name}"),
    "case.unmet": ("Kebutuhan yang belum ada mitranya", "Needs no partner can take"),
    "case.unmet.no_partner": (
        "belum ada mitra aktif untuk layanan ini di kelurahan ini; koordinator sudah diberi tahu",
        "no active partner offers this service in this kelurahan; the coordinator was told",
    ),
    "case.unmet.consent": (
        "persetujuan tidak mencakup jenis mitra yang menyediakan layanan ini",
        "the consent does not cover the kind of partner that offers this service",
    ),
    "case.alerts": ("Pemberitahuan terkirim", "Alerts sent"),
    "case.alerts.none": ("Belum ada pemberitahuan.", "No alerts yet."),
    "case.alerts.unavailable": (
        "Riwayat pemberitahuan belum dapat ditampilkan untuk Anda.",
        "The alert history cannot be shown to you yet.",
    ),
    "delivery.role.partner": ("Mitra", "Partner"),
    "delivery.role.officer": ("Petugas", "Officer"),
    "delivery.role.coordinator": ("Koordinator", "Coordinator"),
    "delivery.channel.sms": ("SMS", "SMS"),
    "delivery.channel.email": ("Email", "Email"),
    "delivery.channel.whatsapp": ("WhatsApp", "WhatsApp"),
    "delivery.status.queued": ("Menunggu dikirim", "Waiting to be sent"),
    "delivery.status.sending": ("Sedang dikirim", "Being sent"),
    "delivery.status.sent": ("Terkirim", "Sent"),
    "delivery.status.failed": ("Gagal", "Failed"),
    "delivery.status.deferred": ("Ditunda sampai jam tenang usai", "Held until quiet hours end"),
    "delivery.trigger.referral_requested": ("Rujukan baru", "New referral"),
    "delivery.trigger.referral_accepted": ("Rujukan diterima", "Referral accepted"),
    "delivery.trigger.referral_rejected": ("Rujukan ditolak", "Referral declined"),
    "delivery.trigger.referral_cancelled": ("Rujukan dibatalkan", "Referral cancelled"),
    "delivery.trigger.referral_overdue": ("Rujukan lewat batas waktu", "Referral overdue"),
    "delivery.trigger.referral_escalated": ("Rujukan dieskalasi", "Referral escalated"),
    "delivery.trigger.need_unmet": ("Kebutuhan tanpa mitra", "Need without a partner"),
    "case.facts": ("Rincian kasus", "Case details"),
    "case.victim.age_group": ("Kelompok usia", "Age group"),
    "case.victim.child": ("anak", "child"),
    "case.outcome": ("Hasil", "Outcome"),
    "case.closed_at": ("Ditutup pada", "Closed at"),
    "case.actions": ("Perbarui kasus", "Update the case"),
    "case.add_needs": ("Tambah kebutuhan", "Add needs"),
    "case.add_needs.legend": ("Kebutuhan baru", "New needs"),
    "case.add_needs.hint": ("Pilih satu atau lebih.", "Choose one or more."),
    "case.add_needs.button": ("Tambahkan kebutuhan", "Add these needs"),
    "case.add_needs.missing": ("Pilih paling sedikit satu kebutuhan", "Choose at least one need"),
    "case.change_risk": ("Ubah tingkat risiko", "Change the risk level"),
    "case.change_risk.button": ("Simpan tingkat risiko", "Save the risk level"),
    "case.add_proof": (
        "Bukti tidak mampu (untuk bantuan hukum)",
        "Proof of inability to pay (for legal aid)",
    ),
    "case.add_proof.button": ("Simpan bukti", "Save the proof"),
    "case.close": ("Tutup kasus dengan hasil", "Close the case with its outcome"),
    "case.close.hint": (
        "Rujukan yang masih terbuka akan dibatalkan.",
        "Referrals still open will be cancelled.",
    ),
    "case.close.note": ("Catatan (tidak wajib)", "Note (optional)"),
    "case.close.note.hint": (
        "Catatan hanya untuk petugas; mitra tidak menerimanya.",
        "The note is for officers only; partners do not receive it.",
    ),
    "case.close.button": ("Tutup kasus", "Close the case"),
    "case.outcome.missing": ("Pilih hasil kasus", "Choose the case's outcome"),
    "case.closed_already": ("Kasus ini sudah ditutup.", "This case is closed already."),
    "case.change_refused": (
        "Perubahan tidak dapat disimpan. Muat ulang halaman lalu coba lagi.",
        "The change could not be saved. Reload the page and try again.",
    ),
    # --- recording a case: the steps ---
    "record.progress": ("Langkah {number} dari {total}", "Step {number} of {total}"),
    "record.step.incident": ("Kejadian", "The incident"),
    "record.step.victims": ("Korban", "Victims"),
    "record.step.perpetrator": ("Terduga pelaku", "Alleged perpetrator"),
    "record.step.needs": ("Kebutuhan layanan", "Services needed"),
    "record.step.consent": ("Persetujuan berbagi data", "Consent to share data"),
    "record.step.legal_aid": ("Bukti tidak mampu", "Proof of inability to pay"),
    "record.step.check": ("Periksa jawaban Anda", "Check your answers"),
    "record.check.lead": (
        "Periksa semua jawaban sebelum mengirim. Tekan \u201cUbah\u201d untuk memperbaiki.",
        "Check every answer before sending. Press \u201cChange\u201d to correct one.",
    ),
    "record.check.send_heading": ("Kirim kasus", "Send the case"),
    "record.check.send_body": (
        "Setelah dikirim, kasus dirujuk ke mitra sesuai kebutuhan dan persetujuan.",
        "Once sent, the case is referred to partners as the needs and consent allow.",
    ),
    "record.check.submit": ("Kirim kasus", "Send the case"),
    "review.back_to_check": ("Simpan dan periksa jawaban", "Save and check answers"),
    "case.submit.connection_lost": (
        "Koneksi terputus sebelum jawaban diterima. Jawaban Anda masih ada di halaman ini. "
        "Kasus dikirim lagi begitu koneksi kembali, atau tekan \u201cKirim kasus\u201d lagi: "
        "kasus hanya tercatat satu kali.",
        "The connection dropped before an answer came. Your answers are still on this page. "
        "The case is sent again as soon as the connection is back, or press \u201cSend the "
        "case\u201d again: the case is recorded once only.",
    ),
    "case.submit.unavailable": (
        "Jejaring tidak menjawab; belum pasti apakah kasus tercatat. Jawaban Anda masih ada di "
        "halaman ini. Tunggu sebentar lalu tekan \u201cKirim kasus\u201d lagi: kasus hanya "
        "tercatat satu kali.",
        "Jejaring did not answer; it is not certain whether the case was recorded. Your answers "
        "are still on this page. Wait a moment and press \u201cSend the case\u201d again: the "
        "case is recorded once only.",
    ),
    "case.refused": (
        "Kasus tidak dapat dicatat. Periksa jawaban Anda.",
        "The case could not be recorded. Check your answers.",
    ),
    # step 1, the incident
    "case.reported_at": ("Waktu laporan (WITA)", "Time of the report (WITA)"),
    "case.reported_at.hint": (
        "Sudah terisi waktu sekarang. Ubah bila laporan diterima lebih awal.",
        "Filled in with the time now. Change it if the report came earlier.",
    ),
    "case.reported_at.missing": (
        "Isi tanggal dan jam laporan",
        "Enter the date and time of the report",
    ),
    "case.incident_date": ("Tanggal kejadian (bila diketahui)", "Date of the incident (if known)"),
    "case.incident_date.hint": (
        "Kosongkan bila tidak diketahui.",
        "Leave it empty if it is not known.",
    ),
    # shorter labels for the summaries of the check page and the case page
    "summary.incident_date": ("Tanggal kejadian", "Date of the incident"),
    "summary.description": ("Keterangan", "Description"),
    "summary.phone": ("Nomor telepon", "Phone number"),
    "summary.perpetrator_is_child": ("Terduga pelaku anak?", "Perpetrator a child?"),
    "summary.proof_number": ("Nomor bukti", "Number on the proof"),
    "case.date.invalid": (
        "Tanggal tidak valid; pilih tanggal dari kalender",
        "Not a valid date; choose one from the calendar",
    ),
    "case.place": ("Tempat kejadian", "Where it happened"),
    "case.place.missing": ("Pilih tempat kejadian", "Choose where it happened"),
    "case.violence_forms": ("Bentuk kekerasan", "Forms of violence"),
    "case.violence_forms.hint": ("Pilih semua yang sesuai.", "Choose all that apply."),
    "case.violence_forms.missing": (
        "Pilih paling sedikit satu bentuk kekerasan",
        "Choose at least one form of violence",
    ),
    "case.description": ("Keterangan singkat (tidak wajib)", "Short description (optional)"),
    "case.description.hint": (
        "Hanya yang perlu untuk menolong korban. Hanya kepolisian yang menerima keterangan ini.",
        "Only what is needed to help the victim. Only the police receive this description.",
    ),
    "case.risk_level": ("Tingkat risiko", "Risk level"),
    "case.risk_level.hint": (
        "Tinggi: korban dalam bahaya sekarang. Kepolisian dan Babinsa langsung diberi tahu "
        "lewat SMS.",
        "High: the victim is in danger now. The police and the Babinsa are alerted by SMS at once.",
    ),
    "case.risk_level.missing": ("Pilih tingkat risiko", "Choose the risk level"),
    "case.reporter_kind": ("Siapa yang melapor", "Who reported it"),
    "case.reporter_kind.missing": ("Pilih siapa yang melapor", "Choose who reported it"),
    "case.reporter.victim": ("Korban sendiri", "The victim"),
    "case.reporter.family": ("Keluarga", "Family"),
    "case.reporter.neighbour": ("Tetangga", "A neighbour"),
    "case.reporter.teacher": ("Guru", "A teacher"),
    "case.reporter.officer": ("Petugas PPATBM", "A PPATBM officer"),
    "case.reporter.other": ("Lainnya", "Someone else"),
    # step 2, the victims
    "case.victims.hint": (
        "Isi setiap korban. Nama korban tidak pernah dikirim lewat SMS atau email.",
        "Fill in each victim. A victim's name is never sent by SMS or email.",
    ),
    "case.victim.heading": ("Korban {number}", "Victim {number}"),
    "case.victim.name": ("Nama lengkap", "Full name"),
    "case.victim.name.missing": ("Isi nama korban", "Enter the victim's name"),
    "case.victim.sex": ("Jenis kelamin", "Sex"),
    "case.victim.sex.missing": ("Pilih jenis kelamin korban", "Choose the victim's sex"),
    "case.victim.birth_date": ("Tanggal lahir", "Date of birth"),
    "case.victim.birth_date.hint": (
        "Bila tidak diketahui, kosongkan dan isi usia di bawah.",
        "If not known, leave it empty and enter the age below.",
    ),
    "case.victim.age": ("Usia (tahun)", "Age (years)"),
    "case.victim.age.hint": (
        "Hanya bila tanggal lahir tidak diketahui.",
        "Only if the date of birth is not known.",
    ),
    "case.victim.age.missing": (
        "Isi tanggal lahir atau usia korban (untuk mengetahui apakah korban anak)",
        "Enter the victim's date of birth or age (to know whether a child is involved)",
    ),
    "case.victim.age.invalid": (
        "Usia harus berupa angka tahun",
        "The age must be a number of years",
    ),
    "case.victim.phone": ("Nomor telepon (tidak wajib)", "Phone number (optional)"),
    "case.victim.phone.hint": ("Contoh: 0812 3456 7890", "For example: 0812 3456 7890"),
    "case.victim.safe_to_contact": ("Aman dihubungi?", "Safe to contact?"),
    "case.victim.safe_to_contact.yes": (
        "Ya, korban aman dihubungi di nomor ini",
        "Yes, the victim is safe to contact on this number",
    ),
    "case.victim.safe_to_contact.hint": (
        "Jangan centang bila pelaku dapat melihat ponsel korban.",
        "Do not tick if the perpetrator may see the victim's phone.",
    ),
    "case.victim.add": ("Tambah korban lain", "Add another victim"),
    "case.victim.remove": ("Hapus korban {number}", "Remove victim {number}"),
    # step 3, the perpetrator
    "case.perpetrator.relationship": ("Hubungan dengan korban", "Relationship to the victim"),
    "case.perpetrator.relationship.missing": (
        "Pilih hubungan terduga pelaku dengan korban",
        "Choose the alleged perpetrator's relationship to the victim",
    ),
    "case.perpetrator.sex": ("Jenis kelamin", "Sex"),
    "case.perpetrator.sex_unknown": ("Tidak diketahui", "Not known"),
    "case.perpetrator.is_child": (
        "Apakah terduga pelaku anak (di bawah 18 tahun)?",
        "Is the alleged perpetrator a child (under 18)?",
    ),
    "case.perpetrator.is_child.hint": (
        "Menentukan layanan yang boleh diberikan (UU 11/2012 SPPA).",
        "This decides which services are allowed (Law 11/2012 on juvenile justice).",
    ),
    "case.perpetrator.is_child.missing": (
        "Pilih apakah terduga pelaku anak",
        "Choose whether the alleged perpetrator is a child",
    ),
    # step 4, needs
    "case.needs": ("Kebutuhan layanan", "Services needed"),
    "case.needs.hint": (
        "Pilih semua yang dibutuhkan korban. Mediasi tidak boleh untuk kekerasan seksual.",
        "Choose everything the victim needs. Mediation is not allowed for sexual violence.",
    ),
    # step 5, consent
    "case.consent.given_by": ("Siapa yang memberi persetujuan?", "Who gave consent?"),
    "case.consent.given_by.hint": (
        "Untuk korban anak, persetujuan diberikan oleh wali, kecuali ada pengecualian tercatat.",
        "For a child victim, a guardian consents, unless there is a recorded override.",
    ),
    "case.consent.given_by.missing": (
        "Pilih siapa yang memberi persetujuan",
        "Choose who gave consent",
    ),
    "case.consent.override_reason": ("Alasan pengecualian", "Reason for the override"),
    "case.consent.override_reason.hint": (
        "Hanya bila memilih \u201cPengecualian tercatat\u201d.",
        "Only when \u201cRecorded override\u201d is chosen.",
    ),
    "case.override.guardian_is_alleged_perpetrator": (
        "Wali adalah terduga pelaku",
        "The guardian is the alleged perpetrator",
    ),
    "case.override.child_in_danger": ("Anak dalam bahaya", "The child is in danger"),
    "case.consent.scope": ("Boleh dibagikan kepada", "May be shared with"),
    "case.consent.scope.hint": (
        "Jenis mitra yang boleh menerima data kasus.",
        "The kinds of partner that may receive the case's data.",
    ),
    "case.consent.scope.missing": (
        "Pilih paling sedikit satu jenis mitra",
        "Choose at least one kind of partner",
    ),
    # step 6, proof for legal aid
    "case.proof.lead": (
        "Bantuan hukum gratis memerlukan bukti tidak mampu. Tanpa bukti, rujukan tetap dibuat "
        "dan ditandai menunggu bukti.",
        "Free legal aid needs proof of inability to pay. Without it the referral is still made, "
        "marked as waiting for proof.",
    ),
    "case.proof.kind": ("Bukti tidak mampu", "Proof of inability to pay"),
    "case.proof.kind.missing": (
        "Pilih bukti yang ada, atau \u201cBelum ada bukti\u201d",
        "Choose the proof there is, or \u201cNo proof yet\u201d",
    ),
    "case.proof.none": ("Belum ada bukti", "No proof yet"),
    "case.proof.number": ("Nomor bukti (tidak wajib)", "Number on the proof (optional)"),
    "case.proof.number.hint": (
        "Contoh: nomor SKTM atau nomor kartu PKH.",
        "For example: the SKTM or PKH card number.",
    ),
    # --- partner staff: the inbox and one referral (partner.py, templates/partner/) ---
    "nav.partner": ("Halaman mitra", "Partner pages"),
    "inbox.title": ("Rujukan masuk", "Referral inbox"),
    "inbox.lead": (
        "Rujukan untuk mitra {partner}: yang terbuka di atas, yang paling mendesak lebih dulu.",
        "Referrals to partner {partner}: open ones first, the most urgent at the top.",
    ),
    "inbox.unknown": (
        "Mitra Anda belum terdaftar di Jejaring. Hubungi admin.",
        "Your partner is not registered in Jejaring. Contact the admin.",
    ),
    "inbox.open": ("Perlu ditangani ({total})", "To deal with ({total})"),
    "inbox.open.none": ("Tidak ada rujukan yang terbuka.", "No open referrals."),
    "inbox.done": ("Sudah selesai ({total})", "Finished ({total})"),
    "countdown.left": ("sisa {span}", "{span} left"),
    "countdown.late": ("lewat {span}", "{span} overdue"),
    "countdown.under_a_minute": ("sisa kurang dari 1 menit", "less than a minute left"),
    "countdown.days": ("{n} hari", "{n} d"),
    "countdown.hours": ("{n} jam", "{n} h"),
    "countdown.minutes": ("{n} menit", "{n} min"),
    "referral.title": ("Rujukan {reference}", "Referral {reference}"),
    "referral.caption": ("Rujukan", "Referral"),
    "referral.back": ("Kembali ke rujukan masuk", "Back to the inbox"),
    "referral.urgent": ("Segera", "Urgent"),
    "referral.accept_before": (
        "Terima atau tolak sebelum {when}.",
        "Accept or reject before {when}.",
    ),
    "referral.service": ("Layanan", "Service"),
    "referral.requested_at": ("Diminta pada", "Requested at"),
    "referral.answered_by": ("Dijawab oleh", "Answered by"),
    "referral.reason": ("Alasan", "Reason"),
    "referral.note": ("Catatan", "Note"),
    "referral.saved": ("Jawaban tersimpan: {status}.", "Answer saved: {status}."),
    "referral.answer": ("Jawaban Anda", "Your answer"),
    "referral.answer.legend": ("Apa jawaban Anda?", "What is your answer?"),
    "referral.reason_text": ("Penjelasan alasan", "The reason in words"),
    "referral.answer.reason_code": ("Alasan", "Reason"),
    "referral.answer.reason_code.hint": (
        "Wajib bila menolak atau gagal menangani: pilih alasannya, atau tulis di bawah.",
        "Required when rejecting or when it failed: choose the reason, or write it below.",
    ),
    "referral.answer.reason_code.none": ("Pilih alasan", "Choose a reason"),
    "referral.answer.reason": (
        "Penjelasan alasan (tidak wajib bila memilih)",
        "The reason in words (optional if you chose one)",
    ),
    "referral.answer.reason.hint": (
        "Jangan tulis nama korban.",
        "Do not write the victim's name.",
    ),
    "referral.note.optional": ("Catatan (tidak wajib)", "Note (optional)"),
    "referral.note.hint": (
        "Untuk petugas PPATBM, misalnya jadwal pendampingan.",
        "For the PPATBM officers, for example when you will meet.",
    ),
    "referral.answer.button": ("Kirim jawaban", "Send the answer"),
    "referral.answer.missing": ("Pilih jawaban Anda", "Choose your answer"),
    "referral.answer.reason_required": (
        "Pilih atau tulis alasannya: wajib untuk jawaban ini",
        "Choose or write the reason: this answer needs one",
    ),
    "referral.answer.illegal": (
        "Jawaban ini tidak dapat diberikan dari status rujukan sekarang. Muat ulang halaman.",
        "This answer cannot be given from the referral's status now. Reload the page.",
    ),
    "referral.answer.refused": (
        "Jawaban tidak dapat disimpan. Muat ulang halaman lalu coba lagi.",
        "The answer could not be saved. Reload the page and try again.",
    ),
    "referral.final": (
        "Rujukan ini sudah selesai; tidak ada jawaban lagi yang dapat diberikan.",
        "This referral is finished; no further answer can be given.",
    ),
    "answer.accepted": ("Terima rujukan", "Accept the referral"),
    "answer.rejected": ("Tolak rujukan", "Reject the referral"),
    "answer.in-progress": ("Sedang ditangani", "In progress"),
    "answer.on-hold": ("Ditunda", "On hold"),
    "answer.completed": ("Selesai ditangani", "Completed"),
    "answer.failed": ("Gagal ditangani", "Failed"),
    # --- the coordinator: the board, and every case (coordinator.py, templates/coordinator/) ---
    "nav.coordinator": ("Halaman koordinator", "Coordinator pages"),
    "board.title": ("Papan tindak lanjut", "Action board"),
    "board.lead": (
        "Yang perlu ditindaklanjuti sekarang di seluruh Kecamatan Balikpapan Tengah, yang "
        "terlama di atas.",
        "What needs action now across Kecamatan Balikpapan Tengah, oldest first.",
    ),
    "board.all_cases": ("Semua kasus", "All cases"),
    "board.back": ("Ke papan tindak lanjut", "To the action board"),
    "board.everywhere": ("Semua kelurahan", "Every kelurahan"),
    "board.show": ("Tampilkan", "Show"),
    "board.filter": ("Pilih kelurahan", "Choose a kelurahan"),
    "board.nothing": (
        "Tidak ada yang perlu ditindaklanjuti saat ini.",
        "Nothing needs action right now.",
    ),
    "board.none": ("Tidak ada.", "None."),
    "board.late": ("Lewat batas waktu ({total})", "Past the deadline ({total})"),
    "board.late.hint": (
        "Rujukan yang belum diterima tepat waktu, termasuk yang sudah dieskalasi.",
        "Referrals not accepted in time, escalated ones included.",
    ),
    "board.high_risk_unaccepted": (
        "Risiko tinggi, belum diterima ({total})",
        "High risk, not yet accepted ({total})",
    ),
    "board.high_risk_unaccepted.hint": (
        "Kasus berisiko tinggi yang rujukannya belum diterima mitra.",
        "High-risk cases whose referrals no partner has accepted yet.",
    ),
    "board.unmet": ("Belum ada mitra ({total})", "No partner ({total})"),
    "board.unmet.hint": (
        "Kebutuhan yang tidak dapat ditangani mitra mana pun: carikan mitra.",
        "Needs no partner can take: find one.",
    ),
    "board.eligibility_pending": (
        "Bantuan hukum menunggu bukti ({total})",
        "Legal aid waiting for proof ({total})",
    ),
    "board.eligibility_pending.hint": (
        "Bantuan hukum yang menunggu bukti tidak mampu (SKTM atau Kartu PKH).",
        "Legal aid waiting for proof of inability to pay (SKTM or a PKH card).",
    ),
    "cases.lead.kecamatan": (
        "Kasus di seluruh Kecamatan Balikpapan Tengah, yang terbaru di atas.",
        "Cases across Kecamatan Balikpapan Tengah, newest first.",
    ),
    # --- the admin's pages (admin.py, admin_partners.py, templates/admin/) ---
    "admin.nav": ("Menu admin", "Admin menu"),
    "admin.nav.deliveries": ("Pengiriman", "Deliveries"),
    "admin.menu.title": ("Menu admin", "Admin"),
    "admin.menu.lead": (
        "Kelola orang yang memakai Jejaring, mitra rujukan, dan lihat catatan pengiriman pesan.",
        "Manage the people who use Jejaring and the referral partners, and read the message "
        "delivery log.",
    ),
    "admin.menu.people": (
        "Petugas, koordinator, admin dan staf mitra: buat, kode baru, nonaktifkan.",
        "Officers, the coordinator, admins and partner staff: create, new code, deactivate.",
    ),
    "admin.menu.partners": (
        "Lembaga penerima rujukan: tambah, token baru, nonaktifkan.",
        "The organisations that take referrals: add, new token, deactivate.",
    ),
    "admin.menu.deliveries": (
        "SMS dan email yang dikirim: kepada siapa, kapan, berhasil atau tidak.",
        "The SMS and emails sent: to whom, when, and whether they arrived.",
    ),
    "admin.active": ("Aktif", "Active"),
    "admin.inactive": ("Nonaktif", "Deactivated"),
    "admin.choose": ("Pilih", "Choose"),
    "admin.cancel": ("Batal", "Cancel"),
    "admin.refused": (
        "Permintaan ditolak. Periksa isian lalu coba lagi.",
        "The request was refused. Check what you entered and try again.",
    ),
    "admin.once": (
        "Hanya ditampilkan sekali. Catat sekarang: setelah halaman ini ditutup, kode ini tidak "
        "bisa dilihat lagi.",
        "Shown once only. Write it down now: once this page is closed it cannot be seen again.",
    ),
    "admin.done.deactivated": ("Orang itu sudah dinonaktifkan.", "The person is deactivated."),
    "admin.done.partner_off": ("Mitra itu sudah dinonaktifkan.", "The partner is deactivated."),
    "admin.role.officer": ("Petugas", "Officer"),
    "admin.role.coordinator": ("Koordinator", "Coordinator"),
    "admin.role.admin": ("Admin", "Admin"),
    "admin.role.partner_staff": ("Staf mitra", "Partner staff"),
    "admin.role.dpo": ("Petugas pelindungan data", "Data protection officer"),
    # --- the audit trail (the data protection officer and the coordinator) ---
    "nav.dpo": ("Halaman petugas pelindungan data", "Data protection officer's pages"),
    "audit.title": ("Jejak audit", "Audit trail"),
    "audit.lead": (
        "Siapa membuka atau mengubah kasus mana, kapan dan dari mana; yang terbaru di atas. "
        "Isi data pribadi tidak pernah dicatat di sini.",
        "Who opened or changed which case, when and from where; newest first. The personal "
        "data itself is never recorded here.",
    ),
    "audit.chain.intact": ("Rantai utuh: {records} catatan", "Chain intact: {records} records"),
    "audit.chain.intact.hint": (
        "Tidak ada catatan yang dihapus atau diubah sejak dicatat.",
        "No record was deleted or changed since it was written.",
    ),
    "audit.chain.broken": ("Rantai rusak pada catatan #{seq}", "The chain breaks at record #{seq}"),
    "audit.chain.reason.altered": (
        "Isi catatan ini tidak cocok dengan sidiknya: catatan ini diubah.",
        "This record's content does not match its hash: it was changed.",
    ),
    "audit.chain.reason.missing": (
        "Ada catatan yang hilang sebelum nomor ini: catatan dihapus.",
        "Records are missing before this number: they were deleted.",
    ),
    "audit.chain.reason.reordered": (
        "Catatan ini tidak menyambung ke catatan sebelumnya: catatan diganti atau dipindah.",
        "This record does not follow from the one before it: a record was replaced or moved.",
    ),
    "audit.chain.checked": (
        "{records} catatan sebelum titik itu utuh.",
        "{records} records before that point are intact.",
    ),
    "audit.chain.broken.what": (
        "Laporkan ke admin sistem sekarang: catatan setelah titik ini tidak dapat dipercaya.",
        "Tell the system admin now: records after this point cannot be trusted.",
    ),
    "audit.filter": ("Saring catatan", "Filter records"),
    "audit.reference": ("Nomor kasus", "Case reference"),
    "audit.reference.hint": ("Contoh: BPT-2026-000123", "For example: BPT-2026-000123"),
    "audit.reference.invalid": (
        "Nomor kasus hanya berisi huruf, angka dan tanda hubung (paling banyak 32).",
        "A case reference has only letters, digits and hyphens (32 at most).",
    ),
    "audit.person.invalid": ("Orang yang dipilih tidak dikenal.", "The chosen person is unknown."),
    "audit.person.only": ("Hanya catatan oleh {name}.", "Only records by {name}."),
    "audit.filter.apply": ("Tampilkan", "Show"),
    "audit.filter.clear": ("Tampilkan semua catatan", "Show every record"),
    "audit.count": ("{total} catatan", "{total} records"),
    "audit.none": ("Tidak ada catatan.", "No records."),
    "audit.by": ("Oleh", "By"),
    "audit.system": ("Sistem (masa simpan)", "The system (retention)"),
    "audit.admin_token": ("Token admin", "Admin token"),
    "audit.subject": ("Orang yang dikenai", "Person acted on"),
    "audit.from": ("Dari", "From"),
    "audit.newer": ("Lebih baru", "Newer"),
    "audit.older": ("Lebih lama", "Older"),
    "audit.action.case.read": ("Membuka kasus", "Opened a case"),
    "audit.action.case.list": ("Melihat daftar kasus", "Listed cases"),
    "audit.action.case.create": ("Mencatat kasus", "Recorded a case"),
    "audit.action.case.update": ("Mengubah kasus", "Changed a case"),
    "audit.action.case.close": ("Menutup kasus", "Closed a case"),
    "audit.action.case.assign": ("Menugaskan petugas", "Assigned an officer"),
    "audit.action.case.lookup": ("Mencari kasus dari nomornya", "Looked a case up by reference"),
    "audit.action.case.erase": ("Menghapus data pribadi kasus", "Erased a case's personal data"),
    "audit.action.activity.record": ("Mencatat kegiatan kasus", "Recorded a case activity"),
    "audit.action.case.merge": ("Menggabungkan kasus ganda", "Merged a duplicate case"),
    "audit.action.consent.override": ("Pengecualian persetujuan", "Consent override"),
    "audit.action.consent.confirm": (
        "Mengonfirmasi pengecualian persetujuan",
        "Confirmed a consent override",
    ),
    "audit.action.user.create": ("Membuat akun", "Created an account"),
    "audit.action.user.list": ("Melihat daftar orang", "Listed people"),
    "audit.action.user.setup_code": ("Membuat kode awal", "Made a setup code"),
    "audit.action.user.token": ("Membuat token API", "Issued an API token"),
    "audit.action.user.revoke": ("Mencabut token API", "Revoked an API token"),
    "audit.action.user.deactivate": ("Menonaktifkan akun", "Deactivated an account"),
    "audit.action.audit.read": ("Membaca jejak audit", "Read the audit trail"),
    "audit.action.audit.verify": ("Memeriksa rantai audit", "Verified the audit chain"),
    "audit.action.task.read": ("Membaca rencana kasus", "Read a case plan"),
    "audit.action.task.list": ("Melihat daftar tugas", "Listed tasks"),
    "audit.action.task.create": ("Menambah tugas rencana kasus", "Added a case plan task"),
    "audit.action.task.done": ("Menandai tugas selesai", "Marked a task done"),
    "audit.action.task.cancel": ("Membatalkan tugas", "Cancelled a task"),
    "admin.role.system": ("Sistem", "System"),
    # --- the survivors' feedback on the board (feedback.py, templates/feedback/) ---
    "feedback.title": ("Penilaian penyintas", "Survivors' ratings"),
    "feedback.hint": (
        "Setelah kasus ditutup, penyintas yang aman dihubungi ditanya lewat SMS tentang bantuan "
        "mitra: 1 (buruk) sampai 5 (sangat baik).",
        "After a case is closed, a survivor who is safe to contact is asked by SMS about the "
        "partners' help: 1 (poor) to 5 (very good).",
    ),
    "feedback.none": ("Belum ada penilaian.", "No ratings yet."),
    "feedback.unavailable": (
        "Penilaian tidak dapat ditampilkan sekarang.",
        "The ratings cannot be shown now.",
    ),
    "feedback.count": ("{count} jawaban", "{count} answers"),
    "feedback.mean": ("rata-rata {mean} dari 5", "average {mean} out of 5"),
    "feedback.mean_hidden": (
        "terlalu sedikit untuk rata-rata",
        "too few for an average",
    ),
    "delivery.role.survivor": ("Penyintas", "Survivor"),
    "delivery.trigger.feedback_request": ("Permintaan penilaian", "Request for a rating"),
    "board.audit": ("Jejak audit: siapa membuka kasus mana", "Audit trail: who opened which case"),
    # --- erasure (the data protection officer) ---
    "erasure.nav": ("Hapus data kasus", "Erase a case"),
    "erasure.title": ("Hapus data pribadi kasus", "Erase a case's personal data"),
    "erasure.lead": (
        "Bila seseorang meminta datanya dihapus, masukkan nomor kasus yang ia berikan. Anda "
        "tidak membaca isi kasus.",
        "When a person asks for their data to be erased, enter the case reference they give. "
        "You do not read the case.",
    ),
    "erasure.reference": ("Nomor kasus", "Case reference"),
    "erasure.reference.hint": ("Contoh: BPT-2026-000123", "For example: BPT-2026-000123"),
    "erasure.reference.missing": ("Masukkan nomor kasus.", "Enter the case reference."),
    "erasure.reference.not_found": (
        "Tidak ada kasus dengan nomor ini. Periksa nomornya.",
        "There is no case with this reference. Check it.",
    ),
    "erasure.reason": ("Alasan penghapusan", "Reason for erasure"),
    "erasure.reason.missing": ("Pilih alasan penghapusan.", "Choose the reason for erasure."),
    "erasure.reason.subject_request": (
        "Permintaan orang yang bersangkutan",
        "The person asked for it",
    ),
    "erasure.reason.consent_withdrawn": ("Persetujuan ditarik", "Consent withdrawn"),
    "erasure.reason.no_longer_needed": ("Tidak diperlukan lagi", "No longer needed"),
    "erasure.reason.unlawful": ("Dicatat tanpa dasar hukum", "Recorded without a lawful ground"),
    "erasure.reason.court_order": ("Perintah pengadilan", "Court order"),
    "erasure.why.retention": ("masa simpan berakhir", "retention period over"),
    "erasure.why.erasure": ("dihapus oleh petugas pelindungan data", "erased by the DPO"),
    "erasure.next": ("Lanjut", "Continue"),
    "erasure.refused": (
        "Penghapusan ditolak. Coba lagi atau hubungi admin.",
        "The erasure was refused. Try again or contact the admin.",
    ),
    "erasure.erased_already": (
        "Data pribadi kasus {reference} sudah dihapus pada {date} ({why}). Tidak ada lagi "
        "yang dapat dihapus.",
        "The personal data of case {reference} was erased on {date} ({why}). Nothing is left "
        "to erase.",
    ),
    "erasure.erased_already.plain": (
        "Data pribadi kasus ini sudah dihapus.",
        "This case's personal data was erased already.",
    ),
    "erasure.confirm.title": ("Periksa sebelum menghapus", "Check before you erase"),
    "erasure.confirm.back": ("Kembali", "Back"),
    "erasure.status": ("Status kasus", "Case status"),
    "erasure.confirm.gone": ("Yang dihapus", "What is erased"),
    "erasure.confirm.gone.body": (
        "Nama, nomor telepon, alamat dan keterangan korban, anak dan pelapor, cerita kejadian "
        "dan catatan kasus: di basis data, di pesan antarlayanan, di cadangan dan di mitra "
        "yang menerima rujukan. Tidak ada yang dapat membacanya lagi.",
        "The names, phone numbers, addresses and details of the victim, child and reporter, "
        "the story and the notes of the case: in the database, in the messages between "
        "services, in backups and at the partners that received a referral. Nobody can read "
        "them again.",
    ),
    "erasure.confirm.kept": ("Yang tetap", "What stays"),
    "erasure.confirm.kept.body": (
        "Fakta tanpa nama untuk statistik (kelurahan, tanggal, bentuk kekerasan, risiko, usia, "
        "layanan, status) dan jejak audit.",
        "Facts without names for statistics (kelurahan, dates, forms of violence, risk, ages, "
        "services, status) and the audit trail.",
    ),
    "erasure.confirm.open": ("Kasus ini masih terbuka", "This case is still open"),
    "erasure.confirm.open.body": (
        "Setiap rujukan yang belum selesai dibatalkan, dan mitranya diberi tahu. Petugas masih "
        "melihat kasus ini, tanpa nama.",
        "Every referral not finished yet is cancelled, and its partner is told. Officers still "
        "see the case, without names.",
    ),
    "erasure.confirm.final": (
        "Penghapusan ini tidak dapat dibatalkan.",
        "This erasure cannot be undone.",
    ),
    "erasure.confirm.button": (
        "Hapus data pribadi untuk selamanya",
        "Erase the personal data for good",
    ),
    "erasure.confirm.cancel": ("Batal, jangan hapus", "Cancel, do not erase"),
    "erasure.done.title": ("Data pribadi dihapus", "Personal data erased"),
    "erasure.done.body": (
        "Dihapus pada {when} ({why}). Nama dan kontak dalam kasus ini tidak dapat dibaca lagi "
        "di mana pun.",
        "Erased on {when} ({why}). The names and contacts of this case cannot be read again "
        "anywhere.",
    ),
    "erasure.done.trail": (
        "Penghapusan ini tercatat di jejak audit.",
        "This erasure is recorded in the audit trail.",
    ),
    "erasure.done.see_trail": ("Lihat jejak audit kasus ini", "See this case's audit trail"),
    "erasure.done.another": ("Hapus data kasus lain", "Erase another case"),
    # --- need to know and erased cases on the case page ---
    "restricted.title": ("Kasus ini terbatas", "This case is restricted"),
    "restricted.body": (
        "Kasus ini terbatas: hanya petugas yang mencatat atau ditugaskan dan koordinator yang "
        "dapat membukanya.",
        "This case is restricted: only the officer who recorded it or is assigned to it and "
        "the coordinator can open it.",
    ),
    "restricted.ask": (
        "Bila Anda menangani kasus ini, minta koordinator menugaskan Anda.",
        "If you handle this case, ask the coordinator to assign you.",
    ),
    "case.erased": (
        "Data pribadi kasus ini telah dihapus pada {date} ({why}).",
        "This case's personal data was erased on {date} ({why}).",
    ),
    "case.erased.tag": ("Data pribadi dihapus", "Personal data erased"),
    "case.assigned": ("Petugas yang ditugaskan", "Officers assigned"),
    "case.assigned.none": ("Belum ada.", "None yet."),
    "case.assigned.hint": (
        "Petugas yang ditugaskan dapat membuka kasus ini, seperti petugas yang mencatatnya.",
        "Assigned officers can open this case, as the officer who recorded it can.",
    ),
    "case.assign.officer": (
        "Tugaskan petugas kelurahan ini",
        "Assign an officer of this kelurahan",
    ),
    "case.assign.choose": ("Pilih petugas", "Choose an officer"),
    "case.assign.button": ("Tugaskan", "Assign"),
    "case.assign.missing": ("Pilih petugas yang ditugaskan.", "Choose the officer to assign."),
    "case.assign.nobody": (
        "Tidak ada petugas lain di kelurahan ini untuk ditugaskan.",
        "No other officer of this kelurahan to assign.",
    ),
    "case.audit": ("Jejak audit kasus ini", "This case's audit trail"),
    # --- the case's activities (activities.py, templates/activities) ---
    "activity.heading": ("Kegiatan", "Activities"),
    "activity.none": ("Belum ada kegiatan yang dicatat.", "No activity recorded yet."),
    "activity.unavailable": (
        "Kegiatan kasus ini tidak dapat ditampilkan saat ini.",
        "This case's activities cannot be shown right now.",
    ),
    "activity.saved": ("Kegiatan disimpan.", "Activity saved."),
    "activity.erased": (
        "Catatan dihapus bersama data pribadi kasus",
        "Note erased with the case's personal data",
    ),
    "activity.by": ("Dicatat oleh {name}", "Recorded by {name}"),
    "activity.follow_up": ("Kunjungan tindak lanjut: {date}", "Follow-up visit: {date}"),
    "activity.closed": (
        "Kasus sudah ditutup: kegiatan baru tidak dapat dicatat.",
        "The case is closed: no new activity can be recorded.",
    ),
    "activity.kind.accompaniment": ("Pendampingan", "Accompaniment"),
    "activity.kind.home_visit": ("Kunjungan rumah", "Home visit"),
    "activity.kind.phone_follow_up": ("Tindak lanjut lewat telepon", "Phone follow-up"),
    "activity.kind.mediation_session": ("Sesi mediasi", "Mediation session"),
    "activity.kind.partner_meeting": ("Pertemuan dengan mitra", "Meeting with a partner"),
    "activity.place.police": ("Polisi", "Police"),
    "activity.place.puskesmas": ("Puskesmas", "Puskesmas (health centre)"),
    "activity.place.court": ("Pengadilan", "Court"),
    "activity.place.shelter": ("Rumah aman", "Shelter"),
    "activity.place.other": ("Lainnya", "Other"),
    "activity.outcome.agreement": ("Sepakat", "Agreement"),
    "activity.outcome.no_agreement": ("Tidak sepakat", "No agreement"),
    "activity.outcome.referred": ("Dirujuk", "Referred"),
    "activity.add": ("Catat kegiatan", "Record an activity"),
    "activity.choose": ("Pilih", "Choose"),
    "activity.form.kind": ("Jenis kegiatan", "Kind of activity"),
    "activity.form.kind.hint": (
        "Mediasi tidak boleh untuk kekerasan seksual (kecuali pelakunya anak) dan tidak boleh "
        "bila risiko tinggi.",
        "Mediation is not allowed for sexual violence (unless the perpetrator is a child), nor "
        "when the risk is high.",
    ),
    "activity.form.place": ("Tempat pendampingan", "Where the victim was accompanied"),
    "activity.form.place.hint": (
        "Untuk pendampingan: ke mana atau bersama siapa.",
        "For an accompaniment: where, or with whom.",
    ),
    "activity.form.date": ("Tanggal kegiatan", "Date of the activity"),
    "activity.form.date.hint": (
        "Tidak sebelum tanggal laporan dan tidak di masa depan.",
        "Not before the report and not in the future.",
    ),
    "activity.form.note": ("Catatan singkat", "Short note"),
    "activity.form.note.hint": (
        "Paling banyak 1000 karakter. Catatan disimpan terenkripsi dan tidak dikirim ke mitra.",
        "1000 characters at most. The note is stored encrypted and never sent to partners.",
    ),
    "activity.form.outcome": ("Hasil mediasi", "Outcome of the mediation"),
    "activity.form.outcome.hint": ("Untuk sesi mediasi.", "For a mediation session."),
    "activity.form.follow_up": ("Tanggal kunjungan tindak lanjut", "Date of the follow-up visit"),
    "activity.form.follow_up.hint": (
        "Wajib bila sepakat, sesudah tanggal sesi: kunjungan masuk rencana kasus atas nama Anda.",
        "Required for an agreement, after the session: the visit goes into the case's plan, "
        "in your name.",
    ),
    "activity.form.button": ("Simpan kegiatan", "Save the activity"),
    "activity.kind.missing": ("Pilih jenis kegiatan.", "Choose the kind of activity."),
    "activity.date.missing": ("Isi tanggal kegiatan.", "Enter the date of the activity."),
    "activity.note.missing": ("Tulis catatan singkat kegiatan.", "Write a short note."),
    "activity.refused": ("Kegiatan tidak dapat disimpan.", "The activity could not be saved."),
    "case.saved.assigned": (
        "Petugas ditugaskan; ia kini dapat membuka kasus ini.",
        "Officer assigned; they can now open this case.",
    ),
    # plainer texts for the services' refusals: admin.refusal.<input>.<code>
    "admin.refusal.slug.string_pattern_mismatch": (
        "Kode mitra hanya huruf kecil, angka dan tanda '-', 2 sampai 39 karakter, tanpa spasi. "
        "Contoh: uptd-ppa-balikpapan",
        "A partner code is 2 to 39 lowercase letters, digits and '-', without spaces. For "
        "example: uptd-ppa-balikpapan",
    ),
    "admin.refusal.contact-quiet-start.string_pattern_mismatch": (
        "Tulis jam tenang mulai sebagai jam:menit dengan titik dua, contoh 21:00",
        "Write the start of quiet hours as hours:minutes with a colon, for example 21:00",
    ),
    "admin.refusal.contact-quiet-end.string_pattern_mismatch": (
        "Tulis jam tenang selesai sebagai jam:menit dengan titik dua, contoh 06:00",
        "Write the end of quiet hours as hours:minutes with a colon, for example 06:00",
    ),
    "admin.refusal.contact-quiet-start.missing": (
        "Isi juga jam tenang mulai, atau kosongkan keduanya",
        "Enter the start of quiet hours too, or leave both empty",
    ),
    "admin.refusal.contact-quiet-end.missing": (
        "Isi juga jam tenang selesai, atau kosongkan keduanya",
        "Enter the end of quiet hours too, or leave both empty",
    ),
    "admin.refusal.contact-phone.value_error": (
        "Isi nomor telepon atau email kontak",
        "Enter the contact's phone number or email",
    ),
    "admin.refusal.contact-phone.string_pattern_mismatch": (
        "Nomor telepon hanya angka (boleh +, spasi, - dan kurung), 6 sampai 20 karakter",
        "A phone number is digits (+, spaces, - and brackets allowed), 6 to 20 characters",
    ),
    "admin.refusal.phone.string_pattern_mismatch": (
        "Nomor telepon hanya angka (boleh +, spasi, - dan kurung), 6 sampai 20 karakter",
        "A phone number is digits (+, spaces, - and brackets allowed), 6 to 20 characters",
    ),
    "admin.refusal.contact-email.string_pattern_mismatch": (
        "Tulis alamat email lengkap, contoh nama@contoh.id",
        "Enter a whole email address, for example name@example.org",
    ),
    "admin.refusal.email.string_pattern_mismatch": (
        "Tulis alamat email lengkap, contoh nama@contoh.id",
        "Enter a whole email address, for example name@example.org",
    ),
    # people
    "admin.people.title": ("Pengguna", "People"),
    "admin.people.lead": (
        "Orang yang dapat masuk ke Jejaring. Kata sandi dibuat sendiri oleh setiap orang.",
        "The people who can sign in to Jejaring. Each person sets their own password.",
    ),
    "admin.people.add": ("Tambah pengguna", "Add a person"),
    "admin.people.count": ("{total} pengguna", "{total} people"),
    "admin.people.back": ("Kembali ke daftar pengguna", "Back to the people"),
    "admin.person.new.title": ("Tambah pengguna", "Add a person"),
    "admin.person.name": ("Nama lengkap", "Full name"),
    "admin.person.name.missing": ("Isi nama lengkapnya", "Enter the person's full name"),
    "admin.person.role": ("Peran", "Role"),
    "admin.person.role.missing": ("Pilih perannya", "Choose the person's role"),
    "admin.person.kelurahan.hint": ("Hanya untuk petugas.", "For officers only."),
    "admin.person.kelurahan.missing": (
        "Pilih kelurahan petugas ini",
        "Choose the officer's kelurahan",
    ),
    "admin.person.partner": ("Mitra", "Partner"),
    "admin.person.partner.hint": ("Hanya untuk staf mitra.", "For partner staff only."),
    "admin.person.partner.missing": (
        "Pilih mitra tempat staf ini bekerja",
        "Choose the partner this person works for",
    ),
    "admin.person.phone": ("Nomor telepon", "Phone number"),
    "admin.person.phone.hint": (
        "Untuk pesan SMS. Menjadi nama pengguna bila nama pengguna dikosongkan.",
        "For SMS alerts. It becomes the user name when no user name is given.",
    ),
    "admin.person.email": ("Email (tidak wajib)", "Email (optional)"),
    "admin.person.login": ("Nama pengguna (tidak wajib)", "User name (optional)"),
    "admin.person.login.hint": (
        "Kosongkan untuk memakai nomor telepon.",
        "Leave empty to use the phone number.",
    ),
    "admin.person.login.missing": (
        "Isi nama pengguna atau nomor telepon",
        "Enter a user name or a phone number",
    ),
    "admin.person.no_login": ("Belum ada", "None yet"),
    "admin.person.create": ("Buat pengguna", "Create the person"),
    "admin.person.new_code": ("Kode baru (lupa kata sandi)", "New code (forgotten password)"),
    "admin.person.deactivate": ("Nonaktifkan", "Deactivate"),
    "admin.person.deactivate.title": ("Nonaktifkan pengguna?", "Deactivate this person?"),
    "admin.person.deactivate.warning": (
        "Orang ini langsung keluar dan tidak bisa masuk lagi. Ini tidak bisa dibatalkan dari "
        "halaman ini.",
        "This person is signed out at once and cannot sign in again. This cannot be undone "
        "from these pages.",
    ),
    "admin.person.deactivate.confirm": ("Ya, nonaktifkan", "Yes, deactivate"),
    "admin.created.title": ("Pengguna dibuat", "Person created"),
    "admin.created.no_login": (
        "Orang ini belum punya nama pengguna (nomor teleponnya sudah dipakai orang lain), jadi "
        "belum ada kode. Buat lagi dengan nama pengguna sendiri.",
        "This person has no user name yet (their phone number is someone else's), so there is "
        "no code. Create them again with a user name of their own.",
    ),
    "admin.created.token": ("Token API (untuk sistem, bukan orang)", "API token (for systems)"),
    "admin.created.token.hint": (
        "Hanya untuk program yang memanggil API atas nama orang ini. Orang tidak memerlukannya "
        "untuk masuk.",
        "Only for a program calling the API for this person. People do not need it to sign in.",
    ),
    "admin.code.title": ("Untuk masuk pertama kali", "For the first sign-in"),
    "admin.code.valid_until": ("Berlaku sampai", "Valid until"),
    "admin.code.next": ("Yang perlu dilakukan", "What to do next"),
    "admin.code.step.hand": (
        "Berikan nama pengguna dan kode ini langsung kepada orangnya (bertemu atau telepon). "
        "Jangan dikirim lewat grup.",
        "Give the user name and code to the person directly (in person or by phone). Never in "
        "a group chat.",
    ),
    "admin.code.step.open": ("Ia membuka halaman", "They open"),
    "admin.code.step.set": (
        "Ia mengisi nama pengguna dan kode, lalu membuat kata sandinya sendiri (paling sedikit "
        "10 karakter). Kode hanya bisa dipakai sekali.",
        "They enter the user name and code, then choose their own password (at least 10 "
        "characters). The code works once.",
    ),
    "admin.code.step.sign_in": (
        "Setelah itu ia masuk dengan nama pengguna dan kata sandinya.",
        "Then they sign in with their user name and password.",
    ),
    "admin.code.new.title": ("Kode baru", "New code"),
    "admin.code.new.once": (
        "Kode lama tidak berlaku lagi. Kode baru ini hanya ditampilkan sekali: catat sekarang.",
        "The old code no longer works. This new code is shown once only: write it down now.",
    ),
    # partners
    "admin.partners.title": ("Mitra", "Partners"),
    "admin.partners.lead": (
        "Lembaga yang menerima rujukan kasus. Mitra nonaktif tidak menerima rujukan baru.",
        "The organisations that take referrals. A deactivated partner gets no new referrals.",
    ),
    "admin.partners.add": ("Tambah mitra", "Add a partner"),
    "admin.partners.count": ("{total} mitra", "{total} partners"),
    "admin.partners.back": ("Kembali ke daftar mitra", "Back to the partners"),
    "admin.partner.new.title": ("Tambah mitra", "Add a partner"),
    "admin.partner.name": ("Nama lembaga", "Name of the organisation"),
    "admin.partner.name.hint": (
        "Contoh: UPTD PPA Kota Balikpapan",
        "For example: UPTD PPA Kota Balikpapan",
    ),
    "admin.partner.name.missing": ("Isi nama lembaga", "Enter the organisation's name"),
    "admin.partner.slug": ("Kode mitra", "Partner code (slug)"),
    "admin.partner.slug.hint": (
        "Huruf kecil, angka dan tanda '-', tanpa spasi. Contoh: uptd-ppa-balikpapan. Tidak "
        "bisa diubah.",
        "Lowercase letters, digits and '-', no spaces. For example: uptd-ppa-balikpapan. It "
        "cannot be changed.",
    ),
    "admin.partner.slug.missing": ("Isi kode mitra", "Enter the partner code"),
    "admin.partner.kind": ("Jenis lembaga", "Kind of organisation"),
    "admin.partner.kind.missing": ("Pilih jenis lembaga", "Choose the kind of organisation"),
    "admin.partner.services": ("Layanan", "Services"),
    "admin.partner.services.missing": (
        "Pilih paling sedikit satu layanan",
        "Choose at least one service",
    ),
    "admin.partner.kelurahan": ("Kelurahan yang dilayani", "Kelurahan served"),
    "admin.partner.kelurahan.hint": (
        "Kosongkan bila melayani keenam kelurahan.",
        "Leave all empty when it serves all six.",
    ),
    "admin.partner.kelurahan.all": ("Semua (enam kelurahan)", "All six"),
    "admin.partner.contact": ("Kontak", "Contact"),
    "admin.partner.contact.hint": (
        "Orang yang menerima SMS atau email rujukan. Perlu nomor telepon atau email.",
        "The person who gets referral alerts by SMS or email. Needs a phone number or an email.",
    ),
    "admin.partner.contact.name": ("Nama kontak", "Contact's name"),
    "admin.partner.contact.public": ("Direktori mitra", "Partner directory"),
    "admin.partner.contact.public.yes": (
        "Terbitkan kontak ini di direktori mitra (Open Referral)",
        "Publish this contact in the partner directory (Open Referral)",
    ),
    "admin.partner.contact.public.hint": (
        "Hanya nomor kantor atau piket lembaga, bukan nomor pribadi seseorang.",
        "Only the organisation's office or duty line, never a person's own number.",
    ),
    "admin.partner.contact.channel": ("Dikirim lewat", "Send by"),
    "admin.partner.contact.by": ("lewat {channel}", "by {channel}"),
    "admin.partner.contact.quiet": (
        "jam tenang {start}–{end} WITA",
        "quiet hours {start}–{end} WITA",
    ),
    "admin.partner.contact.none": ("Belum ada", "None yet"),
    "admin.partner.quiet.hint": (
        "Jam tenang (tidak wajib): di jam ini hanya pesan mendesak yang dikirim.",
        "Quiet hours (optional): only urgent alerts are sent in these hours.",
    ),
    "admin.partner.quiet.start": ("Jam tenang mulai", "Quiet hours start"),
    "admin.partner.quiet.end": ("Jam tenang selesai", "Quiet hours end"),
    "admin.partner.quiet.format": (
        "Jam:menit WITA, contoh 21:00",
        "Hours:minutes WITA, e.g. 21:00",
    ),
    "admin.partner.deadlines": ("Batas waktu menerima rujukan", "Time to accept a referral"),
    "admin.partner.deadlines.hint": (
        "Dalam jam, menurut tingkat risiko kasus. Biasanya 1, 6 dan 72 jam.",
        "In hours, by the case's risk. Usually 1, 6 and 72 hours.",
    ),
    "admin.partner.deadlines.value": (
        "risiko tinggi {high} jam, sedang {medium} jam, rendah {low} jam",
        "high risk {high} h, medium {medium} h, low {low} h",
    ),
    "admin.partner.deadline.high": ("Risiko tinggi (jam)", "High risk (hours)"),
    "admin.partner.deadline.medium": ("Risiko sedang (jam)", "Medium risk (hours)"),
    "admin.partner.deadline.low": ("Risiko rendah (jam)", "Low risk (hours)"),
    "admin.partner.deadline.not_a_number": (
        "Isi jumlah jam dengan angka, contoh 6",
        "Enter the hours as a number, for example 6",
    ),
    "admin.partner.create": ("Tambah mitra", "Add the partner"),
    "admin.partner.created.title": ("Mitra ditambahkan", "Partner added"),
    "admin.partner.issued.title": ("Kunci baru mitra", "The partner's new credentials"),
    "admin.partner.token": ("Token HTTP", "HTTP token"),
    "admin.partner.token.hint": (
        "Untuk sistem mitra yang menjawab rujukan lewat HTTP. Token sebelumnya (bila ada) masih "
        "berlaku selama masa peralihan (bawaan 24 jam) agar sistem mitra sempat beralih.",
        "For the partner's system answering referrals over HTTP. The previous token (if any) "
        "still works for a grace period (24 hours by default) so the partner's system can "
        "switch.",
    ),
    "admin.partner.nats": ("Akses NATS", "NATS access"),
    "admin.partner.nats.hint": (
        "Untuk sistem mitra yang menerima rujukan lewat NATS: operator membuat kunci NKey di "
        "komputernya dengan perintah ini dan menyerahkan berkas kuncinya langsung kepada "
        "pengelola sistem mitra. Kunci rahasia tidak pernah melewati aplikasi ini.",
        "For the partner's system receiving referrals over NATS: the operator makes an NKey on "
        "their own machine with this command and hands the key file to the partner's system "
        "operator directly. The secret key never passes through this app.",
    ),
    "admin.partner.new_token": ("Token HTTP baru", "New HTTP token"),
    "admin.partner.deactivate": ("Nonaktifkan", "Deactivate"),
    "admin.partner.deactivate.title": ("Nonaktifkan mitra?", "Deactivate this partner?"),
    "admin.partner.deactivate.warning": (
        "Mitra ini tidak menerima rujukan baru, dan token HTTP serta staf mitra ini langsung "
        "tidak bisa masuk lagi.",
        "This partner gets no new referrals, and its HTTP token and staff lose access at once.",
    ),
    "admin.partner.deactivate.confirm": ("Ya, nonaktifkan", "Yes, deactivate"),
    # the delivery log
    "admin.deliveries.title": ("Catatan pengiriman", "Delivery log"),
    "admin.deliveries.lead": (
        "SMS dan email Jejaring, yang terbaru di atas. Isi pesan tidak ditampilkan.",
        "Jejaring's SMS and emails, newest first. Message texts are not shown.",
    ),
    "admin.deliveries.case": ("Nomor kasus", "Case reference"),
    "admin.deliveries.case.hint": ("Contoh: BPT-2026-000123", "For example: BPT-2026-000123"),
    "admin.deliveries.status": ("Status", "Status"),
    "admin.deliveries.count": ("{total} pengiriman", "{total} deliveries"),
    "admin.deliveries.none": ("Belum ada pengiriman.", "No deliveries yet."),
    "admin.deliveries.urgent": ("Mendesak", "Urgent"),
    "admin.deliveries.to": ("Kepada", "To"),
    "admin.deliveries.attempts": ("Percobaan", "Attempts"),
    "admin.deliveries.created": ("Dibuat", "Created"),
    "admin.deliveries.sent": ("Terkirim", "Sent"),
    "admin.deliveries.next": ("Dijadwalkan", "Scheduled for"),
    "admin.deliveries.error": ("Kesalahan terakhir", "Last error"),
    # --- possible duplicates and merging (duplicates.py, templates/duplicates/) ---
    "duplicates.title": ("Kemungkinan kasus ganda", "Possible duplicate case"),
    "duplicates.body": (
        "Korban dengan nama dan tanggal lahir yang sama tercatat di kasus terbuka lain. "
        "Kasus ini tetap tercatat; periksa apakah orangnya sama:",
        "A victim with the same name and birth date is in another open case. This case is "
        "recorded all the same; check whether it is the same person:",
    ),
    "duplicates.coordinator_merges": (
        "Bila sama, minta koordinator menggabungkan kedua kasus.",
        "If so, ask the coordinator to merge the two cases.",
    ),
    "duplicates.check_then_merge": (
        "Bila sama, gabungkan kasus ini ke kasus yang lain.",
        "If so, merge this case into the other one.",
    ),
    "duplicates.merged_into": (
        "Kasus ini digabungkan sebagai kasus ganda; rujukan dan jawabannya ada di kasus",
        "This case was merged as a duplicate; its referrals and answers are on case",
    ),
    "duplicates.merged_from": ("Digabungkan ke kasus ini:", "Merged into this case:"),
    "merge.start": ("Gabungkan kasus", "Merge cases"),
    "merge.title": ("Gabungkan kasus {reference}", "Merge case {reference}"),
    "merge.back": ("Kembali ke kasus {reference}", "Back to case {reference}"),
    "merge.lead": (
        "Kasus {reference} akan ditutup sebagai kasus ganda. Semua rujukan dan jawaban mitra "
        "pindah ke kasus yang Anda pilih; tidak ada rujukan yang dibatalkan.",
        "Case {reference} will be closed as a duplicate. Every referral and partner's answer "
        "moves to the case you choose; no referral is cancelled.",
    ),
    "merge.into": ("Gabungkan ke kasus mana?", "Merge into which case?"),
    "merge.into.hint": (
        "Kasus terbuka dengan korban yang sama, atau kasus lain dengan nomornya.",
        "An open case with the same victim, or another case by its reference.",
    ),
    "merge.into.other": (
        "Kasus lain (isi nomornya di bawah)",
        "Another case (its reference below)",
    ),
    "merge.into.missing": ("Pilih kasus yang dipertahankan", "Choose the case to keep"),
    "merge.reference": ("Nomor kasus lain", "Reference of the other case"),
    "merge.reference.hint": ("Contoh: BPT-2026-000123", "For example: BPT-2026-000123"),
    "merge.reference.missing": (
        "Isi nomor kasus yang dipertahankan, misalnya BPT-2026-000123",
        "Enter the reference of the case to keep, like BPT-2026-000123",
    ),
    "merge.refused": (
        "Kasus tidak dapat digabungkan saat ini.",
        "The cases cannot be merged right now.",
    ),
    "merge.confirm.title": ("Periksa sebelum menggabungkan", "Check before merging"),
    "merge.confirm.duplicate": ("Kasus ganda (ditutup)", "Duplicate (closed)"),
    "merge.confirm.kept": ("Kasus yang dipertahankan", "Case kept"),
    "merge.confirm.body": (
        '{duplicate} ditutup dengan hasil "Kasus ganda" dan menunjuk ke {kept}. Rujukan '
        "{duplicate} beserta jawaban mitra pindah ke {kept}; mitra tetap menjawabnya seperti "
        "biasa.",
        '{duplicate} is closed with the outcome "Duplicate case" and points to {kept}. The '
        "referrals of {duplicate} and partners' answers move to {kept}; partners answer them "
        "as before.",
    ),
    "merge.confirm.final": (
        "Penggabungan tidak dapat dibatalkan.",
        "A merge cannot be undone.",
    ),
    "merge.confirm.button": ("Ya, gabungkan kasus", "Yes, merge the cases"),
    "merge.confirm.cancel": ("Batal", "Cancel"),
    # --- the case plan and overdue work (issue 20; web/plan.py, templates/plan) ---
    "plan.title": ("Rencana kasus", "Case plan"),
    "plan.none": ("Belum ada tugas dalam rencana kasus ini.", "This case plan has no tasks yet."),
    "plan.erased": ("(isi tugas sudah dihapus)", "(the task's text was erased)"),
    "plan.goal": ("Tujuan", "Goal"),
    "plan.due": ("Jatuh tempo", "Due"),
    "plan.responsible": ("Penanggung jawab", "Responsible"),
    "plan.status.open": ("Terbuka", "Open"),
    "plan.status.done": ("Selesai", "Done"),
    "plan.status.cancelled": ("Dibatalkan", "Cancelled"),
    "plan.overdue": ("Terlambat", "Overdue"),
    "plan.done": ("Tandai selesai", "Mark done"),
    "plan.cancel": ("Batalkan", "Cancel"),
    "plan.saved.added": ("Tugas ditambahkan ke rencana kasus.", "Task added to the case plan."),
    "plan.saved.done": ("Tugas ditandai selesai.", "Task marked done."),
    "plan.saved.cancelled": ("Tugas dibatalkan.", "Task cancelled."),
    "plan.add": ("Tambah tugas", "Add a task"),
    "plan.add.title": ("Tugas", "Task"),
    "plan.add.title.hint": (
        "Apa yang harus dilakukan, singkat. Contoh: Mendampingi korban ke Polresta",
        "What is to be done, briefly. For example: Accompany the victim to the police",
    ),
    "plan.add.goal": ("Tujuan (tidak wajib)", "Goal (optional)"),
    "plan.add.goal.hint": (
        "Hasil yang diharapkan. Contoh: Laporan polisi diterima",
        "The result hoped for. For example: The police report is accepted",
    ),
    "plan.add.due": ("Tanggal jatuh tempo", "Due date"),
    "plan.add.due.hint": (
        "Penanggung jawab diingatkan lewat SMS atau email sehari sebelumnya.",
        "The person responsible is reminded by SMS or email the day before.",
    ),
    "plan.add.responsible": ("Penanggung jawab", "Who is responsible"),
    "plan.add.responsible.choose": ("Pilih penanggung jawab", "Choose who is responsible"),
    "plan.add.people": ("Petugas dan koordinator", "Officers and the coordinator"),
    "plan.add.partners": ("Mitra", "Partners"),
    "plan.add.button": ("Tambah tugas", "Add the task"),
    "plan.title.missing": ("Tulis tugasnya", "Enter the task"),
    "plan.due.missing": ("Isi tanggal jatuh tempo", "Enter the due date"),
    "plan.responsible.missing": ("Pilih penanggung jawab", "Choose who is responsible"),
    "plan.late.title": ("Tugas terlambat ({total})", "Overdue tasks ({total})"),
    "plan.late.none": ("Tidak ada tugas Anda yang terlambat.", "None of your tasks is overdue."),
    "plan.mine.coming": ("Tugas Anda berikutnya ({total})", "Your coming tasks ({total})"),
    "plan.board.title": ("Tugas terlambat ({total})", "Overdue tasks ({total})"),
    "plan.board.hint": (
        "Tugas rencana kasus yang lewat jatuh tempo, per kelurahan dan penanggung jawab.",
        "Case plan tasks past their due date, by kelurahan and by who is responsible.",
    ),
    # --- attachments (attachments.py, attachments_view.py, templates/attachments/) ---
    "attachments.heading": ("Lampiran", "Attachments"),
    "attachments.added": ("Lampiran tersimpan.", "The attachment was saved."),
    "attachments.deleted": ("Lampiran dihapus.", "The attachment was deleted."),
    "attachments.unavailable": (
        "Daftar lampiran tidak dapat dimuat saat ini.",
        "The attachments cannot be shown right now.",
    ),
    "attachments.none": ("Belum ada lampiran.", "No attachments yet."),
    "attachments.erased": (
        "Berkas ini sudah dihapus bersama data pribadi kasus.",
        "This file was erased with the case's personal data.",
    ),
    "attachments.download": ("Unduh", "Download"),
    "attachments.delete": ("Hapus", "Delete"),
    "attachments.delete.question": (
        "Berkas ini akan dihapus untuk selamanya.",
        "This file will be deleted for good.",
    ),
    "attachments.delete.button": ("Ya, hapus lampiran", "Yes, delete the attachment"),
    "attachments.kind": ("Jenis lampiran", "Kind of attachment"),
    "attachments.kind.choose": ("Pilih jenis", "Choose a kind"),
    "attachments.file": ("Berkas", "File"),
    "attachments.file.hint": (
        "Foto (JPEG, PNG, WebP) atau dokumen PDF, paling besar {limit}. Berkas disimpan "
        "terenkripsi; mitra hanya menerima dokumen yang berhak mereka terima.",
        "A photo (JPEG, PNG, WebP) or a PDF document, at most {limit}. Files are stored "
        "encrypted; a partner receives only the documents it is entitled to.",
    ),
    "attachments.button": ("Lampirkan berkas", "Attach the file"),
    "attachments.too_large": (
        "Berkas terlalu besar: paling besar {limit}. Perkecil foto atau pindai dengan "
        "resolusi lebih rendah.",
        "The file is too large: at most {limit}. Make the photo smaller or scan at a lower "
        "resolution.",
    ),
    "attachments.kind_missing": ("Pilih jenis lampiran", "Choose the kind of attachment"),
    "attachments.file_missing": ("Pilih berkas untuk dilampirkan", "Choose a file to attach"),
    "attachments.refused": (
        "Lampiran tidak dapat disimpan atau dihapus. Coba lagi.",
        "The attachment could not be saved or deleted. Try again.",
    ),
    "attachments.documents": ("Dokumen dari PPATBM", "Documents from PPATBM"),
    "attachments.documents.hint": (
        "Dokumen yang boleh diterima mitra Anda untuk rujukan ini. Jangan simpan di ponsel "
        "yang dipakai bersama.",
        "The documents your partner may receive for this referral. Do not keep them on a "
        "shared phone.",
    ),
    "attachments.type.image/jpeg": ("Foto JPEG", "JPEG photo"),
    "attachments.type.image/png": ("Gambar PNG", "PNG image"),
    "attachments.type.image/webp": ("Foto WebP", "WebP photo"),
    "attachments.type.application/pdf": ("Dokumen PDF", "PDF document"),
    "attachment_kind.sktm": (
        "SKTM (Surat Keterangan Tidak Mampu)",
        "SKTM (certificate of low income)",
    ),
    "attachment_kind.pkh": ("Kartu PKH", "PKH card"),
    "attachment_kind.police_report": ("Laporan polisi", "Police report"),
    "attachment_kind.photo": ("Foto", "Photo"),
    "attachment_kind.other_document": ("Dokumen lain", "Other document"),
    "audit.action.attachment.add": ("Menambah lampiran", "Added an attachment"),
    "audit.action.attachment.read": ("Mengunduh lampiran", "Downloaded an attachment"),
    "audit.action.attachment.delete": ("Menghapus lampiran", "Deleted an attachment"),
    # --- the monthly report (reports.py) ---
    "report.title": ("Laporan bulanan", "Monthly report"),
    "report.nav": ("Laporan bulanan", "Monthly report"),
    "report.officer_link": (
        "Laporan bulanan kecamatan (angka kecil disamarkan)",
        "The kecamatan's monthly report (small numbers hidden)",
    ),
    "report.lead": ("Kecamatan {kecamatan}, {month}.", "Kecamatan {kecamatan}, {month}."),
    "report.lead.pick": (
        "Pilih bulan laporan yang ingin dilihat.",
        "Choose the month of the report to see.",
    ),
    "report.month": ("Bulan", "Month"),
    "report.show": ("Tampilkan laporan", "Show the report"),
    "report.month.invalid": (
        "Bulan di alamat halaman tidak dikenal. Pilih bulan dari daftar.",
        "The month in the page's address is not known. Choose a month from the list.",
    ),
    "report.unavailable": (
        "Layanan laporan sedang tidak dapat dihubungi, jadi laporan belum dapat ditampilkan. "
        "Tunggu sebentar lalu coba lagi. Data kasus tetap aman.",
        "The report service cannot be reached right now, so the report cannot be shown. Wait "
        "a moment and try again. The case data is safe.",
    ),
    "report.refused": (
        "Laporan bulan ini tidak dapat dibuat. Pilih bulan lain atau coba lagi nanti.",
        "The report of this month could not be made. Choose another month or try again later.",
    ),
    "report.exact": (
        "Angka di halaman ini persis, termasuk angka kecil yang dapat menunjuk seorang korban: "
        "hanya untuk koordinator. Untuk forum dan pihak lain, pakai unduhan (PDF, XLSX, CSV): "
        "angka kecilnya selalu disamarkan.",
        "The numbers on this page are exact, small ones too, which can point to one victim: "
        "for the coordinator only. For the forum and anyone else, use the downloads (PDF, "
        "XLSX, CSV): their small numbers are always hidden.",
    ),
    "report.suppressed": (
        "Angka kecil disamarkan agar tidak ada korban yang dapat dikenali:",
        "Small numbers are hidden so that no victim can be recognised:",
    ),
    "report.suppressed.less_than_3": (
        "berarti 1 atau 2.",
        "means 1 or 2.",
    ),
    "report.suppressed.x": (
        "berarti angka ini juga disembunyikan, agar angka <3 tidak dapat dihitung dari jumlahnya.",
        "means this number is hidden too, so that a <3 cannot be worked out from the totals.",
    ),
    "report.total": ("Jumlah", "Total"),
    "report.scroll_hint": (
        "Di ponsel, geser grafik dan tabel ke samping untuk melihat semuanya.",
        "On a phone, swipe the charts and tables sideways to see all of them.",
    ),
    "report.unit": ("Yang dihitung: {unit}.", "Counted: {unit}."),
    "report.chart": ("Grafik: {title}", "Chart: {title}"),
    "report.downloads": ("Unduh laporan", "Download the report"),
    "report.downloads.hint": (
        "PDF untuk dicetak di forum kecamatan; XLSX dan CSV untuk diolah. Angka kecil selalu "
        "disamarkan.",
        "PDF to print for the kecamatan forum; XLSX and CSV to work with. Small numbers are "
        "always hidden.",
    ),
    "report.download.pdf": ("PDF (untuk dicetak)", "PDF (to print)"),
    "report.download.xlsx": ("XLSX (Excel)", "XLSX (Excel)"),
    "report.download.csv": ("CSV", "CSV"),
    "report.simfoni": ("Ekspor SIMFONI-PPA", "SIMFONI-PPA export"),
    "report.simfoni.hint": (
        "Satu baris per korban, tanpa nama, untuk diisikan ke SIMFONI-PPA. Simpan hanya di "
        "komputer kantor dan hapus setelah diisikan.",
        "One row per victim, without names, to enter into SIMFONI-PPA. Keep it on the office "
        "computer only and delete it once entered.",
    ),
    "report.download.simfoni_csv": ("SIMFONI-PPA (CSV)", "SIMFONI-PPA (CSV)"),
    "report.download.simfoni_xlsx": ("SIMFONI-PPA (XLSX)", "SIMFONI-PPA (XLSX)"),
    "report.timings": ("Kecepatan mitra menerima rujukan", "How fast partners accepted referrals"),
    "report.timings.hint": (
        "Waktu dari permintaan rujukan sampai mitra menerimanya, untuk rujukan yang diterima "
        "bulan ini.",
        "Time from the referral's request to the partner's acceptance, over the referrals "
        "accepted this month.",
    ),
    "report.timings.none": (
        "Belum ada rujukan yang diterima mitra bulan ini.",
        "No partner accepted a referral this month.",
    ),
    "report.timings.partner": ("Mitra", "Partner"),
    "report.timings.accepted": ("Diterima", "Accepted"),
    "report.timings.median": ("Waktu tengah (median)", "Median time"),
    "report.timings.p90": ("9 dari 10 dalam", "9 in 10 within"),
    "report.timings.overdue": ("Lewat batas waktu", "Overdue"),
    "report.notes": ("Catatan", "Notes"),
    "report.generated": ("Dibuat {when}.", "Made {when}."),
}


class Translator:
    """The catalogue in one language: `t("key", name=value)`."""

    def __init__(self, lang: Lang) -> None:
        self.lang: Lang = lang
        self.index = 0 if lang == "id" else 1

    def __call__(self, key: str, **values: object) -> str:
        entry = CATALOGUE.get(key)
        if entry is None:  # a code the catalogue does not know yet: show the code itself
            return key.rsplit(".", 1)[-1]
        text = entry[self.index]
        return text.format(**values) if values else text

    def get(self, key: str, default: str) -> str:
        return self(key) if key in CATALOGUE else default


_TRANSLATORS = {"id": Translator("id"), "en": Translator("en")}


def translator(lang: Lang) -> Translator:
    return _TRANSLATORS[lang]


def month(number: int, lang: Lang) -> str:
    return _MONTHS[lang][number - 1]
