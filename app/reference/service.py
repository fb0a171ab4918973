"""Rules and queries of the reference data. Services flush, never commit: the caller owns the transaction."""

import csv
import hashlib
import io
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core import audit
from app.core.actor import Actor
from app.core.errors import Conflict, FieldError, InvalidInput, NotFound
from app.core.etag import check_if_match, etag_of
from app.core.models import utcnow
from app.core.pagination import Page, PageRequest, cursor_value, page_of, paginate_by_id
from app.core.queries import one_or_raise
from app.core.reads import Reader
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
    RecipientUpdate,
    RegionCreate,
    RegionImportResult,
    RegionOut,
    RegionUpdate,
)

IMPORT_MAX_ERRORS = 100


def region_etag(region: Region) -> str:
    return etag_of("region", region.code, region.version)


def election_etag(election: Election) -> str:
    return etag_of("election", election.id, election.version)


def recipient_etag(recipient: Recipient) -> str:
    return etag_of("recipient", recipient.id, recipient.version)


# --- regions -------------------------------------------------------------------------------------


async def get_region(session: AsyncSession, code: str, *, for_update: bool = False) -> Region:
    return await one_or_raise(
        session,
        Region,
        col(Region.code) == code,
        NotFound(
            f"There is no region with code {code}.", f"Tidak ada wilayah dengan kode {code}.", code="region_not_found"
        ),
        for_update=for_update,
    )


REGION_ROW = "SELECT code, name, level, parent_code, version, created_at, updated_at FROM region WHERE code = $1"


async def read_region(connection: Reader, code: str) -> tuple[RegionOut, str]:
    """The public read of one region, with its ETag, on the fast path (see app/core/reads.py)."""
    row = await connection.fetchrow(REGION_ROW, code)
    if row is None:
        raise _region_not_found(code)
    return RegionOut.model_validate(dict(row)), etag_of("region", row["code"], row["version"])


def _region_not_found(code: str) -> NotFound:
    return NotFound(
        f"There is no region with code {code}.", f"Tidak ada wilayah dengan kode {code}.", code="region_not_found"
    )


async def list_regions(
    session: AsyncSession,
    page: PageRequest,
    *,
    level: RegionLevel | None = None,
    parent_code: str | None = None,
    q: str | None = None,
) -> Page[Region]:
    statement = sa.select(Region).order_by(col(Region.code)).limit(page.limit + 1)
    if level is not None:
        statement = statement.where(col(Region.level) == level)
    if parent_code is not None:
        statement = statement.where(col(Region.parent_code) == parent_code)
    if q:
        statement = statement.where(col(Region.name).ilike(f"%{_escape_like(q)}%", escape="\\"))
    after = cursor_value(page, 0, str)
    if after is not None:
        statement = statement.where(col(Region.code) > after)
    rows = (await session.execute(statement)).scalars().all()
    return page_of(rows, page, lambda region: [region.code])


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _parent_of(code: str) -> str | None:
    return code.split(".", maxsplit=1)[0] if "." in code else None


async def _region_exists(session: AsyncSession, code: str) -> bool:
    found = await session.execute(sa.select(col(Region.code)).where(col(Region.code) == code))
    return found.scalar_one_or_none() is not None


async def create_region(session: AsyncSession, actor: Actor, data: RegionCreate) -> Region:
    parent = _parent_of(data.code)
    if parent is not None and not await _region_exists(session, parent):
        raise InvalidInput(
            f"Province {parent} does not exist; create it before {data.code}.",
            f"Provinsi {parent} belum ada; buat sebelum {data.code}.",
            code="parent_region_missing",
            errors=[FieldError(field="code", message=f"parent province {parent} does not exist")],
        )
    if await _region_exists(session, data.code):
        raise Conflict(f"Region {data.code} already exists.", f"Wilayah {data.code} sudah ada.", code="region_exists")
    assert data.level is not None
    region = Region(code=data.code, name=data.name, level=data.level, parent_code=parent)
    session.add(region)
    await session.flush()
    audit.record(
        session,
        actor,
        action="region.create",
        entity="region",
        entity_id=region.code,
        payload=data.model_dump(mode="json"),
    )
    return region


async def update_region(
    session: AsyncSession, actor: Actor, code: str, data: RegionUpdate, if_match: str | None
) -> Region:
    region = await get_region(session, code, for_update=True)
    check_if_match(if_match, region_etag(region))
    region.name = data.name
    region.version += 1
    region.updated_at = utcnow()
    await session.flush()
    audit.record(
        session, actor, action="region.update", entity="region", entity_id=code, payload=data.model_dump(mode="json")
    )
    return region


def _decode_csv(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            "The file is not UTF-8 text.",
            "Berkas bukan teks UTF-8.",
            code="invalid_csv",
            errors=[FieldError(field="file", message="not UTF-8")],
        ) from exc


def _read_region_rows(text: str) -> tuple[list[tuple[int, RegionCreate]], list[FieldError]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [name.strip() for name in reader.fieldnames or []]
    missing = {"code", "name"} - set(header)
    if missing:
        raise InvalidInput(
            f"The CSV header must name the columns code and name (missing: {', '.join(sorted(missing))}).",
            f"Tajuk CSV harus memuat kolom code dan name (kurang: {', '.join(sorted(missing))}).",
            code="invalid_csv_header",
            errors=[FieldError(field="header", message=f"missing column {name}") for name in sorted(missing)],
        )
    reader.fieldnames = header
    rows: list[tuple[int, RegionCreate]] = []
    errors: list[FieldError] = []
    try:
        _collect_region_rows(reader, rows, errors)
    except csv.Error as exc:
        raise InvalidInput(
            f"The file is not readable CSV: {exc}.",
            f"Berkas bukan CSV yang dapat dibaca: {exc}.",
            code="invalid_csv",
            errors=[FieldError(field=f"rows[{reader.line_num}]", message=str(exc))],
        ) from exc
    return rows, errors


def _collect_region_rows(
    reader: "csv.DictReader[str]", rows: list[tuple[int, RegionCreate]], errors: list[FieldError]
) -> None:
    for number, record in enumerate(reader, start=1):
        values: dict[str, Any] = {key: record.get(key) for key in ("code", "name", "level") if record.get(key)}
        try:
            rows.append((number, RegionCreate.model_validate(values)))
        except ValidationError as exc:
            for error in exc.errors():
                column = ".".join(str(part) for part in error["loc"]) or "row"
                message = str(error["msg"]).removeprefix("Value error, ")
                errors.append(FieldError(field=f"rows[{number}].{column}", message=message))


async def _check_import_consistency(
    session: AsyncSession, rows: Sequence[tuple[int, RegionCreate]]
) -> list[FieldError]:
    errors: list[FieldError] = []
    seen: dict[str, int] = {}
    in_file = {row.code for _, row in rows}
    parents = {parent for _, row in rows if (parent := _parent_of(row.code)) is not None}
    known = set((await session.execute(sa.select(col(Region.code)).where(col(Region.code).in_(parents)))).scalars())
    for number, row in rows:
        if row.code in seen:
            errors.append(FieldError(field=f"rows[{number}].code", message=f"{row.code} repeats row {seen[row.code]}"))
        seen.setdefault(row.code, number)
        parent = _parent_of(row.code)
        if parent is not None and parent not in in_file and parent not in known:
            errors.append(
                FieldError(
                    field=f"rows[{number}].code", message=f"parent province {parent} is neither in the file nor stored"
                )
            )
    return errors


async def import_regions(session: AsyncSession, actor: Actor, raw: bytes) -> RegionImportResult:
    """All or nothing: any bad row rejects the file, with the first 100 row errors."""
    rows, errors = _read_region_rows(_decode_csv(raw))
    errors += await _check_import_consistency(session, rows)
    if errors:
        raise InvalidInput(
            f"The file has {len(errors)} error(s); nothing was imported.",
            f"Berkas memuat {len(errors)} kesalahan; tidak ada yang diimpor.",
            code="import_rejected",
            errors=errors[:IMPORT_MAX_ERRORS],
        )
    if not rows:
        raise InvalidInput("The file has no data rows.", "Berkas tidak memuat baris data.", code="import_empty")
    created = updated = 0
    # Provinces first, so every regency's parent exists when its row lands.
    for batch in (
        [row for _, row in rows if row.level == RegionLevel.province],
        [row for _, row in rows if row.level != RegionLevel.province],
    ):
        new, changed = await _upsert_regions(session, batch)
        created += new
        updated += changed
    audit.record(
        session,
        actor,
        action="region.import",
        entity="region",
        entity_id="*",
        payload={"rows": len(rows), "created": created, "updated": updated, "sha256": hashlib.sha256(raw).hexdigest()},
    )
    return RegionImportResult(created=created, updated=updated)


async def _upsert_regions(session: AsyncSession, batch: Iterable[RegionCreate]) -> tuple[int, int]:
    values = [
        {"code": row.code, "name": row.name, "level": row.level, "parent_code": _parent_of(row.code)} for row in batch
    ]
    if not values:
        return 0, 0
    insertion = insert(Region).values(values)
    statement: Any = insertion.on_conflict_do_update(
        index_elements=[col(Region.code)],
        set_={
            "name": insertion.excluded.name,
            "version": col(Region.version) + 1,
            "updated_at": sa.func.now(),
        },
        where=col(Region.name) != insertion.excluded.name,
    ).returning(sa.literal_column("xmax = 0"))
    inserted = (await session.execute(statement)).scalars().all()
    created = sum(1 for flag in inserted if flag)
    return created, len(inserted) - created


# --- elections -----------------------------------------------------------------------------------


async def get_election(session: AsyncSession, election_id: int, *, for_update: bool = False) -> Election:
    return await one_or_raise(
        session,
        Election,
        col(Election.id) == election_id,
        NotFound(
            f"There is no election {election_id}.", f"Tidak ada pemilihan {election_id}.", code="election_not_found"
        ),
        for_update=for_update,
    )


async def _region_for_reference(session: AsyncSession, code: str) -> Region:
    region = await session.get(Region, code)
    if region is None:
        raise InvalidInput(
            f"There is no region with code {code}.",
            f"Tidak ada wilayah dengan kode {code}.",
            code="unknown_region",
            errors=[FieldError(field="region_code", message=f"no region with code {code}")],
        )
    return region


async def create_election(session: AsyncSession, actor: Actor, data: ElectionCreate) -> Election:
    region = await _region_for_reference(session, data.region_code)
    expected = LEVEL_OF_ELECTION[data.kind]
    if region.level != expected:
        raise InvalidInput(
            f"A {data.kind.value} election belongs to a {expected.value}; {region.code} is a {region.level.value}.",
            f"Pemilihan {data.kind.value} hanya untuk {expected.value}; {region.code} adalah {region.level.value}.",
            code="election_kind_mismatch",
            errors=[FieldError(field="kind", message=f"{data.kind.value} needs a {expected.value}")],
        )
    clash = await session.execute(
        sa.select(col(Election.id)).where(
            col(Election.region_code) == data.region_code, col(Election.voting_day) == data.voting_day
        )
    )
    if clash.scalar_one_or_none() is not None:
        raise Conflict(
            f"Region {data.region_code} already has an election on {data.voting_day}.",
            f"Wilayah {data.region_code} sudah memiliki pemilihan pada {data.voting_day}.",
            code="election_exists",
        )
    election = Election.model_validate(data.model_dump())
    session.add(election)
    await session.flush()
    audit.record(
        session,
        actor,
        action="election.create",
        entity="election",
        entity_id=election.id,
        payload=data.model_dump(mode="json"),
    )
    return election


async def update_election(
    session: AsyncSession, actor: Actor, election_id: int, data: ElectionUpdate, if_match: str | None
) -> Election:
    election = await get_election(session, election_id, for_update=True)
    check_if_match(if_match, election_etag(election))
    changes = data.model_dump(exclude_unset=True)
    emptied = [name for name in ("name", "voting_day") if name in changes and changes[name] is None]
    if emptied:
        raise InvalidInput(
            "name and voting_day cannot be emptied.",
            "name dan voting_day tidak boleh dikosongkan.",
            errors=[FieldError(field=name, message="cannot be null") for name in emptied],
        )
    for name, value in changes.items():
        setattr(election, name, value)
    if election.winner_proposed_on is not None and election.winner_proposed_on < election.voting_day:
        raise InvalidInput(
            "winner_proposed_on cannot precede voting_day.",
            "winner_proposed_on tidak boleh sebelum voting_day.",
            errors=[FieldError(field="winner_proposed_on", message="cannot precede voting_day")],
        )
    election.version += 1
    election.updated_at = utcnow()
    await session.flush()
    audit.record(
        session,
        actor,
        action="election.update",
        entity="election",
        entity_id=election_id,
        payload=data.model_dump(mode="json", exclude_unset=True),
    )
    return election


async def list_elections(
    session: AsyncSession,
    page: PageRequest,
    *,
    region_code: str | None = None,
    kind: ElectionKind | None = None,
    year: int | None = None,
) -> Page[Election]:
    statement = sa.select(Election)
    if region_code is not None:
        statement = statement.where(col(Election.region_code) == region_code)
    if kind is not None:
        statement = statement.where(col(Election.kind) == kind)
    if year is not None:
        statement = statement.where(sa.extract("year", col(Election.voting_day)) == year)
    return await paginate_by_id(session, statement, col(Election.id), page)


# --- recipients ----------------------------------------------------------------------------------


async def get_recipient(session: AsyncSession, recipient_id: int, *, for_update: bool = False) -> Recipient:
    return await one_or_raise(
        session,
        Recipient,
        col(Recipient.id) == recipient_id,
        NotFound(
            f"There is no recipient {recipient_id}.", f"Tidak ada penerima {recipient_id}.", code="recipient_not_found"
        ),
        for_update=for_update,
    )


async def _check_recipient_name_free(
    session: AsyncSession, region_code: str, name: str, *, except_id: int | None = None
) -> None:
    statement = sa.select(col(Recipient.id)).where(
        col(Recipient.region_code) == region_code, col(Recipient.name) == name
    )
    if except_id is not None:
        statement = statement.where(col(Recipient.id) != except_id)
    if (await session.execute(statement)).scalar_one_or_none() is not None:
        raise Conflict(
            f"Region {region_code} already has a recipient named {name!r}.",
            f"Wilayah {region_code} sudah memiliki penerima bernama {name!r}.",
            code="recipient_exists",
        )


async def create_recipient(session: AsyncSession, actor: Actor, data: RecipientCreate) -> Recipient:
    await _region_for_reference(session, data.region_code)
    await _check_recipient_name_free(session, data.region_code, data.name)
    recipient = Recipient.model_validate(data.model_dump())
    session.add(recipient)
    await session.flush()
    audit.record(
        session,
        actor,
        action="recipient.create",
        entity="recipient",
        entity_id=recipient.id,
        payload=data.model_dump(mode="json"),
    )
    return recipient


async def update_recipient(
    session: AsyncSession, actor: Actor, recipient_id: int, data: RecipientUpdate, if_match: str | None
) -> Recipient:
    recipient = await get_recipient(session, recipient_id, for_update=True)
    check_if_match(if_match, recipient_etag(recipient))
    changes = data.model_dump(exclude_unset=True)
    if "name" in changes:
        if changes["name"] is None:
            raise InvalidInput(
                "name cannot be emptied.",
                "name tidak boleh dikosongkan.",
                errors=[FieldError(field="name", message="cannot be null")],
            )
        await _check_recipient_name_free(session, recipient.region_code, changes["name"], except_id=recipient_id)
    for name, value in changes.items():
        setattr(recipient, name, value)
    recipient.version += 1
    recipient.updated_at = utcnow()
    await session.flush()
    audit.record(
        session,
        actor,
        action="recipient.update",
        entity="recipient",
        entity_id=recipient_id,
        payload=data.model_dump(mode="json", exclude_unset=True),
    )
    return recipient


async def list_recipients(
    session: AsyncSession,
    page: PageRequest,
    *,
    region_code: str | None = None,
    kind: RecipientKind | None = None,
    q: str | None = None,
) -> Page[Recipient]:
    statement = sa.select(Recipient)
    if region_code is not None:
        statement = statement.where(col(Recipient.region_code) == region_code)
    if kind is not None:
        statement = statement.where(col(Recipient.kind) == kind)
    if q:
        statement = statement.where(col(Recipient.name).ilike(f"%{_escape_like(q)}%", escape="\\"))
    return await paginate_by_id(session, statement, col(Recipient.id), page)


# --- code lists ----------------------------------------------------------------------------------


async def list_stages(session: AsyncSession) -> Sequence[StageCode]:
    return (await session.execute(sa.select(StageCode).order_by(col(StageCode.position)))).scalars().all()


async def list_categories(session: AsyncSession) -> Sequence[CategoryCode]:
    return (await session.execute(sa.select(CategoryCode).order_by(col(CategoryCode.position)))).scalars().all()
