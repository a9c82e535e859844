"""`jejaring tls`: the private CA and certificates a site without its own gets."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from jejaring.cli.tls import TlsError, make_site_certs

JEJARING = Path(sys.executable).parent / "jejaring"


def load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def names(cert: x509.Certificate) -> set[str]:
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return {str(n.value) for n in sans}


def usages(cert: x509.Certificate) -> set[x509.ObjectIdentifier]:
    return set(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)


def test_a_site_gets_a_ca_server_route_and_client_certificates(tmp_path: Path) -> None:
    out = tmp_path / "tls"
    made = make_site_certs(
        out, ["nats.example.org", "10.0.0.5"], clients=["posbakum"], site="balikpapan"
    )
    assert made.created == ["ca", "nats", "route", "posbakum", "routes"]
    ca = load(out / "ca.pem")
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    server, route, client = (load(out / f"{r}.pem") for r in ("nats", "route", "posbakum"))
    for cert in (server, route, client):
        cert.verify_directly_issued_by(ca)
    assert names(server) == {"nats.example.org", "10.0.0.5"}
    assert usages(server) == {ExtendedKeyUsageOID.SERVER_AUTH}
    assert names(route) == {"nats-1", "nats-2", "nats-3"}
    # Routes dial each other: each side is both server and client (mutual TLS).
    assert usages(route) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    assert usages(client) == {ExtendedKeyUsageOID.CLIENT_AUTH}
    routes = (out / "routes.conf").read_text()
    assert routes.count("nats-route://route:") == 3
    assert "@nats-2:6222" in routes
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    for path in out.iterdir():
        mode = 0o644 if path.name == "ca.pem" else 0o600  # the CA certificate is public
        assert stat.S_IMODE(path.stat().st_mode) == mode, path.name


def test_a_second_run_reuses_the_ca_and_keeps_what_is_still_right(tmp_path: Path) -> None:
    out = tmp_path / "tls"
    make_site_certs(out, ["nats.example.org"])
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    again = make_site_certs(out, ["nats.example.org"])
    assert again.created == [] and again.renewed == []
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    # New names: the server certificate is issued again by the same CA; the route password
    # and the CA stay.
    changed = make_site_certs(out, ["nats.example.org", "nats2.example.org"])
    assert changed.renewed == ["nats"]
    assert (out / "ca.pem").read_bytes() == before["ca.pem"]
    assert (out / "routes.conf").read_bytes() == before["routes.conf"]
    assert names(load(out / "nats.pem")) == {"nats.example.org", "nats2.example.org"}
    load(out / "nats.pem").verify_directly_issued_by(load(out / "ca.pem"))


def test_half_a_ca_is_refused_not_replaced(tmp_path: Path) -> None:
    out = tmp_path / "tls"
    make_site_certs(out, ["nats.example.org"])
    key = (out / "ca-key.pem").read_bytes()
    (out / "ca.pem").unlink()
    with pytest.raises(TlsError, match="ca-key.pem exists without its pair"):
        make_site_certs(out, ["nats.example.org"])
    assert (out / "ca-key.pem").read_bytes() == key
    assert not (out / "ca.pem").exists()


def test_the_ca_key_can_live_outside_the_mounted_folder(tmp_path: Path) -> None:
    """With --ca-key the CA's private key is not in the folder NATS mounts; a second run signs
    with the same CA from there, and without it the folder's CA is half a pair, refused."""
    out, ca_key = tmp_path / "deploy" / "nats" / "tls", tmp_path / ".jejaring-ca" / "ca-key.pem"
    first = make_site_certs(out, ["nats.example.org"], ca_key=ca_key)
    assert first.files["ca-key"] == ca_key and "ca" in first.created
    assert not list(out.glob("ca-key*")), "the CA's key is in the mounted folder"
    assert oct(ca_key.stat().st_mode & 0o777) == "0o600"
    assert oct(ca_key.parent.stat().st_mode & 0o777) == "0o700"
    again = make_site_certs(out, ["nats.example.org", "nats2.example.org"], ca_key=ca_key)
    assert "ca" in again.kept
    load(out / "nats.pem").verify_directly_issued_by(load(out / "ca.pem"))
    with pytest.raises(TlsError, match="ca.pem exists without its pair"):
        make_site_certs(out, ["nats.example.org"])


@pytest.mark.parametrize("name", ["ca-key", "nats", "route-key", "Partner", "a/b"])
def test_a_client_name_that_would_overwrite_another_file_is_refused(
    tmp_path: Path, name: str
) -> None:
    out = tmp_path / "tls"
    make_site_certs(out, ["nats.example.org"])
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(TlsError, match=f"--client: {name!r} must be"):
        make_site_certs(out, ["nats.example.org"], clients=[name])
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_the_command_names_a_bad_host(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(JEJARING), "tls", "--out", str(tmp_path / "t"), "--host", "nats example"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "--host: 'nats example' is neither a host name nor an IP address" in result.stderr
    assert not (tmp_path / "t").exists()
