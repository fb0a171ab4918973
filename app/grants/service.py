"""Rules of grant agreements (NPHD): who may sign what, amendments, budget lines, and the position read.

What moves an agreement's money (payments, reported spending, refunds, closing) is the ledger's
(app/ledger/); this module keeps the terms.
"""

from collections.abc import Sequence
from decimal import Decimal

from app.core.actor import Actor
from app.core.db import Transaction
from app.core.errors import FieldError
from app.core.etag import Versioned, check_if_match, etag_of
from app.core.models import utcnow
from app.core.money import format_money
from app.core.pagination import Page, PageRequest
from app.core.reads import Reader
from app.grants import repository
from app.grants.errors import (
    AgreementExists,
    AgreementNotFound,
    AgreementNumberExists,
    AmendmentNumberExists,
    AmendmentSignedTooEarly,
    AmountBelowDisbursed,
    BudgetLinesMismatch,
    BudgetLinesRequired,
    RegionMismatch,
    SignedAfterVotingDay,
    UnknownParty,
)
from app.grants.filters import AgreementFilter
from app.grants.models import Agreement, Amendment
from app.grants.rules import Figures, ensure_open, ensure_writer_scope
from app.grants.schemas import (
    AgreementCreate,
    AgreementOut,
    AmendmentCreate,
    BudgetLineIn,
    BudgetLineOut,
    Position,
)
from app.reference import service as reference
from app.reference.models import Election, Recipient


def agreement_etag(agreement: Versioned) -> str:
    return etag_of("agreement", agreement.id, agreement.version)


# --- reading -------------------------------------------------------------------------------------


async def get_agreement(tx: Transaction, agreement_id: int) -> AgreementOut:
    [out] = await describe(tx, [await repository.get_agreement(tx.session, agreement_id)])
    return out


async def list_agreements(tx: Transaction, page: PageRequest, where: AgreementFilter) -> Page[AgreementOut]:
    found = await repository.list_agreements(tx.session, page, where)
    return Page[AgreementOut](data=await describe(tx, found.data), next_cursor=found.next_cursor)


async def describe(tx: Transaction, agreements: Sequence[Agreement]) -> list[AgreementOut]:
    """The agreements as the API shows them, with their budget lines."""
    lines = await repository.budget_lines_of(tx.session, [agreement.id for agreement in agreements if agreement.id])
    return [
        AgreementOut.model_validate(agreement).model_copy(
            update={"budget_lines": [BudgetLineOut.model_validate(line) for line in lines.get(agreement.id or 0, [])]}
        )
        for agreement in agreements
    ]


async def read_position(reader: Reader, agreement_id: int) -> Position:
    """The public read of a position on the read pool (app/core/reads.py): one row, no transaction."""
    row = await repository.position_row(reader, agreement_id)
    if row is None:
        raise AgreementNotFound(agreement_id)
    return position_of(agreement_id, Figures(**row))


def position_of(agreement_id: int, figures: Figures) -> Position:
    return Position(
        agreement_id=agreement_id,
        amount=figures.amount,
        disbursed=figures.disbursed,
        undisbursed=figures.undisbursed,
        spent_reported=figures.spent_reported,
        spent_accepted=figures.spent_accepted,
        refunded=figures.refunded,
        held=figures.held,
        absorption=figures.absorption,
        as_of=utcnow(),
    )


# --- budget lines --------------------------------------------------------------------------------


async def _check_budget_lines(tx: Transaction, lines: Sequence[BudgetLineIn], amount: Decimal) -> None:
    await reference.ensure_published_codes(tx, [(line.stage, line.category) for line in lines], "budget_lines")
    total = sum((line.amount for line in lines), Decimal("0.00"))
    if total != amount:
        raise BudgetLinesMismatch(total, amount)


# --- agreements ----------------------------------------------------------------------------------


async def _parties(tx: Transaction, data: AgreementCreate) -> tuple[Election, Recipient]:
    election = await tx.session.get(Election, data.election_id)
    recipient = await tx.session.get(Recipient, data.recipient_id)
    if election is None or recipient is None:
        errors = []
        if election is None:
            errors.append(FieldError(field="election_id", message="no such election"))
        if recipient is None:
            errors.append(FieldError(field="recipient_id", message="no such recipient"))
        raise UnknownParty(errors)
    if recipient.region_code != election.region_code:
        raise RegionMismatch(recipient.region_code, election.region_code)
    if data.signed_on > election.voting_day:
        raise SignedAfterVotingDay(election.voting_day)
    return election, recipient


async def create_agreement(tx: Transaction, actor: Actor, data: AgreementCreate) -> AgreementOut:
    _, recipient = await _parties(tx, data)
    ensure_writer_scope(actor, recipient.region_code)
    if data.budget_lines:
        await _check_budget_lines(tx, data.budget_lines, data.amount)
    if await repository.number_taken(tx.session, data.number):
        raise AgreementNumberExists(data.number)
    existing = await repository.open_agreement_number(tx.session, data.election_id, data.recipient_id)
    if existing is not None:
        raise AgreementExists(existing)
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
    tx.session.add(agreement)
    await tx.session.flush()
    assert agreement.id is not None
    await repository.replace_budget_lines(tx.session, agreement.id, data.budget_lines or [])
    payload = data.model_dump(mode="json")
    tx.record(actor, action="agreement.create", entity="agreement", entity_id=agreement.id, payload=payload)
    [out] = await describe(tx, [agreement])
    return out


async def amend(
    tx: Transaction, actor: Actor, agreement_id: int, data: AmendmentCreate, if_match: str | None
) -> tuple[Amendment, AgreementOut]:
    """Record an adendum; the amendment and the agreement as it now stands."""
    agreement = await repository.get_agreement(tx.session, agreement_id, for_update=True)
    check_if_match(if_match, agreement_etag(agreement))
    ensure_writer_scope(actor, agreement.region_code)
    ensure_open(agreement.number, agreement.status)
    await _check_amendment(tx, agreement, data)
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
    tx.session.add(amendment)
    if data.budget_lines is not None:
        await repository.replace_budget_lines(tx.session, agreement_id, data.budget_lines)
    agreement.amount = data.new_amount
    agreement.version += 1
    agreement.updated_at = utcnow()
    await tx.session.flush()
    payload = {**data.model_dump(mode="json"), "previous_amount": format_money(amendment.previous_amount)}
    tx.record(actor, action="agreement.amend", entity="agreement", entity_id=agreement_id, payload=payload)
    [out] = await describe(tx, [agreement])
    return amendment, out


async def _check_amendment(tx: Transaction, agreement: Agreement, data: AmendmentCreate) -> None:
    last_signed = await repository.last_signature(tx.session, agreement)
    if data.signed_on < last_signed:
        raise AmendmentSignedTooEarly(data.signed_on, last_signed)
    if data.new_amount < agreement.disbursed:
        raise AmountBelowDisbursed(data.new_amount, agreement.disbursed)
    assert agreement.id is not None
    if data.budget_lines is None and await repository.has_budget_lines(tx.session, agreement.id):
        raise BudgetLinesRequired()
    if data.budget_lines:
        await _check_budget_lines(tx, data.budget_lines, data.new_amount)
    if await repository.amendment_number_taken(tx.session, agreement.id, data.number):
        raise AmendmentNumberExists(data.number)


async def list_amendments(tx: Transaction, agreement_id: int, page: PageRequest) -> Page[Amendment]:
    await repository.get_agreement(tx.session, agreement_id)
    return await repository.list_amendments(tx.session, agreement_id, page)
