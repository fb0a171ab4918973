"""The problems of support in kind: its parties, its BAST numbers, a loan's return and a record's void."""

from datetime import date

from app.core.errors import Conflict, DateTooEarly, FieldError, InvalidInput, NotFound


class SupportNotFound(NotFound):
    code = "support_not_found"

    def __init__(self, support_id: int) -> None:
        super().__init__(
            f"There is no support record {support_id}.", f"Tidak ada catatan dukungan sarana/prasarana {support_id}."
        )


class UnknownSupportParty(InvalidInput):
    code = "unknown_party"

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(
            "The support record names an election or recipient that does not exist.",
            "Catatan dukungan merujuk pemilihan atau penerima yang tidak ada.",
            errors=errors,
        )


class BastNumberExists(Conflict):
    code = "bast_number_exists"
    constraint = "uq_support_bast_number"

    def __init__(self, number: str | None = None) -> None:
        which = f" {number!r}" if number else ""
        super().__init__(f"BAST{which} is already recorded.", f"BAST{which} sudah tercatat.")


class ReturnBastNumberExists(Conflict):
    code = "return_bast_number_exists"
    constraint = "uq_support_return_bast_number"

    def __init__(self, number: str | None = None) -> None:
        which = f" {number!r}" if number else ""
        super().__init__(f"BAST{which} is already recorded.", f"BAST{which} sudah tercatat.")


class NotALoan(Conflict):
    code = "not_a_loan"

    def __init__(self, kind: str) -> None:
        super().__init__(
            f"Only an asset loan (pinjam pakai) is returned; this record is {kind}.",
            f"Hanya pinjam pakai barang milik daerah yang dikembalikan; catatan ini berjenis {kind}.",
        )


class AlreadyReturned(Conflict):
    code = "already_returned"

    def __init__(self, returned_on: date) -> None:
        super().__init__(
            f"This loan was already returned on {returned_on}.",
            f"Pinjaman ini sudah dikembalikan pada {returned_on}.",
        )


class SupportVoided(Conflict):
    code = "support_voided"

    def __init__(self, support_id: int) -> None:
        super().__init__(
            f"Support record {support_id} is void; it takes no more entries.",
            f"Catatan dukungan {support_id} sudah dibatalkan; tidak menerima catatan baru.",
        )


class ReturnedBeforeHandover(DateTooEarly):
    code = "returned_on_too_early"
    field = "returned_on"
    before_en = "the handover"
    before_id = "serah terima"
