"""A finding's sentence on the pages, from its facts: expected sentences written out by hand."""

from datetime import date
from decimal import Decimal

from app.oversight.rules import tranche_rules
from app.portal.format import Formatter
from app.portal.texts import describe
from tests.oversight.test_rules import SETTINGS, kpu


def test_a_tranche_begun_late_and_short_says_how_much_came_by_when() -> None:
    """Rp1.3 billion on 27 December 2023 and Rp2 billion on 10 January 2024 (5 days past the due day, then more):
    by 30 June 2025 Rp3.3 billion, 14.28% of Rp23,116,413,980, against 40% due by 22 December 2023."""
    facts = kpu()
    facts.payments += [
        (1, Decimal("1300000000.00"), date(2023, 12, 27)),
        (1, Decimal("2000000000.00"), date(2024, 1, 10)),
    ]
    [short] = [f for f in tranche_rules(facts, SETTINGS, date(2025, 6, 30)) if f.rule == "tranche_short"]
    assert describe(short, Formatter("en"), SETTINGS, {}) == (
        "Tranche I, paid late, came to only Rp3,300,000,000 (14.28% of the NPHD) by 30 June 2025; at least"
        " Rp9,246,565,592 (40.00%) was due by 22 December 2023."
    )
    assert describe(short, Formatter("id"), SETTINGS, {}) == (
        "Tahap I, yang dicairkan terlambat, hanya Rp3.300.000.000 (14,28% dari NPHD) sampai 30 Juni 2025; minimal"
        " Rp9.246.565.592 (40,00%) paling lambat 22 Desember 2023."
    )
