"""`jejaring`: run the embedded stack and administer Jejaring."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from jejaring.cli.stack import StackConfig, StackError, run_stack
from jejaring.shared.events import json_schemas

app = typer.Typer(
    help="Jejaring: referrals for the PPATBM protection network.",
    no_args_is_help=True,
    add_completion=False,
)


@app.command()
def up() -> None:
    """Run nats-server and the three services on this machine until Ctrl-C."""
    try:
        config = StackConfig.from_env()
    except StackError as exc:
        typer.echo(f"jejaring up: {exc}", err=True)
        raise typer.Exit(2) from None
    raise typer.Exit(run_stack(config))


@app.command()
def schemas(
    out: Path = typer.Option(Path("docs/schemas"), help="Folder to write the JSON Schemas into."),
) -> None:
    """Write the JSON Schema of every event payload into OUT (one file per CloudEvents type)."""
    out.mkdir(parents=True, exist_ok=True)
    written = 0
    for ce_type, schema in json_schemas().items():
        path = out / f"{ce_type}.json"
        path.write_text(json.dumps(schema, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        written += 1
    typer.echo(f"wrote {written} schemas to {out}/")


if __name__ == "__main__":
    app()
