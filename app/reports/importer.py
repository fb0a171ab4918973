"""Bulk import of usage items: streamed into PostgreSQL with ``COPY``, validated set-wise in SQL, all or nothing.

The file never sits whole in memory. A CSV file first tries the direct path: the server parses it and COPYs
rows it can vouch for (their text is surely what the staging path would type) straight into ``usage_item``,
then one query applies the item rules (app/reports/rules.py, the same the JSON batches meet) to the rows
written. The body is spooled to a temporary file meanwhile; at the first row the direct path cannot vouch
for, or on any refusal by the table or the rules, its savepoint is rolled back and the spooled file takes
the staging path, as NDJSON always does: ``COPY`` into a temporary staging table of text columns (so a bad
value cannot stop the copy half-way), then one ``INSERT … SELECT`` moves the rows whose every cell passes
the rules into ``usage_item``; if it moved fewer than were staged, the move is rolled back to its savepoint
and the rules' error query names every bad cell. Everything happens on the request's transaction, so a
rejected file leaves nothing behind.
"""

import codecs
import csv
import hashlib
import io
import json
import re
import tempfile
from collections.abc import AsyncIterable, AsyncIterator, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import IO, Any, NoReturn

import asyncpg

from app.core.actor import Actor
from app.core.db import Transaction
from app.core.money import MONEY_PATTERN
from app.reports import repository, rules
from app.reports.errors import ImportEmpty, ImportRejected, InvalidHeader
from app.reports.repository import Draft
from app.reports.rules import CALENDAR_TEXTS, COLUMNS, EVIDENCE_DIGITS, EVIDENCE_PATTERN, MAX_REPORTED_ROWS, REQUIRED
from app.reports.schemas import ImportRowError, ReportOut
from app.reports.service import writable_report

NDJSON_BATCH = 2000
STAGING = "usage_item_staging"


class ImportFormat(StrEnum):
    csv = "csv"
    ndjson = "ndjson"


@dataclass
class ImportOutcome:
    rows: int
    total: Decimal
    sha256: str


@dataclass
class _Tally:
    """What the stream tells while it passes: the file's digest and, for NDJSON, the rows refused in Python."""

    digest: Any = field(default_factory=hashlib.sha256)
    size: int = 0
    rows: int = 0
    errors: list[ImportRowError] = field(default_factory=list)
    bad_rows: int = 0
    last_bad_row: int = 0
    """Rows arrive in order, so a count and the last bad row say all we need: no set per bad row."""

    def refuse(self, row: int, column: str | None, message: str) -> None:
        if row != self.last_bad_row:
            self.bad_rows += 1
            self.last_bad_row = row
        if len(self.errors) < MAX_REPORTED_ROWS * len(COLUMNS):
            self.errors.append(ImportRowError(row=row, column=column, message=message))


ProgressCallback = Callable[[int], None]


async def import_items(
    tx: Transaction,
    actor: Actor,
    report_id: int,
    *,
    chunks: AsyncIterable[bytes],
    file_format: ImportFormat,
    progress: ProgressCallback | None = None,
) -> tuple[ImportOutcome, ReportOut]:
    draft = await writable_report(tx, actor, report_id)
    await tx.sql.execute(_CREATE_STAGING)
    await tx.sql.execute(_EMPTY_STAGING)
    tally = _Tally()
    source = _metered(chunks, tally, progress)
    if file_format == ImportFormat.csv:
        outcome = await _import_csv(tx.sql, draft, source, tally)
    else:
        staged = await _copy_ndjson(tx.sql, source, tally)
        outcome = await _move_rows(tx.sql, draft, tally, staged)
    report = await repository.touch_report(tx.sql, report_id, outcome.total, outcome.rows)
    tx.record(
        actor,
        action="usage_item.import",
        entity="usage_report",
        entity_id=report_id,
        payload={
            "format": file_format.value,
            "rows": outcome.rows,
            "total": f"{outcome.total:.2f}",
            "sha256": outcome.sha256,
            "bytes": tally.size,
        },
    )
    return outcome, ReportOut.model_validate(dict(report))


# IF NOT EXISTS and TRUNCATE: one transaction (a CLI batch, the dataset generator) may import many files.
# ``row_number`` is given by NDJSON (its line numbers); a CSV file leaves it NULL: its rows are numbered by
# where COPY put them, only when a rejected file must be explained (a sequence would cost each row a call).
_CREATE_STAGING = f"""
CREATE TEMPORARY TABLE IF NOT EXISTS {STAGING} (
    row_number bigint,
    {", ".join(f"{column} text" for column in COLUMNS)}
) ON COMMIT DROP
"""
_EMPTY_STAGING = f"TRUNCATE {STAGING}"


async def _metered(
    chunks: AsyncIterable[bytes], tally: _Tally, progress: ProgressCallback | None
) -> AsyncIterator[bytes]:
    async for chunk in chunks:
        if not chunk:
            continue
        tally.digest.update(chunk)
        tally.size += len(chunk)
        if progress is not None:
            progress(len(chunk))
        yield chunk


# --- CSV: the header is checked here, the rest goes to COPY byte for byte ------------------------


async def _split_header(source: AsyncIterator[bytes]) -> tuple[bytes, bytes]:
    buffered = b""
    async for chunk in source:
        buffered += chunk
        if b"\n" in buffered:
            header, _, rest = buffered.partition(b"\n")
            return header, rest
        if len(buffered) > 64 * 1024:
            break
    return buffered, b""


def _header_columns(header: bytes) -> list[str]:
    try:
        text = header.decode("utf-8-sig").rstrip("\r")
    except UnicodeDecodeError as exc:
        raise _bad_header(["the header is not UTF-8 text"]) from exc
    names = [name.strip().lower() for name in next(csv.reader([text]), [])]
    problems = [f"unknown column {name!r}" for name in names if name not in COLUMNS]
    problems += [f"column {name!r} appears twice" for name in sorted({n for n in names if names.count(n) > 1})]
    problems += [f"missing column {name!r}" for name in sorted(REQUIRED - set(names))]
    if problems:
        raise _bad_header(problems)
    return names


def _bad_header(problems: list[str]) -> InvalidHeader:
    return InvalidHeader(COLUMNS, problems)


async def _import_csv(
    sql: asyncpg.Connection, draft: Draft, source: AsyncIterator[bytes], tally: _Tally
) -> ImportOutcome:
    """The direct path for a file it can vouch for; the staging path, on the same bytes, for any other file."""
    header, first = await _split_header(source)
    columns = _header_columns(header)
    with tempfile.TemporaryFile() as spool:
        spooled = _spooled(first, source, spool)
        outcome = await _copy_direct(sql, draft, columns, spooled, tally)
        if outcome is not None:
            return outcome
        async for _ in spooled:  # the rest of the upload, kept for the staging path
            pass
        spool.seek(0)
        staged = await _copy(sql, _replayed(spool), columns)
    return await _move_rows(sql, draft, tally, staged)


async def _spooled(first: bytes, source: AsyncIterator[bytes], spool: IO[bytes]) -> AsyncIterator[bytes]:
    """The body after the header, each chunk also written to ``spool`` (a temporary file: memory stays flat)."""
    if first:
        spool.write(first)
        yield first
    async for chunk in source:
        spool.write(chunk)
        yield chunk


async def _replayed(spool: IO[bytes]) -> AsyncIterator[bytes]:
    while chunk := spool.read(SPOOL_CHUNK):
        yield chunk


async def _copy(connection: asyncpg.Connection, data: AsyncIterator[bytes], columns: list[str]) -> int:
    """COPY into the staging table; the number of rows it took."""
    try:
        status = await connection.copy_to_table(STAGING, source=data, columns=columns, format="csv")
    except (asyncpg.DataError, asyncpg.exceptions.BadCopyFileFormatError, asyncpg.PostgresSyntaxError) as exc:
        raise _unreadable(exc) from exc
    return int(status.rsplit(" ", 1)[-1])


_COPY_LINE = re.compile(r"line (\d+)")


def _unreadable(exc: asyncpg.PostgresError) -> ImportRejected:
    """COPY stopped on a row it cannot even split into fields (wrong column count, bad encoding)."""
    context = str(getattr(exc, "context", "") or "")
    found = _COPY_LINE.search(context)
    row = int(found.group(1)) if found else 0
    message = str(exc).splitlines()[0]
    error = ImportRowError(row=row, column=None, message=message)
    return ImportRejected(
        f"Row {row} cannot be read ({message}); nothing was imported.",
        f"Baris {row} tidak dapat dibaca ({message}); tidak ada yang diimpor.",
        [error.model_dump()],
        1,
    )


# --- CSV, the direct path: COPY straight into usage_item, the rules checked on what it wrote ------
#
# The staging path costs PostgreSQL a text COPY, then an INSERT … SELECT that types and checks every cell
# (one WAL record and heap insert per row, where COPY batches them): ~3x a plain COPY of the same rows. Most
# files are clean, so the server parses them here (the C ``csv`` module) and COPYs the typed rows straight into
# usage_item, which checks its constraints and references as for any write; then one query applies
# rules.CELL_CHECKS (the same expressions) to the rows written and sums them. Python only decides whether a
# row's text is *surely* the value the staging path would type (CALENDAR_TEXTS, MONEY_PATTERN, the evidence
# pattern, non-empty required cells, a parse PostgreSQL would read alike); it judges no rule. At the first row
# it cannot vouch for, or if COPY or the checks refuse anything, the savepoint is rolled back and the whole
# file, spooled meanwhile, goes the staging path, which names the bad rows exactly as before.

SPOOL_CHUNK = 1024 * 1024
DIRECT_PENDING_MAX = 4 * 1024 * 1024
"""A quoted field may span chunks; text past this without a row boundary sends the file the staging path."""
_MONEY = re.compile(MONEY_PATTERN, re.ASCII)
_EVIDENCE = re.compile(EVIDENCE_PATTERN, re.ASCII)
_DIRECT_COLUMNS = ["report_id", *COLUMNS]
NULL = "\\N"
"""NULL in COPY's text format."""


class _Unsure(Exception):
    """A row the direct path cannot vouch for: the file goes the staging path."""


def _row_boundary(text: str) -> int:
    """The index just past the last newline of ``text`` that ends a CSV row (an even count of quotes before it,
    as PostgreSQL counts them: a doubled quote counts twice), or 0."""
    end = len(text)
    for _ in range(4):
        end = text.rfind("\n", 0, end)
        if end == -1:
            return 0
        if text.count('"', 0, end) % 2 == 0:
            return end + 1
    return 0


def _escaped(cell: str) -> str:
    """A cell in COPY's text format (no CR reaches here: ``_direct_body`` sends such files the staging path)."""
    return cell.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def _encoder(columns: list[str], report_id: int) -> Callable[[str], str]:
    """Complete rows of CSV text (the file's header order) to COPY text-format lines of ``_DIRECT_COLUMNS``."""
    width = len(columns)
    where = {name: columns.index(name) if name in columns else width for name in COLUMNS}
    i_date, i_category, i_stage, i_description, i_amount, i_payee, i_document, i_evidence = (
        where[name] for name in COLUMNS
    )
    report = str(report_id)
    calendar = CALENDAR_TEXTS
    money = _MONEY.fullmatch  # not match: ``$`` also matches before a final newline in Python, not in PostgreSQL
    evidence_ok = _EVIDENCE.fullmatch

    def encode(text: str) -> str:
        if text.count('"') % 2:  # a quoted cell left open: PostgreSQL refuses what Python would read
            raise _Unsure
        try:
            rows = list(csv.reader(io.StringIO(text, newline="")))
        except csv.Error as exc:
            raise _Unsure from exc
        # Text cells go out as they are unless the text holds a backslash, a tab or a line end inside a cell.
        plain = "\\" not in text and "\t" not in text and text.count("\n") == len(rows) - (not text.endswith("\n"))
        lines: list[str] = []
        line = lines.append
        for row in rows:
            if len(row) != width:
                raise _Unsure
            row.append("")  # what an absent optional column reads as
            spent_on = row[i_date]
            amount = row[i_amount]
            category = row[i_category].strip(" ")
            stage = row[i_stage].strip(" ")
            description = row[i_description].strip(" ")
            if spent_on not in calendar or not category or not stage or not description or money(amount) is None:
                raise _Unsure
            payee = row[i_payee].strip(" ")
            document = row[i_document].strip(" ")
            evidence = row[i_evidence].strip(" ")
            if evidence:
                if len(evidence) != EVIDENCE_DIGITS or evidence_ok(evidence) is None:
                    raise _Unsure
                evidence = "\\\\x" + evidence  # a bytea's \x, its backslash escaped for COPY
            else:
                evidence = "\\N"
            if not plain:
                category, stage, description = _escaped(category), _escaped(stage), _escaped(description)
                payee, document = _escaped(payee), _escaped(document)
            line(
                f"{report}\t{spent_on}\t{category}\t{stage}\t{description}\t{amount}"
                f"\t{payee or NULL}\t{document or NULL}\t{evidence}\n"
            )
        encoded = "".join(lines)
        # A quote inside a cell: Python and PostgreSQL may have split the line differently (a quote in the
        # middle of an unquoted cell opens a quoted part for PostgreSQL only); the staging path decides.
        if '"' in encoded:
            raise _Unsure
        return encoded

    return encode


async def _direct_body(source: AsyncIterator[bytes], encode: Callable[[str], str]) -> AsyncIterator[bytes]:
    decoder = codecs.getincrementaldecoder("utf-8")()
    pending = ""
    async for chunk in source:
        if b"\r" in chunk or b"\x00" in chunk:  # line ends PostgreSQL may read otherwise; NUL it refuses
            raise _Unsure
        try:
            pending += decoder.decode(chunk)
        except UnicodeDecodeError as exc:
            raise _Unsure from exc
        cut = _row_boundary(pending)
        if cut:
            yield encode(pending[:cut]).encode()
            pending = pending[cut:]
        elif len(pending) > DIRECT_PENDING_MAX:
            raise _Unsure
    try:
        pending += decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise _Unsure from exc
    if pending:
        yield encode(pending).encode()


# The rows the COPY wrote (ids after the report's last before it: the report is locked) as rules.CELL_CHECKS
# read them, the evidence back in hex.
_WRITTEN = """
SELECT spent_on, category, stage, description, amount, payee, document_number,
       encode(evidence_sha256, 'hex') AS evidence
FROM usage_item WHERE report_id = $4 AND id > $5
"""
_CHECK_WRITTEN = f"""
SELECT count(*) AS rows, coalesce(sum(t.amount), 0) AS total,
       coalesce(bool_and({rules.ALL_CELLS_GOOD}), true) AS good
FROM ({_WRITTEN}) t
"""
_LAST_ID = "SELECT coalesce(max(id), 0) FROM usage_item WHERE report_id = $1"


async def _copy_direct(
    sql: asyncpg.Connection, draft: Draft, columns: list[str], source: AsyncIterator[bytes], tally: _Tally
) -> ImportOutcome | None:
    """The file COPYed straight into usage_item and its rows checked; ``None`` (nothing written) if any row
    needs the staging path."""
    last_id = await sql.fetchval(_LAST_ID, draft.id)
    direct = sql.transaction()  # a savepoint inside the request's transaction
    await direct.start()
    try:
        await sql.copy_to_table(
            "usage_item",
            source=_direct_body(source, _encoder(columns, draft.id)),
            columns=_DIRECT_COLUMNS,
            format="text",
        )
        checked = await sql.fetchrow(_CHECK_WRITTEN, *draft.terms, draft.id, last_id)
    except (_Unsure, asyncpg.PostgresError):
        await direct.rollback()
        return None
    assert checked is not None
    if not checked["good"]:
        await direct.rollback()
        return None
    await direct.commit()
    if checked["rows"] == 0:
        raise ImportEmpty()
    return ImportOutcome(rows=int(checked["rows"]), total=Decimal(checked["total"]), sha256=tally.digest.hexdigest())


# --- NDJSON: each line is parsed here and re-encoded as CSV for COPY -----------------------------


MAX_LINE = 64 * 1024
"""An item is a few hundred bytes; a longer line is refused, not buffered."""


async def _lines(source: AsyncIterator[bytes]) -> AsyncIterator[bytes | None]:
    """The file's lines; ``None`` stands for a line over ``MAX_LINE``, whose bytes are skipped."""
    pending = bytearray()
    overlong = False
    async for chunk in source:
        start = 0
        while (end := chunk.find(b"\n", start)) != -1:
            if overlong or len(pending) + end - start > MAX_LINE:
                yield None
            else:
                pending += chunk[start:end]
                yield bytes(pending)
            pending.clear()
            overlong = False
            start = end + 1
        if not overlong:
            pending += chunk[start:]
            if len(pending) > MAX_LINE:
                overlong = True
                pending.clear()
    if overlong:
        yield None
    elif pending:
        yield bytes(pending)


def _ndjson_row(number: int, line: bytes | None, tally: _Tally) -> list[str] | None:
    if line is None:
        tally.refuse(number, None, f"longer than {MAX_LINE} bytes")
        return None
    try:
        value = json.loads(line)
    except (ValueError, UnicodeDecodeError, RecursionError):
        tally.refuse(number, None, "not a JSON object")
        return None
    if not isinstance(value, dict):
        tally.refuse(number, None, "not a JSON object")
        return None
    row = [str(number)]
    for key in sorted(set(value) - set(COLUMNS)):
        tally.refuse(number, key, "unknown field")
    for column in COLUMNS:
        cell = value.get(column)
        if cell is None:
            row.append("")
        elif isinstance(cell, bool) or not isinstance(cell, (str, int)):
            tally.refuse(number, column, "must be a string" + (" or an integer" if column == "amount" else ""))
            row.append("")
        elif isinstance(cell, str) and "\x00" in cell:
            tally.refuse(number, column, "contains a NUL character")
            row.append("")
        else:
            row.append(str(cell))
    return row if tally.last_bad_row != number else None


async def _copy_ndjson(connection: asyncpg.Connection, source: AsyncIterator[bytes], tally: _Tally) -> int:
    async def body() -> AsyncIterator[bytes]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        pending = 0
        number = 0
        async for line in _lines(source):
            number += 1
            if line is not None and not line.strip():
                continue
            row = _ndjson_row(number, line, tally)
            if row is not None:
                writer.writerow(row)
                pending += 1
            if pending >= NDJSON_BATCH:
                yield buffer.getvalue().encode()
                buffer.seek(0)
                buffer.truncate()
                pending = 0
        if pending:
            yield buffer.getvalue().encode()

    return await _copy(connection, body(), ["row_number", *COLUMNS])


# --- set-wise validation and the move into usage_item --------------------------------------------

# The statements are assembled from module constants only; values travel as bound parameters.
#
# Row order: the staging table is emptied, then filled by one COPY in the file's order, in this session only
# (a temporary table: no other writer, no parallel or synchronized scan), so its rows lie in file order and a
# sequential scan reads them back in that order. The move therefore needs no sort of the whole file to give
# the items ids in file order, and a CSV row's number is its rank by position (ctid).
_STAGED = f"SELECT {rules.TYPED_FROM_TEXT} FROM {STAGING} s"
_ERRORS = rules.errors_query(
    f"SELECT coalesce(s.row_number, row_number() OVER (ORDER BY s.ctid)) AS row_number, {rules.TYPED_FROM_TEXT}"
    f" FROM {STAGING} s"
)

# The move validates as it goes: it takes only rows whose every cell is good, so a clean file (the
# common case) is read once. Fewer rows moved than staged means a bad file: the caller rolls the move
# back and runs _ERRORS to say why.
_MOVE = f"""
WITH moved AS (
    INSERT INTO usage_item
        (report_id, spent_on, category, stage, description, amount, payee, document_number, evidence_sha256)
    SELECT $4, spent_on, category, stage, description, amount,
           nullif(payee, ''), nullif(document_number, ''), decode(nullif(evidence, ''), 'hex')
    -- OFFSET 0 keeps the subquery whole: each cast runs once per row, not once per check that reads it.
    FROM ({_STAGED} OFFSET 0) t
    WHERE {rules.ALL_CELLS_GOOD}
    RETURNING amount
)
SELECT count(*), coalesce(sum(amount), 0) FROM moved
"""


async def _reject_bad_rows(sql: asyncpg.Connection, draft: Draft, tally: _Tally) -> NoReturn:
    result = await sql.fetch(_ERRORS, *draft.terms)
    sql_bad = int(result[0]["bad_rows"]) if result else 0
    errors = tally.errors + [
        ImportRowError(row=row["row_number"], column=row["column_name"], message=row["message"]) for row in result
    ]
    bad_rows = sql_bad + tally.bad_rows
    if not errors:
        raise RuntimeError("the move refused rows that no rule names")  # rules.CELL_CHECKS feed both
    first = sorted({error.row for error in errors})[:MAX_REPORTED_ROWS]
    shown = sorted((error for error in errors if error.row in first), key=lambda error: (error.row, error.column or ""))
    raise ImportRejected(
        f"{bad_rows} row(s) of the file break the reporting rules; nothing was imported.",
        f"{bad_rows} baris berkas melanggar aturan pelaporan; tidak ada yang diimpor.",
        [error.model_dump() for error in shown],
        bad_rows,
    )


async def _move_rows(sql: asyncpg.Connection, draft: Draft, tally: _Tally, staged: int) -> ImportOutcome:
    """Move the staged rows in one validating pass; on any bad row, undo the move and say which rows."""
    if tally.errors:  # rows refused before staging (NDJSON): the file is bad whatever the rest holds
        await _reject_bad_rows(sql, draft, tally)
    move = sql.transaction()  # a savepoint inside the request's transaction
    await move.start()
    moved = await sql.fetchrow(_MOVE, *draft.terms, draft.id)
    assert moved is not None
    count, total = moved
    if count < staged:
        await move.rollback()
        await _reject_bad_rows(sql, draft, tally)
    await move.commit()
    if count == 0:
        raise ImportEmpty()
    return ImportOutcome(rows=int(count), total=Decimal(total), sha256=tally.digest.hexdigest())
