"""Rules of the reference data. Services flush, never commit: the caller owns the transaction."""

from collections.abc import Sequence

from app.core.actor import Actor
from app.core.db import Transaction
from app.core.errors import FieldError, FieldsCannotBeEmptied
from app.core.etag import check_if_match, etag_of
from app.core.models import utcnow
from app.core.pagination import Page, PageRequest
from app.core.reads import Reader
from app.core.visibility import Private, withhold
from app.reference import repository
from app.reference.errors import (
    ElectionExists,
    ElectionKindMismatch,
    ParentRegionMissing,
    RecipientExists,
    RegionExists,
    RegionNotFound,
    UnknownCodes,
    UnknownRegion,
    WinnerBeforeVoting,
)
from app.reference.models import (
    LEVEL_OF_ELECTION,
    CategoryCode,
    Election,
    ElectionKind,
    Recipient,
    RecipientKind,
    Region,
    RegionLevel,
    StageCode,
)
from app.reference.schemas import (
    ElectionCreate,
    ElectionUpdate,
    RecipientCreate,
    RecipientOut,
    RecipientUpdate,
    RegionCreate,
    RegionOut,
    RegionUpdate,
)


def region_etag(region: Region) -> str:
    return etag_of("region", region.code, region.version)


def election_etag(election: Election) -> str:
    return etag_of("election", election.id, election.version)


def recipient_etag(recipient: Recipient) -> str:
    return etag_of("recipient", recipient.id, recipient.version)


# --- regions -------------------------------------------------------------------------------------


async def get_region(tx: Transaction, code: str) -> Region:
    return await repository.get_region(tx.session, code)


async def read_region(reader: Reader, code: str) -> tuple[RegionOut, str]:
    """The public read of one region, with its ETag, on the read pool (app/core/reads.py)."""
    row = await repository.region_row(reader, code)
    if row is None:
        raise RegionNotFound(code)
    return RegionOut.model_validate(dict(row)), etag_of("region", row["code"], row["version"])


async def list_regions(
    tx: Transaction,
    page: PageRequest,
    *,
    level: RegionLevel | None = None,
    parent_code: str | None = None,
    q: str | None = None,
) -> Page[Region]:
    return await repository.list_regions(tx.session, page, level=level, parent_code=parent_code, q=q)


async def create_region(tx: Transaction, actor: Actor, data: RegionCreate) -> Region:
    parent = repository.parent_of(data.code)
    if parent is not None and not await repository.region_exists(tx.session, parent):
        raise ParentRegionMissing(data.code, parent)
    if await repository.region_exists(tx.session, data.code):
        raise RegionExists(data.code)
    assert data.level is not None
    region = Region(code=data.code, name=data.name, level=data.level, parent_code=parent)
    tx.session.add(region)
    await tx.session.flush()
    payload = data.model_dump(mode="json")
    tx.record(actor, action="region.create", entity="region", entity_id=region.code, payload=payload)
    return region


async def update_region(tx: Transaction, actor: Actor, code: str, data: RegionUpdate, if_match: str | None) -> Region:
    region = await repository.get_region(tx.session, code, for_update=True)
    check_if_match(if_match, region_etag(region))
    region.name = data.name
    _stamp(region)
    await tx.session.flush()
    tx.record(actor, action="region.update", entity="region", entity_id=code, payload=data.model_dump(mode="json"))
    return region


def _stamp(row: Region | Election | Recipient) -> None:
    row.version += 1
    row.updated_at = utcnow()


# --- elections -----------------------------------------------------------------------------------


async def get_election(tx: Transaction, election_id: int) -> Election:
    return await repository.get_election(tx.session, election_id)


async def _region_named_in_body(tx: Transaction, code: str) -> Region:
    region = await tx.session.get(Region, code)
    if region is None:
        raise UnknownRegion(code)
    return region


async def create_election(tx: Transaction, actor: Actor, data: ElectionCreate) -> Election:
    region = await _region_named_in_body(tx, data.region_code)
    expected = LEVEL_OF_ELECTION[data.kind]
    if region.level != expected:
        raise ElectionKindMismatch(data.kind.value, expected.value, region.code, region.level.value)
    if await repository.election_on(tx.session, data.region_code, data.voting_day) is not None:
        raise ElectionExists(data.region_code, data.voting_day)
    election = Election.model_validate(data.model_dump())
    tx.session.add(election)
    await tx.session.flush()
    payload = data.model_dump(mode="json")
    tx.record(actor, action="election.create", entity="election", entity_id=election.id, payload=payload)
    return election


async def update_election(
    tx: Transaction, actor: Actor, election_id: int, data: ElectionUpdate, if_match: str | None
) -> Election:
    election = await repository.get_election(tx.session, election_id, for_update=True)
    check_if_match(if_match, election_etag(election))
    changes = data.model_dump(exclude_unset=True)
    emptied = [name for name in ("name", "voting_day") if name in changes and changes[name] is None]
    if emptied:
        raise FieldsCannotBeEmptied(emptied)
    for name, value in changes.items():
        setattr(election, name, value)
    if election.winner_proposed_on is not None and election.winner_proposed_on < election.voting_day:
        raise WinnerBeforeVoting()
    _stamp(election)
    await tx.session.flush()
    payload = data.model_dump(mode="json", exclude_unset=True)
    tx.record(actor, action="election.update", entity="election", entity_id=election_id, payload=payload)
    return election


async def list_elections(
    tx: Transaction,
    page: PageRequest,
    *,
    region_code: str | None = None,
    kind: ElectionKind | None = None,
    year: int | None = None,
) -> Page[Election]:
    return await repository.list_elections(tx.session, page, region_code=region_code, kind=kind, year=year)


# --- recipients ----------------------------------------------------------------------------------


async def get_recipient(tx: Transaction, recipient_id: int) -> Recipient:
    return await repository.get_recipient(tx.session, recipient_id)


def recipient_view(recipient: Recipient, actor: Actor) -> RecipientOut:
    """The recipient as ``actor`` may see it: its grant account's number and holder only to those the
    visibility policy (app/core/visibility.py) shows them to."""
    return withhold(actor, recipient.id, RecipientOut.model_validate(recipient), Private.account)


async def _ensure_recipient_name_free(
    tx: Transaction, region_code: str, name: str, *, except_id: int | None = None
) -> None:
    if await repository.recipient_named(tx.session, region_code, name, except_id=except_id) is not None:
        raise RecipientExists(region_code, name)


async def create_recipient(tx: Transaction, actor: Actor, data: RecipientCreate) -> Recipient:
    await _region_named_in_body(tx, data.region_code)
    await _ensure_recipient_name_free(tx, data.region_code, data.name)
    recipient = Recipient.model_validate(data.model_dump())
    tx.session.add(recipient)
    await tx.session.flush()
    payload = data.model_dump(mode="json")
    tx.record(actor, action="recipient.create", entity="recipient", entity_id=recipient.id, payload=payload)
    return recipient


async def update_recipient(
    tx: Transaction, actor: Actor, recipient_id: int, data: RecipientUpdate, if_match: str | None
) -> Recipient:
    recipient = await repository.get_recipient(tx.session, recipient_id, for_update=True)
    check_if_match(if_match, recipient_etag(recipient))
    changes = data.model_dump(exclude_unset=True)
    if "name" in changes:
        if changes["name"] is None:
            raise FieldsCannotBeEmptied(["name"])
        await _ensure_recipient_name_free(tx, recipient.region_code, changes["name"], except_id=recipient_id)
    for name, value in changes.items():
        setattr(recipient, name, value)
    _stamp(recipient)
    await tx.session.flush()
    payload = data.model_dump(mode="json", exclude_unset=True)
    tx.record(actor, action="recipient.update", entity="recipient", entity_id=recipient_id, payload=payload)
    return recipient


async def list_recipients(
    tx: Transaction,
    actor: Actor,
    page: PageRequest,
    *,
    region_code: str | None = None,
    kind: RecipientKind | None = None,
    q: str | None = None,
) -> Page[RecipientOut]:
    found = await repository.list_recipients(tx.session, page, region_code=region_code, kind=kind, q=q)
    return Page[RecipientOut](
        data=[recipient_view(recipient, actor) for recipient in found.data], next_cursor=found.next_cursor
    )


# --- code lists ----------------------------------------------------------------------------------


async def list_stages(tx: Transaction) -> Sequence[StageCode]:
    return await repository.stages(tx.session)


async def list_categories(tx: Transaction) -> Sequence[CategoryCode]:
    return await repository.categories(tx.session)


async def ensure_published_codes(tx: Transaction, pairs: Sequence[tuple[str, str]], field: str) -> None:
    """Every (stage, category) pair names published codes; ``field`` prefixes the errors (``budget_lines``)."""
    stages, categories = await repository.stage_and_category_codes(tx.session)
    errors = [
        FieldError(field=f"{field}.{index}.stage", message=f"unknown stage code {stage!r}")
        for index, (stage, _) in enumerate(pairs)
        if stage not in stages
    ] + [
        FieldError(field=f"{field}.{index}.category", message=f"unknown category code {category!r}")
        for index, (_, category) in enumerate(pairs)
        if category not in categories
    ]
    if errors:
        raise UnknownCodes(errors)
