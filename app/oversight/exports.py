"""Exports for auditors: CSV and XLSX, streamed in constant memory.

Every export is a select with its header (:class:`Export`). CSV is written by PostgreSQL itself
(``COPY (select) TO STDOUT``), each column rendered as text by :func:`csv_text`, the one definition of a
CSV cell; the findings, computed in Python, reach COPY as arrays. XLSX is written as rows arrive
(app/oversight/xlsx.py). A streamed body outlives the request's own transaction, so each export reads in
a transaction of its own, opened when the first byte is asked for and closed with the last.
"""

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

import asyncpg
import sqlalchemy as sa
from anyio import to_thread
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from app.core.actor import Actor
from app.core.db import Transaction, transaction
from app.core.visibility import may_see_sql, shown
from app.grants.filters import AgreementFilter
from app.grants.models import Agreement
from app.ledger.models import Disbursement, DisbursementReversal, Refund
from app.oversight.errors import ExportBusy
from app.oversight.schemas import Finding
from app.oversight.xlsx import FORMULA_STARTS, Column, Kind, StreamedWorkbook
from app.reports.models import COUNTED_STATUSES, UsageItem, UsageReport

BATCH = 5000


class ExportCapacity:
    """Streamed exports' own bounded capacity, per worker: ``slots`` at once, each on a connection of the exports'
    own pool (``slots`` connections, no overflow), never one of the pool money writes use. A slow reader holds its
    slot and its connection for as long as it reads, and nothing else; one more export is a 503 ``export_busy``,
    answered before the first byte."""

    def __init__(self, engine: AsyncEngine, slots: int, retry_after_s: int) -> None:
        self.engine = engine
        self.slots = slots
        self.retry_after_s = retry_after_s
        self._free = asyncio.Semaphore(slots)

    async def open(self) -> "OpenExport":
        """A slot and its transaction, begun: a database that is down is a 503 here, before any byte is sent."""
        if self._free.locked():
            raise ExportBusy(self.retry_after_s)
        await self._free.acquire()
        stack = contextlib.AsyncExitStack()
        stack.callback(self._free.release)
        try:
            tx = await stack.enter_async_context(transaction(self.engine))
        except BaseException:
            await stack.aclose()
            raise
        return OpenExport(tx, stack)


class OpenExport:
    """An export's slot and transaction, held from before the response starts until it ends, however it ends."""

    def __init__(self, tx: Transaction, stack: contextlib.AsyncExitStack) -> None:
        self.tx = tx
        self._stack: contextlib.AsyncExitStack | None = stack

    async def close(self) -> None:
        """Commit (a read: nothing to keep) or roll back, give the connection and the slot back; once."""
        stack, self._stack = self._stack, None
        if stack is not None:
            await stack.aclose()

    async def fail(self, error: BaseException) -> None:
        stack, self._stack = self._stack, None
        if stack is not None:
            with contextlib.suppress(BaseException):
                await stack.__aexit__(type(error), error, error.__traceback__)


class Dataset(StrEnum):
    agreements = "agreements"
    disbursements = "disbursements"
    refunds = "refunds"
    usage_items = "usage-items"
    findings = "findings"


class FileFormat(StrEnum):
    csv = "csv"
    xlsx = "xlsx"


MEDIA_TYPES = {
    FileFormat.csv: "text/csv; charset=utf-8",
    FileFormat.xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@dataclass(frozen=True)
class Export:
    header: Sequence[str]
    statement: Any
    """A Core select whose rows are the export's rows, in ``header`` order."""


@dataclass(frozen=True)
class ItemFilter:
    report_id: int | None = None
    category: str | None = None
    stage: str | None = None
    spent_from: date | None = None
    spent_to: date | None = None

    def conditions(self) -> list[Any]:
        conditions: list[Any] = [
            column == value
            for column, value in (
                (col(UsageItem.report_id), self.report_id),
                (col(UsageItem.category), self.category),
                (col(UsageItem.stage), self.stage),
            )
            if value is not None
        ]
        if self.spent_from is not None:
            conditions.append(col(UsageItem.spent_on) >= self.spent_from)
        if self.spent_to is not None:
            conditions.append(col(UsageItem.spent_on) <= self.spent_to)
        return conditions


# --- the datasets --------------------------------------------------------------------------------

AGREEMENT_COLUMNS = (
    "id",
    "number",
    "election_id",
    "recipient_id",
    "region_code",
    "province_code",
    "recipient_kind",
    "signed_on",
    "scheme",
    "currency",
    "original_amount",
    "amount",
    "disbursed",
    "spent_reported",
    "spent_accepted",
    "refunded",
    "status",
)


def agreements_export(where: AgreementFilter) -> Export:
    selected = [getattr(Agreement, name) for name in AGREEMENT_COLUMNS]
    statement = sa.select(*selected).where(*where.conditions()).order_by(col(Agreement.id))
    return Export(AGREEMENT_COLUMNS, statement)


def disbursements_export(where: AgreementFilter) -> Export:
    statement = (
        sa.select(
            col(Disbursement.id),
            col(Disbursement.agreement_id),
            col(Agreement.number),
            col(Agreement.region_code),
            col(Disbursement.tranche),
            col(Disbursement.amount),
            col(Disbursement.paid_on),
            col(Disbursement.sp2d_number),
            col(DisbursementReversal.reversed_on),
            col(DisbursementReversal.reason),
        )
        .join(Agreement, col(Agreement.id) == col(Disbursement.agreement_id))
        .outerjoin(DisbursementReversal, col(DisbursementReversal.disbursement_id) == col(Disbursement.id))
        .where(*where.conditions())
        .order_by(col(Disbursement.id))
    )
    header = (
        "id",
        "agreement_id",
        "agreement_number",
        "region_code",
        "tranche",
        "amount",
        "paid_on",
        "sp2d_number",
        "reversed_on",
        "reversal_reason",
    )
    return Export(header, statement)


def refunds_export(where: AgreementFilter) -> Export:
    statement = (
        sa.select(
            col(Refund.id),
            col(Refund.agreement_id),
            col(Agreement.number),
            col(Agreement.region_code),
            col(Refund.amount),
            col(Refund.returned_on),
            col(Refund.sts_number),
            col(Refund.note),
        )
        .join(Agreement, col(Agreement.id) == col(Refund.agreement_id))
        .where(*where.conditions())
        .order_by(col(Refund.id))
    )
    header = ("id", "agreement_id", "agreement_number", "region_code", "amount", "returned_on", "sts_number", "note")
    return Export(header, statement)


USAGE_ITEM_HEADER = (
    "id",
    "report_id",
    "agreement_id",
    "region_code",
    "report_status",
    "spent_on",
    "category",
    "stage",
    "description",
    "amount",
    "payee",
    "document_number",
    "evidence_sha256",
)


def usage_items_export(where: AgreementFilter, items: ItemFilter, actor: Actor) -> Export:
    owner = col(Agreement.recipient_id)
    statement = (
        sa.select(
            col(UsageItem.id),
            col(UsageItem.report_id),
            col(UsageReport.agreement_id),
            col(Agreement.region_code),
            col(UsageReport.status),
            col(UsageItem.spent_on),
            col(UsageItem.category),
            col(UsageItem.stage),
            col(UsageItem.description),
            col(UsageItem.amount),
            shown(actor, col(UsageItem.payee), owner),  # the visibility policy, row by row
            shown(actor, col(UsageItem.document_number), owner),
            # Stored as its bytes (models.HexDigest); exported as the API shows it, in hex.
            sa.func.encode(col(UsageItem.evidence_sha256), "hex", type_=sa.Text),
        )
        .join(UsageReport, col(UsageReport.id) == col(UsageItem.report_id))
        .join(Agreement, col(Agreement.id) == col(UsageReport.agreement_id))
        .where(*where.conditions(), *items.conditions())
        .order_by(col(UsageItem.id))
    )
    # As in the API (reports.rules.visible): drafts and returned reports only to those who see their owner's
    # private fields; everyone else reads a report once it is submitted.
    statement = statement.where(sa.or_(col(UsageReport.status).in_(COUNTED_STATUSES), may_see_sql(actor, owner)))
    return Export(USAGE_ITEM_HEADER, statement)


FINDINGS_COLUMNS: tuple[tuple[str, Any], ...] = (
    ("rule", sa.String),
    ("severity", sa.String),
    ("agreement_id", sa.Integer),
    ("agreement_number", sa.String),
    ("region_code", sa.String),
    ("recipient_kind", sa.String),
    ("due_on", sa.Date),
    ("regulation", sa.String),
    ("facts", sa.String),
)


def facts_text(facts: dict[str, Any]) -> str:
    return "; ".join(f"{key}={value}" for key, value in facts.items())


def findings_export(found: Sequence[Finding]) -> Export:
    """The findings as a select over arrays of their values, so COPY writes them like any other export."""
    values: list[list[Any]] = [
        [f.rule.value for f in found],
        [f.severity.value for f in found],
        [f.agreement_id for f in found],
        [f.agreement_number for f in found],
        [f.region_code for f in found],
        [f.recipient_kind for f in found],
        [f.due_on for f in found],
        [f.regulation for f in found],
        [facts_text(f.facts) for f in found],
    ]
    arrays = [
        sa.bindparam(None, column, type_=ARRAY(kind()))
        for column, (_, kind) in zip(values, FINDINGS_COLUMNS, strict=True)
    ]
    columns = (sa.column(name, kind()) for name, kind in FINDINGS_COLUMNS)
    rows = sa.func.unnest(*arrays).table_valued(*columns).render_derived(name="finding")
    header = tuple(name for name, _ in FINDINGS_COLUMNS)
    return Export(header, sa.select(*(rows.c[name] for name in header)))


# --- CSV, written by PostgreSQL ------------------------------------------------------------------

COPY_QUEUE = 8
"""Chunks in flight between COPY and the client: a slow client makes COPY wait, memory stays bounded."""


def csv_text(column: Any) -> Any:
    """A column as its CSV cell: NULL and '' as nothing, dates ISO, money with its two decimals, integers as
    digits, and text that a spreadsheet would run as a formula behind a ``'`` (CSV injection)."""
    kind = column.type
    if isinstance(kind, (sa.types.NullType, sa.Integer)):
        return column
    if isinstance(kind, sa.Numeric):
        return sa.cast(column, sa.Text)  # NUMERIC(18,2)'s text has the two decimals
    if isinstance(kind, sa.Date):
        return sa.func.to_char(column, "YYYY-MM-DD")
    text = sa.cast(column, sa.Text)
    # '' as NULL: COPY would quote an empty string ("") where a spreadsheet expects nothing.
    return sa.case((sa.func.left(text, 1).in_(FORMULA_STARTS), sa.literal("'") + text), else_=sa.func.nullif(text, ""))


def csv_header(header: Sequence[str]) -> bytes:
    return ("\ufeff" + ",".join(header) + "\n").encode()  # the BOM makes Excel read UTF-8


async def stream_csv(tx: Transaction, export: Export) -> AsyncGenerator[bytes]:
    """The CSV written by COPY, passed through a bounded queue."""
    statement = export.statement.with_only_columns(
        *(csv_text(column) for column in export.statement.selected_columns), maintain_column_froms=True
    )
    yield csv_header(export.header)
    compiled = statement.compile(dialect=tx.session.get_bind().dialect, compile_kwargs={"render_postcompile": True})
    values = compiled.construct_params()
    arguments = [values[name] for name in compiled.positiontup or ()]
    async for chunk in _copied(tx.sql, str(compiled), arguments):
        yield chunk


async def _copied(sql: asyncpg.Connection, query: str, arguments: list[Any]) -> AsyncIterator[bytes]:
    chunks: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=COPY_QUEUE)

    async def put(data: bytes | bytearray | memoryview) -> None:
        await chunks.put(bytes(data))  # asyncpg hands over its own buffer types

    async def copy() -> None:
        try:
            await sql.copy_from_query(query, *arguments, output=put, format="csv")
        finally:
            await chunks.put(None)

    task = asyncio.create_task(copy())
    try:
        while (chunk := await chunks.get()) is not None:
            yield chunk
        await task  # COPY's own error, if it ended on one
    finally:
        if not task.done():
            task.cancel()  # the client went away: stop the COPY; the rollback discards the connection
            with contextlib.suppress(asyncio.CancelledError, asyncpg.PostgresError):
                await task


# --- XLSX ----------------------------------------------------------------------------------------


def sheet_column(name: str, column: Any) -> Column:
    """A sheet column as its database type tells it, for its width."""
    kind = column.type
    if isinstance(kind, sa.Integer):
        return Column(name, Kind.integer)
    if isinstance(kind, sa.Numeric):
        return Column(name, Kind.money)
    if isinstance(kind, sa.Date):
        return Column(name, Kind.date)
    if isinstance(kind, sa.Enum):
        return Column(name, Kind.text, max(map(len, kind.enums), default=None))
    return Column(name, Kind.text, getattr(kind, "length", None))


def sheet_columns(export: Export) -> list[Column]:
    return [
        sheet_column(name, column)
        for name, column in zip(export.header, export.statement.selected_columns, strict=True)
    ]


async def stream_xlsx(tx: Transaction, export: Export, sheet: str) -> AsyncGenerator[bytes]:
    """Each batch of rows becomes its worksheet rows and the ZIP bytes they compress to, which go out at once."""
    workbook = StreamedWorkbook(sheet, sheet_columns(export))
    result = await tx.session.stream(export.statement.execution_options(yield_per=BATCH))
    async for batch in result.partitions(BATCH):
        if chunk := await to_thread.run_sync(workbook.write, batch):
            yield chunk
    yield await to_thread.run_sync(workbook.close)


async def stream(opened: OpenExport, export: Export, file_format: FileFormat, sheet: str) -> AsyncIterator[bytes]:
    """The file's bytes from the export's own transaction, which ends with the last byte (or the client's leaving)."""
    body: AsyncGenerator[bytes] = (
        stream_csv(opened.tx, export) if file_format == FileFormat.csv else stream_xlsx(opened.tx, export, sheet)
    )
    try:
        async for chunk in body:
            yield chunk
    except BaseException as error:
        await opened.fail(error)
        raise
    finally:
        await body.aclose()
        await opened.close()
