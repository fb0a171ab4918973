"""Figures as Indonesians write them (``Rp23.116.413.980``, ``81,32%``, ``27 November 2024``), and as English
readers do under ``?lang=en`` (``Rp23,116,413,980``, ``81.32%``, ``27 November 2024``).

Babel holds the locale data (separators, month names); amounts stay ``Decimal`` all the way to the text.
"""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from babel.dates import format_date
from babel.numbers import format_decimal

Lang = Literal["id", "en"]
LANGS: tuple[Lang, ...] = ("id", "en")
LOCALES: dict[Lang, str] = {"id": "id_ID", "en": "en_GB"}
CENT = Decimal("0.01")
HUNDRED = Decimal(100)
MINUS = "\u2212"
# Rupiah at a glance: the largest unit the amount reaches, with one decimal (Rp23,1 miliar).
SCALES: tuple[tuple[Decimal, str, str], ...] = (
    (Decimal(10) ** 12, "triliun", "trillion"),
    (Decimal(10) ** 9, "miliar", "billion"),
    (Decimal(10) ** 6, "juta", "million"),
)


def ratio(part: Decimal, whole: Decimal) -> Decimal:
    """``part / whole`` (0 when nothing is whole), exact Decimal arithmetic."""
    if whole <= 0:
        return Decimal(0)
    return part / whole


@dataclass(frozen=True)
class Formatter:
    lang: Lang

    @property
    def locale(self) -> str:
        return LOCALES[self.lang]

    def number(self, value: int | Decimal) -> str:
        """A count: ``2.180`` (id), ``2,180`` (en)."""
        return format_decimal(value, "#,##0", locale=self.locale)

    def quantity(self, value: Decimal) -> str:
        """A count or a measure, not money: ``240``, ``2,5`` (id), ``2.5`` (en); up to four places."""
        return format_decimal(value, "#,##0.####", locale=self.locale)

    def rupiah(self, amount: Decimal) -> str:
        """Whole rupiah unless there are sen: ``Rp23.116.413.980``, ``Rp1.234,50``; negatives as ``−Rp5.000``."""
        amount = amount.quantize(CENT)
        pattern = "#,##0" if amount == amount.to_integral_value() else "#,##0.00"
        text = "Rp" + format_decimal(abs(amount), pattern, locale=self.locale)
        return MINUS + text if amount < 0 else text

    def rupiah_short(self, amount: Decimal) -> str:
        """``Rp23,1 miliar`` / ``Rp23.1 billion``: for headlines, always beside the exact figure."""
        for scale, indonesian, english in SCALES:
            if abs(amount) >= scale:
                scaled = (amount / scale).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
                unit = indonesian if self.lang == "id" else english
                return f"Rp{format_decimal(scaled, '#,##0.#', locale=self.locale)} {unit}"
        return self.rupiah(amount)

    def percent(self, value: str | Decimal) -> str:
        """A ratio (``"0.8132"``) as a percentage with two places: ``81,32%`` / ``81.32%``."""
        share = (Decimal(value) * HUNDRED).quantize(CENT, rounding=ROUND_HALF_UP)
        return format_decimal(share, "#,##0.00", locale=self.locale) + "%"

    def share(self, part: Decimal, whole: Decimal) -> str:
        return self.percent(ratio(part, whole))

    def day(self, day: date | datetime | str | None) -> str:
        """``27 November 2024`` in both languages; an empty dash for no date."""
        if day is None:
            return "—"
        if isinstance(day, str):
            day = date.fromisoformat(day[:10])
        if isinstance(day, datetime):
            day = day.date()
        return format_date(day, "d MMMM y", locale=self.locale)

    def month(self, day: date) -> str:
        """``Des 2023`` / ``Dec 2023``, for chart axes."""
        return format_date(day, "MMM y", locale=self.locale)
