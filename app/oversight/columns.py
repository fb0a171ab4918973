"""The export columns, declared once: the CSV/XLSX exports take their headers (and order) from here, and the
Data Package's Table Schemas (``GET /exports/datapackage.json``) are written from the same declarations.

A column added here without its expression in app/oversight/exports.py, or the other way round, fails at the
first export (``Export.of``): the files and their description cannot drift apart.
"""

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from app.grants.models import AgreementStatus, Scheme
from app.oversight.schemas import Rule, Severity
from app.reference.models import RecipientKind
from app.reports.models import ReportStatus
from app.support.models import SupportKind


class Dataset(StrEnum):
    agreements = "agreements"
    disbursements = "disbursements"
    refunds = "refunds"
    usage_items = "usage-items"
    findings = "findings"
    support = "support"
    # A new export: its member here, its Table in TABLES below, its select in exports.py (Export.of); the data
    # package then lists it with no other change.


class Kind(StrEnum):
    """Table Schema field types the exports use."""

    integer = "integer"
    number = "number"
    string = "string"
    date = "date"
    datetime = "datetime"


class CodeList(StrEnum):
    """Published code lists, read from the database when the package is written (they can grow)."""

    category = "category"
    stage = "stage"


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    title_id: str
    title_en: str
    description_id: str = ""
    description_en: str = ""
    required: bool = False
    unique: bool = False
    minimum: int | Decimal | None = None
    maximum: int | None = None
    enum: tuple[str, ...] | None = None
    codes: CodeList | None = None
    pattern: str | None = None

    def table_schema_field(self, codes: dict[CodeList, list[str]]) -> dict[str, Any]:
        """The column as a Frictionless Table Schema field: Indonesian first, both languages beside it."""
        described: dict[str, Any] = {
            "name": self.name,
            "type": self.kind.value,
            "format": "default",
            "title": self.title_id,
            "description": self.description_id or self.title_id,
            "titles": {"id": self.title_id, "en": self.title_en},
            "descriptions": {"id": self.description_id or self.title_id, "en": self.description_en or self.title_en},
        }
        if self.kind == Kind.datetime:
            described["format"] = "any"  # PostgreSQL's text of a timestamptz: 2026-12-03 12:00:00.123+00
        if self.kind == Kind.number:
            described["decimalChar"] = "."
            described["bareNumber"] = True
        constraints: dict[str, Any] = {}
        if self.required:
            constraints["required"] = True
        if self.unique:
            constraints["unique"] = True
        if self.minimum is not None:
            constraints["minimum"] = self.minimum if isinstance(self.minimum, int) else float(self.minimum)
        if self.maximum is not None:
            constraints["maximum"] = self.maximum
        enum = list(self.enum) if self.enum is not None else codes.get(self.codes) if self.codes else None
        if enum is not None:
            constraints["enum"] = enum
        if self.pattern is not None:
            constraints["pattern"] = self.pattern
        if constraints:
            described["constraints"] = constraints
        return described


@dataclass(frozen=True)
class ForeignKey:
    fields: tuple[str, ...]
    resource: Dataset
    reference: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    dataset: Dataset
    title_id: str
    title_en: str
    description_id: str
    description_en: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = field(default_factory=tuple)

    @property
    def header(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    def kind_of(self, name: str) -> Kind:
        return next(column.kind for column in self.columns if column.name == name)


def _values(enum: type[StrEnum]) -> tuple[str, ...]:
    return tuple(member.value for member in enum)


CENT = Decimal("0.01")
MONEY_ID = "Rupiah, dua desimal dengan titik (23116413980.00)."
MONEY_EN = "Rupiah, two decimals with a point (23116413980.00)."
REGION_CODE = r"^[0-9]{2}(\.[0-9]{2})?$"


def _id(title_id: str, title_en: str) -> Column:
    return Column("id", Kind.integer, title_id, title_en, required=True, unique=True, minimum=1)


def _money(name: str, title_id: str, title_en: str, *, minimum: Decimal = CENT) -> Column:
    return Column(name, Kind.number, title_id, title_en, MONEY_ID, MONEY_EN, required=True, minimum=minimum)


AGREEMENT_ID = Column(
    "agreement_id", Kind.integer, "ID NPHD", "Agreement ID", "Merujuk agreements.id.", "Refers to agreements.id.",
    required=True, minimum=1,
)  # fmt: skip
AGREEMENT_NUMBER = Column("agreement_number", Kind.string, "Nomor NPHD", "Agreement (NPHD) number", required=True)
REGION = Column(
    "region_code", Kind.string, "Kode wilayah", "Region code",
    "Kode Kemendagri (35 provinsi, 35.74 kabupaten/kota).", "Kemendagri code (35 province, 35.74 regency/city).",
    required=True, pattern=REGION_CODE,
)  # fmt: skip
RECIPIENT_KIND = Column(
    "recipient_kind", Kind.string, "Jenis penerima", "Recipient kind", required=True, enum=_values(RecipientKind)
)
TO_AGREEMENTS = (ForeignKey(("agreement_id",), Dataset.agreements, ("id",)),)

AGREEMENTS = Table(
    Dataset.agreements,
    "Naskah Perjanjian Hibah Daerah (NPHD)",
    "Grant agreements (NPHD)",
    "Satu baris per NPHD, dengan posisi dananya saat ekspor.",
    "One row per grant agreement, with its money position at the time of export.",
    (
        _id("ID NPHD", "Agreement ID"),
        Column("number", Kind.string, "Nomor NPHD", "Agreement number", required=True, unique=True),
        Column("election_id", Kind.integer, "ID pemilihan", "Election ID", required=True, minimum=1),
        Column("recipient_id", Kind.integer, "ID penerima", "Recipient ID", required=True, minimum=1),
        REGION,
        Column("province_code", Kind.string, "Kode provinsi", "Province code", required=True, pattern=r"^[0-9]{2}$"),
        RECIPIENT_KIND,
        Column("signed_on", Kind.date, "Tanggal penandatanganan", "Signed on", required=True),
        Column("scheme", Kind.string, "Skema pencairan", "Disbursement scheme", required=True, enum=_values(Scheme)),
        Column("currency", Kind.string, "Mata uang", "Currency", required=True, enum=("IDR",)),
        _money("original_amount", "Nilai awal", "Original amount"),
        _money("amount", "Nilai (setelah adendum)", "Amount (after amendments)"),
        _money("disbursed", "Dicairkan (neto)", "Disbursed (net of reversals)", minimum=Decimal(0)),
        _money("spent_reported", "Belanja dilaporkan", "Spending reported", minimum=Decimal(0)),
        _money("spent_accepted", "Belanja diterima", "Spending accepted", minimum=Decimal(0)),
        _money("refunded", "Dikembalikan", "Refunded", minimum=Decimal(0)),
        Column("status", Kind.string, "Status", "Status", required=True, enum=_values(AgreementStatus)),
    ),
    primary_key=("id",),
)

DISBURSEMENTS = Table(
    Dataset.disbursements,
    "Pencairan (SP2D)",
    "Disbursements (SP2D)",
    "Satu baris per pencairan; pembatalan tercatat di reversed_on dan reversal_reason.",
    "One row per payment; a reversal shows in reversed_on and reversal_reason.",
    (
        _id("ID pencairan", "Disbursement ID"),
        AGREEMENT_ID,
        AGREEMENT_NUMBER,
        REGION,
        Column("tranche", Kind.integer, "Tahap", "Tranche", required=True, minimum=1, maximum=12),
        _money("amount", "Nilai", "Amount"),
        Column("paid_on", Kind.date, "Tanggal bayar", "Paid on", required=True),
        Column("sp2d_number", Kind.string, "Nomor SP2D", "SP2D number", required=True, unique=True),
        Column("reversed_on", Kind.date, "Tanggal pembatalan", "Reversed on"),
        Column("reversal_reason", Kind.string, "Alasan pembatalan", "Reversal reason"),
    ),
    primary_key=("id",),
    foreign_keys=TO_AGREEMENTS,
)

REFUNDS = Table(
    Dataset.refunds,
    "Pengembalian sisa dana (STS)",
    "Refunds (STS)",
    "Sisa dana yang dikembalikan ke kas daerah.",
    "Unspent money returned to the regional treasury.",
    (
        _id("ID pengembalian", "Refund ID"),
        AGREEMENT_ID,
        AGREEMENT_NUMBER,
        REGION,
        _money("amount", "Nilai", "Amount"),
        Column("returned_on", Kind.date, "Tanggal setor", "Returned on", required=True),
        Column("sts_number", Kind.string, "Nomor STS", "STS number", required=True, unique=True),
        Column("note", Kind.string, "Catatan", "Note"),
    ),
    primary_key=("id",),
    foreign_keys=TO_AGREEMENTS,
)

USAGE_ITEMS = Table(
    Dataset.usage_items,
    "Rincian laporan penggunaan",
    "Usage-report items",
    "Belanja per baris dari laporan yang sudah diajukan; penerima dan nomor dokumen kosong bagi publik.",
    "Spending line by line from submitted reports; payee and document number are empty for the public.",
    (
        _id("ID rincian", "Item ID"),
        Column("report_id", Kind.integer, "ID laporan", "Report ID", required=True, minimum=1),
        AGREEMENT_ID,
        REGION,
        Column(
            "report_status", Kind.string, "Status laporan", "Report status", required=True, enum=_values(ReportStatus)
        ),
        Column("spent_on", Kind.date, "Tanggal belanja", "Spent on", required=True),
        Column("category", Kind.string, "Kategori", "Category", required=True, codes=CodeList.category),
        Column("stage", Kind.string, "Tahapan", "Election stage", required=True, codes=CodeList.stage),
        Column("description", Kind.string, "Uraian", "Description"),
        _money("amount", "Nilai", "Amount"),
        Column(
            "payee",
            Kind.string,
            "Penerima pembayaran",
            "Payee",
            "Kosong bila pembaca tidak berhak melihatnya.",
            "Empty unless the reader may see it.",
        ),
        Column(
            "document_number",
            Kind.string,
            "Nomor bukti",
            "Document number",
            "Kosong bila pembaca tidak berhak melihatnya.",
            "Empty unless the reader may see it.",
        ),
        Column(
            "evidence_sha256",
            Kind.string,
            "SHA-256 bukti",
            "Evidence SHA-256",
            "64 digit heksadesimal.",
            "64 hex digits.",
            pattern=r"^[0-9a-f]{64}$",
        ),
    ),
    primary_key=("id",),
    foreign_keys=TO_AGREEMENTS,
)

FINDINGS = Table(
    Dataset.findings,
    "Temuan kepatuhan",
    "Compliance findings",
    "Dihitung dari catatan dan kalender pada tanggal as_of; satu aturan bisa ditemukan lebih dari sekali per NPHD.",
    "Computed from the records and the calendar as of as_of; a rule may be found more than once per agreement.",
    (
        Column("rule", Kind.string, "Aturan", "Rule", required=True, enum=_values(Rule)),
        Column("severity", Kind.string, "Tingkat", "Severity", required=True, enum=_values(Severity)),
        AGREEMENT_ID,
        AGREEMENT_NUMBER,
        REGION,
        RECIPIENT_KIND,
        Column("due_on", Kind.date, "Jatuh tempo", "Due on"),
        Column("regulation", Kind.string, "Dasar hukum", "Regulation", required=True),
        Column("facts", Kind.string, "Fakta", "Facts", "Pasangan kunci=nilai.", "key=value pairs.", required=True),
    ),
    foreign_keys=TO_AGREEMENTS,
)

SUPPORT = Table(
    Dataset.support,
    "Dukungan sarana dan prasarana",
    "Support in kind",
    "Barang, pinjam pakai aset, ruang, personel dan jasa dari Pemda; catatan batal tetap ada dengan alasannya.",
    "Goods, asset loans, space, staff and services from the Pemda; void records stay, with their reason.",
    (
        _id("ID dukungan", "Support ID"),
        Column("election_id", Kind.integer, "ID pemilihan", "Election ID", required=True, minimum=1),
        Column("recipient_id", Kind.integer, "ID penerima", "Recipient ID", required=True, minimum=1),
        REGION,
        Column("province_code", Kind.string, "Kode provinsi", "Province code", required=True, pattern=r"^[0-9]{2}$"),
        RECIPIENT_KIND,
        Column("kind", Kind.string, "Jenis dukungan", "Kind of support", required=True, enum=_values(SupportKind)),
        Column("description", Kind.string, "Uraian", "Description"),
        Column(
            "quantity",
            Kind.number,
            "Jumlah",
            "Quantity",
            "Banyaknya, dalam satuan unit.",
            "How many, in unit.",
            required=True,
        ),
        Column("unit", Kind.string, "Satuan", "Unit"),
        _money("value", "Nilai wajar", "Fair value"),
        Column("handed_over_on", Kind.date, "Tanggal serah terima", "Handed over on", required=True),
        Column("bast_number", Kind.string, "Nomor BAST", "Handover record (BAST) number", required=True, unique=True),
        Column("returned_on", Kind.date, "Tanggal pengembalian", "Returned on"),
        Column("return_bast_number", Kind.string, "Nomor BAST pengembalian", "Return BAST number", unique=True),
        Column("voided_at", Kind.datetime, "Dibatalkan pada", "Voided at"),
        Column("void_reason", Kind.string, "Alasan pembatalan", "Void reason"),
        Column("note", Kind.string, "Catatan", "Note"),
    ),
    primary_key=("id",),
)

TABLES: dict[Dataset, Table] = {
    table.dataset: table for table in (AGREEMENTS, DISBURSEMENTS, REFUNDS, USAGE_ITEMS, FINDINGS, SUPPORT)
}


@dataclass(frozen=True)
class Publication:
    """Who publishes the data and under what licence (from the settings)."""

    license_name: str
    license_title: str
    license_url: str
    publisher_name: str
    publisher_url: str
    publisher_email: str


def table_schema(table: Table, codes: dict[CodeList, list[str]]) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "fields": [column.table_schema_field(codes) for column in table.columns],
        "missingValues": [""],
    }
    if table.primary_key:
        schema["primaryKey"] = list(table.primary_key)
    if table.foreign_keys:
        schema["foreignKeys"] = [
            {"fields": list(key.fields), "reference": {"resource": key.resource.value, "fields": list(key.reference)}}
            for key in table.foreign_keys
        ]
    return schema


def data_package(
    publication: Publication, codes: dict[CodeList, list[str]], paths: dict[Dataset, str]
) -> dict[str, Any]:
    """A Frictionless (tabular) Data Package: one resource per CSV export, each with its Table Schema."""
    publisher: dict[str, str] = {"title": publication.publisher_name, "role": "publisher"}
    if publication.publisher_url:
        publisher["path"] = publication.publisher_url
    if publication.publisher_email:
        publisher["email"] = publication.publisher_email
    licence = {"name": publication.license_name, "title": publication.license_title}
    if publication.license_url:
        licence["path"] = publication.license_url
    return {
        "profile": "tabular-data-package",
        "name": "hibah-pilkada",
        "title": "Dana hibah Pilkada: NPHD, pencairan, laporan penggunaan, pengembalian, temuan",
        "description": (
            "Pilkada grant funds (dana hibah): agreements, disbursements, usage-report items, refunds and compliance"
            " findings, as the live CSV exports of this instance, with the filters of the request."
        ),
        "licenses": [licence],
        "contributors": [publisher],
        "resources": [
            {
                "profile": "tabular-data-resource",
                "name": table.dataset.value,
                "path": paths[dataset],
                "format": "csv",
                "mediatype": "text/csv",
                # The exports open with a byte-order mark, so that spreadsheets read them as UTF-8.
                "encoding": "utf-8-sig",
                "dialect": {"delimiter": ",", "doubleQuote": True, "header": True, "lineTerminator": "\n"},
                "title": table.title_id,
                "description": table.description_id,
                "titles": {"id": table.title_id, "en": table.title_en},
                "descriptions": {"id": table.description_id, "en": table.description_en},
                "schema": table_schema(table, codes),
            }
            for dataset, table in TABLES.items()
        ],
    }
