"""`jejaring schemas` writes the JSON Schema of every payload; the published copies are current."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema

from jejaring.shared.contract.envelope import encode
from jejaring.shared.contract.events import BY_CE_TYPE
from jejaring.testing import sample_events

REPO = Path(__file__).resolve().parents[2]
JEJARING = str(Path(sys.executable).parent / "jejaring")


def test_schemas_command_writes_one_schema_per_event_type(tmp_path: Path) -> None:
    result = subprocess.run(
        [JEJARING, "schemas", "--out", str(tmp_path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    written = {p.name: json.loads(p.read_text()) for p in tmp_path.glob("*.json")}
    assert set(written) == {f"{t}.json" for t in BY_CE_TYPE}
    # Every sample event validates against the schema written for its type, and so does the
    # same event from a newer v1 producer that added an optional field (the contract can grow).
    for event in sample_events():
        validator = jsonschema.Draft202012Validator(written[f"{event.ce_type}.json"])
        data = json.loads(encode(event, source="/t").body)
        validator.validate(data)
        validator.validate({**data, "added_in_a_later_v1": {"any": "shape"}})
    # The copies published in docs/schemas/ are the current ones (run `make schemas`).
    published = {
        p.name: json.loads(p.read_text()) for p in (REPO / "docs" / "schemas").glob("*.json")
    }
    assert published == written, "docs/schemas/ is stale: run `make schemas`"
