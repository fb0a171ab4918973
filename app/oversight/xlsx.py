"""XLSX written as the rows arrive: the workbook's ZIP is produced entry by entry, so the first bytes leave
while PostgreSQL is still sending rows, and nothing but the rows of one batch is held.

A workbook needs only a handful of parts (ECMA-376 part 1): the package relationships and the style sheet,
written first; the worksheets, which carry the data as inline strings, numbers and dates; then the workbook,
its relationships and the content types, which list the worksheets and so wait until their number is known.
ZIP readers find every entry through the central directory at the end, so the order does not matter to them.

Made for an auditor who prints and sums: each column as wide as its header and its type need (estimated up
front, since the rows stream), a bold header row that stays in view and carries a filter, money as numbers shown
with two decimals, dates as date cells, text that a spreadsheet would take for a formula marked as text by its
cell style (``quotePrefix``: nothing is added to the text), and a landscape page setup that fits the columns to
the paper's width and repeats the header row on every page.
"""

import io
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from xml.sax.saxutils import escape, quoteattr

XLSX_MAX_ROWS = 1_048_576
"""Excel's rows per worksheet; past it the rows continue on a new sheet instead of being dropped."""
SHEET_MAX_BYTES = 2_000_000_000
"""A worksheet's XML stays under 2 GiB, the largest entry zipfile writes without ZIP64 fields: Excel has been
reported to refuse streamed entries whose local headers carry them. A larger sheet continues on the next."""
CELL_MAX_CHARS = 32_767
"""Excel's characters per cell; a longer text is cut there, as Excel itself would refuse it."""
SHEET_NAME_MAX = 31
EXACT_DIGITS = 15
"""Excel keeps 15 significant digits: money with more stays text rather than lose its sen."""
COMPRESS_LEVEL = 1
"""Worksheet XML is repetitive: level 1 keeps most of the gain of level 6 at a fraction of its CPU."""

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""What makes a spreadsheet read a typed-in text as a formula (CSV injection)."""
EXCEL_EPOCH = date(1899, 12, 30)
FIRST_SERIAL_DAY = date(1900, 3, 1)
"""Excel's day numbers are exact from here on (it counts a 29 February 1900); earlier days stay ISO text."""

# Number formats and cell formats (the ``cellXfs`` of STYLES, in this order).
MONEY_FORMAT_ID = 164  # the first id free for custom formats
DATE_FORMAT_ID = 165
MONEY_STYLE = 1
DATE_STYLE = 2
HEADER_STYLE = 3
TEXT_STYLE = 4
"""Text kept as text when the cell is edited: Excel's own mark for a typed-in leading apostrophe."""

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE_RELATIONSHIPS = "http://schemas.openxmlformats.org/package/2006/relationships"
CONTENT_TYPES = "http://schemas.openxmlformats.org/package/2006/content-types"
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

# XML 1.0 has no place for most control characters: Excel writes them as _xHHHH_, and escapes a literal
# "_xHHHH_" in the text by its underscore, so both read back as they were written.
_LITERAL_ESCAPE = re.compile(r"(_x[0-9a-fA-F]{4}_)")
_CONTROL = re.compile(r"([\x00-\x08\x0b-\x0c\x0e-\x1f\ufffe\uffff])")
_NEEDS_CARE = re.compile(r"[&<>\r\x00-\x08\x0b-\x0c\x0e-\x1f\ufffe\uffff]|_x[0-9a-fA-F]{4}_")


# --- columns -------------------------------------------------------------------------------------


class Kind(Enum):
    integer = "integer"
    money = "money"
    date = "date"
    text = "text"


# Widths in Excel's unit, the width of a digit of the default font. Numbers must fit whole (a number too wide
# for its column shows as ###); text that does not fit is cut at the column's edge and stays whole in the cell.
TYPE_WIDTHS = {Kind.integer: 10, Kind.money: 20, Kind.date: 11}
"""Integer ids up to 2,147,483,647; money up to 9,999,999,999,999.99 (MONEY_SHOWN_BELOW)."""
MONEY_SHOWN_BELOW = Decimal("10000000000000")
"""Rp10 trillion: an amount that large stays text (no grant comes near; the largest are about a trillion)."""
CODE_WIDTH_MAX = 24
"""Text of a declared length (numbers of documents, codes, hashes): as wide as that, up to this."""
TEXT_WIDTH = 40
"""Free text (descriptions, names, notes)."""
HEADER_EXTRA = 3.5
"""A bold header is wider than its characters, and its filter button sits at its right edge."""
PADDING = 1.5


@dataclass(frozen=True)
class Column:
    """A column of the sheet: its header, and the kind of values under it, which decide its width."""

    name: str
    kind: Kind = Kind.text
    length: int | None = None
    """For text, the declared length of the database column, if it has one."""

    @property
    def width(self) -> float:
        if self.kind is Kind.text:
            expected = TEXT_WIDTH if self.length is None else min(self.length, CODE_WIDTH_MAX)
        else:
            expected = TYPE_WIDTHS[self.kind]
        return round(max(len(self.name) * 1.1 + HEADER_EXTRA, expected + PADDING), 2)


# --- cells ---------------------------------------------------------------------------------------


def column_letters(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def text_xml(value: str) -> str:
    text = value[:CELL_MAX_CHARS]
    if not _NEEDS_CARE.search(text):
        return text
    text = _LITERAL_ESCAPE.sub(r"_x005F\1", text)
    text = _CONTROL.sub(lambda match: f"_x{ord(match.group(1)):04X}_", text)
    # A raw CR would reach the reader as LF (XML normalises line ends); the character reference keeps it.
    return escape(text, {"\r": "&#13;"})


def _string_cell(reference: str, text: str) -> str:
    body = text_xml(text)
    space = ' xml:space="preserve"' if text[:1].isspace() or text[-1:].isspace() else ""
    style = f' s="{TEXT_STYLE}"' if text.startswith(FORMULA_STARTS) else ""
    return f'<c r="{reference}"{style} t="inlineStr"><is><t{space}>{body}</t></is></c>'


def _number_in_excel(amount: Decimal) -> bool:
    """Finite, no more significant digits than Excel's doubles keep (trailing zeros are not significant), and
    narrow enough for the money column (a wider number would show as ###)."""
    return (
        amount.is_finite()
        and abs(amount) < MONEY_SHOWN_BELOW
        and len(amount.normalize().as_tuple().digits) <= EXACT_DIGITS
    )


def cell_xml(reference: str, value: Any) -> str:
    """One cell, the one definition of an XLSX cell: an integer as a number; money (``Decimal``) as a number
    shown with two decimals; a date as a date cell shown ``yyyy-mm-dd``; anything else as its text. ``None``
    and ``""`` are no cell at all."""
    if value is None or value == "":
        return ""
    if type(value) is int:
        return f'<c r="{reference}"><v>{value}</v></c>'
    if isinstance(value, str):
        return _string_cell(reference, value)
    if isinstance(value, Decimal):
        return _money_cell(reference, value)
    if isinstance(value, date):
        return _date_cell(reference, value)
    return _string_cell(reference, str(value))


def _money_cell(reference: str, amount: Decimal) -> str:
    """A number, or its text when Excel could not hold it to the sen or its column could not show it."""
    if _number_in_excel(amount):
        return f'<c r="{reference}" s="{MONEY_STYLE}"><v>{amount:f}</v></c>'
    return _string_cell(reference, f"{amount:.2f}")


def _date_cell(reference: str, day: date) -> str:
    """A day number shown as ``yyyy-mm-dd``. A timestamp stays ISO text (a spreadsheet's dates have no time
    zone), and so does a day before Excel's numbers are exact."""
    if isinstance(day, datetime) or day < FIRST_SERIAL_DAY:
        return _string_cell(reference, day.isoformat())
    return f'<c r="{reference}" s="{DATE_STYLE}"><v>{(day - EXCEL_EPOCH).days}</v></c>'


def row_xml(number: int, letters: Sequence[str], values: Sequence[Any]) -> str:
    """One ``<row>`` of :func:`cell_xml` cells."""
    cells = "".join(cell_xml(f"{letter}{number}", value) for letter, value in zip(letters, values, strict=False))
    return f'<row r="{number}">{cells}</row>'


def header_xml(letters: Sequence[str], columns: Sequence[Column]) -> str:
    cells = "".join(
        f'<c r="{letter}1" s="{HEADER_STYLE}" t="inlineStr"><is><t>{text_xml(column.name)}</t></is></c>'
        for letter, column in zip(letters, columns, strict=True)
    )
    return f'<row r="1">{cells}</row>'


class _Drain(io.RawIOBase):
    """An unseekable sink: zipfile then writes each entry's sizes after its data, as a stream must."""

    def __init__(self) -> None:
        self.pending = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        self.pending += data
        return len(data)

    def take(self) -> bytes:
        data = bytes(self.pending)
        self.pending.clear()
        return data


class StreamedWorkbook:
    """Rows in, ZIP bytes out: :meth:`write` returns what a batch produced, :meth:`close` the rest."""

    def __init__(
        self,
        sheet_name: str,
        columns: Sequence[Column],
        *,
        max_rows: int = XLSX_MAX_ROWS,
        max_sheet_bytes: int = SHEET_MAX_BYTES,
    ) -> None:
        self.base_name = sheet_name[: SHEET_NAME_MAX - 3]
        self.columns = list(columns)
        self.max_rows = max_rows
        self.max_sheet_bytes = max_sheet_bytes
        self.letters = [column_letters(index) for index in range(len(self.columns))]
        self.sheet_start = _sheet_start(self.letters, self.columns).encode()
        self.sheet_end_bytes = len(_sheet_end(self.letters, XLSX_MAX_ROWS))
        self.drain = _Drain()
        self.archive = zipfile.ZipFile(self.drain, "w", zipfile.ZIP_DEFLATED, compresslevel=COMPRESS_LEVEL)
        # The fixed parts first: file-type sniffers look for them at the start of the file.
        self.archive.writestr("_rels/.rels", PACKAGE_RELS)
        self.archive.writestr("xl/styles.xml", STYLES)
        self.sheet_names: list[str] = []
        self.sheet_rows: list[int] = []
        self._open_sheet()

    def _open_sheet(self) -> None:
        number = len(self.sheet_names) + 1
        self.sheet_names.append(self.base_name if number == 1 else f"{self.base_name}-{number}")
        self.sheet = self.archive.open(f"xl/worksheets/sheet{number}.xml", "w")
        self.sheet.write(self.sheet_start)
        self.row = 1
        self.sheet_bytes = len(self.sheet_start) + self.sheet_end_bytes

    def write(self, rows: Sequence[Sequence[Any]]) -> bytes:
        lines: list[bytes] = []
        for values in rows:
            line = row_xml(self.row + 1, self.letters, values).encode()
            if self._full(len(line)):
                self.sheet.write(b"".join(lines))
                lines.clear()
                self._close_sheet()
                self._open_sheet()
                line = row_xml(self.row + 1, self.letters, values).encode()
            lines.append(line)
            self.row += 1
            self.sheet_bytes += len(line)
        self.sheet.write(b"".join(lines))
        return self.drain.take()

    def _full(self, line_bytes: int) -> bool:
        too_long = self.row > 1 and self.sheet_bytes + line_bytes > self.max_sheet_bytes
        return self.row >= self.max_rows or too_long

    def _close_sheet(self) -> None:
        self.sheet.write(_sheet_end(self.letters, self.row).encode())
        self.sheet.close()
        self.sheet_rows.append(self.row)

    def close(self) -> bytes:
        self._close_sheet()
        parts = {
            "xl/workbook.xml": self._workbook(),
            "xl/_rels/workbook.xml.rels": self._workbook_relationships(),
            "[Content_Types].xml": self._content_types(),
        }
        for name, xml in parts.items():
            self.archive.writestr(name, xml)
        self.archive.close()
        return self.drain.take()

    def _workbook(self) -> str:
        sheets = "".join(
            f'<sheet name={quoteattr(name)} sheetId="{number}" r:id="rId{number}"/>'
            for number, name in enumerate(self.sheet_names, start=1)
        )
        last = self.letters[-1]
        names = []
        for index, (name, rows) in enumerate(zip(self.sheet_names, self.sheet_rows, strict=True)):
            sheet = "'" + name.replace("'", "''") + "'"
            names.append(
                f'<definedName name="_xlnm._FilterDatabase" localSheetId="{index}" hidden="1">'
                f"{escape(sheet)}!$A$1:${last}${rows}</definedName>"
                f'<definedName name="_xlnm.Print_Area" localSheetId="{index}">'
                f"{escape(sheet)}!$A$1:${last}${rows}</definedName>"
                f'<definedName name="_xlnm.Print_Titles" localSheetId="{index}">{escape(sheet)}!$1:$1</definedName>'
            )
        return (
            f'{XML_DECLARATION}<workbook xmlns="{MAIN}" xmlns:r="{RELATIONSHIPS}">'
            f"<bookViews><workbookView/></bookViews><sheets>{sheets}</sheets>"
            f"<definedNames>{''.join(names)}</definedNames></workbook>"
        )

    def _workbook_relationships(self) -> str:
        kind = f"{RELATIONSHIPS}/worksheet"
        links = [
            f'<Relationship Id="rId{number}" Type="{kind}" Target="worksheets/sheet{number}.xml"/>'
            for number in range(1, len(self.sheet_names) + 1)
        ]
        styles = len(self.sheet_names) + 1
        links.append(f'<Relationship Id="rId{styles}" Type="{RELATIONSHIPS}/styles" Target="styles.xml"/>')
        return f'{XML_DECLARATION}<Relationships xmlns="{PACKAGE_RELATIONSHIPS}">{"".join(links)}</Relationships>'

    def _content_types(self) -> str:
        office = "application/vnd.openxmlformats-officedocument.spreadsheetml"
        sheets = "".join(
            f'<Override PartName="/xl/worksheets/sheet{number}.xml" ContentType="{office}.worksheet+xml"/>'
            for number in range(1, len(self.sheet_names) + 1)
        )
        return (
            f'{XML_DECLARATION}<Types xmlns="{CONTENT_TYPES}">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{office}.sheet.main+xml"/>'
            f'<Override PartName="/xl/styles.xml" ContentType="{office}.styles+xml"/>'
            f"{sheets}</Types>"
        )


def _sheet_start(letters: Sequence[str], columns: Sequence[Column]) -> str:
    """Everything before the rows: fit-to-page printing, the header row frozen, the column widths, the header."""
    widths = "".join(
        f'<col min="{number}" max="{number}" width="{column.width}" customWidth="1"/>'
        for number, column in enumerate(columns, start=1)
    )
    return (
        f'{XML_DECLARATION}<worksheet xmlns="{MAIN}" xmlns:r="{RELATIONSHIPS}">'
        '<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>'
        '<sheetViews><sheetView workbookViewId="0">'
        '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
        '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/>'
        "</sheetView></sheetViews>"
        '<sheetFormatPr defaultRowHeight="15"/>'
        f"<cols>{widths}</cols><sheetData>{header_xml(letters, columns)}"
    )


def _sheet_end(letters: Sequence[str], rows: int) -> str:
    """Everything after the rows: the filter over them, and the page: A4 landscape, as many pages down as the
    rows need but one across, gridlines, the sheet's name above and the page number below."""
    return (
        f'</sheetData><autoFilter ref="A1:{letters[-1]}{rows}"/>'
        '<printOptions gridLines="1"/>'
        '<pageMargins left="0.4" right="0.4" top="0.6" bottom="0.6" header="0.3" footer="0.3"/>'
        '<pageSetup paperSize="9" orientation="landscape" fitToWidth="1" fitToHeight="0"/>'
        "<headerFooter><oddHeader>&amp;L&amp;A</oddHeader><oddFooter>&amp;R&amp;P / &amp;N</oddFooter></headerFooter>"
        "</worksheet>"
    )


PACKAGE_RELS = (
    f'{XML_DECLARATION}<Relationships xmlns="{PACKAGE_RELATIONSHIPS}">'
    f'<Relationship Id="rId1" Type="{RELATIONSHIPS}/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
STYLES = (
    f'{XML_DECLARATION}<styleSheet xmlns="{MAIN}">'
    f'<numFmts count="2"><numFmt numFmtId="{MONEY_FORMAT_ID}" formatCode="#,##0.00"/>'
    f'<numFmt numFmtId="{DATE_FORMAT_ID}" formatCode="yyyy-mm-dd"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill>'
    "</fills>"
    '<borders count="2"><border><left/><right/><top/><bottom/><diagonal/></border>'
    '<border><left/><right/><top/><bottom style="thin"><color auto="1"/></bottom><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="5"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    f'<xf numFmtId="{MONEY_FORMAT_ID}" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    f'<xf numFmtId="{DATE_FORMAT_ID}" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="1" xfId="0" applyFont="1" applyBorder="1"/>'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" quotePrefix="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)
