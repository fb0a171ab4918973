"""The inline SVG charts: each segment as wide as its share, computed in Decimal, and nothing unescaped."""

import re
from datetime import date
from decimal import Decimal

from app.grants.rules import Figures
from app.portal import charts
from app.portal.format import Formatter

KPU = Figures(
    amount=Decimal("23116413980.00"),
    disbursed=Decimal("23116413980.00"),
    spent_reported=Decimal("18797160088.00"),
    spent_accepted=Decimal("18797160088.00"),
    refunded=Decimal("4319253892.00"),
)


def widths(svg: str) -> dict[str, Decimal]:
    return {kind: Decimal(width) for kind, width in re.findall(r'class="s-(\w+)" x="[^"]*" y="0" width="([^"]*)"', svg)}


def test_position_bar_splits_the_amount_into_its_parts() -> None:
    svg = str(charts.position_bar(KPU, "KPU"))
    found = widths(svg)
    # 18,797,160,088 / 23,116,413,980 of 1000 units = 813.15...; 4,319,253,892 / ... = 186.84...
    assert found == {"track": Decimal(1000), "spent": Decimal("813.2"), "refunded": Decimal("186.8")}
    assert 'role="img"' in svg
    assert "<title>KPU</title>" in svg


def test_a_bar_without_label_is_hidden_from_screen_readers() -> None:
    svg = str(charts.position_bar(KPU))
    assert 'aria-hidden="true"' in svg
    assert "role=" not in svg


def test_nothing_agreed_draws_an_empty_track() -> None:
    zero = Decimal(0)
    svg = str(charts.position_bar(Figures(zero, zero, zero, zero, zero)))
    assert widths(svg) == {"track": Decimal(1000)}


def test_undisbursed_and_held_have_their_share() -> None:
    figures = Figures(Decimal(1000), Decimal(600), Decimal(300), Decimal(100), Decimal(100))
    assert widths(str(charts.position_bar(figures))) == {
        "track": Decimal(1000),
        "spent": Decimal(300),
        "refunded": Decimal(100),
        "held": Decimal(200),
        "undisbursed": Decimal(400),
    }


def test_labels_are_escaped() -> None:
    svg = str(charts.position_bar(KPU, '<script>"x"</script>'))
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg


def test_timeline_draws_paid_and_required_steps_with_marks() -> None:
    paid = [charts.Step(date(2023, 12, 19), Decimal("1300000000")), charts.Step(date(2024, 6, 14), KPU.amount)]
    required = [charts.Step(date(2023, 12, 22), Decimal("9246565592")), charts.Step(date(2024, 6, 27), KPU.amount)]
    marks = [charts.Mark(date(2023, 12, 4), "NPHD"), charts.Mark(date(2024, 11, 27), "Vote <b>")]
    svg = str(charts.timeline(paid, required, marks, KPU.amount, "label & more", Formatter("en")))
    assert svg.count("<circle") == 2
    assert 'class="required"' in svg and 'class="paid"' in svg
    assert "Vote &lt;b&gt; Nov 2024" in svg
    assert "label &amp; more" in svg
    # The first payment sits at the left edge's day + 15 of 359 days: x = 12 + 15/359 * 616 = 37.7
    assert 'cx="37.7"' in svg


def test_timeline_without_payments_or_amount_is_empty() -> None:
    assert str(charts.timeline([], [], [], Decimal(0), "x", Formatter("id"))) == ""
