"""The profile summary committed beside the bench's report (bench/profile.py): what it counts,
and that it never carries this machine's paths or a string misread from a service's memory."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "bench_profile", Path(__file__).parents[2] / "bench" / "profile.py"
)
assert _spec is not None and _spec.loader is not None
profile = importlib.util.module_from_spec(_spec)
sys.modules["bench_profile"] = profile  # its dataclasses look their module up there
_spec.loader.exec_module(profile)

SITE = "/home/ops/jejaring/.venv/lib/python3.11/site-packages"
ENTRY = (
    "_run_module_as_main (<frozen runpy>:198);"
    "main (/home/ops/jejaring/cli/src/jejaring/cli/preload.py:89);"
    "serve (/home/ops/jejaring/shared/src/jejaring/shared/web/serve.py:96);"
    "run (/usr/lib/python3.11/asyncio/runners.py:118)"
)
RAW = f"""\
{ENTRY} 50
{ENTRY};create_case (/home/ops/jejaring/services/intake/src/jejaring/intake/api.py:300);execute ({SITE}/sqlalchemy/orm/session.py:2351) 30
{ENTRY};create_case (/home/ops/jejaring/services/intake/src/jejaring/intake/api.py:300);record_case (/home/ops/jejaring/services/intake/src/jejaring/intake/cases.py:120) 15
{ENTRY};{{"name": "Siti", "sex": "female"}} ([{{"age": 34}}]:1006844845) 5
"""


def test_each_sample_counts_for_its_innermost_library_and_the_functions_of_ours_above_it(
    tmp_path: Path,
) -> None:
    raw = tmp_path / "profile-intake-postgresql-1.txt"
    raw.write_text(RAW)
    samples = profile.summarize({"intake": [raw]})["intake"]

    # The misread frame is no frame: its sample counts for the frame below it, the loop's run.
    assert samples.total == 100
    assert samples.own["event loop (asyncio, uvloop)"] == 55
    assert samples.own["SQLAlchemy ORM"] == 30
    assert samples.own["ours (jejaring)"] == 15
    assert samples.under_ours == {
        ("jejaring/intake/api.py", "create_case"): 45,
        ("jejaring/intake/cases.py", "record_case"): 15,
    }


def test_the_summary_prices_what_is_below_the_loop_and_names_no_path_and_nothing_misread(
    tmp_path: Path,
) -> None:
    raw = tmp_path / "profile-intake-postgresql-1.txt"
    raw.write_text(RAW)
    # 100 samples at 100 a second: 1 s of samples for 100 cases at 12.5 ms a case (1.25 s of
    # CPU), so 45 samples above the loop are 4.5 ms a case and the rest, 8.0 ms, is below it.
    text = profile.markdown(
        "postgresql",
        profile.summarize({"intake": [raw]}),
        100,
        {"intake": 12.5},
        {"intake": 0.1},
        "caption",
    )

    assert "| `create_case` (jejaring/intake/api.py) | 45 % |" in text
    assert "| samples a second of the service's CPU (100 if py-spy counted only CPU) | 80 |" in text
    assert "(their samples), ms | 4.5 |" in text
    assert "| of which below them: drivers, HTTP server, event loop, kernel, ms | 8.0 |" in text
    for leak in ("/home/ops", "site-packages", "Siti", "female"):
        assert leak not in text, leak
