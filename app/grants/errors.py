"""The problems of grant agreements (NPHD): their terms, amendments and budget lines."""

from decimal import Decimal

from app.core.errors import Conflict, DateTooEarly, FieldError, Forbidden, InvalidInput, NotFound
from app.core.money import format_money


def rupiah(amount: Decimal) -> str:
    return f"Rp{format_money(amount)}"


class AgreementNotFound(NotFound):
    code = "agreement_not_found"

    def __init__(self, agreement_id: int) -> None:
        super().__init__(f"There is no agreement {agreement_id}.", f"Tidak ada NPHD {agreement_id}.")


class AgreementClosed(Conflict):
    code = "agreement_closed"

    def __init__(self, number: str) -> None:
        super().__init__(
            f"Agreement {number} is closed; it takes no more entries.",
            f"NPHD {number} sudah ditutup; tidak menerima catatan baru.",
        )


class OutsideKeyScope(Forbidden):
    code = "outside_key_scope"

    def __init__(self, key_region: str, grant_region: str) -> None:
        super().__init__(
            f"This finance key is bound to region {key_region}; the grant belongs to {grant_region}.",
            f"Kunci keuangan ini terikat pada wilayah {key_region}; hibah ini milik {grant_region}.",
        )


class UnknownParty(InvalidInput):
    code = "unknown_party"

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(
            "The agreement names an election or recipient that does not exist.",
            "NPHD merujuk pemilihan atau penerima yang tidak ada.",
            errors=errors,
        )


class RegionMismatch(InvalidInput):
    code = "region_mismatch"

    def __init__(self, recipient_region: str, election_region: str) -> None:
        super().__init__(
            f"The recipient is in region {recipient_region}, the election in {election_region}.",
            f"Penerima berada di wilayah {recipient_region}, pemilihan di {election_region}.",
            errors=[FieldError(field="recipient_id", message=f"not in region {election_region}")],
        )


class SignedAfterVotingDay(InvalidInput):
    code = "signed_after_voting_day"

    def __init__(self, voting_day: object) -> None:
        super().__init__(
            f"An NPHD for this election is signed before its voting day ({voting_day}).",
            f"NPHD untuk pemilihan ini ditandatangani sebelum hari pemungutan suara ({voting_day}).",
            errors=[FieldError(field="signed_on", message=f"must not be after {voting_day}")],
        )


class AgreementNumberExists(Conflict):
    code = "agreement_number_exists"
    constraint = "uq_agreement_number"

    def __init__(self, number: str | None = None) -> None:
        which = f" {number!r}" if number else ""
        super().__init__(f"NPHD number{which} is already recorded.", f"Nomor NPHD{which} sudah tercatat.")


class AgreementExists(Conflict):
    code = "agreement_exists"
    constraint = "uq_agreement_open_per_recipient"

    def __init__(self, number: str | None = None) -> None:
        which = f" ({number})" if number else ""
        super().__init__(
            f"This recipient already has an open agreement{which} for this election; amend it instead.",
            f"Penerima ini sudah memiliki NPHD aktif{which} untuk pemilihan ini; buat adendum.",
        )


class AmendmentNumberExists(Conflict):
    code = "amendment_number_exists"
    constraint = "uq_amendment_agreement_id_number"

    def __init__(self, number: str | None = None) -> None:
        which = f" {number!r}" if number else ""
        super().__init__(
            f"Amendment{which} is already recorded for this agreement.",
            f"Adendum{which} sudah tercatat untuk NPHD ini.",
        )


class AmendmentSignedTooEarly(DateTooEarly):
    code = "signed_on_too_early"
    field = "signed_on"
    before_en = "the last signature"
    before_id = "tanda tangan terakhir"


class AmountBelowDisbursed(Conflict):
    code = "amount_below_disbursed"

    def __init__(self, new_amount: Decimal, disbursed: Decimal) -> None:
        super().__init__(
            f"The new amount {rupiah(new_amount)} is below what is already disbursed ({rupiah(disbursed)}).",
            f"Nilai baru {rupiah(new_amount)} di bawah dana yang sudah dicairkan ({rupiah(disbursed)}).",
        )


class BudgetLinesRequired(InvalidInput):
    code = "budget_lines_required"

    def __init__(self) -> None:
        super().__init__(
            "This agreement has budget lines: send the amended lines with the amendment.",
            "NPHD ini memiliki rincian anggaran: kirim rincian baru bersama adendum.",
            errors=[FieldError(field="budget_lines", message="required when the agreement has budget lines")],
        )


class BudgetLinesMismatch(InvalidInput):
    code = "budget_lines_mismatch"

    def __init__(self, total: Decimal, amount: Decimal) -> None:
        super().__init__(
            f"The budget lines add up to {rupiah(total)}, not the amount {rupiah(amount)}.",
            f"Jumlah rincian anggaran {rupiah(total)}, bukan {rupiah(amount)}.",
            errors=[
                FieldError(field="budget_lines", message=f"add up to {format_money(total)}, not {format_money(amount)}")
            ],
        )
