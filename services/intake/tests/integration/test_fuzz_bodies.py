"""No body, however random or malformed, makes intake answer with a 5xx."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jejaring.intake.app import create_app
from jejaring.intake.settings import IntakeSettings

ADMIN = "admin-token-for-tests-0123456789"
VALID: dict[str, Any] = {
    "kelurahan_code": "64.71.04.1003",
    "reported_at": "2026-11-20T09:00:00+08:00",
    "incident_date": "2026-11-19",
    "place": "household",
    "violence_forms": ["physical"],
    "risk_level": "high",
    "reporter": {"kind": "neighbour"},
    "victims": [{"name": "A", "sex": "female", "birth_date": "2014-05-01"}],
    "needs": ["legal_aid"],
    "consent": {"given_by": "guardian", "scope": ["legal_aid"]},
}

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=50),
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=20,
)


@st.composite
def mutated_case(draw: st.DrawFn) -> Any:
    body = copy.deepcopy(VALID)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        key = draw(st.sampled_from(sorted(VALID)))
        action = draw(st.sampled_from(["drop", "replace", "nest"]))
        if action == "drop":
            body.pop(key, None)
        elif action == "replace":
            body[key] = draw(json_values)
        elif isinstance(body.get(key), dict):
            inner = draw(st.sampled_from(sorted(body[key]) or ["x"]))
            body[key][inner] = draw(json_values)
    return body


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    tmp: Path = tmp_path_factory.mktemp("fuzz")
    settings_ = IntakeSettings(
        database_url=f"sqlite+aiosqlite:///{tmp / 'fuzz.db'}",
        nats_url="nats://127.0.0.1:1",  # the outbox just grows: NATS is not the subject here
        data_dir=tmp,
        admin_token=ADMIN,
    )
    with TestClient(create_app(settings_), raise_server_exceptions=False) as c:
        r = c.post(
            "/api/v1/users",
            json={"name": "Fuzz", "role": "officer", "kelurahan_code": "64.71.04.1003"},
            headers={"Authorization": f"Bearer {ADMIN}"},
        )
        c.headers["Authorization"] = f"Bearer {r.json()['token']}"
        yield c


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=mutated_case() | json_values)
def test_random_json_bodies_never_cause_a_server_error(client: TestClient, body: Any) -> None:
    r = client.post("/api/v1/cases", json=body)
    assert r.status_code < 500, (r.status_code, r.text)
    assert r.status_code in (201, 403, 422), r.text
    if r.status_code == 422:
        assert all(e["field"] and e["message"] and e["message_en"] for e in r.json()["detail"])


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(raw=st.binary(max_size=300))
def test_random_bytes_never_cause_a_server_error(client: TestClient, raw: bytes) -> None:
    r = client.post("/api/v1/cases", content=raw, headers={"Content-Type": "application/json"})
    assert r.status_code in (400, 422) or (r.status_code == 201 and json.loads(raw))
    assert r.json()["detail"][0]["message_en"]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(patch=json_values)
def test_random_patches_never_cause_a_server_error(client: TestClient, patch: Any) -> None:
    created = client.post("/api/v1/cases", json=VALID)
    assert created.status_code == 201, created.text
    r = client.patch(f"/api/v1/cases/{created.json()['id']}", json=patch)
    assert r.status_code < 500, (r.status_code, r.text)
