"""Crypto-shredding: each case's personal fields sealed with a data key of that case.

- A **data key** (AES-256-GCM) is made per case. Whatever holds a case's personal fields at
  rest, in a table or on a stream, holds them sealed with it (`seal`/`unseal`).
- Data keys are stored only **wrapped** by a master key (`MasterKeys`), in one place: intake's
  keyring. Deleting a case's data key makes every copy of its sealed fields unreadable at once,
  wherever the copy is (a database row, a JetStream message, a backup).
- Master keys have ids; the first is the current one. A wrapped key names the master key it
  was wrapped with, so a new master key can be added in front and the data keys re-wrapped at
  leisure (rotation), after which the old master key can be removed.
- Another service asks for a data key over NATS (`jejaring.shared.messaging.keys`) with a
  one-time X25519 key (`Recipient`); the answer is sealed to it, so nobody else on the bus,
  and nothing that stores messages, can read it (`seal_to`).

The associated data binds each token to its case and purpose: a token copied to another case
or field does not open.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_BYTES = 32
_NONCE = 12
_SEALED = "s1."  # a token sealed with a symmetric key
_TO = "x1."  # a token sealed to an X25519 public key
_KID_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class Unreadable(ValueError):
    """A token that does not open with the key it was given: wrong key, wrong case or purpose,
    altered, or its key was erased."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise Unreadable("not base64") from exc


def aad(case_id: uuid.UUID | str, purpose: str) -> bytes:
    """Associated data binding a token to one case and one use (e.g. "case.personal")."""
    return f"jejaring:{purpose}:{case_id}".encode()


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=KEY_BYTES * 8)


def seal(key: bytes, plaintext: bytes, *, associated: bytes) -> str:
    """`plaintext` sealed with `key` (AES-256-GCM, a random 96-bit nonce) as a short ASCII token."""
    nonce = os.urandom(_NONCE)
    return _SEALED + _b64(nonce + AESGCM(key).encrypt(nonce, plaintext, associated))


def unseal(key: bytes, token: str, *, associated: bytes) -> bytes:
    """What `seal` sealed; `Unreadable` if `token` was not sealed with `key` for `associated`."""
    if not token.startswith(_SEALED):
        raise Unreadable("not a sealed token")
    raw = _unb64(token[len(_SEALED) :])
    try:
        return AESGCM(key).decrypt(raw[:_NONCE], raw[_NONCE:], associated)
    except (InvalidTag, ValueError) as exc:
        raise Unreadable("does not open with this key") from exc


def is_sealed(value: object) -> bool:
    return isinstance(value, str) and value.startswith(_SEALED)


# --- master keys --------------------------------------------------------------------------------


class MasterKeyError(ValueError):
    """The master key setting is missing or malformed (the message names what is wrong)."""


@dataclass(frozen=True)
class MasterKeys:
    """Master keys by id, the first the current one. Written `id=base64url(32 bytes)`, one per
    line or separated by commas or spaces (`generate_line` makes one)."""

    keys: tuple[tuple[str, bytes], ...]

    @classmethod
    def parse(cls, text: str, *, setting: str = "master keys") -> MasterKeys:
        entries: list[tuple[str, bytes]] = []
        for item in re.split(r"[\s,]+", text.strip()):
            if not item or item.startswith("#"):
                continue
            kid, sep, encoded = item.partition("=")
            if not sep or not _KID_RE.match(kid):
                raise MasterKeyError(f"{setting}: each key is written id=base64, got {kid!r}")
            try:
                key = _unb64(encoded)
            except Unreadable:
                key = b""
            if len(key) != KEY_BYTES:
                raise MasterKeyError(f"{setting}: key {kid!r} is not {KEY_BYTES} bytes of base64")
            if any(kid == k for k, _ in entries):
                raise MasterKeyError(f"{setting}: key id {kid!r} appears twice")
            entries.append((kid, key))
        if not entries:
            raise MasterKeyError(f"{setting}: no key given")
        return cls(tuple(entries))

    @classmethod
    def load(cls, *, value: str | None, file: Path | None, setting: str) -> MasterKeys:
        """From the setting's value, or the file it names (lines `id=base64`)."""
        if value:
            return cls.parse(value, setting=setting)
        if file is not None:
            try:
                return cls.parse(file.read_text(), setting=f"{setting} file {file}")
            except OSError as exc:
                raise MasterKeyError(f"{setting}: cannot read {file}: {exc.strerror}") from exc
        raise MasterKeyError(f"{setting}: not set")

    @property
    def current(self) -> str:
        return self.keys[0][0]

    def wrap(self, data_key: bytes, *, associated: bytes) -> tuple[str, str]:
        """(master key id, `data_key` sealed with the current master key)."""
        kid, key = self.keys[0]
        return kid, seal(key, data_key, associated=associated)

    def unwrap(self, kid: str, wrapped: str, *, associated: bytes) -> bytes:
        for known, key in self.keys:
            if known == kid:
                return unseal(key, wrapped, associated=associated)
        raise Unreadable(f"master key {kid!r} is not among the configured keys")

    def ids(self) -> Iterable[str]:
        return (kid for kid, _ in self.keys)

    def derive(self, label: bytes) -> tuple[str, bytes]:
        """(current master key id, a key for the purpose `label` derived from it by HKDF):
        a key that changes when the master key is rotated."""
        kid, key = self.keys[0]
        derived = HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=label)
        return kid, derived.derive(key)


def generate_line(kid: str) -> str:
    """A new master key as its setting line, `id=base64url`."""
    if not _KID_RE.match(kid):
        raise MasterKeyError(f"key id {kid!r}: letters, digits, '-' and '_', at most 32")
    return f"{kid}={_b64(os.urandom(KEY_BYTES))}"


# Outside production without a setting: intake's master keys file in its data directory (the
# embedded stack, `jejaring up`, makes it there).
MASTER_KEYS_FILE = "intake-master-keys"


def ensure_key_file(path: Path, kid: str = "k1") -> Path:
    """`path`, a file of master keys: made with one new key (owner-only, 0600) if missing."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it just now
            return path
        with os.fdopen(fd, "w") as out:
            out.write(generate_line(kid) + "\n")
    return path


# --- sealing to a one-time public key ---------------------------------------------------------------


def _shared_key(secret: bytes, sender: bytes, recipient: bytes) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=KEY_BYTES, salt=sender + recipient, info=b"jejaring x1"
    ).derive(secret)


def _raw(public: x25519.X25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


class Recipient:
    """A one-time X25519 key pair: its public half goes into a request, and only this object
    can open what was sealed to it."""

    def __init__(self) -> None:
        self._private = x25519.X25519PrivateKey.generate()
        self.public = _b64(_raw(self._private.public_key()))

    def open(self, token: str, *, associated: bytes) -> bytes:
        if not token.startswith(_TO):
            raise Unreadable("not a token sealed to a public key")
        raw = _unb64(token[len(_TO) :])
        sender = raw[:32]
        try:
            secret = self._private.exchange(x25519.X25519PublicKey.from_public_bytes(sender))
        except ValueError as exc:
            raise Unreadable("bad sender key") from exc
        key = _shared_key(secret, sender, _unb64(self.public))
        return unseal(key, _SEALED + _b64(raw[32:]), associated=associated)


def seal_to(public: str, plaintext: bytes, *, associated: bytes) -> str:
    """`plaintext` sealed to the X25519 public key `public` (base64url) with a fresh sender key."""
    try:
        recipient = x25519.X25519PublicKey.from_public_bytes(_unb64(public))
    except ValueError as exc:
        raise Unreadable("not an X25519 public key") from exc
    sender = x25519.X25519PrivateKey.generate()
    sender_raw = _raw(sender.public_key())
    key = _shared_key(sender.exchange(recipient), sender_raw, _raw(recipient))
    sealed = _unb64(seal(key, plaintext, associated=associated)[len(_SEALED) :])
    return _TO + _b64(sender_raw + sealed)
