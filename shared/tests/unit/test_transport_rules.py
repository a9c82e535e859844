"""Production refuses plaintext to another machine: NATS without TLS, public URLs without
https. Loopback stays allowed (the embedded stack on 127.0.0.1)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError
from pydantic_settings import SettingsConfigDict

from jejaring.shared.settings import ServiceSettings, is_loopback


class DemoSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="DEMO_")

    service: str = "demo"
    partner_public_url: str = "http://127.0.0.1:8001"


def demo(**values: object) -> DemoSettings:
    return DemoSettings(environment="production", **values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "host", ["localhost", "127.0.0.1", "127.8.9.10", "::1", "[::1]", "LOCALHOST"]
)
def test_loopback_hosts(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["nats", "10.0.0.5", "localhost.example.org", "0.0.0.0", ""])
def test_other_hosts_are_not_loopback(host: str) -> None:
    assert not is_loopback(host)


def test_the_embedded_defaults_pass_in_production() -> None:
    settings = demo()
    assert settings.nats_url == "nats://127.0.0.1:4222"


@pytest.mark.parametrize(
    "url", ["nats://nats:4222", "nats://127.0.0.1:4222,nats://nats-2:4222", "10.0.0.5:4222"]
)
def test_plaintext_nats_to_another_machine_is_refused_naming_the_setting(url: str) -> None:
    with pytest.raises(ValidationError, match=r"DEMO_NATS_URL: .* is plaintext to another") as e:
        demo(nats_url=url)
    assert "DEMO_NATS_TLS_CA_FILE" in str(e.value)


def test_the_refusal_never_repeats_credentials_in_the_url() -> None:
    with pytest.raises(ValidationError) as e:
        demo(nats_url="nats://svc-intake:s3cret-pass@nats:4222")
    assert "s3cret" not in str(e.value)
    assert "nats://nats:4222" in str(e.value)


def test_nats_over_tls_passes(tmp_path: Path) -> None:
    assert demo(nats_url="tls://nats:4222").nats_url == "tls://nats:4222"
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    assert demo(nats_url="nats://nats:4222", nats_tls_ca_file=ca).nats_tls_ca_file == ca


def test_development_allows_plaintext_anywhere() -> None:
    settings = DemoSettings(nats_url="nats://nats:4222", partner_public_url="http://a.example")
    assert settings.environment == "development"


def test_a_missing_ca_file_is_named() -> None:
    with pytest.raises(ValidationError, match="DEMO_NATS_TLS_CA_FILE: /nowhere/ca.pem is not"):
        DemoSettings(nats_tls_ca_file=Path("/nowhere/ca.pem"))


def test_a_client_certificate_needs_its_key(tmp_path: Path) -> None:
    cert = tmp_path / "svc.pem"
    cert.write_text("x")
    with pytest.raises(ValidationError, match="DEMO_NATS_TLS_CERT_FILE and DEMO_NATS_TLS_KEY"):
        DemoSettings(nats_tls_cert_file=cert)


@pytest.mark.parametrize("url", ["http://jejaring.example.org", "ftp://10.0.0.5/x"])
def test_a_public_url_must_be_https_off_loopback(url: str) -> None:
    with pytest.raises(
        ValidationError, match=r"DEMO_PARTNER_PUBLIC_URL: .* production needs https"
    ):
        demo(partner_public_url=url)


@pytest.mark.parametrize(
    "url", ["https://jejaring.example.org", "http://127.0.0.1:8001", "http://localhost:8080"]
)
def test_https_or_loopback_public_urls_pass(url: str) -> None:
    assert demo(partner_public_url=url).partner_public_url == url


def test_the_trusted_proxy_is_addresses_or_networks_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """WEB_FORWARDED_ALLOW_IPS and the like: what uvicorn would silently never match (a host
    name, a typo) is refused naming the variable; addresses and networks pass."""
    assert demo(forwarded_allow_ips=" 172.30.57.80, 10.0.0.0/24 ").forwarded_allow_ips == (
        "172.30.57.80,10.0.0.0/24"
    )
    for wrong in ("caddy", "172.30.57.800", "*", " , "):
        monkeypatch.setenv("DEMO_FORWARDED_ALLOW_IPS", wrong)
        with pytest.raises(ValidationError) as refused:
            DemoSettings(environment="production")
        message = str(refused.value)
        assert "DEMO_FORWARDED_ALLOW_IPS" in message or "forwarded_allow_ips" in message, message
        assert "IP address or network" in message or "proxy's address" in message, message
