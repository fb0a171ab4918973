"""Rules of support in kind: who records what for whom, a loan's return, a record's void.

Support is not money paid into a grant account, so it never moves an agreement's position; its value is
summed beside the money (summaries, exports) and its loans are judged by the findings (app/oversight/).
"""

from app.core.actor import Actor
from app.core.db import Transaction
from app.core.errors import FieldError
from app.core.etag import check_if_match, etag_of
from app.core.models import utcnow
from app.core.money import format_money
from app.core.pagination import Page, PageRequest
from app.grants.errors import RegionMismatch
from app.grants.rules import ensure_writer_scope
from app.reference.models import Election, Recipient
from app.support import repository
from app.support.errors import (
    AlreadyReturned,
    BastNumberExists,
    NotALoan,
    ReturnBastNumberExists,
    ReturnedBeforeHandover,
    SupportVoided,
    UnknownSupportParty,
)
from app.support.filters import SupportFilter
from app.support.models import Support, SupportKind
from app.support.schemas import SupportCreate, SupportOut, SupportReturn, SupportVoid, format_quantity


def support_etag(support: Support) -> str:
    return etag_of("support", support.id, support.version)


def view(support: Support, outstanding: bool) -> SupportOut:
    """A record as the API shows it; ``outstanding`` as the database judged it (``filters.outstanding``: the one
    definition, which the list's ``outstanding`` filter applies too)."""
    return SupportOut.model_validate({**support.model_dump(), "outstanding": outstanding})


async def written_view(tx: Transaction, support: Support) -> SupportOut:
    """A record just written (flushed), as the API shows it."""
    assert support.id is not None
    return view(support, await repository.is_outstanding(tx.session, support.id))


async def get_support(tx: Transaction, support_id: int) -> tuple[SupportOut, Support]:
    support, outstanding = await repository.get_support_shown(tx.session, support_id)
    return view(support, outstanding), support


async def list_support(tx: Transaction, page: PageRequest, where: SupportFilter) -> Page[SupportOut]:
    found = await repository.list_support(tx.session, page, where)
    return Page[SupportOut](data=[view(row[0], row[1]) for row in found.data], next_cursor=found.next_cursor)


async def _recipient_in_election(tx: Transaction, data: SupportCreate) -> Recipient:
    election = await tx.session.get(Election, data.election_id)
    recipient = await tx.session.get(Recipient, data.recipient_id)
    if election is None or recipient is None:
        errors = []
        if election is None:
            errors.append(FieldError(field="election_id", message="no such election"))
        if recipient is None:
            errors.append(FieldError(field="recipient_id", message="no such recipient"))
        raise UnknownSupportParty(errors)
    if recipient.region_code != election.region_code:
        raise RegionMismatch(recipient.region_code, election.region_code)
    return recipient


async def create(tx: Transaction, actor: Actor, data: SupportCreate) -> Support:
    recipient = await _recipient_in_election(tx, data)
    ensure_writer_scope(actor, recipient.region_code)
    if await repository.bast_taken(tx.session, data.bast_number):
        raise BastNumberExists(data.bast_number)
    support = Support(
        election_id=data.election_id,
        recipient_id=data.recipient_id,
        region_code=recipient.region_code,
        province_code=recipient.region_code[:2],
        recipient_kind=recipient.kind.value,
        kind=data.kind,
        description=data.description,
        quantity=data.quantity,
        unit=data.unit,
        value=data.value,
        handed_over_on=data.handed_over_on,
        bast_number=data.bast_number,
        note=data.note,
        created_by_key_id=actor.key_id,
    )
    tx.session.add(support)
    await tx.session.flush()
    assert support.id is not None
    payload = {**data.model_dump(mode="json"), "quantity": format_quantity(data.quantity)}
    tx.record(actor, action="support.create", entity="support", entity_id=support.id, payload=payload)
    return support


async def _writable(tx: Transaction, actor: Actor, support_id: int, if_match: str | None) -> Support:
    support = await repository.get_support(tx.session, support_id, for_update=True)
    check_if_match(if_match, support_etag(support))
    ensure_writer_scope(actor, support.region_code)
    if support.voided_at is not None:
        raise SupportVoided(support_id)
    return support


async def give_back(
    tx: Transaction, actor: Actor, support_id: int, data: SupportReturn, if_match: str | None
) -> Support:
    """A loan comes back once, with its own BAST, not before it was handed over."""
    support = await _writable(tx, actor, support_id, if_match)
    if support.kind != SupportKind.asset_loan:
        raise NotALoan(support.kind.value)
    if support.returned_on is not None:
        raise AlreadyReturned(support.returned_on)
    if data.returned_on < support.handed_over_on:
        raise ReturnedBeforeHandover(data.returned_on, support.handed_over_on)
    if await repository.bast_taken(tx.session, data.return_bast_number):
        raise ReturnBastNumberExists(data.return_bast_number)
    support.returned_on = data.returned_on
    support.return_bast_number = data.return_bast_number
    _touch(support)
    await tx.session.flush()
    payload = data.model_dump(mode="json")
    tx.record(actor, action="support.return", entity="support", entity_id=support_id, payload=payload)
    return support


async def void(tx: Transaction, actor: Actor, support_id: int, data: SupportVoid, if_match: str | None) -> Support:
    """A wrong record stays on record, void, outside every total, as a money entry is reversed."""
    support = await _writable(tx, actor, support_id, if_match)
    support.voided_at = utcnow()
    support.void_reason = data.reason
    _touch(support)
    await tx.session.flush()
    payload = {**data.model_dump(mode="json"), "value": format_money(support.value)}
    tx.record(actor, action="support.void", entity="support", entity_id=support_id, payload=payload)
    return support


def _touch(support: Support) -> None:
    support.version += 1
    support.updated_at = utcnow()
