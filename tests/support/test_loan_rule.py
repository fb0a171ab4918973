"""``loan_rules`` as a unit, on loans written out by hand: three months after 2025-02-07 is 2025-05-07."""

from datetime import date
from decimal import Decimal

from app.oversight.rules import Loan, loan_rules
from app.oversight.schemas import Rule
from tests.oversight.test_rules import SETTINGS, kpu

CAR = Decimal("385000000.00")


def loan(handed: date, returned: date | None = None, support_id: int = 7) -> Loan:
    return Loan(support_id, "BAST-1", "Kendaraan dinas", CAR, handed, returned)


def test_judged_only_after_the_final_report_falls_due() -> None:
    facts = kpu()
    facts.loans.append(loan(date(2024, 5, 13)))
    assert list(loan_rules(facts, SETTINGS, date(2025, 5, 7))) == []
    [found] = loan_rules(facts, SETTINGS, date(2025, 5, 8))
    assert found.rule == Rule.loan_not_returned
    assert found.due_on == date(2025, 5, 7)
    assert found.facts["value"] == "385000000.00"


def test_returned_by_the_due_date_or_lent_after_it_is_no_finding() -> None:
    facts = kpu()
    facts.loans += [
        loan(date(2024, 5, 13), date(2025, 5, 7), 1),  # back on the due date itself
        loan(date(2025, 5, 8), None, 2),  # lent after the due date: another matter
        loan(date(2024, 5, 13), date(2025, 5, 8), 3),  # a day late
    ]
    assert [f.facts["support_id"] for f in loan_rules(facts, SETTINGS, date(2025, 6, 30))] == [3]


def test_no_winner_proposed_no_due_date() -> None:
    facts = kpu(winner=None)
    facts.loans.append(loan(date(2024, 5, 13)))
    assert list(loan_rules(facts, SETTINGS, date(2030, 1, 1))) == []
