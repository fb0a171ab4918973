"""The compliance rules as units, on records written out by hand: no server, no database.

The expected dates and sums come from the regulation and the calendar, not from the code: 14 working days
after Monday 2023-12-04 is Friday 2023-12-22 (no public holiday falls between); five months before the
voting day of 2024-11-27 is 2024-06-27; three months after 2025-02-07 is 2025-05-07.
"""

from datetime import UTC, date, datetime
from decimal import Decimal

from app.core.config import Settings
from app.grants.models import Scheme
from app.oversight.rules import Facts, SubmittedReport, Terms, budget_rules, closing_rules, findings_of, tranche_rules
from app.oversight.schemas import Rule, Severity
from app.reports.models import ReportKind, ReportStatus

SETTINGS = Settings(
    tranche1_min_share=Decimal("0.40"),
    tranche1_working_days=14,
    lump_sum_working_days=14,
    tranche2_months_before_voting=5,
    report_months_after_winner=3,
)
AMOUNT = Decimal("23116413980.00")
LATER = date(2025, 6, 30)


def kpu(scheme: Scheme = Scheme.staged, *, winner: date | None = date(2025, 2, 7)) -> Facts:
    """KPU Kota Probolinggo's NPHD as signed (DESIGN §1)."""
    terms = Terms(
        id=1,
        number="001/NPHD/KPU-3574/XII/2023",
        region_code="35.74",
        recipient_kind="kpu",
        scheme=scheme,
        signed_on=date(2023, 12, 4),
        original_amount=AMOUNT,
        voting_day=date(2024, 11, 27),
        winner_proposed_on=winner,
    )
    return Facts(terms)


def paid_in_full(facts: Facts, first: str = "1300000000.00", first_on: date = date(2023, 12, 19)) -> Facts:
    facts.payments += [
        (1, Decimal(first), first_on),
        (2, Decimal("12000000000.00"), date(2024, 4, 25)),
        (2, AMOUNT - Decimal(first) - Decimal("12000000000.00"), date(2024, 6, 14)),
    ]
    return facts


def reported(facts: Facts, total: str, status: ReportStatus = ReportStatus.accepted) -> Facts:
    facts.reports.append(SubmittedReport(ReportKind.final, status, Decimal(total), datetime(2025, 4, 21, tzinfo=UTC)))
    return facts


def test_kpu_probolinggo_is_found_short_on_tranche_one_and_nothing_else() -> None:
    facts = reported(paid_in_full(kpu()), "18797160088.00")
    facts.refunded = Decimal("4319253892.00")
    [finding] = findings_of(facts, SETTINGS, LATER)
    assert finding.rule == Rule.tranche_short
    assert finding.severity == Severity.medium
    assert finding.due_on == date(2023, 12, 22)
    assert finding.facts == {
        "tranche": 1,
        "amount": "23116413980.00",
        "required": "9246565592.00",
        "paid": "1300000000.00",
        "share": "0.0562",
    }


def test_nothing_is_due_before_its_day() -> None:
    assert list(tranche_rules(kpu(), SETTINGS, date(2023, 12, 22))) == []


def test_a_first_tranche_paid_after_fourteen_working_days_is_late() -> None:
    facts = paid_in_full(kpu(), first="9246565592.00", first_on=date(2023, 12, 27))
    # Its whole 40% came, five days late: late, and never short of its share.
    [late] = tranche_rules(facts, SETTINGS, LATER)
    assert (late.rule, late.due_on) == (Rule.tranche_late, date(2023, 12, 22))
    assert late.facts["first_paid_on"] == date(2023, 12, 27)


def test_a_first_tranche_never_paid_is_late_and_only_late() -> None:
    # Nothing paid at all: tranche I late (nothing arrived), tranche II late (nothing by 27 June 2024), no "short".
    assert [(f.rule, f.facts["tranche"], f.due_on) for f in tranche_rules(kpu(), SETTINGS, LATER)] == [
        (Rule.tranche_late, 1, date(2023, 12, 22)),
        (Rule.tranche_late, 2, date(2024, 6, 27)),
    ]


def test_a_first_tranche_paid_late_and_below_its_share_is_late_and_short() -> None:
    """Rp1.3 billion on 27 December 2023 and Rp2 billion more on 10 January 2024, both as tranche I: it began late,
    and by 30 June 2025 had reached Rp3.3 billion of the Rp9,246,565,592 (40%) required."""
    facts = kpu()
    facts.payments += [
        (1, Decimal("1300000000.00"), date(2023, 12, 27)),
        (1, Decimal("2000000000.00"), date(2024, 1, 10)),
    ]
    late, short, second = tranche_rules(facts, SETTINGS, LATER)
    assert (late.rule, late.facts["first_paid_on"]) == (Rule.tranche_late, date(2023, 12, 27))
    assert (second.rule, second.facts["tranche"]) == (Rule.tranche_late, 2)
    assert (short.rule, short.due_on) == (Rule.tranche_short, date(2023, 12, 22))
    assert short.facts == {
        "tranche": 1,
        "amount": "23116413980.00",
        "required": "9246565592.00",
        "paid": "3300000000.00",
        "share": "0.1428",
        "paid_by": date(2025, 6, 30),
    }


def test_a_second_tranche_short_on_its_due_day_is_late() -> None:
    facts = kpu()
    facts.payments += [(1, Decimal("9246565592.00"), date(2023, 12, 19)), (2, Decimal("1.00"), date(2024, 6, 27))]
    [late] = tranche_rules(facts, SETTINGS, LATER)
    assert (late.rule, late.due_on, late.facts["tranche"]) == (Rule.tranche_late, date(2024, 6, 27), 2)
    assert late.facts["paid_by_due"] == "9246565593.00"


def test_a_lump_sum_owes_everything_within_fourteen_working_days() -> None:
    facts = kpu(Scheme.lump_sum)
    facts.payments.append((1, AMOUNT - Decimal("0.01"), date(2023, 12, 20)))
    [short] = tranche_rules(facts, SETTINGS, LATER)
    assert (short.rule, short.facts["required"], short.facts["paid"]) == (
        Rule.tranche_short,
        "23116413980.00",
        "23116413979.99",
    )


def test_a_lump_sum_paid_whole_but_late_is_late_and_not_short() -> None:
    """The whole grant in one payment on 27 December 2023, three working days after its due day (22 December): the
    one finding is that it was late; it was never short of the 100% a lump sum owes."""
    facts = kpu(Scheme.lump_sum)
    facts.payments.append((1, AMOUNT, date(2023, 12, 27)))
    assert [(f.rule, f.due_on, f.facts) for f in findings_of(facts, SETTINGS, date(2024, 1, 31))] == [
        (
            Rule.tranche_late,
            date(2023, 12, 22),
            {"tranche": 1, "signed_on": date(2023, 12, 4), "first_paid_on": date(2023, 12, 27), "working_days": 14},
        )
    ]


def test_a_lump_sum_paid_late_and_in_part_is_late_and_short() -> None:
    facts = kpu(Scheme.lump_sum)
    facts.payments.append((1, Decimal("20000000000.00"), date(2023, 12, 27)))
    late, short = tranche_rules(facts, SETTINGS, date(2024, 1, 31))
    assert late.rule == Rule.tranche_late
    assert (short.rule, short.facts["required"], short.facts["paid"], short.facts["paid_by"]) == (
        Rule.tranche_short,
        "23116413980.00",
        "20000000000.00",
        date(2024, 1, 31),
    )


def test_an_adendum_signed_after_a_due_day_does_not_move_it() -> None:
    facts = paid_in_full(kpu(), first="9246565592.00")
    facts.amendments.append((date(2024, 1, 15), Decimal("30000000000.00")))
    findings = list(tranche_rules(facts, SETTINGS, LATER))
    # Tranche I is judged on the amount of 2023-12-22; tranche II on the amended one of 2024-06-27.
    assert [(f.rule, f.facts["tranche"], f.facts["amount"]) for f in findings] == [
        (Rule.tranche_late, 2, "30000000000.00")
    ]


def test_money_held_after_the_deadline_is_a_refund_overdue() -> None:
    facts = reported(paid_in_full(kpu()), "18797160088.00")
    [overdue] = closing_rules(facts, SETTINGS, LATER)
    assert (overdue.rule, overdue.severity, overdue.due_on) == (Rule.refund_overdue, Severity.high, date(2025, 5, 7))
    assert overdue.facts["held"] == "4319253892.00"


def test_no_final_report_by_the_deadline_is_overdue() -> None:
    facts = paid_in_full(kpu())
    rules = [finding.rule for finding in closing_rules(facts, SETTINGS, LATER)]
    assert rules == [Rule.final_report_overdue, Rule.refund_overdue]
    assert list(closing_rules(facts, SETTINGS, date(2025, 5, 7))) == []
    assert list(closing_rules(kpu(winner=None), SETTINGS, LATER)) == []


def test_a_refund_that_leaves_money_held_after_acceptance_is_a_mismatch() -> None:
    facts = reported(paid_in_full(kpu()), "18797160088.00")
    facts.refunded = Decimal("4319253000.00")
    mismatch, overdue = closing_rules(facts, SETTINGS, LATER)
    assert mismatch.rule == Rule.refund_mismatch
    assert mismatch.facts == {"refunded": "4319253000.00", "unspent": "4319253892.00", "difference": "892.00"}
    assert overdue.facts["held"] == "892.00"


def test_a_report_under_review_counts_as_reported_spending() -> None:
    facts = reported(paid_in_full(kpu()), "23116413980.00", ReportStatus.submitted)
    assert list(closing_rules(facts, SETTINGS, LATER)) == []


def test_spending_over_a_budget_line_is_named_with_its_excess() -> None:
    facts = kpu()
    facts.over_lines.append(("logistik", "logistik", Decimal("3900000000.00"), Decimal("3912500000.00")))
    [over] = budget_rules(facts)
    assert over.rule == Rule.over_budget_line
    assert over.facts["over_by"] == "12500000.00"
