"""The portal's own problems; it also shows the domains' (an unknown region, an unknown NPHD) as pages."""

from collections.abc import Sequence

from app.core.errors import NotFound


class NoElectionsInYear(NotFound):
    code = "no_elections_in_year"

    def __init__(self, year: int, years: Sequence[int]) -> None:
        known = ", ".join(str(each) for each in years) or "-"
        super().__init__(
            f"No election was held in {year}. Years with elections: {known}.",
            f"Tidak ada pemilihan pada tahun {year}. Tahun yang ada: {known}.",
        )
