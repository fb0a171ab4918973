"""The streamed XLSX writer against xlsxwriter's constant-memory mode, in one process, on the same rows.

    uv run --with xlsxwriter==3.3.1 python -m bench.bench_xlsx_writer [--rows 200000] [--rounds 3]

xlsxwriter is not a dependency of the app any more (it built the whole file before the first byte); without
it, only the streamed writer is measured. Rows look like usage items of the national dataset, in batches of
5,000 as the export reads them: the streamed writer takes them as the database gives them (its cells are typed:
numbers, money, dates, text with the formula guard as a style); xlsxwriter takes them through ``cell()``, as the
export did. The columns and that conversion are this benchmark's own copies of the export's
(app/oversight/exports.py), inputs fixed here so the measure does not move with the app's layout.
Prints a table of medians.
"""

import argparse
import importlib
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from app.oversight.xlsx import Column, Kind, StreamedWorkbook

EVIDENCE = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
BATCH = 5000
USAGE_ITEM_COLUMNS = (
    Column("id", Kind.integer),
    Column("report_id", Kind.integer),
    Column("agreement_id", Kind.integer),
    Column("region_code", Kind.text, 5),
    Column("report_status", Kind.text, 9),
    Column("spent_on", Kind.date),
    Column("category", Kind.text, 48),
    Column("stage", Kind.text, 48),
    Column("description"),
    Column("amount", Kind.money),
    Column("payee"),
    Column("document_number", Kind.text, 100),
    Column("evidence_sha256", Kind.text, 64),
)
USAGE_ITEM_HEADER = tuple(column.name for column in USAGE_ITEM_COLUMNS)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> Any:
    """A value as the CSV export writes it: money with two places, ISO dates, no live formulas."""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def usage_rows(count: int) -> list[list[Any]]:
    return [
        [
            number,
            number // 1000,
            number // 1400,
            "35.13",
            "submitted",
            date(2024, 11, 1 + number % 28),
            "honorarium_adhoc",
            "pemungutan_suara",
            f"Honorarium KPPS TPS {number % 900:03d} Desa Sumber {number % 37}",
            Decimal("900000.00"),
            f"Anggota KPPS {number}",
            f"SPJ/{number}/2024",
            EVIDENCE,
        ]
        for number in range(count)
    ]


def streamed(rows: Sequence[Sequence[Any]]) -> int:
    workbook = StreamedWorkbook("usage-items", USAGE_ITEM_COLUMNS)
    size = 0
    for start in range(0, len(rows), BATCH):
        size += len(workbook.write(rows[start : start + BATCH]))
    return size + len(workbook.close())


def with_xlsxwriter(rows: Sequence[Sequence[Any]]) -> int:
    """What the export did before: the whole file in a temporary file, then streamed."""
    xlsxwriter: Any = importlib.import_module("xlsxwriter")
    handle, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(handle)
    try:
        options = {
            "constant_memory": True,
            "strings_to_numbers": False,
            "strings_to_formulas": False,
            "strings_to_urls": False,
        }
        workbook = xlsxwriter.Workbook(path, options)
        sheet = workbook.add_worksheet("usage-items")
        sheet.write_row(0, 0, USAGE_ITEM_HEADER)
        for number, row in enumerate(rows, start=1):
            sheet.write_row(number, 0, [cell(value) for value in row])
        workbook.close()
        return os.path.getsize(path)
    finally:
        os.unlink(path)


def writers() -> list[tuple[str, Callable[[Sequence[Sequence[Any]]], int]]]:
    found: list[tuple[str, Callable[[Sequence[Sequence[Any]]], int]]] = [("streamed (app/oversight/xlsx.py)", streamed)]
    try:
        importlib.import_module("xlsxwriter")
    except ImportError:
        print("xlsxwriter is not installed: run with `uv run --with xlsxwriter==3.3.1` to compare")
    else:
        found.append(("xlsxwriter, constant_memory", with_xlsxwriter))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rows = usage_rows(args.rows)
    timings: dict[str, list[float]] = {}
    sizes: dict[str, int] = {}
    for _ in range(args.rounds):
        for name, write in writers():  # alternating, so a slow spell of the machine hits both
            started = time.perf_counter()
            sizes[name] = write(rows)
            timings.setdefault(name, []).append(time.perf_counter() - started)
    print(f"\n{args.rows:,} usage-item rows, {args.rounds} rounds, medians\n")
    print("| writer | seconds | rows/s | size MiB | seconds per round |")
    print("|---|---:|---:|---:|---|")
    for name, seconds in timings.items():
        middle = statistics.median(seconds)
        rounds = ", ".join(f"{value:.2f}" for value in seconds)
        print(f"| {name} | {middle:.2f} | {args.rows / middle:,.0f} | {sizes[name] / 2**20:.1f} | {rounds} |")


if __name__ == "__main__":
    main()
