"""Jejaring's shared contract (events, subjects, envelope) and messaging plumbing."""

import sys

# Modules no process of Jejaring uses, which libraries it uses import anyway, marked as not
# importable (each library copes: it checks for them under try/except ImportError):
# - httpx imports its command-line client whenever click, rich and Pygments are installed, as
#   the jejaring CLI's typer installs them beside the services: about 5 MB of every process
#   that imports httpx (notify, the web app). httpx keeps a stub `httpx.main` that says so.
# - FastAPI imports pydantic.v1 (about 2 MB) as it registers each route, only to check that
#   the route's models are not pydantic v1 ones; none are, and without it FastAPI says so.
for _unused in ("httpx._main", "pydantic.v1"):
    sys.modules.setdefault(_unused, None)  # type: ignore[arg-type]
