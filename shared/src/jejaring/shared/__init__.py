"""Jejaring's shared contract (events, subjects, envelope) and messaging plumbing."""

import sys

# httpx imports its command-line client whenever click, rich and Pygments are installed, as the
# jejaring CLI's typer installs them beside the services: about 5 MB of every process that
# imports httpx (notify, the web app), for a command no service runs. Marked as not importable,
# httpx keeps a stub `httpx.main` that says the CLI is not installed.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
