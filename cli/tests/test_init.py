"""`jejaring init`, run as an operator runs it: every secret generated once into .env (0600),
names printed and values never, values already set kept, and `--check` refusing weak ones."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from jejaring.cli import init
from jejaring.shared import crypto
from jejaring.shared.secrets import weakness
from jejaring.shared.web.identity import public_key_of

ROOT = Path(__file__).resolve().parents[2]
JEJARING = str(Path(sys.executable).parent / "jejaring")
EXAMPLE = (ROOT / ".env.example").read_text()


def run(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [JEJARING, "init", *args],
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_init_generates_every_secret_once_and_prints_only_names(tmp_path: Path) -> None:
    shutil.copy(ROOT / ".env.example", tmp_path / ".env.example")
    first = run(tmp_path)
    assert first.returncode == 0, first.stderr
    env_file = tmp_path / ".env"
    assert env_file.stat().st_mode & 0o777 == 0o600
    values = init.parse(env_file.read_text())
    secrets = init.secret_names(EXAMPLE)
    assert secrets and first.stdout.count(", ") == len(secrets) - 1
    for name in secrets:
        assert name in first.stdout
        assert weakness(values[name]) is None, name
        assert values[name] not in first.stdout + first.stderr
    assert len({values[name] for name in secrets}) == len(secrets), "a secret was reused"
    public = values["JEJARING_IDENTITY_PUBLIC_KEY"]
    assert public == public_key_of(values["JEJARING_IDENTITY_KEY"]), "derived, never a placeholder"
    derived = {name for name, _, _ in init.DERIVED}
    example = init.parse(EXAMPLE)
    assert {n: v for n, v in values.items() if n not in {*secrets, *derived}} == {
        n: v for n, v in example.items() if n not in {*secrets, *derived}
    }, "a setting that is not a secret changed"

    again = run(tmp_path)
    assert again.returncode == 0, again.stderr
    assert "nothing generated" in again.stdout
    assert init.parse(env_file.read_text()) == values, "a second run changed a secret"


def test_init_keeps_the_operators_values_and_fills_what_is_missing(tmp_path: Path) -> None:
    shutil.copy(ROOT / ".env.example", tmp_path / ".env.example")
    env_file = tmp_path / ".env"
    own = "an-operator-chosen-admin-token-4Fq9zX"
    env_file.write_text(
        f"INTAKE_ADMIN_TOKEN={own}\nNOTIFY_DB_PASSWORD=change-me\nSMTP_HOST=smtp.example.id\n"
        "OPERATOR_NOTE=kept\n"
    )
    env_file.chmod(0o644)
    result = run(tmp_path)
    assert result.returncode == 0, result.stderr
    values = init.parse(env_file.read_text())
    assert values["INTAKE_ADMIN_TOKEN"] == own
    assert values["SMTP_HOST"] == "smtp.example.id"
    assert values["OPERATOR_NOTE"] == "kept"
    assert weakness(values["NOTIFY_DB_PASSWORD"]) is None, "a placeholder was kept"
    assert "NOTIFY_DB_PASSWORD" in result.stdout
    assert "INTAKE_ADMIN_TOKEN" not in result.stdout
    assert env_file.stat().st_mode & 0o777 == 0o600, "an existing .env was left readable"


def test_init_check_refuses_a_weak_secret_naming_it(tmp_path: Path) -> None:
    """compose's init step: the values it is given, checked by the services' own rule."""
    shutil.copy(ROOT / ".env.example", tmp_path / ".env.example")
    assert run(tmp_path).returncode == 0
    assert run(tmp_path, "--check").returncode == 0
    refused = run(tmp_path, "--check", REFERRAL_ADMIN_TOKEN="aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
    assert refused.returncode == 78
    assert refused.stderr.strip().splitlines() == [
        "jejaring init: not every secret is real: REFERRAL_ADMIN_TOKEN is low-entropy: "
        "only 1 different characters (10+ needed)"
    ]
    (tmp_path / ".env").unlink()
    missing = run(tmp_path, "--check")
    assert missing.returncode == 78
    assert "JEJARING_IDENTITY_KEY is missing" in missing.stderr


def test_the_identity_public_key_follows_the_key_and_check_refuses_one_that_does_not(
    tmp_path: Path,
) -> None:
    """Referral and notify get JEJARING_IDENTITY_PUBLIC_KEY, never the key: init derives it
    (whether .env.example names it or not), derives it again when the key changes, and `--check`
    (compose's init step) refuses a .env where it does not follow from the key."""
    shutil.copy(ROOT / ".env.example", tmp_path / ".env.example")
    assert run(tmp_path).returncode == 0
    env_file = tmp_path / ".env"
    values = init.parse(env_file.read_text())
    lines = env_file.read_text().splitlines()
    assert (
        lines.count(f"JEJARING_IDENTITY_PUBLIC_KEY={values['JEJARING_IDENTITY_PUBLIC_KEY']}") == 1
    )
    printed = subprocess.run(
        [JEJARING, "identity", "public-key"],
        env={**os.environ, "JEJARING_IDENTITY_KEY": values["JEJARING_IDENTITY_KEY"]},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout == values["JEJARING_IDENTITY_PUBLIC_KEY"] + "\n"
    assert values["JEJARING_IDENTITY_KEY"] not in printed.stdout
    environ = {k: v for k, v in os.environ.items() if k != "JEJARING_IDENTITY_KEY"}
    data = {**environ, "JEJARING_DATA_DIR": str(tmp_path / "data")}
    none = subprocess.run(
        [JEJARING, "identity", "public-key"], env=data, capture_output=True, text=True, timeout=60
    )
    assert none.returncode == 2
    assert "no JEJARING_IDENTITY_KEY set and no" in none.stderr
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "identity-key").write_text(values["JEJARING_IDENTITY_KEY"] + "\n")
    embedded = subprocess.run(
        [JEJARING, "identity", "public-key"], env=data, capture_output=True, text=True, timeout=60
    )
    assert embedded.stdout == printed.stdout, "the embedded stack's key, as `jejaring up` keeps it"

    rotated = "a-new-identity-key-after-a-leak-7Qm2xV9pLr4Tz8Kw"
    env_file.write_text(env_file.read_text().replace(values["JEJARING_IDENTITY_KEY"], rotated))
    refused = run(tmp_path, "--check")
    assert refused.returncode == 78
    assert refused.stderr.strip() == (
        "jejaring init: not every secret is real: JEJARING_IDENTITY_PUBLIC_KEY does not follow "
        "from JEJARING_IDENTITY_KEY: run `jejaring init`"
    )
    again = run(tmp_path)
    assert again.returncode == 0, again.stderr
    assert "JEJARING_IDENTITY_PUBLIC_KEY derived anew" in again.stdout
    assert rotated not in again.stdout + again.stderr
    after = init.parse(env_file.read_text())
    assert after["JEJARING_IDENTITY_KEY"] == rotated
    assert after["JEJARING_IDENTITY_PUBLIC_KEY"] == public_key_of(rotated)
    assert run(tmp_path, "--check").returncode == 0

    # A template that names it (empty, as .env.example does) gets it on its own line.
    template = "JEJARING_IDENTITY_KEY=change-me-identity-key\nJEJARING_IDENTITY_PUBLIC_KEY=\n"
    filled = init.parse(init.fill(template, {}).text)
    assert filled["JEJARING_IDENTITY_PUBLIC_KEY"] == public_key_of(filled["JEJARING_IDENTITY_KEY"])
    assert init.fill(template, {}).text.count("JEJARING_IDENTITY_PUBLIC_KEY") == 1


def test_init_makes_intakes_master_key_in_its_own_form(tmp_path: Path) -> None:
    shutil.copy(ROOT / ".env.example", tmp_path / ".env.example")
    assert run(tmp_path).returncode == 0
    value = init.parse((tmp_path / ".env").read_text())["INTAKE_MASTER_KEYS"]
    keys = crypto.MasterKeys.parse(value, setting="INTAKE_MASTER_KEYS")
    assert keys.current == "k1"
