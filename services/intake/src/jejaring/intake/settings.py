"""Intake's settings (env prefix INTAKE_)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from jejaring.shared import crypto
from jejaring.shared.settings import ServiceSettings
from jejaring.shared.web.identity import (
    IDENTITY_KEY_ENV,
    IDENTITY_PUBLIC_KEY_ENV,
    MAX_LIFETIME,
    public_key_of,
)


class IntakeSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="INTAKE_")

    service: str = "intake"
    port: int = 8000
    signs_people_tokens: ClassVar[bool] = True

    identity_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices(IDENTITY_KEY_ENV, "identity_key"),
        description="The secret intake's signing key for people's access tokens is derived "
        "from (web/identity.py); intake's alone, at least 32 random characters. Without it no "
        "person can sign in.",
    )

    @model_validator(mode="after")
    def _verify_with_own_key(self) -> IntakeSettings:
        """Intake verifies with the public key of its own secret; one given beside it must be
        that key, or the other services would refuse every token intake issues."""
        if self.identity_key is None:
            return self
        own = public_key_of(self.identity_key.get_secret_value())
        if self.identity_public_key not in (None, own):
            raise ValueError(
                f"{IDENTITY_PUBLIC_KEY_ENV} is not the public key of {IDENTITY_KEY_ENV} "
                "(`jejaring init` or `jejaring identity public-key` gives the right one)"
            )
        self.identity_public_key = own
        return self

    api_token_lifetime_days: int = Field(
        default=90,
        ge=1,
        le=3650,
        description="How long a user's API token works after it is issued; then it answers "
        "401 token_expired until the admin issues a new one.",
    )

    # People's accounts (accounts.py); signing in also needs JEJARING_IDENTITY_KEY.
    access_token_lifetime_s: int = Field(
        default=50,
        ge=30,
        le=int(MAX_LIFETIME.total_seconds()),
        description="How long a person's access token is valid: at most 50 s, so that a person "
        "deactivated loses access at every service within a minute (web/identity.py).",
    )
    session_lifetime_s: int = Field(
        default=12 * 3600, ge=300, description="A session ends this long after sign-in."
    )
    session_idle_s: int = Field(
        default=30 * 60, ge=60, description="A session not refreshed for this long has ended."
    )
    sign_in_max_failures: int = Field(
        default=5, ge=1, description="Failed sign-ins in a row that lock an account."
    )
    sign_in_lock_s: int = Field(default=15 * 60, ge=1, description="How long the lock lasts.")
    setup_code_lifetime_s: int = Field(
        default=24 * 3600, ge=60, description="How long a one-time setup code is valid."
    )

    # Crypto-shredding (keyring.py): the master keys that wrap every case's data key.
    master_keys: SecretStr | None = Field(
        default=None,
        description="The master keys, `id=base64` separated by commas or spaces, the current "
        "one first (`jejaring keys new-master --id k2` makes one; to rotate, put the new one "
        "first and restart: intake re-wraps every data key, then the old one can go). "
        "Required in production, or INTAKE_MASTER_KEYS_FILE.",
    )
    master_keys_file: Path | None = Field(
        default=None, description="A file of master keys, one `id=base64` line each"
    )
    anonymise_after_days: int = Field(
        default=1826,
        ge=1,
        description="A closed case's personal fields are erased (retention) this many days "
        "after it was closed; its plain facts stay for statistics.",
    )
    anonymise_interval_s: float = Field(
        default=3600, gt=0, description="How often the retention job looks for such cases."
    )
    task_reminder_interval_s: float = Field(
        default=300,
        gt=0,
        description="How often intake looks for case plan tasks due tomorrow (WITA) whose "
        "responsible person was not reminded yet.",
    )

    # Attachments of a case (attachments.py): files outside the database, sealed per case.
    attachments_dir: Path | None = Field(
        default=None,
        description="The folder of attachments' files, each sealed with its case's data key "
        "under a random name (0700, files 0600); default: attachments/ in data_dir. Back it "
        "up with the database: a row without its file downloads as missing.",
    )
    attachment_max_bytes: int = Field(
        default=5 * 1024 * 1024,
        ge=1024,
        le=50 * 1024 * 1024,
        description="The largest photo or document an officer may attach, in bytes; larger "
        "uploads are refused (413) before they are read whole. The web app asks intake for it.",
    )

    @property
    def attachments_path(self) -> Path:
        """Where attachments' files are kept."""
        return self.attachments_dir or self.data_dir / "attachments"

    @model_validator(mode="after")
    def _master_keys_given(self) -> IntakeSettings:
        if self.master_keys is None and self.master_keys_file is None:
            if self.environment == "production":
                raise ValueError(
                    "INTAKE_MASTER_KEYS or INTAKE_MASTER_KEYS_FILE is required in production "
                    "(`jejaring keys new-master --id k1` makes a key)"
                )
            return self
        self.keyring_keys()  # a malformed setting stops intake now, naming it
        return self

    def keyring_keys(self) -> crypto.MasterKeys:
        """The master keys; outside production, without the setting, a key file of this
        data_dir (made on first use, mode 0600), so that a development intake keeps its data."""
        value = self.master_keys.get_secret_value() if self.master_keys else None
        file = self.master_keys_file
        if value is None and file is None:
            file = crypto.ensure_key_file(self.data_dir / crypto.MASTER_KEYS_FILE)
        try:
            return crypto.MasterKeys.load(value=value, file=file, setting="INTAKE_MASTER_KEYS")
        except crypto.MasterKeyError as exc:
            raise ValueError(str(exc)) from None
