"""The problems of usage reports and their items."""

from typing import Any

from app.core.errors import Conflict, DateTooEarly, FieldError, Forbidden, InvalidInput, NotFound


class ReportNotFound(NotFound):
    code = "report_not_found"

    def __init__(self, report_id: int) -> None:
        super().__init__(f"There is no usage report {report_id}.", f"Tidak ada laporan penggunaan {report_id}.")


class ItemNotFound(NotFound):
    code = "item_not_found"

    def __init__(self, item_id: int) -> None:
        super().__init__(f"There is no usage item {item_id}.", f"Tidak ada rincian {item_id}.")


class NotYourReport(Forbidden):
    code = "not_your_report"

    def __init__(self) -> None:
        super().__init__(
            "This recipient key reports only for its own recipient.",
            "Kunci penerima ini hanya melaporkan untuk penerimanya sendiri.",
        )


class ReportNotDraft(Conflict):
    code = "report_not_draft"

    def __init__(self, report_id: int, status: str) -> None:
        super().__init__(
            f"Report {report_id} is {status}: items change only while it is a draft.",
            f"Laporan {report_id} berstatus {status}: rincian hanya dapat diubah saat draf.",
        )


class PeriodStartTooEarly(DateTooEarly):
    code = "period_start_too_early"
    field = "period_start"
    before_en = "the signing of the NPHD"
    before_id = "penandatanganan NPHD"


class ItemsRejected(InvalidInput):
    code = "items_rejected"

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(
            f"{len(errors)} item field(s) break the reporting rules; nothing was stored.",
            f"{len(errors)} isian rincian melanggar aturan pelaporan; tidak ada yang disimpan.",
            errors=errors,
        )


class InvalidHeader(InvalidInput):
    code = "invalid_header"

    def __init__(self, columns: tuple[str, ...], problems: list[str]) -> None:
        said = "; ".join(problems)
        super().__init__(
            f"The header must name the item fields ({', '.join(columns)}): {said}.",
            f"Tajuk berkas harus memuat nama kolom rincian: {said}.",
            errors=[FieldError(field="header", message=problem) for problem in problems],
        )


class ImportRejected(InvalidInput):
    """A file with bad rows: ``rows`` lists the first 100 of them cell by cell, ``bad_rows`` counts them all."""

    code = "import_rejected"

    def __init__(self, english: str, indonesian: str, rows: list[dict[str, Any]], bad_rows: int) -> None:
        super().__init__(
            english,
            indonesian,
            errors=[FieldError(field=_cell_name(row), message=row["message"]) for row in rows],
            extensions={"rows": rows, "bad_rows": bad_rows},
        )


def _cell_name(row: dict[str, Any]) -> str:
    """``rows[3].amount``, or ``rows[3]`` for a row that fails as a whole."""
    return f"rows[{row['row']}].{row['column']}" if row["column"] else f"rows[{row['row']}]"


class ImportEmpty(InvalidInput):
    code = "import_empty"

    def __init__(self) -> None:
        super().__init__("The file has no data rows.", "Berkas tidak memuat baris data.")
