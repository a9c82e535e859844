"""Compose's NATS wiring over TLS, run on this machine with the commands compose runs.

A real nats-server with the committed tls.conf (paths rewritten) and the authorization
`jejaring nats-config --out` writes (referral down); `jejaring provision` over TLS trusting the
site's CA (and without it: one line, at once); a real referral service over TLS; a partner
onboarded with `jejaring partner credentials` (seed + the CA copied
beside it), its key put into the server by `jejaring nats-auth-sync`; the example client with
seed and CA reads its stream, and is refused without the CA or over plaintext.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from jejaring.cli import natsconfig
from jejaring.cli.tls import CA_FILE_VARIABLE, SiteCerts, make_site_certs
from jejaring.shared.messaging.connection import client_tls, connect, inbox_prefix
from jejaring.shared.messaging.natsserver import NatsServer, free_port
from jejaring.testing import CLOCKS_APART, wait_status

ROOT = Path(__file__).resolve().parents[2]
TLS_CONF = ROOT / "deploy" / "nats" / "tls.conf"
BIN = Path(sys.executable).parent
EXAMPLE = ROOT / "examples" / "partner_client.py"
SLUG = "posbakum-aisyiyah"
PASSWORDS = {n: f"{n}-nats-password-0123456789" for n in natsconfig.IDENTITIES}
ADMIN_TOKEN = "referral-admin-token-0123456789abcdef"


@dataclass
class Site:
    certs: SiteCerts
    server: NatsServer
    auth: Path
    env: dict[str, str]  # what compose's init, nats-auth and sidecar are given

    @property
    def tls_url(self) -> str:
        return f"tls://127.0.0.1:{self.server.port}"

    def jejaring(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / "jejaring"), *args],
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """nats-server over TLS only, its authorization from `jejaring nats-config --out` written
    while referral is down (as compose's nats-auth step does)."""
    tmp = tmp_path_factory.mktemp("site")
    certs = make_site_certs(tmp / "tls", ["127.0.0.1", "localhost"], backdate=CLOCKS_APART)
    (tmp / "tls.conf").write_text(
        TLS_CONF.read_text().replace("/etc/nats/tls/", f"{certs.folder}/")
    )
    server = NatsServer(store_dir=tmp / "js", log_file=tmp / "nats.log")
    server.config_file = tmp / "nats.conf"
    server.write_config('include "auth.conf"\ninclude "tls.conf"\n')
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("JEJARING_", "REFERRAL_"))},
        **{natsconfig.password_env(n): p for n, p in PASSWORDS.items()},
        "REFERRAL_ADMIN_TOKEN": ADMIN_TOKEN,
        "JEJARING_REFERRAL_URL": f"http://127.0.0.1:{free_port()}",
        "JEJARING_DATA_DIR": str(tmp / "data"),
    }
    made = Site(certs, server, tmp / "auth.conf", env)
    written = made.jejaring("nats-config", "--out", str(made.auth))
    assert written.returncode == 0, written.stderr
    assert "referral did not answer" in written.stderr
    server.start()
    try:
        yield made
    finally:
        server.stop()


def test_provision_without_the_ca_fails_at_once_with_one_line(site: Site) -> None:
    started = time.monotonic()
    refused = site.jejaring("provision", "--nats-url", site.tls_url)
    assert refused.returncode == 1
    assert time.monotonic() - started < 15, "retried what retrying cannot fix"
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1, refused.stderr
    assert lines[0].startswith(f"jejaring provision: {site.tls_url}: NATS's TLS certificate is not")
    assert "--tls-ca-file" in lines[0] and CA_FILE_VARIABLE in lines[0]
    assert PASSWORDS["provisioner"] not in refused.stdout + refused.stderr


def test_provision_refuses_a_missing_ca_file_naming_the_option(site: Site) -> None:
    # a wide terminal: the error's box would otherwise break a long (xdist worker's) path
    refused = site.jejaring(
        "provision", "--tls-ca-file", str(site.certs.folder / "nope.pem"), COLUMNS="400"
    )
    assert refused.returncode == 2
    assert "--tls-ca-file" in refused.stderr and "does not exist" in refused.stderr


@pytest.fixture(scope="module")
def provisioned(site: Site) -> Site:
    """`jejaring provision` over TLS, the CA from JEJARING_NATS_TLS_CA_FILE (compose's init)."""
    made = site.jejaring(
        "provision", "--nats-url", site.tls_url, **{CA_FILE_VARIABLE: str(site.certs.files["ca"])}
    )
    assert made.returncode == 0, made.stderr
    assert "stream CASES: created" in made.stdout
    assert "consumer REFERRAL_EVENTS/notify-referral-events: created" in made.stdout
    again = site.jejaring(
        "provision", "--nats-url", site.tls_url, "--tls-ca-file", str(site.certs.files["ca"])
    )
    assert again.returncode == 0, again.stderr
    assert "stream CASES: unchanged" in again.stdout
    return site


@pytest.fixture(scope="module")
def referral(provisioned: Site, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real referral service reaching NATS over TLS as its least-privilege user."""
    tmp = tmp_path_factory.mktemp("referral")
    port = int(provisioned.env["JEJARING_REFERRAL_URL"].rsplit(":", 1)[1])
    env = {
        **provisioned.env,
        "REFERRAL_DATA_DIR": str(tmp),
        "REFERRAL_PORT": str(port),
        "REFERRAL_NATS_URL": provisioned.tls_url,
        "REFERRAL_NATS_TLS_CA_FILE": str(provisioned.certs.files["ca"]),
        "REFERRAL_NATS_USER": natsconfig.service_user("referral"),
        "REFERRAL_NATS_PASSWORD": PASSWORDS["referral"],
        "JEJARING_IDENTITY_KEY": "identity-key-for-tests-0123456789abcdef",
    }
    with open(tmp / "referral.log", "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "jejaring.referral"], env=env, stdout=log, stderr=log
        )
    try:
        wait_status(port, 200, timeout=60)
        yield provisioned.env["JEJARING_REFERRAL_URL"]
    finally:
        process.terminate()
        process.wait(timeout=20)


async def publish_referral(site: Site) -> str:
    """What referral routes to the partner: one referral on its stream, over TLS."""
    nc = await connect(
        site.tls_url,
        name="test-referral",
        user=natsconfig.service_user("referral"),
        password=PASSWORDS["referral"],
        tls=client_tls(site.certs.files["ca"]),
        inbox_prefix=inbox_prefix("referral"),
    )
    referral_id = str(uuid.uuid4())
    body = {"referral_id": referral_id, "partner_slug": SLUG, "case_reference": "JJR-TLS-1"}
    headers = {"ce-type": "org.jejaring.referral.requested.v1", "ce-id": referral_id}
    await nc.jetstream().publish(
        f"referral.v1.to.{SLUG}.requested", json.dumps(body).encode(), headers=headers
    )
    await nc.close()
    return referral_id


def example(site: Site, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLE), "--slug", SLUG, "--count", "1", "--idle-exit", "5", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_partner_onboarded_over_tls_reads_its_stream_with_seed_and_ca(
    site: Site, referral: str, tmp_path: Path
) -> None:
    listed = site.jejaring("partner", "list")  # a registered partner: its stream exists
    assert listed.returncode == 0 and SLUG in listed.stdout, listed.stderr
    handoff = tmp_path / "handoff"
    issued = site.jejaring(
        "partner", "credentials", SLUG, "--out", str(handoff),
        JEJARING_PUBLIC_NATS_URL=site.tls_url, **{CA_FILE_VARIABLE: str(site.certs.files["ca"])},
    )  # fmt: skip
    assert issued.returncode == 0, issued.stderr
    printed = dict(line.split(":", 1) for line in issued.stdout.splitlines() if ":" in line)
    seed = Path(printed["seed file"].split("(")[0].strip())
    ca = Path(printed["CA file"].split("(")[0].strip())
    assert seed.parent == ca.parent == handoff
    assert ca.read_bytes() == site.certs.files["ca"].read_bytes()
    assert oct(ca.stat().st_mode & 0o777) == "0o644"  # public; the seed stays 0600
    assert oct(seed.stat().st_mode & 0o777) == "0o600"
    assert f"--ca-file {ca}" in printed["try it"] and site.tls_url in printed["try it"]

    synced = site.jejaring("nats-auth-sync", "--config", str(site.auth),
                           "--pid", str(site.server.process.pid), "--once")  # fmt: skip
    assert synced.returncode == 0, synced.stderr
    assert "reloaded" in synced.stderr
    referral_id = asyncio.run(publish_referral(site))

    seed_and_url = ("--seed-file", str(seed), "--nats-url", site.tls_url)
    no_ca = example(site, *seed_and_url)
    assert no_ca.returncode == 1
    assert "could not connect" in no_ca.stderr and "CERTIFICATE_VERIFY_FAILED" in no_ca.stderr
    plain = example(
        site, "--seed-file", str(seed), "--nats-url", f"nats://127.0.0.1:{site.server.port}"
    )
    assert plain.returncode == 1, plain.stdout
    assert "could not connect" in plain.stderr
    assert "listening" not in no_ca.stdout + plain.stdout

    read = example(site, *seed_and_url, "--ca-file", str(ca))
    assert read.returncode == 0, read.stderr
    assert f"listening on AGENCY_{SLUG.upper().replace('-', '_')}" in read.stdout
    assert f"referral={referral_id}" in read.stdout


def test_partner_credentials_refuses_a_key_as_the_ca_and_writes_no_seed(
    site: Site, tmp_path: Path
) -> None:
    """A slip of the option (ca-key.pem) hands nothing out: exit 2, one line, no seed."""
    for wrong, why in (
        (site.certs.files["ca-key"], "holds a private key"),
        (site.certs.files["nats"], "is not a CA certificate"),
    ):
        refused = site.jejaring(
            "partner", "credentials", SLUG, "--out", str(tmp_path), "--ca-file", str(wrong)
        )
        assert refused.returncode == 2, refused.stdout
        assert refused.stderr.strip() == f"jejaring partner: --ca-file: {wrong} {why}" + (
            "; give ca.pem, the certificate" if "private" in why else " (ca.pem of `jejaring tls`)"
        )
        assert not list(tmp_path.iterdir())
