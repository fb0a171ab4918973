"""The streamed XLSX writer, read back by an independent reader (openpyxl)."""

import io
import zipfile
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import openpyxl
import pytest

from app.oversight.xlsx import Column, Kind, StreamedWorkbook, column_letters
from tests.helpers import read_workbook as read

COLUMNS = [Column("id", Kind.integer), Column("description"), Column("amount", Kind.money)]


def build(
    rows: list[list[Any]], *, batch: int = 1000, max_rows: int = 1_048_576, max_sheet_bytes: int = 2_000_000_000
) -> tuple[bytes, list[bytes]]:
    workbook = StreamedWorkbook("usage-items", COLUMNS, max_rows=max_rows, max_sheet_bytes=max_sheet_bytes)
    chunks = [workbook.write(rows[start : start + batch]) for start in range(0, len(rows), batch)]
    chunks.append(workbook.close())
    return b"".join(chunks), chunks


def test_column_letters() -> None:
    assert [column_letters(index) for index in (0, 1, 25, 26, 27, 51, 52, 701, 702)] == [
        "A",
        "B",
        "Z",
        "AA",
        "AB",
        "AZ",
        "BA",
        "ZZ",
        "AAA",
    ]


def test_values_read_back_as_written() -> None:
    texts = [
        "Kotak suara <tersegel> & bermeterai",
        "Konsumsi rapat pleno – Rp35.000/orang ✓",
        "  spasi di depan dan di belakang  ",
        "baris\nkedua\ttab",
        "baris Windows\r\nkedua",
        "kontrol \x01\x1f di tengah",
        "harfiah _x0041_ tetap",
        '\'=HYPERLINK("http://x")',
        "kutip \"ganda\" dan 'tunggal'",
    ]
    rows: list[list[Any]] = [[index + 1, text, f"{index}000.50"] for index, text in enumerate(texts)]
    rows.append([99, None, ""])
    data, _ = build(rows)
    [(title, read_rows)] = read(data).items()
    assert title == "usage-items"
    assert read_rows[0] == ("id", "description", "amount")
    assert read_rows[1:-1] == [tuple(row) for row in rows[:-1]]
    assert read_rows[-1] == (99, None, None), "None and '' leave the cell empty"


def test_rows_past_the_sheet_limit_continue_on_new_sheets() -> None:
    rows: list[list[Any]] = [[number, f"item {number}", "1.00"] for number in range(1, 26)]
    data, _ = build(rows, batch=7, max_rows=10)  # 9 data rows under each header
    sheets = read(data)
    assert list(sheets) == ["usage-items", "usage-items-2", "usage-items-3"]
    assert all(sheet[0] == ("id", "description", "amount") for sheet in sheets.values())
    assert [len(sheet) - 1 for sheet in sheets.values()] == [9, 9, 7]
    assert [row[0] for sheet in sheets.values() for row in sheet[1:]] == list(range(1, 26))


def test_a_sheet_too_large_for_a_plain_zip_entry_continues_on_the_next() -> None:
    rows: list[list[Any]] = [[number, "x" * 100, "1.00"] for number in range(1, 41)]
    data, _ = build(rows, batch=6, max_sheet_bytes=2_000)
    sheets = read(data)
    assert len(sheets) > 2
    assert [row[0] for sheet in sheets.values() for row in sheet[1:]] == list(range(1, 41))
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheet_sizes = [info.file_size for info in archive.infolist() if info.filename.startswith("xl/worksheets/")]
        assert max(sheet_sizes) <= 2_000


def test_entries_are_plain_zip_with_the_fixed_parts_first() -> None:
    """No ZIP64 fields (Excel has been reported to refuse them in streamed entries), and the package
    relationships first, where file-type sniffers look."""
    data, _ = build([[1, "Kotak suara", "1.00"]])
    assert b"\x01\x00\x10\x00" not in data[: data.index(b"xl/worksheets/sheet1.xml") + 40], "a ZIP64 extra field"
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        assert names[:2] == ["_rels/.rels", "xl/styles.xml"]
        assert all(info.extract_version == 20 for info in archive.infolist())


def test_bytes_leave_before_the_last_row() -> None:
    """The point of the writer: a large export sends ZIP bytes batch by batch, not all at the end."""
    rows: list[list[Any]] = [
        [number, f"Honorarium KPPS TPS {number:03d} Desa {number * 7919 % 10007}", "900000.00"]
        for number in range(50_000)
    ]
    data, chunks = build(rows, batch=5000)
    assert sum(1 for chunk in chunks[:-1] if chunk) >= 5
    assert len(chunks[-1]) < len(data) / 4
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None


def test_money_is_a_number_shown_to_the_sen() -> None:
    """Amounts are numbers an auditor can sum, with two decimals shown; one Excel could not hold to the sen
    (more than 15 significant digits) stays text rather than be rounded, and so does one too wide to show."""
    amounts = [
        Decimal("23116413980.00"),
        Decimal("1300000000.50"),
        Decimal("0.01"),
        Decimal("9999999999999.99"),
    ]
    # More digits than Excel keeps; wider than the money column, which would show ### (one significant digit,
    # exact as a number, but Rp10 trillion is no grant's amount); not a number.
    as_text = [Decimal("99999999999999.99"), Decimal("10000000000000.00"), Decimal("NaN")]
    data, _ = build([[index, "x", amount] for index, amount in enumerate([*amounts, *as_text])])
    [sheet] = read(data).values()
    read_back = [row[2] for row in sheet[1:]]
    numbers, texts = read_back[: len(amounts)], read_back[len(amounts) :]
    assert all(isinstance(value, float) for value in numbers)
    assert [Decimal(repr(value)).quantize(Decimal("0.01")) for value in numbers] == amounts
    assert texts == ["99999999999999.99", "10000000000000.00", "NaN"]
    book = openpyxl.load_workbook(io.BytesIO(data))
    assert book.worksheets[0]["C2"].number_format == "#,##0.00"


EXCEL_CELL_LIMIT = 32_767
"""Excel's specifications and limits: "Total number of characters that a cell can contain: 32,767 characters"."""


def test_overlong_text_is_cut_at_excels_cell_limit() -> None:
    data, _ = build([[1, "x" * (EXCEL_CELL_LIMIT + 10), "1.00"], [2, "y" * EXCEL_CELL_LIMIT, "1.00"]])
    [sheet] = read(data).values()
    assert sheet[1][1] == "x" * EXCEL_CELL_LIMIT
    assert sheet[2][1] == "y" * EXCEL_CELL_LIMIT, "text at the limit is kept whole"


@pytest.mark.parametrize("name", ["a" * 40, "findings"])
def test_sheet_names_fit_excels_limit(name: str) -> None:
    workbook = StreamedWorkbook(name, [Column("rule")], max_rows=2)
    data = workbook.write([["x"], ["y"], ["z"]]) + workbook.close()
    assert all(len(title) <= 31 for title in read(data))


def test_formula_like_text_is_kept_as_written_and_marked_as_text() -> None:
    """The guard is the cell's style (``quotePrefix``, what Excel stores for a typed-in apostrophe): the text
    itself stays as written, so a real leading apostrophe can be told from the guard."""
    texts = ["=1+1", "-1", "+62 812 555", "@SUM(A1)", "\tTAB", '=HYPERLINK("http://x")', "'tunggal'", "biasa"]
    data, _ = build([[number, text, None] for number, text in enumerate(texts, start=1)])
    sheet = openpyxl.load_workbook(io.BytesIO(data)).worksheets[0]
    cells = [row[1] for row in sheet.iter_rows(min_row=2)]
    assert [cell.value for cell in cells] == texts
    assert [cell.quotePrefix for cell in cells] == [True] * 6 + [False] * 2


def test_dates_are_date_cells_shown_as_iso() -> None:
    """A day is a date cell (sortable, filterable, usable in date arithmetic) shown ``yyyy-mm-dd``; what
    Excel cannot hold as a day (before March 1900) and timestamps (a sheet's dates have no time zone) stay
    ISO text."""
    columns = [Column("id", Kind.integer), Column("spent_on", Kind.date)]
    days: list[Any] = [date(2024, 11, 27), date(1900, 3, 1), date(9999, 12, 31)]
    texts: list[Any] = [date(1899, 12, 31), datetime(2024, 11, 27, 8, 30, tzinfo=UTC)]
    workbook = StreamedWorkbook("refunds", columns)
    data = workbook.write([[number, day] for number, day in enumerate([*days, *texts])]) + workbook.close()
    sheet = openpyxl.load_workbook(io.BytesIO(data)).worksheets[0]
    cells = [row[1] for row in sheet.iter_rows(min_row=2)]
    assert [cell.value.date() for cell in cells[:3]] == days
    assert all(cell.is_date and cell.number_format == "yyyy-mm-dd" for cell in cells[:3])
    assert [cell.value for cell in cells[3:]] == ["1899-12-31", "2024-11-27T08:30:00+00:00"]


# The widest text each kind of value is shown as (Excel shows ### for a number wider than its column).
WIDEST_SHOWN = {
    Kind.integer: "2147483647",
    Kind.money: "9,999,999,999,999.99",  # 15 significant digits, the most a number cell holds (more is text)
    Kind.date: "2024-11-27",
}


@pytest.mark.parametrize("kind", list(WIDEST_SHOWN))
def test_columns_are_wide_enough_for_their_values_and_header(kind: Kind) -> None:
    header = "a_rather_long_header_name" if kind is Kind.date else "id"
    workbook = StreamedWorkbook("agreements", [Column(header, kind), Column("sp2d_number", Kind.text, 100)])
    data = workbook.close()
    sheet = openpyxl.load_workbook(io.BytesIO(data)).worksheets[0]
    width = sheet.column_dimensions["A"].width
    assert width >= len(WIDEST_SHOWN[kind]) + 1
    assert width >= len(header) + 2, "the header and its filter button"
    assert 12 <= sheet.column_dimensions["B"].width <= 30, "long declared text is cut at the edge, not sized to 100"


def test_sheets_are_set_up_to_read_filter_and_print() -> None:
    """Every sheet, the continued ones too: a bold header row that stays in view, a filter over the rows,
    A4 landscape fitted to one page across with the header row on every page."""
    rows: list[list[Any]] = [[number, f"item {number}", Decimal("1.00")] for number in range(1, 13)]
    data, _ = build(rows, batch=5, max_rows=10)
    book = openpyxl.load_workbook(io.BytesIO(data))
    assert [sheet.title for sheet in book.worksheets] == ["usage-items", "usage-items-2"]
    for sheet, last_row in zip(book.worksheets, [10, 4], strict=True):
        assert sheet.freeze_panes == "A2"
        assert all(cell.font.b for cell in sheet[1])
        assert not any(cell.font.b for cell in sheet[2])
        assert sheet.auto_filter.ref == f"A1:C{last_row}"
        assert sheet.page_setup.orientation == "landscape"
        assert sheet.page_setup.paperSize == 9  # A4
        assert sheet.sheet_properties.pageSetUpPr.fitToPage
        assert (sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight) == (1, 0), "one page across, any down"
        assert sheet.print_title_rows == "$1:$1"
        assert sheet.print_area == f"'{sheet.title}'!$A$1:$C${last_row}"
