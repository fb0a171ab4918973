"""The ledger's rules as units: what a locked agreement row allows, with figures written out by hand."""

from datetime import date
from decimal import Decimal

import pytest

from app.core.actor import Actor, Role
from app.grants.errors import AgreementClosed, OutsideKeyScope
from app.grants.models import AgreementStatus
from app.grants.rules import Figures, absorption
from app.ledger import errors, rules
from app.reports.models import ReportKind, ReportStatus


def terms(
    disbursed: str = "10000000.00",
    spent_reported: str = "0.00",
    refunded: str = "0.00",
    status: AgreementStatus = AgreementStatus.active,
) -> rules.Terms:
    figures = Figures(
        amount=Decimal("23116413980.00"),
        disbursed=Decimal(disbursed),
        spent_reported=Decimal(spent_reported),
        spent_accepted=Decimal("0.00"),
        refunded=Decimal(refunded),
    )
    return rules.Terms(1, "NPHD-1", "35.74", 1, status, date(2023, 12, 4), 1, figures)


def test_held_and_absorption_follow_design_section_two() -> None:
    figures = Figures(
        amount=Decimal("23116413980.00"),
        disbursed=Decimal("23116413980.00"),
        spent_reported=Decimal("18797160088.00"),
        spent_accepted=Decimal("18797160088.00"),
        refunded=Decimal("4319253892.00"),
    )
    assert (figures.held, figures.undisbursed, figures.absorption) == (Decimal(0), Decimal(0), "0.8132")
    assert absorption(Decimal(5), Decimal(0)) == "0.0000"


def test_a_payment_may_not_pass_the_undisbursed_amount_nor_precede_the_signing() -> None:
    rules.ensure_payable(terms(), Decimal("23106413980.00"), date(2023, 12, 4))
    with pytest.raises(errors.OverDisbursement):
        rules.ensure_payable(terms(), Decimal("23106413980.01"), date(2023, 12, 5))
    with pytest.raises(errors.PaidOnTooEarly):
        rules.ensure_payable(terms(), Decimal("1.00"), date(2023, 12, 3))


def test_a_reversal_or_refund_may_not_take_more_than_is_held() -> None:
    held_two = terms(disbursed="10.00", spent_reported="5.00", refunded="3.00")
    rules.ensure_reversible(held_two, Decimal("2.00"), date(2024, 1, 1), date(2024, 1, 1))
    rules.ensure_refundable(held_two, Decimal("2.00"), date(2024, 1, 1))
    with pytest.raises(errors.ReversalExceedsHeld):
        rules.ensure_reversible(held_two, Decimal("2.01"), date(2024, 1, 1), date(2024, 1, 2))
    with pytest.raises(errors.RefundExceedsHeld):
        rules.ensure_refundable(held_two, Decimal("2.01"), date(2024, 1, 1))
    with pytest.raises(errors.ReversedOnTooEarly):
        rules.ensure_reversible(held_two, Decimal("1.00"), date(2024, 1, 2), date(2024, 1, 1))


def test_reported_spending_may_not_pass_what_is_held() -> None:
    rules.ensure_spending_fits(terms(spent_reported="4000000.00"), Decimal("6000000.00"))
    with pytest.raises(errors.SpendingExceedsDisbursed):
        rules.ensure_spending_fits(terms(spent_reported="4000000.00"), Decimal("6000000.01"))


def test_closing_needs_nothing_held_nothing_under_review_and_an_accepted_final_report() -> None:
    settled = terms(disbursed="10.00", spent_reported="7.00", refunded="3.00")
    tally = rules.ReportTally(under_review=0, final_accepted=True, any_report=True, ever_disbursed=True)
    rules.ensure_closable(settled, tally)
    with pytest.raises(errors.FundsHeld):
        rules.ensure_closable(terms(), tally)
    with pytest.raises(errors.ReportUnderReview):
        rules.ensure_closable(settled, rules.ReportTally(1, True, True, True))
    with pytest.raises(errors.FinalReportRequired):
        rules.ensure_closable(settled, rules.ReportTally(0, False, True, True))
    never_used = terms(disbursed="0.00")
    rules.ensure_closable(never_used, rules.ReportTally(0, False, False, False))


def test_a_bound_finance_key_writes_only_its_region_and_nothing_writes_a_closed_grant() -> None:
    rules.ensure_may_write(Actor(key_id=1, role=Role.finance, region_code="35.74"), terms())
    with pytest.raises(OutsideKeyScope):
        rules.ensure_may_write(Actor(key_id=1, role=Role.finance, region_code="35.73"), terms())
    with pytest.raises(AgreementClosed):
        rules.ensure_may_write(Actor(key_id=1, role=Role.finance), terms(status=AgreementStatus.closed))


def test_a_report_moves_only_from_the_states_its_step_names() -> None:
    report = rules.ReportState(1, 1, ReportKind.final, ReportStatus.returned, Decimal("1.00"), 1)
    rules.ensure_status(report, "reopen", ReportStatus.returned)
    with pytest.raises(errors.InvalidTransition, match="to accept it must be submitted"):
        rules.ensure_status(report, "accept", ReportStatus.submitted)
