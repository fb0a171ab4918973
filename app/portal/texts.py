"""The portal's words in Indonesian and English: names of the codes the records use, and each compliance
finding told as a sentence from its facts. Page text sits in the templates, both languages side by side."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from app.core.config import Settings
from app.oversight.schemas import Finding, Rule
from app.portal.format import Formatter, Lang

Pair = tuple[str, str]

RECIPIENT_KINDS: dict[str, Pair] = {
    "kpu": ("KPU", "KPU (election commission)"),
    "bawaslu": ("Bawaslu", "Bawaslu (election supervisor)"),
    "polri": ("Polri", "Polri (police)"),
    "tni": ("TNI", "TNI (armed forces)"),
}
RECIPIENT_ORDER = tuple(RECIPIENT_KINDS)
SUPPORT_KINDS: dict[str, Pair] = {
    "goods": ("Hibah barang", "Goods granted"),
    "asset_loan": ("Pinjam pakai aset", "Asset on loan"),
    "facility": ("Tempat / sarana", "Premises"),
    "personnel": ("Personel", "Seconded staff"),
    "service": ("Layanan", "Services"),
}
LEVELS: dict[str, Pair] = {
    "province": ("Provinsi", "Province"),
    "regency": ("Kabupaten", "Regency"),
    "city": ("Kota", "City"),
}
ELECTION_KINDS: dict[str, Pair] = {
    "governor": ("Pemilihan gubernur", "Governor election"),
    "regent": ("Pemilihan bupati", "Regent election"),
    "mayor": ("Pemilihan wali kota", "Mayoral election"),
}
SCHEMES: dict[str, Pair] = {"staged": ("Bertahap", "In tranches"), "lump_sum": ("Sekaligus", "Lump sum")}
AGREEMENT_STATUSES: dict[str, Pair] = {"active": ("Berjalan", "Open"), "closed": ("Ditutup", "Closed")}
REPORT_KINDS: dict[str, Pair] = {
    "interim": ("Laporan sementara", "Interim report"),
    "final": ("Laporan akhir", "Final report"),
}
REPORT_STATUSES: dict[str, Pair] = {
    "draft": ("Draf", "Draft"),
    "submitted": ("Diserahkan, sedang direviu", "Submitted, under review"),
    "accepted": ("Diterima", "Accepted"),
    "returned": ("Dikembalikan untuk diperbaiki", "Returned for correction"),
}
AMENDMENT_REASONS: dict[str, Pair] = {
    "candidate_count_change": ("Perubahan jumlah pasangan calon", "Change in the number of candidate pairs"),
    "recount": ("Penghitungan suara ulang", "Recount"),
    "revote": ("Pemungutan suara ulang", "Revote"),
    "continued_election": ("Pemilihan lanjutan", "Continued election"),
    "follow_up_election": ("Pemilihan susulan", "Follow-up election"),
    "other": ("Lainnya", "Other"),
}
RULES: dict[str, Pair] = {
    Rule.tranche_late: ("Pencairan terlambat", "Tranche paid late"),
    Rule.tranche_short: ("Tahap I di bawah porsi minimum", "Tranche I below its minimum share"),
    Rule.final_report_overdue: ("Laporan akhir terlambat", "Final report overdue"),
    Rule.refund_overdue: ("Sisa dana belum dikembalikan", "Unspent money not returned"),
    Rule.over_budget_line: ("Belanja melebihi anggaran (RAB)", "Spending over its budget line"),
    Rule.refund_mismatch: ("Pengembalian tidak sama dengan sisa dana", "Refund does not match the unspent balance"),
    Rule.loan_not_returned: ("Barang pinjam pakai belum dikembalikan", "Lent asset not returned"),
}
SEVERITIES: dict[str, Pair] = {"high": ("Tinggi", "High"), "medium": ("Sedang", "Medium"), "low": ("Rendah", "Low")}
SEVERITY_ORDER = ("high", "medium", "low")


@dataclass(frozen=True)
class Texts:
    lang: Lang

    def __call__(self, indonesian: str, english: str) -> str:
        return indonesian if self.lang == "id" else english

    def label(self, table: dict[str, Pair], key: Any) -> str:
        pair = table.get(str(key))
        if pair is None:
            return str(key)
        return self(*pair)


def _money(facts: dict[str, Any], name: str) -> Decimal:
    return Decimal(str(facts[name]))


def _day(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


@dataclass(frozen=True)
class Telling:
    """What a finding's sentence is written with."""

    finding: Finding
    fmt: Formatter
    settings: Settings
    labels: dict[str, str]
    """Stage and category codes to their published labels."""

    @property
    def tr(self) -> Texts:
        return Texts(self.fmt.lang)

    @property
    def facts(self) -> dict[str, Any]:
        return self.finding.facts

    @property
    def due(self) -> str:
        return self.fmt.day(self.finding.due_on)

    def rupiah(self, name: str) -> str:
        return self.fmt.rupiah(_money(self.facts, name))

    def day(self, name: str) -> str:
        return self.fmt.day(_day(self.facts.get(name)))


def _tranche_late(told: Telling) -> str:
    tr, due = told.tr, told.due
    if told.facts.get("tranche") != 1:
        paid, amount, voting = told.rupiah("paid_by_due"), told.rupiah("amount"), told.day("voting_day")
        months = told.settings.tranche2_months_before_voting
        return tr(
            f"Sampai {due} ({months} bulan sebelum pemungutan suara {voting}) baru {paid} dari {amount} yang"
            " dicairkan.",
            f"By {due} ({months} months before voting day, {voting}) only {paid} of {amount} had been paid.",
        )
    signed, days = told.day("signed_on"), told.facts.get("working_days")
    if told.facts.get("first_paid_on") is None:
        return tr(
            f"Tahap I belum dicairkan, padahal jatuh tempo {due} ({days} hari kerja setelah NPHD ditandatangani"
            f" {signed}).",
            f"Tranche I has not been paid, though it was due on {due} ({days} working days after the NPHD was"
            f" signed on {signed}).",
        )
    paid_on = told.day("first_paid_on")
    return tr(
        f"Tahap I baru dicairkan {paid_on}, padahal jatuh tempo {due} ({days} hari kerja setelah NPHD"
        f" ditandatangani {signed}).",
        f"Tranche I was first paid on {paid_on}, though it was due on {due} ({days} working days after the NPHD"
        f" was signed on {signed}).",
    )


def _tranche_short(told: Telling) -> str:
    fmt, due = told.fmt, told.due
    amount, required, paid = (_money(told.facts, name) for name in ("amount", "required", "paid"))
    if told.facts.get("paid_by") is not None:
        # Begun late (its tranche_late finding says when): judged on all that was paid towards it.
        paid_by = told.day("paid_by")
        return told.tr(
            f"Tahap I, yang dicairkan terlambat, hanya {fmt.rupiah(paid)} ({fmt.share(paid, amount)} dari NPHD)"
            f" sampai {paid_by}; minimal {fmt.rupiah(required)} ({fmt.share(required, amount)}) paling lambat {due}.",
            f"Tranche I, paid late, came to only {fmt.rupiah(paid)} ({fmt.share(paid, amount)} of the NPHD) by"
            f" {paid_by}; at least {fmt.rupiah(required)} ({fmt.share(required, amount)}) was due by {due}.",
        )
    return told.tr(
        f"Tahap I hanya {fmt.rupiah(paid)} ({fmt.share(paid, amount)} dari NPHD) sampai {due}; minimal"
        f" {fmt.rupiah(required)} ({fmt.share(required, amount)}).",
        f"Tranche I was only {fmt.rupiah(paid)} ({fmt.share(paid, amount)} of the NPHD) by {due}; at least"
        f" {fmt.rupiah(required)} ({fmt.share(required, amount)}) was required.",
    )


def _final_report_overdue(told: Telling) -> str:
    tr, due = told.tr, told.due
    proposed, months = told.day("winner_proposed_on"), told.settings.report_months_after_winner
    if told.facts.get("final_report_submitted_on") is None:
        when = tr("belum diserahkan", "has not been submitted")
    else:
        submitted = told.day("final_report_submitted_on")
        when = tr(f"baru diserahkan {submitted}", f"was submitted only on {submitted}")
    return tr(
        f"Laporan akhir {when}; batasnya {due}, {months} bulan setelah pasangan calon terpilih diusulkan ({proposed}).",
        f"The final report {when}; it was due on {due}, {months} months after the elected pair was proposed"
        f" ({proposed}).",
    )


def _refund_overdue(told: Telling) -> str:
    held, disbursed, spent, refunded = (
        told.rupiah(name) for name in ("held", "disbursed", "spent_reported", "refunded")
    )
    return told.tr(
        f"{held} masih dipegang penerima setelah batas pengembalian {told.due} (dicairkan {disbursed}, dilaporkan"
        f" terpakai {spent}, dikembalikan {refunded}).",
        f"{held} is still held by the recipient after the refund deadline of {told.due} (disbursed {disbursed},"
        f" reported spent {spent}, refunded {refunded}).",
    )


def _over_budget_line(told: Telling) -> str:
    stage, category = str(told.facts["stage"]), str(told.facts["category"])
    line = f"{told.labels.get(stage, stage)} / {told.labels.get(category, category)}"
    reported, budgeted, over = (told.rupiah(name) for name in ("reported", "budgeted", "over_by"))
    return told.tr(
        f"Belanja {line} dilaporkan {reported}, melebihi anggarannya {budgeted} sebesar {over}.",
        f"Spending on {line} was reported at {reported}, {over} over its budget line of {budgeted}.",
    )


def _refund_mismatch(told: Telling) -> str:
    refunded, unspent, difference = (told.rupiah(name) for name in ("refunded", "unspent", "difference"))
    return told.tr(
        f"Dikembalikan {refunded}, sedangkan sisa dana {unspent} (selisih {difference}).",
        f"{refunded} was refunded while {unspent} was unspent (a difference of {difference}).",
    )


def _loan_not_returned(told: Telling) -> str:
    what, bast, value = str(told.facts["description"]), str(told.facts["bast_number"]), told.rupiah("value")
    handed = told.day("handed_over_on")
    if told.facts.get("returned_on") is None:
        when = told.tr("belum dikembalikan", "has not been returned")
    else:
        returned = told.day("returned_on")
        when = told.tr(f"baru dikembalikan {returned}", f"was returned only on {returned}")
    return told.tr(
        f"{what} (senilai {value}, BAST {bast}, diserahkan {handed}) {when}; batasnya {told.due}, saat laporan akhir"
        " jatuh tempo.",
        f"{what} (worth {value}, BAST {bast}, handed over {handed}) {when}; it was due back on {told.due}, when the"
        " final report fell due.",
    )


SENTENCES: dict[Rule, Callable[[Telling], str]] = {
    Rule.tranche_late: _tranche_late,
    Rule.tranche_short: _tranche_short,
    Rule.final_report_overdue: _final_report_overdue,
    Rule.refund_overdue: _refund_overdue,
    Rule.over_budget_line: _over_budget_line,
    Rule.refund_mismatch: _refund_mismatch,
    Rule.loan_not_returned: _loan_not_returned,
}


def describe(finding: Finding, fmt: Formatter, settings: Settings, labels: dict[str, str]) -> str:
    """The finding in one sentence of the page's language, from its facts."""
    return SENTENCES[finding.rule](Telling(finding, fmt, settings, labels))
