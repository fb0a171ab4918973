"""``hibah``: serve the API, migrate, manage API keys, import regions. Errors are one line, never a traceback."""

import asyncio
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import asyncpg
import typer
from rich.console import Console
from rich.progress import Progress
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError

from app import serving
from app.access import service as access
from app.access.schemas import KeyCreate
from app.core.actor import OPERATOR, Role
from app.core.config import get_settings
from app.core.db import Transaction, create_engine_for, transaction
from app.core.errors import DomainError
from app.core.migrate import upgrade_to_head
from app.core.pagination import PageRequest
from app.datasets.demo import load_demo
from app.datasets.national import generate, plan_regions
from app.main import resolve_database_url
from app.reference import importer as regions
from app.reports.importer import ImportFormat, ImportOutcome, import_items
from app.reports.schemas import ReportOut

app = typer.Typer(
    help="Hibah: Pilkada grant-fund accountability API.", no_args_is_help=True, pretty_exceptions_enable=False
)
keys_app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)
regions_app = typer.Typer(help="Reference data: regions.", no_args_is_help=True)
items_app = typer.Typer(help="Usage-report items.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(regions_app, name="regions")
app.add_typer(items_app, name="items")

err = Console(stderr=True)
T = TypeVar("T")


def database_url() -> str:
    """DATABASE_URL, or the embedded server (started or joined, and migrated) under the data directory."""
    embedded = get_settings().database_url is None
    url = resolve_database_url(get_settings())
    if embedded:
        # The embedded database is the user's own scratch database: bring it to the latest schema
        # so any first command works. A configured server is migrated only when asked (`migrate`).
        upgrade_to_head(url)
    # Children (uvicorn workers) and later commands in this process use the same server.
    os.environ["DATABASE_URL"] = url
    get_settings.cache_clear()
    return url


def run_in_transaction(work: Callable[[Transaction], Awaitable[T]]) -> T:
    async def main() -> T:
        engine = create_engine_for(database_url(), get_settings())
        try:
            async with transaction(engine) as tx:
                return await work(tx)
        finally:
            await engine.dispose()

    return asyncio.run(main())


@app.command()
def migrate() -> None:
    """Apply every pending migration."""
    upgrade_to_head(database_url())
    typer.echo("database schema is at the latest migration")


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
    url = database_url()
    if migrate_first:
        upgrade_to_head(url)
    if demo:
        loaded = run_in_transaction(load_demo)
        err.print(f"demo: loaded {', '.join(loaded)}" if loaded else "demo: already loaded")
    err.print(f"Hibah on http://{host}:{port}  (docs: http://{host}:{port}/docs)")
    # Uvicorn re-raises SIGTERM after its graceful shutdown; turning it into SystemExit lets the
    # embedded PostgreSQL stop cleanly through its atexit hook instead of being left running.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    log_level = get_settings().log_level
    if workers == 1:
        serving.serve_one(host, port, log_level)
    else:
        raise typer.Exit(serving.serve_workers(host, port, workers, log_level))


def _exit_on_signal(signum: int, _frame: object) -> None:
    sys.exit(128 + signum)


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
    data = KeyCreate(name=name, role=role, recipient_id=recipient_id, region_code=region_code)
    key, secret = run_in_transaction(lambda tx: access.create_key(tx, OPERATOR, data))
    err.print(f"created key {key.id} ({key.role.value}) for {key.name}; store it now, it is not shown again:")
    typer.echo(secret)


@keys_app.command("list")
def keys_list() -> None:
    """List every key (never the secrets)."""

    async def all_keys(tx: Transaction) -> list[str]:
        lines = []
        after = None
        while True:
            page = await access.list_keys(tx, PageRequest(limit=500, after=after))
            for key in page.data:
                state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active"
                scope = f" recipient={key.recipient_id}" if key.recipient_id else ""
                scope += f" region={key.region_code}" if key.region_code else ""
                lines.append(f"{key.id}\t{key.role.value}\t{key.prefix}…\t{state}\t{key.name}{scope}")
            if page.next_cursor is None:
                return lines
            after = [page.data[-1].id]

    lines = run_in_transaction(all_keys)
    typer.echo("id\trole\tprefix\tstate\tname")
    for line in lines:
        typer.echo(line)


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[int, typer.Argument(help="The key's id (see `hibah keys list`).")]) -> None:
    """Revoke a key at once."""
    run_in_transaction(lambda tx: access.revoke_key(tx, OPERATOR, key_id))
    typer.echo(f"revoked key {key_id}")


@regions_app.command("import")
def regions_import(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)]) -> None:
    """Import regions from a CSV (columns code,name[,level]); all rows or none."""
    size = file.stat().st_size
    chunks = []
    with Progress(console=err, transient=True) as progress, file.open("rb") as handle:
        reading = progress.add_task(f"reading {file.name}", total=size)
        while chunk := handle.read(64 * 1024):
            chunks.append(chunk)
            progress.advance(reading, len(chunk))
        progress.add_task("validating and importing", total=None)
        result = run_in_transaction(lambda tx: regions.import_regions(tx, OPERATOR, b"".join(chunks)))
    typer.echo(f"imported {result.created} new and {result.updated} changed regions")


generate_app = typer.Typer(help="Generated datasets for benchmarks and load tests.", no_args_is_help=True)
app.add_typer(generate_app, name="generate")


@generate_app.command("national")
def generate_national(
    items: Annotated[int, typer.Option(min=2180, help="Usage items in all (about 3,000,000 nationally).")] = 3_000_000,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed builds the same dataset.")] = 2024,
) -> None:
    """545 regions, ~2,200 agreements and their disbursements, reports and items, through the services.

    Use an empty database: the generated region codes are the real Kemendagri provinces.
    """

    async def main() -> int:
        engine = create_engine_for(database_url(), get_settings())
        try:
            with Progress(console=err) as progress:
                task = progress.add_task("regions", total=len(plan_regions()))
                return await generate(engine, items, seed, lambda n: progress.advance(task, n))
        finally:
            await engine.dispose()

    written = asyncio.run(main())
    typer.echo(f"generated {len(plan_regions())} regions with {written} usage items")


FORMATS_BY_SUFFIX = {".csv": ImportFormat.csv, ".ndjson": ImportFormat.ndjson, ".jsonl": ImportFormat.ndjson}


@items_app.command("import")
def items_import(
    report_id: Annotated[int, typer.Argument(min=1, help="The draft usage report to fill.")],
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="A .csv or .ndjson file.")],
    file_format: Annotated[
        ImportFormat | None, typer.Option("--format", help="csv or ndjson; by default from the file name.")
    ] = None,
) -> None:
    """Stream a file of items into a draft report: all rows or none (the same rules as the API)."""
    chosen = file_format or FORMATS_BY_SUFFIX.get(file.suffix.lower())
    if chosen is None:
        raise ValueError("cannot tell the format from the file name: pass --format csv or --format ndjson")
    with Progress(console=err, transient=True) as progress:
        task = progress.add_task(f"importing {file.name}", total=file.stat().st_size)

        async def chunks() -> AsyncIterator[bytes]:
            with file.open("rb") as handle:
                while chunk := handle.read(1024 * 1024):
                    yield chunk

        def work(tx: Transaction) -> Awaitable[tuple[ImportOutcome, ReportOut]]:
            return import_items(
                tx,
                OPERATOR,
                report_id,
                chunks=chunks(),
                file_format=chosen,
                progress=lambda size: progress.advance(task, size),
            )

        outcome, report = run_in_transaction(work)
    typer.echo(
        f"imported {outcome.rows} items (Rp{outcome.total:.2f}) into report {report_id}; "
        f"report total Rp{report.total:.2f}; file sha256 {outcome.sha256}"
    )


def _first_line(exc: DBAPIError) -> str:
    lines = str(exc.orig).strip().splitlines()
    return lines[0] if lines else type(exc.orig).__name__


def main() -> None:
    try:
        app()
    except DomainError as exc:
        err.print(f"error: {exc.detail}", style="red", highlight=False)
        for error in exc.errors[:20]:
            err.print(f"  {error.field}: {error.message}", highlight=False)
        if len(exc.errors) > 20:
            err.print(f"  … and {len(exc.errors) - 20} more", highlight=False)
        sys.exit(1)
    except OperationalError as exc:
        err.print(
            f"error: cannot reach the database: {str(exc.orig).strip().splitlines()[0]}", style="red", highlight=False
        )
        sys.exit(1)
    except ProgrammingError as exc:
        if "does not exist" in str(exc.orig):
            err.print("error: the database has no Hibah schema yet: run `hibah migrate` first", style="red")
        else:
            err.print(f"error: the database refused: {_first_line(exc)}", style="red", highlight=False)
        sys.exit(1)
    except DBAPIError as exc:
        err.print(f"error: the database refused: {_first_line(exc)}", style="red", highlight=False)
        sys.exit(1)
    except (asyncpg.UndefinedFunctionError, asyncpg.UndefinedTableError):
        err.print("error: the database schema is behind: run `hibah migrate` first", style="red")
        sys.exit(1)
    except asyncpg.PostgresError as exc:  # statements sent on the driver connection (app/core/db.py)
        err.print(f"error: the database refused: {str(exc).splitlines()[0]}", style="red", highlight=False)
        sys.exit(1)
    except (ConnectionError, socket.gaierror, TimeoutError) as exc:
        err.print(f"error: cannot reach the database: {exc}", style="red", highlight=False)
        sys.exit(1)
    except (OSError, ValueError) as exc:
        err.print(f"error: {exc}", style="red", highlight=False)
        sys.exit(1)


if __name__ == "__main__":
    main()
