"""Figures as the pages write them: expected strings written out by hand, as a reader would write them."""

from datetime import date, datetime
from decimal import Decimal

import pytest

from app.portal.format import Formatter

ID, EN = Formatter("id"), Formatter("en")


@pytest.mark.parametrize(
    ("amount", "indonesian", "english"),
    [
        ("23116413980.00", "Rp23.116.413.980", "Rp23,116,413,980"),
        ("4319253892", "Rp4.319.253.892", "Rp4,319,253,892"),
        ("1234.50", "Rp1.234,50", "Rp1,234.50"),
        ("0.05", "Rp0,05", "Rp0.05"),
        ("0", "Rp0", "Rp0"),
        ("-5000.00", "\u2212Rp5.000", "\u2212Rp5,000"),
        ("999999999999999.99", "Rp999.999.999.999.999,99", "Rp999,999,999,999,999.99"),
    ],
)
def test_rupiah_as_written_in_each_language(amount: str, indonesian: str, english: str) -> None:
    assert ID.rupiah(Decimal(amount)) == indonesian
    assert EN.rupiah(Decimal(amount)) == english


@pytest.mark.parametrize(
    ("amount", "indonesian", "english"),
    [
        ("23116413980", "Rp23,1 miliar", "Rp23.1 billion"),
        ("37123456789012", "Rp37,1 triliun", "Rp37.1 trillion"),
        ("850000000", "Rp850 juta", "Rp850 million"),
        ("1950000", "Rp2 juta", "Rp2 million"),
        ("999999", "Rp999.999", "Rp999,999"),
    ],
)
def test_short_rupiah_for_headlines(amount: str, indonesian: str, english: str) -> None:
    assert ID.rupiah_short(Decimal(amount)) == indonesian
    assert EN.rupiah_short(Decimal(amount)) == english


@pytest.mark.parametrize(
    ("ratio", "indonesian", "english"),
    [
        ("0.8132", "81,32%", "81.32%"),
        ("1.0000", "100,00%", "100.00%"),
        ("0", "0,00%", "0.00%"),
        ("0.05625", "5,63%", "5.63%"),
    ],
)
def test_percent(ratio: str, indonesian: str, english: str) -> None:
    assert ID.percent(ratio) == indonesian
    assert EN.percent(ratio) == english


def test_share_of_nothing_is_zero() -> None:
    assert ID.share(Decimal(5), Decimal(0)) == "0,00%"
    assert ID.share(Decimal("1300000000"), Decimal("23116413980")) == "5,62%"


def test_dates_in_both_languages() -> None:
    assert ID.day(date(2024, 11, 27)) == "27 November 2024"
    assert ID.day(date(2025, 5, 7)) == "7 Mei 2025"
    assert ID.day(date(2023, 12, 22)) == "22 Desember 2023"
    assert EN.day(date(2023, 12, 22)) == "22 December 2023"
    assert ID.day(datetime(2025, 4, 21, 3, 0)) == "21 April 2025"
    assert ID.day("2024-06-01") == "1 Juni 2024"
    assert ID.day(None) == "—"
    assert ID.month(date(2023, 12, 4)) == "Des 2023"
    assert EN.month(date(2023, 12, 4)) == "Dec 2023"


def test_counts() -> None:
    assert ID.number(2180) == "2.180"
    assert EN.number(2180) == "2,180"
