"""The XLSX exports as an auditor's office suite reads them: LibreOffice (headless) opens every export and shows
the cells of the CSV export, holds money as numbers and dates as dates that add up to the CSV's figures, and
prints one to PDF, landscape, with its figures whole and its header row on every page."""

import csv
import io
import os
import re
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from app.oversight.exports import Dataset
from tests.helpers import Grant, Headers, created, item, money_headers, new_report, pay, system_tool

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MONEY = re.compile(r"-?\d+\.\d{2}")
DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
WHOLE = re.compile(r"-?\d+")
CODES = {"region_code", "province_code"}
"""Text that looks like a number (``35.74``, ``35``): Kemendagri codes."""
ITEMS = 150
"""Usage items: enough for the PDF of their export to run to a second page."""
FILLED_HERE = {"agreements", "disbursements", "refunds", "usage-items", "findings"}
"""The exports this test gives rows to; any other is compared as it comes (its header at least)."""

# The CSV filter with "save cell contents as shown" on (the 9th option): what the auditor sees, as text.
AS_SHOWN_CSV = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true,false,false"
TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"


@pytest.mark.slow  # LibreOffice's work does not depend on the database: once in CI is enough
def test_every_export_opens_in_libreoffice_as_the_csv_shows_it(
    client: httpx.Client, history: Grant, recipient: Headers, auditor: Headers, tmp_path: Path
) -> None:
    soffice = system_tool("soffice")
    _records_of_every_kind(client, history, recipient)
    workbooks, expected = {}, {}
    for dataset in Dataset:
        params = {"as_of": "2025-06-01"} if dataset is Dataset.findings else {}
        workbook = client.get(f"/exports/{dataset.value}.xlsx", params=params, headers=auditor)
        assert workbook.status_code == 200, workbook.text
        workbooks[dataset] = tmp_path / f"{dataset.value}.xlsx"
        workbooks[dataset].write_bytes(workbook.content)
        text = client.get(f"/exports/{dataset.value}.csv", params=params, headers=auditor).text.lstrip("\ufeff")
        expected[dataset] = list(csv.reader(io.StringIO(text)))
        if dataset.value in FILLED_HERE:
            assert len(expected[dataset]) > 1, f"{dataset.value}: the export should have rows to compare"

    office = LibreOffice(soffice, tmp_path)
    shown = office.convert(AS_SHOWN_CSV, "csv", list(workbooks.values()))
    cells = office.convert("fods", "fods", list(workbooks.values()))
    for dataset, rows in expected.items():
        as_shown = list(csv.reader(io.StringIO(shown[workbooks[dataset]].read_text(encoding="utf-8"))))
        _assert_shown_as_in_the_csv(dataset.value, as_shown, rows)
        _assert_numbers_dates_and_sums(dataset.value, read_fods(cells[workbooks[dataset]]), rows)

    [agreements, items] = [workbooks[Dataset.agreements], workbooks[Dataset.usage_items]]
    pdfs = office.convert("pdf", "pdf", [agreements, items])
    _assert_printed(pdfs[agreements], ["number", "amount", "23,116,413,980.00", "1,000,000.00"])
    _assert_printed(pdfs[items], ["spent_on", "amount", "900,000.00", "=HYPERLINK"], pages_at_least=2)


def _records_of_every_kind(client: httpx.Client, grant: Grant, recipient: Headers) -> None:
    """A reversed payment paid again, a refund whose note looks like a formula, and a submitted report whose
    items carry payees, formula-like texts, commas, quotes and non-ASCII text."""
    payments = client.get(f"/agreements/{grant.agreement_id}/disbursements").json()["data"]
    second = payments[-1]
    reversal = {"reversed_on": "2024-07-20", "reason": "-salah rekening, diganti SP2D-3"}
    reversed_ = client.post(
        f"/disbursements/{second['id']}/reversal", json=reversal, headers=money_headers(grant.finance)
    )
    assert reversed_.status_code == 201, reversed_.text
    created(pay(client, grant, second["amount"], "SP2D-3", "2024-07-22", 2))
    refund = {"amount": "1000000", "returned_on": "2025-01-10", "sts_number": "STS-1", "note": '=sisa; "kas"'}
    created(client.post(f"/agreements/{grant.agreement_id}/refunds", json=refund, headers=money_headers(grant.finance)))

    report = new_report(client, grant, recipient, period_end="2024-12-31")
    texts = ['=HYPERLINK("http://x")', "+62 812 555", "@SUM(A1)", 'Konsumsi, rapat "pleno" – ✓', "'kutip'"]
    items = [
        item(
            f"{900000 + 1234 * number}.{number % 100:02d}",
            description=texts[number % len(texts)] if number < len(texts) else f"Honorarium KPPS TPS {number:03d}",
            spent_on=f"2024-11-{1 + number % 28:02d}",
            payee=f"Anggota KPPS {number}",
            document_number=f"-KW-{number}" if number % 7 == 0 else f"KW-{number}",
        )
        for number in range(ITEMS)
    ]
    added = client.post(f"/usage-reports/{report['id']}/items", json={"items": items}, headers=recipient)
    assert added.status_code == 201, added.text
    submitted = client.post(f"/usage-reports/{report['id']}/submit", headers=recipient)
    assert submitted.status_code == 200, submitted.text


def _assert_shown_as_in_the_csv(name: str, shown: list[list[str]], rows: list[list[str]]) -> None:
    """Cell by cell: money shown with two decimals and thousands separators, dates as ``yyyy-mm-dd``, and a
    formula-like text as written, where the CSV has the same text behind its ``'`` guard."""
    assert len(shown) == len(rows), name
    for number, (seen, wanted) in enumerate(zip(shown, rows, strict=True), start=1):
        padded = seen + [""] * (len(wanted) - len(seen))  # LibreOffice leaves out a row's trailing empty cells
        for column, (cell, value) in enumerate(zip(padded, wanted, strict=True)):
            assert _same(cell, value), f"{name} row {number} column {rows[0][column]}: shown {cell!r}, CSV {value!r}"


def _same(shown: str, csv_value: str) -> bool:
    if MONEY.fullmatch(csv_value):
        return re.fullmatch(r"-?\d{1,3}(,\d{3})*\.\d{2}", shown) is not None and shown.replace(",", "") == csv_value
    return shown == _unguarded(csv_value)


def _unguarded(csv_value: str) -> str:
    """The text behind the CSV's formula guard: what the workbook's cell must hold (its guard is a style)."""
    guarded = csv_value.startswith("'") and csv_value[1:].startswith(FORMULA_STARTS)
    return csv_value[1:] if guarded else csv_value


@dataclass(frozen=True)
class Cell:
    kind: str
    """LibreOffice's value type: ``float``, ``date``, ``string``, or ``""`` for an empty cell."""
    value: str


def _assert_numbers_dates_and_sums(name: str, sheet: list[list[Cell]], rows: list[list[str]]) -> None:
    """Money and ids are numbers, days are dates, text is text; each money column adds up to the CSV's total."""
    assert len(sheet) == len(rows), name
    header = rows[0]
    totals: dict[str, tuple[Decimal, Decimal]] = {}
    for cells, values in zip(sheet[1:], rows[1:], strict=True):
        padded = cells + [Cell("", "")] * (len(values) - len(cells))
        for column, cell, value in zip(header, padded, values, strict=True):
            where = f"{name} {column} {value!r}"
            if column in CODES:
                assert (cell.kind, cell.value) == ("string", value), where
            elif MONEY.fullmatch(value):
                assert cell.kind == "float", where
                assert Decimal(cell.value).quantize(Decimal("0.01")) == Decimal(value), where
                held, written = totals.get(column, (Decimal(0), Decimal(0)))
                totals[column] = (held + Decimal(cell.value), written + Decimal(value))
            elif WHOLE.fullmatch(value):
                assert (cell.kind, Decimal(cell.value)) == ("float", Decimal(value)), where
            elif DAY.fullmatch(value):
                assert (cell.kind, cell.value) == ("date", value), where
            elif value:
                assert (cell.kind, cell.value) == ("string", _unguarded(value)), where
            else:
                assert cell.kind == "", where
    for column, (held, written) in totals.items():
        assert held.quantize(Decimal("0.01")) == written, f"{name} {column}: sheet sums to {held}, CSV to {written}"


def _assert_printed(pdf: Path, texts: list[str], *, pages_at_least: int = 1) -> None:
    """A landscape PDF whose every page shows the header row, with the figures whole (a number too wide for its
    column would print as ###)."""
    assert pdf.read_bytes().startswith(b"%PDF-")
    info = subprocess.run([system_tool("pdfinfo"), str(pdf)], capture_output=True, text=True, check=True).stdout
    pages = int(_field(r"Pages:\s+(\d+)", info)[0])
    width, height = map(float, _field(r"Page size:\s+([\d.]+) x ([\d.]+)", info))
    assert pages >= pages_at_least, info
    assert width > height, "landscape"
    printed = subprocess.run(
        [system_tool("pdftotext"), "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    page_texts = printed.split("\f")[:pages]
    assert all(texts[0] in page and texts[1] in page for page in page_texts), "the header row on every page"
    assert all(text in printed for text in texts), printed[:2000]
    assert "###" not in printed
    assert "'=" not in printed, "the formula guard is a cell style, not a character"


def _field(pattern: str, text: str) -> tuple[str, ...]:
    found = re.search(pattern, text, re.MULTILINE)
    assert found is not None, text
    return found.groups()


class LibreOffice:
    """``soffice --headless --convert-to``, many files in one start, with a profile of its own (two instances
    sharing one would wait on each other's lock)."""

    def __init__(self, soffice: str, workdir: Path) -> None:
        self.soffice = soffice
        self.workdir = workdir
        self.profile = (workdir / "libreoffice-profile").as_uri()

    def convert(self, target: str, suffix: str, files: list[Path]) -> dict[Path, Path]:
        out = self.workdir / suffix
        env = {**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}  # en-US number formats: 1,234.50
        command = [self.soffice, f"-env:UserInstallation={self.profile}", "--headless", "--convert-to", target]
        done = subprocess.run(
            [*command, "--outdir", str(out), *map(str, files)],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        converted = {file: out / f"{file.stem}.{suffix}" for file in files}
        missing = [str(path) for path in converted.values() if not path.is_file()]
        assert not missing, f"soffice made no {missing}: {done.stdout}{done.stderr}"
        return converted


def read_fods(path: Path) -> list[list[Cell]]:
    """The first sheet of a flat OpenDocument spreadsheet: each cell's value type and value."""
    table = ET.parse(path).getroot().find(f".//{{{TABLE}}}table")
    assert table is not None
    rows = []
    for row in table.iter(f"{{{TABLE}}}table-row"):
        cells = list(_cells(row))
        while cells and cells[-1].kind == "":
            cells.pop()
        repeat = int(row.get(f"{{{TABLE}}}number-rows-repeated", "1"))
        if cells:
            rows.extend([cells] * repeat)
    return rows


def _cells(row: ET.Element) -> Iterator[Cell]:
    for cell in row.iter(f"{{{TABLE}}}table-cell"):
        kind = cell.get(f"{{{OFFICE}}}value-type", "")
        if kind == "date":
            value = cell.get(f"{{{OFFICE}}}date-value", "")[:10]
        elif kind == "float":
            value = cell.get(f"{{{OFFICE}}}value", "")
        else:
            value = "\n".join("".join(paragraph.itertext()) for paragraph in cell.iter(f"{{{TEXT}}}p"))
        repeat = int(cell.get(f"{{{TABLE}}}number-columns-repeated", "1"))
        yield from [Cell(kind, value)] * min(repeat, 1024)
