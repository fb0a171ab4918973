"""The portal's words in Indonesian and English: names of the codes the records use, and each compliance
finding told as a sentence from its facts. Page text sits in the templates, both languages side by side."""

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


def describe(finding: Finding, fmt: Formatter, settings: Settings, labels: dict[str, str]) -> str:
    """The finding in one sentence of the page's language, from its facts; ``labels`` names stage and category
    codes."""
    tr = Texts(fmt.lang)
    facts = finding.facts
    due = fmt.date(finding.due_on)
    if finding.rule == Rule.tranche_late and facts.get("tranche") == 1:
        paid_on = _day(facts.get("first_paid_on"))
        signed = fmt.date(_day(facts.get("signed_on")))
        days = facts.get("working_days")
        if paid_on is None:
            return tr(
                f"Tahap I belum dicairkan, padahal jatuh tempo {due} ({days} hari kerja setelah NPHD ditandatangani"
                f" {signed}).",
                f"Tranche I has not been paid, though it was due on {due} ({days} working days after the NPHD was"
                f" signed on {signed}).",
            )
        return tr(
            f"Tahap I baru dicairkan {fmt.date(paid_on)}, padahal jatuh tempo {due} ({days} hari kerja setelah NPHD"
            f" ditandatangani {signed}).",
            f"Tranche I was first paid on {fmt.date(paid_on)}, though it was due on {due} ({days} working days after"
            f" the NPHD was signed on {signed}).",
        )
    if finding.rule == Rule.tranche_late:
        paid, amount = fmt.rupiah(_money(facts, "paid_by_due")), fmt.rupiah(_money(facts, "amount"))
        months = settings.tranche2_months_before_voting
        voting = fmt.date(_day(facts.get("voting_day")))
        return tr(
            f"Sampai {due} ({months} bulan sebelum pemungutan suara {voting}) baru {paid} dari {amount} yang"
            " dicairkan.",
            f"By {due} ({months} months before voting day, {voting}) only {paid} of {amount} had been paid.",
        )
    if finding.rule == Rule.tranche_short:
        amount, required, paid = (_money(facts, name) for name in ("amount", "required", "paid"))
        return tr(
            f"Tahap I hanya {fmt.rupiah(paid)} ({fmt.share(paid, amount)} dari NPHD) sampai {due}; minimal"
            f" {fmt.rupiah(required)} ({fmt.share(required, amount)}).",
            f"Tranche I was only {fmt.rupiah(paid)} ({fmt.share(paid, amount)} of the NPHD) by {due}; at least"
            f" {fmt.rupiah(required)} ({fmt.share(required, amount)}) was required.",
        )
    if finding.rule == Rule.final_report_overdue:
        submitted = _day(facts.get("final_report_submitted_on"))
        proposed = fmt.date(_day(facts.get("winner_proposed_on")))
        months = settings.report_months_after_winner
        when = (
            tr("belum diserahkan", "has not been submitted")
            if submitted is None
            else tr(f"baru diserahkan {fmt.date(submitted)}", f"was submitted only on {fmt.date(submitted)}")
        )
        return tr(
            f"Laporan akhir {when}; batasnya {due}, {months} bulan setelah pasangan calon terpilih diusulkan"
            f" ({proposed}).",
            f"The final report {when}; it was due on {due}, {months} months after the elected pair was proposed"
            f" ({proposed}).",
        )
    if finding.rule == Rule.refund_overdue:
        held, disbursed, spent, refunded = (
            fmt.rupiah(_money(facts, name)) for name in ("held", "disbursed", "spent_reported", "refunded")
        )
        return tr(
            f"{held} masih dipegang penerima setelah batas pengembalian {due} (dicairkan {disbursed}, dilaporkan"
            f" terpakai {spent}, dikembalikan {refunded}).",
            f"{held} is still held by the recipient after the refund deadline of {due} (disbursed {disbursed},"
            f" reported spent {spent}, refunded {refunded}).",
        )
    if finding.rule == Rule.over_budget_line:
        line = f"{labels.get(str(facts['stage']), facts['stage'])} / {labels.get(str(facts['category']), facts['category'])}"
        reported, budgeted, over = (fmt.rupiah(_money(facts, name)) for name in ("reported", "budgeted", "over_by"))
        return tr(
            f"Belanja {line} dilaporkan {reported}, melebihi anggarannya {budgeted} sebesar {over}.",
            f"Spending on {line} was reported at {reported}, {over} over its budget line of {budgeted}.",
        )
    refunded, unspent, difference = (fmt.rupiah(_money(facts, name)) for name in ("refunded", "unspent", "difference"))
    return tr(
        f"Dikembalikan {refunded}, sedangkan sisa dana {unspent} (selisih {difference}).",
        f"{refunded} was refunded while {unspent} was unspent (a difference of {difference}).",
    )
