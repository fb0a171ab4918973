"""``hibah regions import``, ``hibah items import`` and ``hibah generate national``: data in bulk, with progress."""

import asyncio
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import Progress

from app.commands.database import database_url, run_in_transaction
from app.core.actor import OPERATOR
from app.core.config import get_settings
from app.core.db import Transaction, create_engine_for
from app.datasets.national import generate, plan_regions
from app.reference import importer as regions
from app.reports import importer as item_import
from app.reports.importer import ImportFormat, ImportOutcome
from app.reports.schemas import ReportOut

err = Console(stderr=True)

FORMATS_BY_SUFFIX = {".csv": ImportFormat.csv, ".ndjson": ImportFormat.ndjson, ".jsonl": ImportFormat.ndjson}


def import_regions(file: Path) -> None:
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


def import_items(report_id: int, file: Path, file_format: str | None) -> None:
    chosen = ImportFormat(file_format) if file_format else FORMATS_BY_SUFFIX.get(file.suffix.lower())
    if chosen is None:
        raise ValueError("cannot tell the format from the file name: pass --format csv or --format ndjson")
    with Progress(console=err, transient=True) as progress:
        task = progress.add_task(f"importing {file.name}", total=file.stat().st_size)

        async def chunks() -> AsyncIterator[bytes]:
            with file.open("rb") as handle:
                while chunk := handle.read(1024 * 1024):
                    yield chunk

        def work(tx: Transaction) -> Awaitable[tuple[ImportOutcome, ReportOut]]:
            return item_import.import_items(
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


def generate_national(items: int, seed: int) -> None:
    url = database_url()

    async def main() -> int:
        engine = create_engine_for(url, get_settings())
        try:
            with Progress(console=err) as progress:
                task = progress.add_task("regions", total=len(plan_regions()))
                return await generate(engine, items, seed, lambda n: progress.advance(task, n))
        finally:
            await engine.dispose()

    written = asyncio.run(main())
    typer.echo(f"generated {len(plan_regions())} regions with {written} usage items")
