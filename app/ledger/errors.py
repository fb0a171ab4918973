"""The problems of the ledger: what a payment, a reversal, a refund, a report's review or a closing may break."""

from decimal import Decimal

from app.core.errors import Conflict, DateTooEarly, NotFound
from app.grants.errors import rupiah


class DisbursementNotFound(NotFound):
    code = "disbursement_not_found"

    def __init__(self, disbursement_id: int) -> None:
        super().__init__(f"There is no disbursement {disbursement_id}.", f"Tidak ada pencairan {disbursement_id}.")


class RefundNotFound(NotFound):
    code = "refund_not_found"

    def __init__(self, refund_id: int) -> None:
        super().__init__(f"There is no refund {refund_id}.", f"Tidak ada pengembalian {refund_id}.")


class PaidOnTooEarly(DateTooEarly):
    code = "paid_on_too_early"
    field = "paid_on"
    before_en = "the signing of the NPHD"
    before_id = "penandatanganan NPHD"


class ReversedOnTooEarly(DateTooEarly):
    code = "reversed_on_too_early"
    field = "reversed_on"
    before_en = "the payment"
    before_id = "pembayaran"


class ReturnedOnTooEarly(DateTooEarly):
    code = "returned_on_too_early"
    field = "returned_on"
    before_en = "the signing of the NPHD"
    before_id = "penandatanganan NPHD"


class OverDisbursement(Conflict):
    code = "over_disbursement"

    def __init__(self, amount: Decimal, remaining: Decimal) -> None:
        super().__init__(
            f"Paying {rupiah(amount)} would exceed the agreement: only {rupiah(remaining)} is left to disburse.",
            f"Pembayaran {rupiah(amount)} melebihi NPHD: sisa yang dapat dicairkan {rupiah(remaining)}.",
        )


class Sp2dNumberExists(Conflict):
    code = "sp2d_number_exists"
    constraint = "uq_disbursement_sp2d_number"

    def __init__(self, number: str | None = None) -> None:
        which = f" {number!r}" if number else ""
        super().__init__(f"SP2D{which} is already recorded.", f"SP2D{which} sudah tercatat.")


class AlreadyReversed(Conflict):
    code = "already_reversed"
    constraint = "uq_disbursement_reversal_disbursement_id"

    def __init__(self, disbursement_id: int | None = None) -> None:
        which = f" {disbursement_id}" if disbursement_id else ""
        super().__init__(f"Disbursement{which} is already reversed.", f"Pencairan{which} sudah dibatalkan.")


class ReversalExceedsHeld(Conflict):
    code = "reversal_exceeds_held"

    def __init__(self, amount: Decimal, held: Decimal) -> None:
        super().__init__(
            f"Reversing {rupiah(amount)} would leave the recipient holding less than nothing: "
            f"it holds {rupiah(held)} after reported spending and refunds.",
            f"Pembatalan {rupiah(amount)} melebihi dana yang dipegang penerima ({rupiah(held)}).",
        )


class RefundExceedsHeld(Conflict):
    code = "refund_exceeds_held"

    def __init__(self, amount: Decimal, held: Decimal) -> None:
        super().__init__(
            f"Refunding {rupiah(amount)} is more than the recipient holds ({rupiah(held)}).",
            f"Pengembalian {rupiah(amount)} melebihi dana yang dipegang penerima ({rupiah(held)}).",
        )


class StsNumberExists(Conflict):
    code = "sts_number_exists"
    constraint = "uq_refund_sts_number"

    def __init__(self, number: str | None = None) -> None:
        which = f" {number!r}" if number else ""
        super().__init__(f"STS{which} is already recorded.", f"STS{which} sudah tercatat.")


class SpendingExceedsDisbursed(Conflict):
    code = "spending_exceeds_disbursed"

    def __init__(self, total: Decimal, room: Decimal) -> None:
        super().__init__(
            f"This report's {rupiah(total)} would bring reported spending above what was disbursed: "
            f"only {rupiah(room)} is unaccounted for (disbursed less reported spending and refunds).",
            f"Laporan {rupiah(total)} ini membuat penggunaan melebihi dana yang dicairkan: "
            f"sisa yang belum dipertanggungjawabkan {rupiah(room)}.",
        )


class InvalidTransition(Conflict):
    code = "invalid_transition"

    def __init__(self, report_id: int, status: str, action: str, wanted: str) -> None:
        super().__init__(
            f"Report {report_id} is {status}; to {action} it must be {wanted}.",
            f"Laporan {report_id} berstatus {status}; untuk {action} harus {wanted}.",
        )


class FundsHeld(Conflict):
    code = "funds_held"

    def __init__(self, held: Decimal) -> None:
        super().__init__(
            f"The recipient still holds {rupiah(held)}: report the spending or refund it before closing.",
            f"Penerima masih memegang {rupiah(held)}: laporkan penggunaan atau kembalikan sebelum menutup.",
        )


class ReportUnderReview(Conflict):
    code = "report_under_review"

    def __init__(self) -> None:
        super().__init__(
            "A usage report is still under review; accept or return it before closing.",
            "Masih ada laporan penggunaan dalam peninjauan; terima atau kembalikan sebelum menutup.",
        )


class FinalReportRequired(Conflict):
    code = "final_report_required"

    def __init__(self) -> None:
        super().__init__(
            "The agreement closes only after its final usage report is accepted.",
            "NPHD hanya dapat ditutup setelah laporan akhir penggunaan diterima.",
        )
