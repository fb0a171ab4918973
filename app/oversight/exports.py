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
from typing import Any, Self

import asyncpg
import sqlalchemy as sa
from anyio import to_thread
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from app.core.actor import Actor
from app.core.db import Transaction, transaction
from app.core.outage import is_outage
from app.core.visibility import may_see_sql, shown
from app.grants.filters import AgreementFilter
from app.grants.models import Agreement
from app.ledger.models import Disbursement, DisbursementReversal, Refund
from app.oversight.columns import (
    AGREEMENTS,
    DISBURSEMENTS,
    FINDINGS,
    REFUNDS,
    SUPPORT,
    USAGE_ITEMS,
    Dataset,
    Kind,
    Table,
)
from app.oversight.errors import ExportBusy
from app.oversight.schemas import Finding
from app.oversight.xlsx import FORMULA_STARTS, Column, StreamedWorkbook
from app.oversight.xlsx import Kind as CellKind
from app.reports.models import COUNTED_STATUSES, UsageItem, UsageReport
from app.support.filters import SupportFilter
from app.support.models import Support

BATCH = 5000


__all__ = ["Dataset", "Export", "FileFormat", "ItemFilter"]


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

    async def open(self, replica: AsyncEngine | None = None) -> "OpenExport":
        """A slot and its transaction, begun: a database that is down is a 503 here, before any byte is sent.
        With ``replica`` (app/core/replicas.py), read there, or on the exports' own pool if it fails to begin."""
        if self._free.locked():
            raise ExportBusy(self.retry_after_s)
        await self._free.acquire()
        stack = contextlib.AsyncExitStack()
        stack.callback(self._free.release)
        try:
            tx = await self._begin(stack, replica)
        except BaseException:
            await stack.aclose()
            raise
        return OpenExport(tx, stack)

    async def _begin(self, stack: contextlib.AsyncExitStack, replica: AsyncEngine | None) -> Transaction:
        if replica is not None:
            try:
                return await stack.enter_async_context(transaction(replica))
            except Exception as exc:
                if not is_outage(exc):
                    raise
        return await stack.enter_async_context(transaction(self.engine))


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

    @classmethod
    def of(cls, table: Table, columns: dict[str, Any], select: Any = None) -> Self:
        """The export of ``table``: its declared columns (app/oversight/columns.py), in their declared order, each
        from its expression in ``columns``; ``select`` shapes the statement (joins, filters, order)."""
        if set(columns) != set(table.header):
            raise RuntimeError(f"{table.dataset}: expressions {sorted(columns)} != declared {list(table.header)}")
        statement = sa.select(*(columns[name] for name in table.header))
        return cls(table.header, statement if select is None else select(statement))


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


def agreements_export(where: AgreementFilter) -> Export:
    return Export.of(
        AGREEMENTS,
        {name: getattr(Agreement, name) for name in AGREEMENTS.header},
        lambda s: s.where(*where.conditions()).order_by(col(Agreement.id)),
    )


def disbursements_export(where: AgreementFilter) -> Export:
    return Export.of(
        DISBURSEMENTS,
        {
            "id": col(Disbursement.id),
            "agreement_id": col(Disbursement.agreement_id),
            "agreement_number": col(Agreement.number),
            "region_code": col(Agreement.region_code),
            "tranche": col(Disbursement.tranche),
            "amount": col(Disbursement.amount),
            "paid_on": col(Disbursement.paid_on),
            "sp2d_number": col(Disbursement.sp2d_number),
            "reversed_on": col(DisbursementReversal.reversed_on),
            "reversal_reason": col(DisbursementReversal.reason),
        },
        lambda s: (
            s.join(Agreement, col(Agreement.id) == col(Disbursement.agreement_id))
            .outerjoin(DisbursementReversal, col(DisbursementReversal.disbursement_id) == col(Disbursement.id))
            .where(*where.conditions())
            .order_by(col(Disbursement.id))
        ),
    )


def refunds_export(where: AgreementFilter) -> Export:
    return Export.of(
        REFUNDS,
        {
            "id": col(Refund.id),
            "agreement_id": col(Refund.agreement_id),
            "agreement_number": col(Agreement.number),
            "region_code": col(Agreement.region_code),
            "amount": col(Refund.amount),
            "returned_on": col(Refund.returned_on),
            "sts_number": col(Refund.sts_number),
            "note": col(Refund.note),
        },
        lambda s: (
            s.join(Agreement, col(Agreement.id) == col(Refund.agreement_id))
            .where(*where.conditions())
            .order_by(col(Refund.id))
        ),
    )


def usage_items_export(where: AgreementFilter, items: ItemFilter, actor: Actor) -> Export:
    owner = col(Agreement.recipient_id)
    # As in the API (reports.rules.visible): drafts and returned reports only to those who see their owner's
    # private fields; everyone else reads a report once it is submitted.
    readable = sa.or_(col(UsageReport.status).in_(COUNTED_STATUSES), may_see_sql(actor, owner))
    return Export.of(
        USAGE_ITEMS,
        {
            "id": col(UsageItem.id),
            "report_id": col(UsageItem.report_id),
            "agreement_id": col(UsageReport.agreement_id),
            "region_code": col(Agreement.region_code),
            "report_status": col(UsageReport.status),
            "spent_on": col(UsageItem.spent_on),
            "category": col(UsageItem.category),
            "stage": col(UsageItem.stage),
            "description": col(UsageItem.description),
            "amount": col(UsageItem.amount),
            "payee": shown(actor, col(UsageItem.payee), owner),  # the visibility policy, row by row
            "document_number": shown(actor, col(UsageItem.document_number), owner),
            # Stored as its bytes (models.HexDigest); exported as the API shows it, in hex.
            "evidence_sha256": sa.func.encode(col(UsageItem.evidence_sha256), "hex", type_=sa.Text),
        },
        lambda s: (
            s.join(UsageReport, col(UsageReport.id) == col(UsageItem.report_id))
            .join(Agreement, col(Agreement.id) == col(UsageReport.agreement_id))
            .where(*where.conditions(), *items.conditions(), readable)
            .order_by(col(UsageItem.id))
        ),
    )


def support_export(where: SupportFilter) -> Export:
    """Support in kind, void records included (with when and why), as the list shows them. ``quantity`` is a count
    or a measure, not money: it goes out as its text ("1", "1.5"), so no spreadsheet shows it as rupiah."""
    columns: dict[str, Any] = {name: getattr(Support, name) for name in SUPPORT.header}
    columns["quantity"] = sa.cast(sa.func.trim_scale(col(Support.quantity)), sa.String(20))
    # An instant as ISO 8601 in UTC, the form a Table Schema `datetime` reads (PostgreSQL's own text is not).
    columns["voided_at"] = sa.func.to_char(
        sa.func.timezone("UTC", col(Support.voided_at)), 'YYYY-MM-DD"T"HH24:MI:SS"Z"', type_=sa.String(20)
    )
    return Export.of(SUPPORT, columns, lambda s: s.where(*where.conditions()).order_by(col(Support.id)))


SQL_TYPES: dict[Kind, Any] = {
    Kind.integer: sa.Integer,
    Kind.number: sa.Numeric,
    Kind.string: sa.String,
    Kind.date: sa.Date,
    Kind.datetime: sa.DateTime,
}
FINDINGS_COLUMNS: tuple[tuple[str, Any], ...] = tuple(
    (name, SQL_TYPES[FINDINGS.kind_of(name)]) for name in FINDINGS.header
)


def facts_text(facts: dict[str, Any]) -> str:
    """A finding's facts as one cell, ``key=value; ...``: a fact with no value (a report not yet submitted, a loan
    not returned) as nothing after its ``=``, as every export writes an empty cell, never Python's ``None``."""
    return "; ".join(f"{key}={'' if value is None else value}" for key, value in facts.items())


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
    return Export.of(FINDINGS, {name: rows.c[name] for name in FINDINGS.header})


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
        return Column(name, CellKind.integer)
    if isinstance(kind, sa.Numeric):
        return Column(name, CellKind.money)
    if isinstance(kind, sa.Date):
        return Column(name, CellKind.date)
    if isinstance(kind, sa.Enum):
        return Column(name, CellKind.text, max(map(len, kind.enums), default=None))
    return Column(name, CellKind.text, getattr(kind, "length", None))


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
