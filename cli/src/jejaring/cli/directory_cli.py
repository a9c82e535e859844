"""`jejaring directory --out DIR`: the partner directory as the Open Referral HSDS tabular
package (datapackage.json and its CSV files), from the running referral service's admin API
(REFERRAL_ADMIN_TOKEN), for the city's other service directories to import."""

from __future__ import annotations

from pathlib import Path

import typer

from jejaring.cli import api
from jejaring.referral.directory import write_package


def directory(
    out: Path = typer.Option(..., "--out", help="The folder to write the package into."),
) -> None:
    """Write the active partners as HSDS 3.0 (organizations, services, service areas, public
    contacts and their phones) into OUT: datapackage.json and one CSV file per table."""
    doc = api.call("directory", "referral", "GET", "/api/v1/directory/hsds.json")
    for path in write_package(doc, out):
        typer.echo(f"wrote {path}")
    typer.echo(
        f"{len(doc['organizations'])} organizations, {len(doc['services'])} services "
        f"(HSDS {doc['hsds_version']})"
    )
