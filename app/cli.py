"""``hibah``: serve the API, migrate, manage API keys, import data. Errors are one line, never a traceback.

This module is the command line only: its commands, options and help. What a command does is in
``app/commands/``, imported by that command when it runs: those modules pull in SQLAlchemy, FastAPI, Alembic,
uvicorn and the domain packages, seconds of imports that ``hibah --help``, a mistyped option or another
command must not pay for (DESIGN §5 allows an import inside a function for that reason only).
"""

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from app.core.actor import Role

app = typer.Typer(
    help="Hibah: Pilkada grant-fund accountability API.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: rich's renderer costs more than the rest of `--help` together
)
keys_app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True, rich_markup_mode=None)
regions_app = typer.Typer(help="Reference data: regions.", no_args_is_help=True, rich_markup_mode=None)
items_app = typer.Typer(help="Usage-report items.", no_args_is_help=True, rich_markup_mode=None)
generate_app = typer.Typer(
    help="Generated datasets for benchmarks and load tests.", no_args_is_help=True, rich_markup_mode=None
)
app.add_typer(keys_app, name="keys")
app.add_typer(regions_app, name="regions")
app.add_typer(items_app, name="items")
audit_app = typer.Typer(help="The audit chain: sealed checkpoints.", no_args_is_help=True, rich_markup_mode=None)
app.add_typer(generate_app, name="generate")
app.add_typer(audit_app, name="audit")


class ItemFileFormat(StrEnum):
    """The item import's formats (``app.reports.importer.ImportFormat``, which is too heavy to import here)."""

    csv = "csv"
    ndjson = "ndjson"


@app.command()
def migrate() -> None:
    """Apply every pending migration."""
    from app.commands import serve as commands  # noqa: PLC0415 - heavy, see the module docstring

    commands.migrate()


@app.command()
def serve(
    demo: Annotated[bool, typer.Option(help="Load the Kota Probolinggo demo (once per database).")] = False,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, help="Worker processes; each listens on the port itself (SO_REUSEPORT).")
    ] = 1,
    migrate_first: Annotated[bool, typer.Option("--migrate/--no-migrate", help="Apply migrations first.")] = True,
) -> None:
    """Serve the API (embedded PostgreSQL under ./.hibah/ unless DATABASE_URL is set)."""
    from app.commands import serve as commands  # noqa: PLC0415 - heavy, see the module docstring

    status = commands.serve(demo=demo, host=host, port=port, workers=workers, migrate_first=migrate_first)
    if status:
        raise typer.Exit(status)


@keys_app.command("create")
def keys_create(
    role: Annotated[Role, typer.Option(help="admin, finance, recipient or auditor.")],
    name: Annotated[str, typer.Option(help="Who holds the key.")],
    region_code: Annotated[
        str | None, typer.Option(help="For the finance role: bind the key to one Pemda's region code.")
    ] = None,
    recipient_id: Annotated[
        int | None, typer.Option(help="For the recipient role: the recipient it speaks for.")
    ] = None,
) -> None:
    """Create a key; the secret is printed alone on the last line, and only its hash is stored."""
    from app.commands import keys  # noqa: PLC0415 - heavy, see the module docstring

    keys.create(role=role, name=name, region_code=region_code, recipient_id=recipient_id)


@keys_app.command("list")
def keys_list() -> None:
    """List every key (never the secrets)."""
    from app.commands import keys  # noqa: PLC0415 - heavy, see the module docstring

    keys.list_all()


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[int, typer.Argument(help="The key's id (see `hibah keys list`).")]) -> None:
    """Revoke a key at once."""
    from app.commands import keys  # noqa: PLC0415 - heavy, see the module docstring

    keys.revoke(key_id)


@regions_app.command("import")
def regions_import(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)]) -> None:
    """Import regions from a CSV (columns code,name[,level]); all rows or none."""
    from app.commands import data  # noqa: PLC0415 - heavy, see the module docstring

    data.import_regions(file)


@items_app.command("import")
def items_import(
    report_id: Annotated[int, typer.Argument(min=1, help="The draft usage report to fill.")],
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="A .csv or .ndjson file.")],
    file_format: Annotated[
        ItemFileFormat | None, typer.Option("--format", help="csv or ndjson; by default from the file name.")
    ] = None,
) -> None:
    """Stream a file of items into a draft report: all rows or none (the same rules as the API)."""
    from app.commands import data  # noqa: PLC0415 - heavy, see the module docstring

    data.import_items(report_id, file, None if file_format is None else file_format.value)


@generate_app.command("national")
def generate_national(
    items: Annotated[int, typer.Option(min=2180, help="Usage items in all (about 3,000,000 nationally).")] = 3_000_000,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed builds the same dataset.")] = 2024,
) -> None:
    """545 regions, ~2,200 agreements and their disbursements, reports and items, through the services.

    Use an empty database: the generated region codes are the real Kemendagri provinces.
    """
    from app.commands import data  # noqa: PLC0415 - heavy, see the module docstring

    data.generate_national(items, seed)


@audit_app.command("checkpoint")
def audit_checkpoint() -> None:
    """Sign the audit chain's head (seq, hash, time) with the instance's Ed25519 key; prints it as JSON."""
    from app.commands import audit  # noqa: PLC0415 - heavy, see the module docstring

    audit.checkpoint()


def main() -> None:
    try:
        app()
    except Exception as exc:  # noqa: BLE001 - reported as one line, or raised again with its traceback
        # What a failure means is known to the modules of the command that failed, loaded by now.
        from app.commands.failures import report  # noqa: PLC0415 - heavy, see the module docstring

        report(exc)
        sys.exit(1)


if __name__ == "__main__":
    main()
