"""The problems of the reference data, in English and Indonesian."""

from app.core.errors import Conflict, FieldError, InconsistentInput, InvalidInput, NotFound


class RegionNotFound(NotFound):
    code = "region_not_found"

    def __init__(self, code: str) -> None:
        super().__init__(f"There is no region with code {code}.", f"Tidak ada wilayah dengan kode {code}.")


class UnknownRegion(InvalidInput):
    """A body names a region that does not exist (not a missing resource: the request is what is wrong)."""

    code = "unknown_region"

    def __init__(self, code: str) -> None:
        super().__init__(
            f"There is no region with code {code}.",
            f"Tidak ada wilayah dengan kode {code}.",
            errors=[FieldError(field="region_code", message=f"no region with code {code}")],
        )


class RegionExists(Conflict):
    code = "region_exists"
    constraint = "pk_region"

    def __init__(self, code: str | None = None) -> None:
        which = f" {code}" if code else ""
        super().__init__(f"Region{which} already exists.", f"Wilayah{which} sudah ada.")


class ParentRegionMissing(InvalidInput):
    code = "parent_region_missing"

    def __init__(self, code: str, parent: str) -> None:
        super().__init__(
            f"Province {parent} does not exist; create it before {code}.",
            f"Provinsi {parent} belum ada; buat sebelum {code}.",
            errors=[FieldError(field="code", message=f"parent province {parent} does not exist")],
        )


class InvalidCsv(InvalidInput):
    code = "invalid_csv"

    def __init__(self, english: str, indonesian: str, error: FieldError) -> None:
        super().__init__(english, indonesian, errors=[error])


class InvalidCsvHeader(InvalidInput):
    code = "invalid_csv_header"

    def __init__(self, missing: list[str]) -> None:
        names = ", ".join(missing)
        super().__init__(
            f"The CSV header must name the columns code and name (missing: {names}).",
            f"Tajuk CSV harus memuat kolom code dan name (kurang: {names}).",
            errors=[FieldError(field="header", message=f"missing column {name}") for name in missing],
        )


class RegionImportRejected(InvalidInput):
    code = "import_rejected"

    def __init__(self, errors: list[FieldError], shown: int) -> None:
        super().__init__(
            f"The file has {len(errors)} error(s); nothing was imported.",
            f"Berkas memuat {len(errors)} kesalahan; tidak ada yang diimpor.",
            errors=errors[:shown],
        )


class RegionImportEmpty(InvalidInput):
    code = "import_empty"

    def __init__(self) -> None:
        super().__init__("The file has no data rows.", "Berkas tidak memuat baris data.")


class ElectionNotFound(NotFound):
    code = "election_not_found"

    def __init__(self, election_id: int) -> None:
        super().__init__(f"There is no election {election_id}.", f"Tidak ada pemilihan {election_id}.")


class ElectionExists(Conflict):
    code = "election_exists"
    constraint = "uq_election_region_code_voting_day"

    def __init__(self, region_code: str | None = None, voting_day: object = None) -> None:
        if region_code is None:
            super().__init__(
                "The region already has an election that day.", "Wilayah sudah memiliki pemilihan hari itu."
            )
            return
        super().__init__(
            f"Region {region_code} already has an election on {voting_day}.",
            f"Wilayah {region_code} sudah memiliki pemilihan pada {voting_day}.",
        )


class ElectionKindMismatch(InvalidInput):
    code = "election_kind_mismatch"

    def __init__(self, kind: str, expected: str, region_code: str, level: str) -> None:
        super().__init__(
            f"A {kind} election belongs to a {expected}; {region_code} is a {level}.",
            f"Pemilihan {kind} hanya untuk {expected}; {region_code} adalah {level}.",
            errors=[FieldError(field="kind", message=f"{kind} needs a {expected}")],
        )


class WinnerBeforeVoting(InconsistentInput):
    """Both dates valid alone, together breaking a rule: the code a create gets from the schema's own rule."""

    def __init__(self) -> None:
        super().__init__(
            "winner_proposed_on cannot precede voting_day.",
            "winner_proposed_on tidak boleh sebelum voting_day.",
            errors=[FieldError(field="winner_proposed_on", message="cannot precede voting_day")],
        )


class RecipientNotFound(NotFound):
    code = "recipient_not_found"

    def __init__(self, recipient_id: int) -> None:
        super().__init__(f"There is no recipient {recipient_id}.", f"Tidak ada penerima {recipient_id}.")


class RecipientExists(Conflict):
    code = "recipient_exists"
    constraint = "uq_recipient_region_code_name"

    def __init__(self, region_code: str | None = None, name: str | None = None) -> None:
        if region_code is None:
            super().__init__(
                "The region already has a recipient of that name.", "Nama penerima sudah ada di wilayah ini."
            )
            return
        super().__init__(
            f"Region {region_code} already has a recipient named {name!r}.",
            f"Wilayah {region_code} sudah memiliki penerima bernama {name!r}.",
        )


class UnknownRecipient(InvalidInput):
    code = "unknown_recipient"

    def __init__(self, recipient_id: int) -> None:
        super().__init__(
            f"There is no recipient {recipient_id}.",
            f"Tidak ada penerima {recipient_id}.",
            errors=[FieldError(field="recipient_id", message="no such recipient")],
        )


class UnknownCodes(InvalidInput):
    """Stage or category codes outside the published lists (``/codes/stages``, ``/codes/categories``)."""

    code = "unknown_code"

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(
            "Use the published stage and category codes.",
            "Gunakan kode tahapan dan kategori yang dipublikasikan.",
            errors=errors,
        )
