"""The `jejaring` command."""

from __future__ import annotations

import os
import sys


def private_files() -> None:
    """Every file a jejaring command writes (.env, .data and what it starts writes there,
    auth.conf) is its user's alone."""
    os.umask(0o077)


def main() -> None:
    """`jejaring`. Plain `jejaring up` starts the embedded stack without importing every
    administration command first: that took 2.5 s of CPU before nats-server could start."""
    if sys.argv[1:] == ["up"]:
        from jejaring.cli.stack import up

        private_files()
        sys.exit(up())
    from jejaring.cli.main import app

    app()
