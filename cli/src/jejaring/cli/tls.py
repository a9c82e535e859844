"""`jejaring tls`: a private CA and the certificates of a site that has none of its own.

Writes into one folder (mode 0700; every file 0600 but ca.pem, 0644: it is public, and the
service containers, another user, read it through a bind mount of that one file):

- `ca.pem`, `ca-key.pem`: the site's CA. An existing CA is reused, never replaced; a folder
  holding one of the two files without the other is refused rather than guessed at.
- `nats.pem`, `nats-key.pem`: the NATS server's certificate (server auth), names from --host.
- `route.pem`, `route-key.pem`: the cluster routes' certificate (server and client auth, so the
  nodes verify each other: mutual TLS), names from --route-host.
- `routes.conf`: the cluster's route user and password (made once, then kept) and the routes
  to every --route-host carrying them; the cluster nodes include it inside `cluster { }`.
- `<name>.pem`, `<name>-key.pem` for each --client NAME (client auth), optional.

A leaf certificate already there is kept when it was issued by this CA, names exactly the
requested hosts and is valid for another 30 days; otherwise it is issued again (and said so).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import typer
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_DAYS = 3650
LEAF_DAYS = 825
RENEW_BEFORE = dt.timedelta(days=30)
# Valid from a little before they are made: a peer whose clock is a few minutes behind.
BACKDATE = dt.timedelta(minutes=5)
DEFAULT_ROUTE_HOSTS = ("nats-1", "nats-2", "nats-3")
ROUTE_PORT = 6222
ROUTE_USER = "route"
ROUTE_PASSWORD = re.compile(r'password: "([A-Za-z0-9_-]{32,})"')
NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
SERVER = [ExtendedKeyUsageOID.SERVER_AUTH]
CLIENT = [ExtendedKeyUsageOID.CLIENT_AUTH]
# Where the jejaring commands (provision, partner credentials) find the site's CA by default.
CA_FILE_VARIABLE = "JEJARING_NATS_TLS_CA_FILE"


def ca_file_option(
    help: str = "The CA that signed NATS's certificate (turns TLS on; `jejaring tls` makes ca.pem).",
) -> Path | None:
    """The --tls-ca-file option of the commands that connect to NATS."""
    return typer.Option(None, envvar=CA_FILE_VARIABLE, exists=True, dir_okay=False, help=help)  # type: ignore[no-any-return]


class TlsError(ValueError):
    """A folder or an argument `make_site_certs` cannot work with."""


@dataclass
class SiteCerts:
    """What `make_site_certs` did: the files by role, and what it created, kept or renewed."""

    folder: Path
    files: dict[str, Path] = field(default_factory=dict)
    created: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    renewed: list[str] = field(default_factory=list)


def _mode(path: Path) -> int:
    return 0o644 if path.name == "ca.pem" else 0o600


def _write_private(path: Path, data: bytes) -> None:
    """Write `data` to a file only its owner can read (ca.pem: anyone), replacing it
    atomically."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(tmp, _mode(path))
    os.replace(tmp, path)


def _san(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def _check_hosts(hosts: Sequence[str], option: str) -> list[str]:
    cleaned = list(dict.fromkeys(h.strip().lower() for h in hosts if h.strip()))
    if not cleaned:
        raise TlsError(f"{option}: give at least one host name or IP address")
    for host in cleaned:
        try:
            ipaddress.ip_address(host)
        except ValueError:
            labels = host.removeprefix("*.").split(".")
            if not all(re.fullmatch(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?", p) for p in labels):
                raise TlsError(
                    f"{option}: {host!r} is neither a host name nor an IP address"
                ) from None
    return cleaned


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _load_ca(
    cert_path: Path, key_path: Path
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or (
        key.public_key().public_numbers() != cert.public_key().public_numbers()  # type: ignore[union-attr]
    ):
        raise TlsError(f"{key_path} is not the key of {cert_path}")
    return cert, key


def _new_ca(
    site: str, backdate: dt.timedelta
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Jejaring"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"Jejaring CA {site}"),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - backdate)
        .not_valid_after(now + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _issue(
    ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey],
    common_name: str,
    hosts: Sequence[str],
    usages: list[x509.ObjectIdentifier],
    backdate: dt.timedelta,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    ca_cert, ca_key = ca
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - backdate)
        .not_valid_after(now + dt.timedelta(days=LEAF_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=True,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
    )
    if hosts:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([_san(h) for h in hosts]), critical=False
        )
    return builder.sign(ca_key, hashes.SHA256()), key


def _still_good(
    path: Path, ca_cert: x509.Certificate, hosts: Sequence[str], usages: list[x509.ObjectIdentifier]
) -> bool:
    """True when the certificate at `path` was signed by this CA for exactly these hosts and
    usages and stays valid for RENEW_BEFORE more."""
    try:
        cert = x509.load_pem_x509_certificate(path.read_bytes())
        cert.verify_directly_issued_by(ca_cert)
        wanted = {str(_san(h).value) for h in hosts}
        try:
            sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            have = {str(n.value) for n in sans}
        except x509.ExtensionNotFound:
            have = set()
        eku = list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    except (OSError, ValueError, TypeError, InvalidSignature, x509.ExtensionNotFound):
        return False
    fresh = cert.not_valid_after_utc - dt.datetime.now(dt.UTC) > RENEW_BEFORE
    return fresh and have == wanted and sorted(map(str, eku)) == sorted(map(str, usages))


def routes_conf(password: str, routes: Sequence[str]) -> str:
    """The body of `cluster { }` that authenticates routes: who may connect (user, password)
    and the routes this node solicits with them (`host:port` each)."""
    urls = "".join(f'    "nats-route://{ROUTE_USER}:{password}@{route}"\n' for route in routes)
    return (
        "# Generated by `jejaring tls`; a secret: never commit it. Identical on every node.\n"
        f'authorization {{\n  user: "{ROUTE_USER}"\n  password: "{password}"\n  timeout: 2\n}}\n'
        f"routes: [\n{urls}]\n"
    )


def route_password(path: Path) -> str:
    """The route password already in `path`, or a new random one."""
    try:
        found = ROUTE_PASSWORD.search(path.read_text())
    except OSError:
        found = None
    return found.group(1) if found else secrets.token_urlsafe(32)


def make_site_certs(
    out: Path,
    hosts: Sequence[str],
    *,
    route_hosts: Sequence[str] = DEFAULT_ROUTE_HOSTS,
    clients: Sequence[str] = (),
    site: str = "site",
    ca_key: Path | None = None,
    backdate: dt.timedelta = BACKDATE,
) -> SiteCerts:
    """Create (or reuse) the CA in `out` and issue the NATS server, route and client certs.
    `ca_key`: where the CA's private key lives (default `out/ca-key.pem`); outside `out` it is
    in no folder a container mounts, so only the operator can issue certificates. `backdate`:
    how long before now new certificates are valid from (tests whose clock runs ahead of the
    servers' use more: `jejaring.testing.CLOCKS_APART`)."""
    hosts = _check_hosts(hosts, "--host")
    route_hosts = _check_hosts(route_hosts, "--route-host")
    for name in clients:
        # A client's files must not land on another's: "ca-key" would overwrite the CA's key.
        if not NAME.fullmatch(name) or name in {"ca", "nats", "route"} or name.endswith("-key"):
            raise TlsError(
                f"--client: {name!r} must be lower-case letters, digits and dashes, "
                "not ca, nats or route, and not end in -key"
            )
    out.mkdir(parents=True, exist_ok=True)
    os.chmod(out, 0o700)
    result = SiteCerts(folder=out)

    ca_cert_path, ca_key_path = out / "ca.pem", ca_key or out / "ca-key.pem"
    if ca_key is not None:
        ca_key.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(ca_key.parent, 0o700)
    if ca_cert_path.exists() and ca_key_path.exists():
        ca = _load_ca(ca_cert_path, ca_key_path)
        result.kept.append("ca")
    elif ca_cert_path.exists() or ca_key_path.exists():
        present = ca_cert_path if ca_cert_path.exists() else ca_key_path
        raise TlsError(
            f"{present} exists without its pair; restore the missing file or move it away "
            "(a new CA would make every certificate already given out worthless)"
        )
    else:
        ca = _new_ca(site, backdate)
        _write_private(ca_key_path, _key_pem(ca[1]))
        _write_private(ca_cert_path, ca[0].public_bytes(serialization.Encoding.PEM))
        result.created.append("ca")
    result.files["ca"] = ca_cert_path
    result.files["ca-key"] = ca_key_path

    leaves: list[tuple[str, str, Sequence[str], list[x509.ObjectIdentifier]]] = [
        ("nats", "jejaring nats", hosts, SERVER),
        ("route", "jejaring route", route_hosts, SERVER + CLIENT),
        *[(name, f"jejaring client {name}", (), CLIENT) for name in clients],
    ]
    for role, common_name, names, usages in leaves:
        cert_path, key_path = out / f"{role}.pem", out / f"{role}-key.pem"
        result.files[role] = cert_path
        result.files[f"{role}-key"] = key_path
        if key_path.exists() and _still_good(cert_path, ca[0], names, usages):
            result.kept.append(role)
            continue
        (result.renewed if cert_path.exists() else result.created).append(role)
        cert, key = _issue(ca, common_name, names, usages, backdate)
        _write_private(key_path, _key_pem(key))
        _write_private(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    routes_path = out / "routes.conf"
    text = routes_conf(
        route_password(routes_path),
        [f"[{h}]:{ROUTE_PORT}" if ":" in h else f"{h}:{ROUTE_PORT}" for h in route_hosts],
    )
    result.files["routes"] = routes_path
    if routes_path.exists() and routes_path.read_text() == text:
        result.kept.append("routes")
    else:
        (result.renewed if routes_path.exists() else result.created).append("routes")
        _write_private(routes_path, text.encode())
    for path in out.iterdir():  # files left from an earlier run, too
        if path.is_file():
            os.chmod(path, _mode(path))
    return result


def tls(
    out: Path = typer.Option(..., help="Folder for the CA and certificates (made 0700)."),
    host: list[str] = typer.Option(
        ..., help="A name or IP address clients reach NATS by (repeat for each)."
    ),
    route_host: list[str] = typer.Option(
        list(DEFAULT_ROUTE_HOSTS), help="A cluster node's name or IP address (repeat for each)."
    ),
    client: list[str] = typer.Option([], help="Also issue a client certificate NAME (repeatable)."),
    site: str = typer.Option("site", help="Names the CA (its common name)."),
    ca_key: Path | None = typer.Option(
        None,
        help="Keep the CA's private key here instead of OUT/ca-key.pem: outside every folder "
        "a container mounts (e.g. .jejaring-ca/ca-key.pem), so no container can issue "
        "certificates.",
    ),
) -> None:
    """Make a private CA (or reuse the one in OUT) and the NATS server, route and client
    certificates signed by it."""
    try:
        made = make_site_certs(
            out, host, route_hosts=route_host, clients=client, site=site, ca_key=ca_key
        )
    except (TlsError, OSError) as exc:
        typer.echo(f"jejaring tls: {exc}", err=True)
        raise typer.Exit(2) from None
    for label, roles in (("created", made.created), ("kept", made.kept)):
        if roles:
            typer.echo(f"{label}: {', '.join(roles)}")
    if made.renewed:
        typer.echo(f"issued again (names, usage or expiry changed): {', '.join(made.renewed)}")
    typer.echo(
        f"{out}/: ca.pem is what clients trust; the CA's key {made.files['ca-key']} signs "
        "certificates: keep it out of every container and offline if you can"
    )
