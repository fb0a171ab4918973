"""Rules of the grant ledger. Every money write locks its agreement row first (``SELECT … FOR UPDATE``),
so the checks below and the running totals they update see one writer at a time per agreement."""

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Protocol

import asyncpg
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key
from sqlmodel import col

from app.core import audit
from app.core.actor import Actor, Role
from app.core.driver import driver_connection
from app.core.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound, violated_constraint
from app.core.etag import check_if_match, etag_of
from app.core.models import utcnow
from app.core.money import format_money
from app.core.pagination import Page, PageRequest, paginate_by_id
from app.core.queries import one_or_raise
from app.core.reads import Reader
from app.grants.models import (
    Agreement,
    AgreementStatus,
    Amendment,
    BudgetLine,
    Disbursement,
    DisbursementReversal,
    Refund,
)
from app.grants.schemas import (
    AgreementCreate,
    AgreementOut,
    AmendmentCreate,
    BudgetLineIn,
    BudgetLineOut,
    DisbursementCreate,
    DisbursementOut,
    Position,
    RefundCreate,
    ReversalCreate,
    ReversalOut,
    absorption,
)
from app.reference.models import CategoryCode, Election, Recipient, StageCode

CloseCheck = Callable[[AsyncSession, Agreement], Awaitable[None]]
CLOSE_CHECKS: list[CloseCheck] = []
"""Further conditions for closing, registered by later domains (usage reports) without a cycle."""


def agreement_etag(agreement: Agreement) -> str:
    return etag_of("agreement", agreement.id, agreement.version)


def rupiah(amount: Decimal) -> str:
    return f"Rp{format_money(amount)}"


# --- reading -------------------------------------------------------------------------------------


async def get_agreement(session: AsyncSession, agreement_id: int, *, for_update: bool = False) -> Agreement:
    return await one_or_raise(
        session,
        Agreement,
        col(Agreement.id) == agreement_id,
        NotFound(
            f"There is no agreement {agreement_id}.", f"Tidak ada NPHD {agreement_id}.", code="agreement_not_found"
        ),
        for_update=for_update,
    )


async def budget_lines_of(session: AsyncSession, agreement_ids: Sequence[int]) -> dict[int, list[BudgetLine]]:
    lines: dict[int, list[BudgetLine]] = {agreement_id: [] for agreement_id in agreement_ids}
    if not agreement_ids:
        return lines
    statement = (
        sa.select(BudgetLine)
        .where(col(BudgetLine.agreement_id).in_(agreement_ids))
        .order_by(col(BudgetLine.agreement_id), col(BudgetLine.id))
    )
    for line in (await session.execute(statement)).scalars():
        lines[line.agreement_id].append(line)
    return lines


async def list_agreements(
    session: AsyncSession,
    page: PageRequest,
    *,
    region_code: str | None = None,
    province: str | None = None,
    election_id: int | None = None,
    recipient_id: int | None = None,
    recipient_kind: str | None = None,
    status: AgreementStatus | None = None,
) -> Page[Agreement]:
    statement = sa.select(Agreement)
    filters = {
        col(Agreement.region_code): region_code,
        col(Agreement.province_code): province,
        col(Agreement.election_id): election_id,
        col(Agreement.recipient_id): recipient_id,
        col(Agreement.recipient_kind): recipient_kind,
        col(Agreement.status): status,
    }
    for column, value in filters.items():
        if value is not None:
            statement = statement.where(column == value)
    return await paginate_by_id(session, statement, col(Agreement.id), page)


def held_by(agreement: Agreement) -> Decimal:
    return agreement.disbursed - agreement.spent_reported - agreement.refunded


POSITION_ROW = "SELECT amount, disbursed, spent_reported, spent_accepted, refunded FROM agreement WHERE id = $1"


async def read_position(connection: Reader, agreement_id: int) -> Position:
    """The public read of a position on the fast path (see app/core/reads.py): one row, no session."""
    row = await connection.fetchrow(POSITION_ROW, agreement_id)
    if row is None:
        raise NotFound(
            f"There is no agreement {agreement_id}.", f"Tidak ada NPHD {agreement_id}.", code="agreement_not_found"
        )
    held = row["disbursed"] - row["spent_reported"] - row["refunded"]
    return Position(
        agreement_id=agreement_id,
        amount=row["amount"],
        disbursed=row["disbursed"],
        undisbursed=row["amount"] - row["disbursed"],
        spent_reported=row["spent_reported"],
        spent_accepted=row["spent_accepted"],
        refunded=row["refunded"],
        held=held,
        absorption=absorption(row["spent_accepted"], row["disbursed"]),
        as_of=utcnow(),
    )


# --- checks shared by the writes -----------------------------------------------------------------


def ensure_writer_scope(actor: Actor, agreement_region: str) -> None:
    """A finance key bound to one Pemda writes only that Pemda's grants."""
    if actor.role == Role.finance and actor.region_code is not None and actor.region_code != agreement_region:
        raise Forbidden(
            f"This finance key is bound to region {actor.region_code}; the grant belongs to {agreement_region}.",
            f"Kunci keuangan ini terikat pada wilayah {actor.region_code}; hibah ini milik {agreement_region}.",
            code="outside_key_scope",
        )


class HasStatus(Protocol):
    @property
    def number(self) -> str: ...
    @property
    def status(self) -> AgreementStatus: ...


def ensure_open(agreement: HasStatus) -> None:
    if agreement.status == AgreementStatus.closed:
        raise Conflict(
            f"Agreement {agreement.number} is closed; it takes no more entries.",
            f"NPHD {agreement.number} sudah ditutup; tidak menerima catatan baru.",
            code="agreement_closed",
        )


def ensure_not_before(field: str, value: date, limit: date, what: str, what_id: str) -> None:
    if value < limit:
        raise InvalidInput(
            f"{field} {value} is before {what} ({limit}).",
            f"{field} {value} sebelum {what_id} ({limit}).",
            code=f"{field}_too_early",
            errors=[FieldError(field=field, message=f"must not be before {limit}")],
        )


async def _check_budget_lines(session: AsyncSession, lines: Sequence[BudgetLineIn], amount: Decimal) -> None:
    stages = set((await session.execute(sa.select(col(StageCode.code)))).scalars())
    categories = set((await session.execute(sa.select(col(CategoryCode.code)))).scalars())
    errors = [
        FieldError(field=f"budget_lines.{index}.stage", message=f"unknown stage code {line.stage!r}")
        for index, line in enumerate(lines)
        if line.stage not in stages
    ] + [
        FieldError(field=f"budget_lines.{index}.category", message=f"unknown category code {line.category!r}")
        for index, line in enumerate(lines)
        if line.category not in categories
    ]
    if errors:
        raise InvalidInput(
            "Budget lines must use the published stage and category codes.",
            "Rincian anggaran harus memakai kode tahapan dan kategori yang dipublikasikan.",
            code="unknown_code",
            errors=errors,
        )
    total = sum((line.amount for line in lines), Decimal("0.00"))
    if total != amount:
        raise InvalidInput(
            f"The budget lines add up to {rupiah(total)}, not the amount {rupiah(amount)}.",
            f"Jumlah rincian anggaran {rupiah(total)}, bukan {rupiah(amount)}.",
            code="budget_lines_mismatch",
            errors=[
                FieldError(field="budget_lines", message=f"add up to {format_money(total)}, not {format_money(amount)}")
            ],
        )


async def _replace_budget_lines(session: AsyncSession, agreement_id: int, lines: Sequence[BudgetLineIn]) -> None:
    await session.execute(sa.delete(BudgetLine).where(col(BudgetLine.agreement_id) == agreement_id))
    if lines:
        await session.execute(
            sa.insert(BudgetLine),
            [
                {"agreement_id": agreement_id, "stage": line.stage, "category": line.category, "amount": line.amount}
                for line in lines
            ],
        )


# --- agreements ----------------------------------------------------------------------------------


async def _parties(session: AsyncSession, data: AgreementCreate) -> tuple[Election, Recipient]:
    election = await session.get(Election, data.election_id)
    recipient = await session.get(Recipient, data.recipient_id)
    errors = []
    if election is None:
        errors.append(FieldError(field="election_id", message="no such election"))
    if recipient is None:
        errors.append(FieldError(field="recipient_id", message="no such recipient"))
    if election is None or recipient is None:
        raise InvalidInput(
            "The agreement names an election or recipient that does not exist.",
            "NPHD merujuk pemilihan atau penerima yang tidak ada.",
            code="unknown_party",
            errors=errors,
        )
    return election, recipient


def _check_parties(data: AgreementCreate, election: Election, recipient: Recipient) -> None:
    if recipient.region_code != election.region_code:
        raise InvalidInput(
            f"The recipient is in region {recipient.region_code}, the election in {election.region_code}.",
            f"Penerima berada di wilayah {recipient.region_code}, pemilihan di {election.region_code}.",
            code="region_mismatch",
            errors=[FieldError(field="recipient_id", message=f"not in region {election.region_code}")],
        )
    if data.signed_on > election.voting_day:
        raise InvalidInput(
            f"An NPHD for this election is signed before its voting day ({election.voting_day}).",
            f"NPHD untuk pemilihan ini ditandatangani sebelum hari pemungutan suara ({election.voting_day}).",
            code="signed_after_voting_day",
            errors=[FieldError(field="signed_on", message=f"must not be after {election.voting_day}")],
        )


async def _ensure_number_free(session: AsyncSession, number: str) -> None:
    clash = await session.execute(sa.select(col(Agreement.id)).where(col(Agreement.number) == number))
    if clash.scalar_one_or_none() is not None:
        raise Conflict(
            f"NPHD number {number!r} is already recorded.",
            f"Nomor NPHD {number!r} sudah tercatat.",
            code="agreement_number_exists",
        )


async def _ensure_no_open_agreement(session: AsyncSession, election_id: int, recipient_id: int) -> None:
    statement = sa.select(col(Agreement.number)).where(
        col(Agreement.election_id) == election_id,
        col(Agreement.recipient_id) == recipient_id,
        col(Agreement.status) == AgreementStatus.active,
    )
    existing = (await session.execute(statement)).scalar_one_or_none()
    if existing is not None:
        raise Conflict(
            f"This recipient already has an open agreement ({existing}) for this election; amend it instead.",
            f"Penerima ini sudah memiliki NPHD aktif ({existing}) untuk pemilihan ini; buat adendum.",
            code="agreement_exists",
        )


async def create_agreement(session: AsyncSession, actor: Actor, data: AgreementCreate) -> Agreement:
    election, recipient = await _parties(session, data)
    _check_parties(data, election, recipient)
    ensure_writer_scope(actor, recipient.region_code)
    if data.budget_lines:
        await _check_budget_lines(session, data.budget_lines, data.amount)
    await _ensure_number_free(session, data.number)
    await _ensure_no_open_agreement(session, data.election_id, data.recipient_id)
    agreement = Agreement(
        number=data.number,
        election_id=data.election_id,
        recipient_id=data.recipient_id,
        region_code=recipient.region_code,
        province_code=recipient.region_code[:2],
        recipient_kind=recipient.kind.value,
        signed_on=data.signed_on,
        scheme=data.scheme,
        original_amount=data.amount,
        amount=data.amount,
    )
    session.add(agreement)
    await session.flush()
    assert agreement.id is not None
    await _replace_budget_lines(session, agreement.id, data.budget_lines or [])
    audit.record(
        session,
        actor,
        action="agreement.create",
        entity="agreement",
        entity_id=agreement.id,
        payload=data.model_dump(mode="json"),
    )
    return agreement


async def amend(
    session: AsyncSession, actor: Actor, agreement_id: int, data: AmendmentCreate, if_match: str | None
) -> Amendment:
    agreement = await get_agreement(session, agreement_id, for_update=True)
    check_if_match(if_match, agreement_etag(agreement))
    ensure_writer_scope(actor, agreement.region_code)
    ensure_open(agreement)
    await _check_amendment(session, agreement, data)
    amendment = Amendment(
        agreement_id=agreement_id,
        number=data.number,
        signed_on=data.signed_on,
        previous_amount=agreement.amount,
        new_amount=data.new_amount,
        reason=data.reason,
        note=data.note,
        created_by_key_id=actor.key_id,
    )
    session.add(amendment)
    if data.budget_lines is not None:
        await _replace_budget_lines(session, agreement_id, data.budget_lines)
    agreement.amount = data.new_amount
    agreement.version += 1
    agreement.updated_at = utcnow()
    await session.flush()
    audit.record(
        session,
        actor,
        action="agreement.amend",
        entity="agreement",
        entity_id=agreement_id,
        payload={**data.model_dump(mode="json"), "previous_amount": format_money(amendment.previous_amount)},
    )
    return amendment


async def _check_amendment(session: AsyncSession, agreement: Agreement, data: AmendmentCreate) -> None:
    latest = (
        await session.execute(
            sa.select(sa.func.max(col(Amendment.signed_on))).where(col(Amendment.agreement_id) == agreement.id)
        )
    ).scalar_one()
    ensure_not_before(
        "signed_on", data.signed_on, latest or agreement.signed_on, "the last signature", "tanda tangan terakhir"
    )
    if data.new_amount < agreement.disbursed:
        raise Conflict(
            f"The new amount {rupiah(data.new_amount)} is below what is already disbursed "
            f"({rupiah(agreement.disbursed)}).",
            f"Nilai baru {rupiah(data.new_amount)} di bawah dana yang sudah dicairkan ({rupiah(agreement.disbursed)}).",
            code="amount_below_disbursed",
        )
    has_lines = (await budget_lines_of(session, [agreement.id or 0]))[agreement.id or 0]
    if has_lines and data.budget_lines is None:
        raise InvalidInput(
            "This agreement has budget lines: send the amended lines with the amendment.",
            "NPHD ini memiliki rincian anggaran: kirim rincian baru bersama adendum.",
            code="budget_lines_required",
            errors=[FieldError(field="budget_lines", message="required when the agreement has budget lines")],
        )
    if data.budget_lines:
        await _check_budget_lines(session, data.budget_lines, data.new_amount)
    clash = await session.execute(
        sa.select(col(Amendment.id)).where(
            col(Amendment.agreement_id) == agreement.id, col(Amendment.number) == data.number
        )
    )
    if clash.scalar_one_or_none() is not None:
        raise Conflict(
            f"Amendment {data.number!r} is already recorded for this agreement.",
            f"Adendum {data.number!r} sudah tercatat untuk NPHD ini.",
            code="amendment_number_exists",
        )


async def list_amendments(session: AsyncSession, agreement_id: int, page: PageRequest) -> Page[Amendment]:
    await get_agreement(session, agreement_id)
    statement = sa.select(Amendment).where(col(Amendment.agreement_id) == agreement_id)
    return await paginate_by_id(session, statement, col(Amendment.id), page)


async def close(session: AsyncSession, actor: Actor, agreement_id: int, if_match: str | None) -> Agreement:
    agreement = await get_agreement(session, agreement_id, for_update=True)
    check_if_match(if_match, agreement_etag(agreement))
    ensure_writer_scope(actor, agreement.region_code)
    ensure_open(agreement)
    held = held_by(agreement)
    if held != 0:
        raise Conflict(
            f"The recipient still holds {rupiah(held)}: report the spending or refund it before closing.",
            f"Penerima masih memegang {rupiah(held)}: laporkan penggunaan atau kembalikan sebelum menutup.",
            code="funds_held",
        )
    for check in CLOSE_CHECKS:
        await check(session, agreement)
    agreement.status = AgreementStatus.closed
    agreement.closed_at = utcnow()
    agreement.version += 1
    agreement.updated_at = agreement.closed_at
    await session.flush()
    audit.record(session, actor, action="agreement.close", entity="agreement", entity_id=agreement_id, payload={})
    return agreement


# --- disbursements -------------------------------------------------------------------------------


@dataclass(frozen=True)
class MoneyTerms:
    """What a payment is checked against, read from the agreement row under its lock."""

    id: int
    number: str
    region_code: str
    status: AgreementStatus
    signed_on: date
    amount: Decimal
    disbursed: Decimal


_LOCK_TERMS = """
SELECT id, number, region_code, status, signed_on, amount, disbursed FROM agreement WHERE id = $1 FOR UPDATE
"""

# The entry and the running total in one statement: a payment is the hottest write of the ledger.
_PAY = """
WITH entry AS (
    INSERT INTO disbursement (agreement_id, tranche, amount, paid_on, sp2d_number, note, created_by_key_id)
    VALUES ($1, $2, $3, $4, $5, $6, $7)
    RETURNING id, agreement_id, tranche, amount, paid_on, sp2d_number, note, created_at
), total AS (
    UPDATE agreement SET disbursed = disbursed + $3 WHERE id = $1 RETURNING disbursed
)
SELECT entry.*, total.disbursed AS agreement_disbursed FROM entry, total
"""


async def _lock_terms(driver: asyncpg.Connection, agreement_id: int) -> MoneyTerms:
    row = await driver.fetchrow(_LOCK_TERMS, agreement_id)
    if row is None:
        raise NotFound(
            f"There is no agreement {agreement_id}.", f"Tidak ada NPHD {agreement_id}.", code="agreement_not_found"
        )
    return MoneyTerms(**{**row, "status": AgreementStatus(row["status"])})


def _sp2d_taken(number: str) -> Conflict:
    return Conflict(
        f"SP2D {number!r} is already recorded.", f"SP2D {number!r} sudah tercatat.", code="sp2d_number_exists"
    )


def _keep_identity_map_current(session: AsyncSession, agreement_id: int, disbursed: Decimal) -> None:
    """The payment bypassed the ORM: a copy of the agreement this session already holds must not go stale."""
    if not session.identity_map:
        return  # the request's own session loads no ORM objects on this path
    held = session.identity_map.get(identity_key(Agreement, agreement_id))
    if held is not None:
        set_committed_value(held, "disbursed", disbursed)


async def disburse(session: AsyncSession, actor: Actor, agreement_id: int, data: DisbursementCreate) -> DisbursementOut:
    """Pay into the grant account: lock, check, then the entry and the total in one statement (on the driver)."""
    driver = await driver_connection(session)
    terms = await _lock_terms(driver, agreement_id)
    ensure_writer_scope(actor, terms.region_code)
    ensure_open(terms)
    ensure_not_before("paid_on", data.paid_on, terms.signed_on, "the signing of the NPHD", "penandatanganan NPHD")
    remaining = terms.amount - terms.disbursed
    if data.amount > remaining:
        raise Conflict(
            f"Paying {rupiah(data.amount)} would exceed the agreement: only {rupiah(remaining)} is left to disburse.",
            f"Pembayaran {rupiah(data.amount)} melebihi NPHD: sisa yang dapat dicairkan {rupiah(remaining)}.",
            code="over_disbursement",
        )
    try:
        row = await driver.fetchrow(
            _PAY, agreement_id, data.tranche, data.amount, data.paid_on, data.sp2d_number, data.note, actor.key_id
        )
    except asyncpg.UniqueViolationError as exc:
        if violated_constraint(exc) == "uq_disbursement_sp2d_number":
            raise _sp2d_taken(data.sp2d_number) from exc
        raise
    assert row is not None
    _keep_identity_map_current(session, agreement_id, row["agreement_disbursed"])
    audit.record(
        session,
        actor,
        action="disbursement.create",
        entity="disbursement",
        entity_id=row["id"],
        payload={"agreement_id": agreement_id, **data.model_dump(mode="json")},
    )
    return DisbursementOut.model_validate(dict(row))


async def get_disbursement(session: AsyncSession, disbursement_id: int) -> Disbursement:
    disbursement = await session.get(Disbursement, disbursement_id)
    if disbursement is None:
        raise NotFound(
            f"There is no disbursement {disbursement_id}.",
            f"Tidak ada pencairan {disbursement_id}.",
            code="disbursement_not_found",
        )
    return disbursement


async def reversals_of(session: AsyncSession, disbursement_ids: Sequence[int]) -> dict[int, DisbursementReversal]:
    if not disbursement_ids:
        return {}
    statement = sa.select(DisbursementReversal).where(col(DisbursementReversal.disbursement_id).in_(disbursement_ids))
    return {reversal.disbursement_id: reversal for reversal in (await session.execute(statement)).scalars()}


async def list_disbursements(session: AsyncSession, agreement_id: int, page: PageRequest) -> Page[Disbursement]:
    await get_agreement(session, agreement_id)
    statement = sa.select(Disbursement).where(col(Disbursement.agreement_id) == agreement_id)
    return await paginate_by_id(session, statement, col(Disbursement.id), page)


async def reverse(
    session: AsyncSession, actor: Actor, disbursement_id: int, data: ReversalCreate
) -> DisbursementReversal:
    original = await get_disbursement(session, disbursement_id)
    agreement = await get_agreement(session, original.agreement_id, for_update=True)
    ensure_writer_scope(actor, agreement.region_code)
    ensure_open(agreement)
    if (await reversals_of(session, [disbursement_id])).get(disbursement_id) is not None:
        raise Conflict(
            f"Disbursement {disbursement_id} is already reversed.",
            f"Pencairan {disbursement_id} sudah dibatalkan.",
            code="already_reversed",
        )
    ensure_not_before("reversed_on", data.reversed_on, original.paid_on, "the payment", "pembayaran")
    held = held_by(agreement)
    if original.amount > held:
        raise Conflict(
            f"Reversing {rupiah(original.amount)} would leave the recipient holding less than nothing: "
            f"it holds {rupiah(held)} after reported spending and refunds.",
            f"Pembatalan {rupiah(original.amount)} melebihi dana yang dipegang penerima ({rupiah(held)}).",
            code="reversal_exceeds_held",
        )
    reversal = DisbursementReversal(
        disbursement_id=disbursement_id,
        agreement_id=original.agreement_id,
        amount=original.amount,
        reversed_on=data.reversed_on,
        reason=data.reason,
        created_by_key_id=actor.key_id,
    )
    session.add(reversal)
    agreement.disbursed -= original.amount
    await session.flush()
    audit.record(
        session,
        actor,
        action="disbursement.reverse",
        entity="disbursement",
        entity_id=disbursement_id,
        payload={"agreement_id": agreement.id, "amount": format_money(original.amount), **data.model_dump(mode="json")},
    )
    return reversal


# --- refunds -------------------------------------------------------------------------------------


async def refund(session: AsyncSession, actor: Actor, agreement_id: int, data: RefundCreate) -> Refund:
    agreement = await get_agreement(session, agreement_id, for_update=True)
    ensure_writer_scope(actor, agreement.region_code)
    ensure_open(agreement)
    ensure_not_before(
        "returned_on", data.returned_on, agreement.signed_on, "the signing of the NPHD", "penandatanganan NPHD"
    )
    held = held_by(agreement)
    if data.amount > held:
        raise Conflict(
            f"Refunding {rupiah(data.amount)} is more than the recipient holds ({rupiah(held)}).",
            f"Pengembalian {rupiah(data.amount)} melebihi dana yang dipegang penerima ({rupiah(held)}).",
            code="refund_exceeds_held",
        )
    clash = await session.execute(sa.select(col(Refund.id)).where(col(Refund.sts_number) == data.sts_number))
    if clash.scalar_one_or_none() is not None:
        raise Conflict(
            f"STS {data.sts_number!r} is already recorded.",
            f"STS {data.sts_number!r} sudah tercatat.",
            code="sts_number_exists",
        )
    entry = Refund(agreement_id=agreement_id, created_by_key_id=actor.key_id, **data.model_dump())
    session.add(entry)
    agreement.refunded += data.amount
    await session.flush()
    audit.record(
        session,
        actor,
        action="refund.create",
        entity="refund",
        entity_id=entry.id,
        payload={"agreement_id": agreement_id, **data.model_dump(mode="json")},
    )
    return entry


async def get_refund(session: AsyncSession, refund_id: int) -> Refund:
    entry = await session.get(Refund, refund_id)
    if entry is None:
        raise NotFound(
            f"There is no refund {refund_id}.", f"Tidak ada pengembalian {refund_id}.", code="refund_not_found"
        )
    return entry


async def list_refunds(session: AsyncSession, agreement_id: int, page: PageRequest) -> Page[Refund]:
    await get_agreement(session, agreement_id)
    statement = sa.select(Refund).where(col(Refund.agreement_id) == agreement_id)
    return await paginate_by_id(session, statement, col(Refund.id), page)


# --- views ---------------------------------------------------------------------------------------


async def describe_agreements(session: AsyncSession, agreements: Sequence[Agreement]) -> list[AgreementOut]:
    lines = await budget_lines_of(session, [agreement.id for agreement in agreements if agreement.id is not None])
    return [
        AgreementOut.model_validate(agreement).model_copy(
            update={"budget_lines": [BudgetLineOut.model_validate(line) for line in lines.get(agreement.id or 0, [])]}
        )
        for agreement in agreements
    ]


async def describe_disbursements(session: AsyncSession, disbursements: Sequence[Disbursement]) -> list[DisbursementOut]:
    reversals = await reversals_of(session, [entry.id for entry in disbursements if entry.id is not None])
    return [
        DisbursementOut.model_validate(entry).model_copy(
            update={"reversal": ReversalOut.model_validate(reversals[entry.id]) if entry.id in reversals else None}
        )
        for entry in disbursements
    ]
