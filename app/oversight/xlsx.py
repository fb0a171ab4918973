"""XLSX written as the rows arrive: the workbook's ZIP is produced entry by entry, so the first bytes leave
while PostgreSQL is still sending rows, and nothing but the rows of one batch is held.

A workbook needs only a handful of parts (ECMA-376 part 1): the package relationships and a minimal style
sheet, written first; the worksheets, which carry the data as inline strings and numbers; then the workbook,
its relationships and the content types, which list the worksheets and so wait until their number is known.
ZIP readers find every entry through the central directory at the end, so the order does not matter to them.
"""

import io
import re
import zipfile
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
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

MONEY_FORMAT_ID = 164  # the first id free for custom formats
MONEY_STYLE = 1  # the cell format (cellXfs) at this index shows MONEY_FORMAT_ID

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE_RELATIONSHIPS = "http://schemas.openxmlformats.org/package/2006/relationships"
CONTENT_TYPES = "http://schemas.openxmlformats.org/package/2006/content-types"
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
SHEET_START = f'{XML_DECLARATION}<worksheet xmlns="{MAIN}"><sheetData>'.encode()
SHEET_END = b"</sheetData></worksheet>"

# XML 1.0 has no place for most control characters: Excel writes them as _xHHHH_, and escapes a literal
# "_xHHHH_" in the text by its underscore, so both read back as they were written.
_LITERAL_ESCAPE = re.compile(r"(_x[0-9a-fA-F]{4}_)")
_CONTROL = re.compile(r"([\x00-\x08\x0b-\x0c\x0e-\x1f\ufffe\uffff])")
_NEEDS_CARE = re.compile(r"[&<>\r\x00-\x08\x0b-\x0c\x0e-\x1f\ufffe\uffff]|_x[0-9a-fA-F]{4}_")


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_value(value: Any) -> Any:
    """A database value as the workbook writes it: money stays a ``Decimal`` (a number an auditor can sum),
    dates become ISO text, and text a spreadsheet would run as a formula gets a leading ``'``."""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


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
    return f'<c r="{reference}" t="inlineStr"><is><t{space}>{body}</t></is></c>'


def _exact_in_excel(amount: Decimal) -> bool:
    """Finite, and no more significant digits than Excel's doubles keep (trailing zeros are not significant)."""
    return amount.is_finite() and len(amount.normalize().as_tuple().digits) <= EXACT_DIGITS


def row_xml(number: int, letters: Sequence[str], values: Sequence[Any]) -> str:
    """One ``<row>``: integers as numbers, money (``Decimal``) as a number shown with two decimals, any other
    value as its text, ``None`` and ``""`` as no cell at all."""
    cells = []
    for letter, value in zip(letters, values, strict=False):
        if value is None or value == "":
            continue
        if type(value) is int:
            cells.append(f'<c r="{letter}{number}"><v>{value}</v></c>')
        elif isinstance(value, Decimal) and _exact_in_excel(value):
            cells.append(f'<c r="{letter}{number}" s="{MONEY_STYLE}"><v>{value:f}</v></c>')
        elif isinstance(value, Decimal):
            cells.append(_string_cell(f"{letter}{number}", f"{value:.2f}"))
        else:
            cells.append(_string_cell(f"{letter}{number}", str(value)))
    return f'<row r="{number}">{"".join(cells)}</row>'


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
        header: Sequence[str],
        *,
        max_rows: int = XLSX_MAX_ROWS,
        max_sheet_bytes: int = SHEET_MAX_BYTES,
    ) -> None:
        self.base_name = sheet_name[: SHEET_NAME_MAX - 3]
        self.header = list(header)
        self.max_rows = max_rows
        self.max_sheet_bytes = max_sheet_bytes
        self.letters = [column_letters(index) for index in range(len(self.header))]
        self.drain = _Drain()
        self.archive = zipfile.ZipFile(self.drain, "w", zipfile.ZIP_DEFLATED, compresslevel=COMPRESS_LEVEL)
        # The fixed parts first: file-type sniffers look for them at the start of the file.
        self.archive.writestr("_rels/.rels", PACKAGE_RELS)
        self.archive.writestr("xl/styles.xml", STYLES)
        self.sheet_names: list[str] = []
        self._open_sheet()

    def _open_sheet(self) -> None:
        number = len(self.sheet_names) + 1
        self.sheet_names.append(self.base_name if number == 1 else f"{self.base_name}-{number}")
        self.sheet = self.archive.open(f"xl/worksheets/sheet{number}.xml", "w")
        header = row_xml(1, self.letters, self.header).encode()
        self.sheet.write(SHEET_START + header)
        self.row = 1
        self.sheet_bytes = len(SHEET_START) + len(header) + len(SHEET_END)

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
        self.sheet.write(SHEET_END)
        self.sheet.close()

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
        return (
            f'{XML_DECLARATION}<workbook xmlns="{MAIN}" xmlns:r="{RELATIONSHIPS}">'
            f"<bookViews><workbookView/></bookViews><sheets>{sheets}</sheets></workbook>"
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


PACKAGE_RELS = (
    f'{XML_DECLARATION}<Relationships xmlns="{PACKAGE_RELATIONSHIPS}">'
    f'<Relationship Id="rId1" Type="{RELATIONSHIPS}/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
STYLES = (
    f'{XML_DECLARATION}<styleSheet xmlns="{MAIN}">'
    f'<numFmts count="1"><numFmt numFmtId="{MONEY_FORMAT_ID}" formatCode="#,##0.00"/></numFmts>'
    '<fonts count="1"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill>'
    "</fills>"
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    f'<xf numFmtId="{MONEY_FORMAT_ID}" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)
