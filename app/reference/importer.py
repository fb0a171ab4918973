"""The regions import: a CSV of ``code,name[,level]``, all rows or none."""

import csv
import hashlib
import io
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from app.core.actor import Actor
from app.core.db import Transaction
from app.core.errors import FieldError
from app.reference import repository
from app.reference.errors import InvalidCsv, InvalidCsvHeader, RegionImportEmpty, RegionImportRejected
from app.reference.models import RegionLevel
from app.reference.schemas import RegionCreate, RegionImportResult

IMPORT_MAX_ERRORS = 100
Row = tuple[int, RegionCreate]


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidCsv(
            "The file is not UTF-8 text.", "Berkas bukan teks UTF-8.", FieldError(field="file", message="not UTF-8")
        ) from exc


def _read_rows(text: str) -> tuple[list[Row], list[FieldError]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [name.strip() for name in reader.fieldnames or []]
    missing = sorted({"code", "name"} - set(header))
    if missing:
        raise InvalidCsvHeader(missing)
    reader.fieldnames = header
    rows: list[Row] = []
    errors: list[FieldError] = []
    try:
        for number, record in enumerate(reader, start=1):
            _read_row(number, record, rows, errors)
    except csv.Error as exc:
        raise InvalidCsv(
            f"The file is not readable CSV: {exc}.",
            f"Berkas bukan CSV yang dapat dibaca: {exc}.",
            FieldError(field=f"rows[{reader.line_num}]", message=str(exc)),
        ) from exc
    return rows, errors


def _read_row(number: int, record: dict[str, Any], rows: list[Row], errors: list[FieldError]) -> None:
    values: dict[str, Any] = {key: record.get(key) for key in ("code", "name", "level") if record.get(key)}
    try:
        rows.append((number, RegionCreate.model_validate(values)))
    except ValidationError as exc:
        for error in exc.errors():
            column = ".".join(str(part) for part in error["loc"]) or "row"
            message = str(error["msg"]).removeprefix("Value error, ")
            errors.append(FieldError(field=f"rows[{number}].{column}", message=message))


async def _consistency_errors(tx: Transaction, rows: Sequence[Row]) -> list[FieldError]:
    """Repeated codes, and regencies whose province is neither in the file nor stored."""
    errors: list[FieldError] = []
    seen: dict[str, int] = {}
    in_file = {row.code for _, row in rows}
    parents = {parent for _, row in rows if (parent := repository.parent_of(row.code)) is not None}
    known = await repository.existing_region_codes(tx.session, parents)
    for number, row in rows:
        if row.code in seen:
            errors.append(FieldError(field=f"rows[{number}].code", message=f"{row.code} repeats row {seen[row.code]}"))
        seen.setdefault(row.code, number)
        parent = repository.parent_of(row.code)
        if parent is not None and parent not in in_file and parent not in known:
            message = f"parent province {parent} is neither in the file nor stored"
            errors.append(FieldError(field=f"rows[{number}].code", message=message))
    return errors


async def import_regions(tx: Transaction, actor: Actor, raw: bytes) -> RegionImportResult:
    """All or nothing: any bad row rejects the file, with the first 100 row errors."""
    rows, errors = _read_rows(_decode(raw))
    errors += await _consistency_errors(tx, rows)
    if errors:
        raise RegionImportRejected(errors, IMPORT_MAX_ERRORS)
    if not rows:
        raise RegionImportEmpty()
    created = updated = 0
    # Provinces first, so every regency's parent exists when its row lands.
    provinces = [row for _, row in rows if row.level == RegionLevel.province]
    others = [row for _, row in rows if row.level != RegionLevel.province]
    for batch in (provinces, others):
        new, changed = await repository.upsert_regions(tx.session, batch)
        created += new
        updated += changed
    tx.record(
        actor,
        action="region.import",
        entity="region",
        entity_id="*",
        payload={"rows": len(rows), "created": created, "updated": updated, "sha256": hashlib.sha256(raw).hexdigest()},
    )
    return RegionImportResult(created=created, updated=updated)
