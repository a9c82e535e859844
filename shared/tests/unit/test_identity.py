"""A person's access token: signed by intake's private key, verified by every service with the
public key, which can sign nothing."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from jejaring.shared.web.identity import (
    InvalidPersonToken,
    Person,
    PersonRole,
    canonical_public_key,
    issue,
    looks_like_person_token,
    public_key_of,
    verify,
)
from jejaring.shared.web.tokens import new_token

KEY = "k" * 40
PUBLIC = public_key_of(KEY)
NOW = dt.datetime(2026, 12, 31, 23, 59, tzinfo=dt.UTC)
STAFF = Person(
    uuid.uuid4(), "Paralegal Aisyiyah", PersonRole.PARTNER_STAFF, None, "posbakum-aisyiyah"
)


def test_a_token_names_the_person_until_it_expires() -> None:
    token = issue(STAFF, secret=KEY, now=NOW)
    assert looks_like_person_token(token)
    assert verify(token, public_key=PUBLIC, now=NOW + dt.timedelta(seconds=49)) == STAFF
    with pytest.raises(InvalidPersonToken, match="expired"):
        verify(token, public_key=PUBLIC, now=NOW + dt.timedelta(seconds=50))


def test_no_service_accepts_a_token_a_minute_after_its_issue_within_the_skew() -> None:
    """Revocation without a list: a token lives 50 s at most; a service whose clock is up to
    10 s behind or ahead of intake's accepts it for less than 60 s after its issue."""
    with pytest.raises(ValueError, match="MAX_LIFETIME"):
        issue(STAFF, secret=KEY, now=NOW, lifetime=dt.timedelta(seconds=51))
    token = issue(STAFF, secret=KEY, now=NOW, lifetime=dt.timedelta(seconds=50))

    def accepted(lag: float) -> list[float]:
        """The moments (intake's clock, 0.5 s apart) at which a service lagging by `lag` s
        accepts the token."""
        out = []
        for half in range(-40, 260):
            t = half / 2
            try:
                verify(token, public_key=PUBLIC, now=NOW + dt.timedelta(seconds=t - lag))
                out.append(t)
            except InvalidPersonToken:
                pass
        return out

    for lag in range(-10, 11):
        assert accepted(lag), lag
        assert max(accepted(lag)) < 60, lag
    # A service lagging more than the skew refuses a fresh token (it looks issued in the
    # future): a drifted clock shows at once instead of silently prolonging access.
    assert min(accepted(30)) >= 20


def test_a_token_signed_with_another_key_or_changed_is_refused() -> None:
    token = issue(STAFF, secret=KEY, now=NOW)
    with pytest.raises(InvalidPersonToken):
        verify(token, public_key=public_key_of("x" * 40), now=NOW)
    header, claims, signature = token.split(".")
    forged = ".".join(
        [header, claims[:-2] + ("A" if claims[-2] != "A" else "B") + claims[-1], signature]
    )
    with pytest.raises(InvalidPersonToken):
        verify(forged, public_key=PUBLIC, now=NOW)
    with pytest.raises(InvalidPersonToken):
        verify("not.a.token", public_key=PUBLIC, now=NOW)


def test_an_api_token_is_never_taken_for_a_person_token() -> None:
    assert not any(looks_like_person_token(new_token()) for _ in range(1000))


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def claims_of(person: Person) -> dict[str, object]:
    return {
        "iss": "jejaring-intake",
        "aud": "jejaring",
        "sub": str(person.id),
        "name": person.name,
        "role": person.role.value,
        "kel": person.kelurahan_code,
        "partner": person.partner_slug,
        "iat": int(NOW.timestamp()),
        "exp": int(NOW.timestamp()) + 50,
    }


def test_the_public_key_is_32_bytes_derived_from_the_secret_and_read_with_or_without_padding() -> (
    None
):
    """seed = SHA-256(secret): the same secret gives the same key pair on every machine."""
    seed = hashlib.sha256(KEY.encode()).digest()
    raw = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()
    assert b64(raw) == PUBLIC and len(PUBLIC) == 43
    assert canonical_public_key(PUBLIC + "=") == PUBLIC
    assert public_key_of("x" * 40) != PUBLIC
    for wrong in ("", "abc", b64(raw[:31]), b64(raw + b"x"), PUBLIC[:-1] + "!", KEY):
        with pytest.raises(ValueError, match="base64url of 32 bytes"):
            canonical_public_key(wrong)


def test_a_token_signed_with_the_public_key_as_an_hmac_secret_is_refused() -> None:
    """The classic algorithm confusion: a verifier that let the token choose its algorithm would
    check an HS256 token with the public key as the HMAC secret, and the public key is no
    secret. Only EdDSA is accepted, whatever the header says."""
    coordinator = Person(uuid.uuid4(), "Kasi Kesos", PersonRole.COORDINATOR)
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps(claims_of(coordinator)).encode())
    for secret in (PUBLIC, PUBLIC + "=", base64.urlsafe_b64decode(PUBLIC + "=")):
        key = secret.encode() if isinstance(secret, str) else secret
        mac = hmac.new(key, f"{header}.{body}".encode(), hashlib.sha256).digest()
        with pytest.raises(InvalidPersonToken, match="not signed with EdDSA"):
            verify(f"{header}.{body}.{b64(mac)}", public_key=PUBLIC, now=NOW)
    # The old shared-key tokens (HS256 with the secret itself) are refused too, as is "none".
    old = jwt.encode(claims_of(coordinator), KEY, algorithm="HS256")
    unsigned = jwt.encode(claims_of(coordinator), None, algorithm="none")
    for token in (old, unsigned):
        with pytest.raises(InvalidPersonToken):
            verify(token, public_key=PUBLIC, now=NOW)


def test_a_token_signed_by_another_ed25519_key_is_refused() -> None:
    coordinator = Person(uuid.uuid4(), "Kasi Kesos", PersonRole.COORDINATOR)
    other = jwt.encode(claims_of(coordinator), Ed25519PrivateKey.generate(), algorithm="EdDSA")
    assert jwt.get_unverified_header(other)["alg"] == "EdDSA"
    with pytest.raises(InvalidPersonToken, match="the signature does not verify"):
        verify(other, public_key=PUBLIC, now=NOW)
    ours = issue(coordinator, secret=KEY, now=NOW)
    assert verify(ours, public_key=PUBLIC, now=NOW) == coordinator


def test_tokens_are_standard_jwts_either_way() -> None:
    """An independent implementation (PyJWT) verifies what intake issues, and a token PyJWT
    signs with intake's key and the same claims is accepted: the JWS is RFC 7515's."""
    coordinator = Person(uuid.uuid4(), "Kasi Kesos", PersonRole.COORDINATOR, "6471040")
    ours = issue(coordinator, secret=KEY, now=NOW)
    theirs_read = jwt.decode(
        ours,
        Ed25519PrivateKey.from_private_bytes(hashlib.sha256(KEY.encode()).digest()).public_key(),
        algorithms=["EdDSA"],
        audience="jejaring",
        issuer="jejaring-intake",
        options={"verify_exp": False, "verify_iat": False},
    )
    assert theirs_read == claims_of(coordinator)
    assert jwt.get_unverified_header(ours) == {"alg": "EdDSA", "typ": "JWT"}
    key = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(KEY.encode()).digest())
    for audience in ("jejaring", ["other", "jejaring"]):
        theirs = jwt.encode({**claims_of(coordinator), "aud": audience}, key, algorithm="EdDSA")
        assert verify(theirs, public_key=PUBLIC, now=NOW) == coordinator


def signed(header: dict[str, object], claims: object) -> str:
    """A token with these parts, signed with intake's key (as only intake could)."""
    key = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(KEY.encode()).digest())
    head = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    return f"{head}.{b64(key.sign(head.encode()))}"


@pytest.mark.parametrize(
    ("header", "change", "reason"),
    [
        ({"alg": "EdDSA", "crit": ["exp"]}, {}, "critical header"),
        ({"alg": "EdDSA"}, {"iss": "someone"}, "another issuer"),
        ({"alg": "EdDSA"}, {"aud": "elsewhere"}, "another audience"),
        ({"alg": "EdDSA"}, {"aud": ["elsewhere"]}, "another audience"),
        ({"alg": "EdDSA"}, {"role": None}, "a claim is not what intake writes"),
        ({"alg": "EdDSA"}, {"role": "superuser"}, "a claim is not what intake writes"),
        ({"alg": "EdDSA"}, {"sub": "not a uuid"}, "a claim is not what intake writes"),
        ({"alg": "EdDSA"}, {"exp": "2999999999"}, "a time is not a number"),
        ({"alg": "EdDSA"}, {"iat": True}, "a time is not a number"),
        ({"alg": "EdDSA"}, {"exp": None}, "a time is not a number"),
        ({"alg": "eddsa"}, {}, "not signed with EdDSA"),
        ({}, {}, "not signed with EdDSA"),
    ],
)
def test_a_token_intake_would_not_write_is_refused_saying_why(
    header: dict[str, object], change: dict[str, object], reason: str
) -> None:
    coordinator = Person(uuid.uuid4(), "Kasi Kesos", PersonRole.COORDINATOR)
    with pytest.raises(InvalidPersonToken, match=reason):
        verify(signed(header, {**claims_of(coordinator), **change}), public_key=PUBLIC, now=NOW)


def test_a_missing_claim_or_a_malformed_token_is_refused() -> None:
    coordinator = Person(uuid.uuid4(), "Kasi Kesos", PersonRole.COORDINATOR)
    for claim in ("iss", "aud", "sub", "role", "iat", "exp"):
        claims = {k: v for k, v in claims_of(coordinator).items() if k != claim}
        with pytest.raises(InvalidPersonToken, match="a required claim is missing"):
            verify(signed({"alg": "EdDSA"}, claims), public_key=PUBLIC, now=NOW)
    with pytest.raises(InvalidPersonToken, match="a required claim is missing"):
        verify(signed({"alg": "EdDSA"}, ["a", "list"]), public_key=PUBLIC, now=NOW)
    good = issue(coordinator, secret=KEY, now=NOW)
    head, body, signature = good.split(".")
    deep = b64(b"[" * 100_000 + b"]" * 100_000)
    for bad in (
        f"{head}=.{body}.{signature}",  # padding is not base64url as JWS writes it
        f"{head}.{body}.{signature}=",
        f"{head}.{body}.{signature}!",
        f"{head}.{body}",
        f"{good}.{signature}",
        f"{deep}.{body}.{signature}",  # refused before anything deeper is read
        f"{head}.{body}.{b64(b'x' * 64)}",
        "é.é.é",
    ):
        with pytest.raises(InvalidPersonToken):
            verify(bad, public_key=PUBLIC, now=NOW)
    assert verify(good, public_key=PUBLIC, now=NOW) == coordinator
