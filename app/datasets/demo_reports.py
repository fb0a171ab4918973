"""The demo's spending: KPU and Bawaslu Kota Probolinggo report, are reviewed, refund and close.

KPU's figures are the real ones (DESIGN §1): Rp18,797,160,088 spent of Rp23,116,413,980 (81.32%), and
Rp4,319,253,892 returned on 2025-05-07. The split into lines is a plausible reconstruction: KPPS
honoraria at the Kep. KPU 472/2022 rates for 579 polling stations (chair Rp900,000, six members
Rp850,000 each), Linmas, PPK and PPS for 5 kecamatan and 29 kelurahan, then logistics, outreach and
operations. Bawaslu's spending and refund are figures of our choosing.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import col

from app.core.actor import OPERATOR, Actor, Role
from app.core.db import Transaction
from app.grants.models import Agreement
from app.ledger import service as ledger
from app.ledger.schemas import RefundCreate
from app.reference import service as reference
from app.reference.models import Election
from app.reference.schemas import ElectionUpdate
from app.reports import service as reports
from app.reports.models import ReportKind
from app.reports.schemas import ItemIn, ReportCreate

CENT = Decimal("0.01")
KECAMATAN = ("Kademangan", "Kedopok", "Wonoasih", "Mayangan", "Kanigaran")
POLLING_STATIONS = 579
KELURAHAN = 29
AUDITOR = Actor(role=Role.auditor)
# Assumed: no result dispute in Kota Probolinggo, so the elected pair was proposed in early
# February 2025; the real refund of 2025-05-07 then falls on the three-month deadline.
WINNER_PROPOSED_ON = date(2025, 2, 7)
SUBMITTED_AT = datetime(2025, 4, 21, 3, 0, tzinfo=UTC)
REVIEWED_AT = datetime(2025, 4, 30, 3, 0, tzinfo=UTC)
FIRST_NAMES = ("Siti", "Ahmad", "Dewi", "Budi", "Nur", "Agus", "Sri", "Hendra", "Lilik", "Moh.", "Rina", "Eko")
LAST_NAMES = ("Aminah", "Hidayat", "Lestari", "Santoso", "Hasanah", "Prasetyo", "Wahyuni", "Kurniawan", "Rahmawati")


@dataclass(frozen=True)
class Lump:
    """Spending booked in several lines of one stage and category."""

    stage: str
    category: str
    total: str
    lines: int
    spent_on: date
    description: str


def _person(seed: int) -> str:
    return f"{FIRST_NAMES[seed % len(FIRST_NAMES)]} {LAST_NAMES[(seed // len(FIRST_NAMES)) % len(LAST_NAMES)]}"


def _item(  # noqa: PLR0917 - each demo line reads as one row of values
    spent_on: date, stage: str, category: str, description: str, amount: Decimal, payee: str, doc: str
) -> ItemIn:
    return ItemIn(
        spent_on=spent_on,
        stage=stage,
        category=category,
        description=description,
        amount=amount,
        payee=payee,
        document_number=doc,
    )


def _split(total: Decimal, parts: int) -> list[Decimal]:
    share = (total / parts).quantize(CENT, rounding="ROUND_DOWN")
    return [share] * (parts - 1) + [total - share * (parts - 1)]


def _kpps_and_linmas() -> Iterator[ItemIn]:
    voting = date(2024, 11, 28)
    for station in range(1, POLLING_STATIONS + 1):
        where = f"TPS {station:03d} Kel. {station % KELURAHAN + 1:02d}"
        yield _item(
            voting,
            "pemungutan_suara",
            "honorarium_adhoc",
            f"Honorarium Ketua KPPS {where}",
            Decimal("900000"),
            _person(station * 7),
            f"KW-KPPS-{station:03d}-1",
        )
        for member in range(2, 8):
            yield _item(
                voting,
                "pemungutan_suara",
                "honorarium_adhoc",
                f"Honorarium Anggota KPPS {where}",
                Decimal("850000"),
                _person(station * 7 + member),
                f"KW-KPPS-{station:03d}-{member}",
            )
        for guard in (1, 2):
            yield _item(
                voting,
                "pemungutan_suara",
                "honorarium_adhoc",
                f"Honorarium Linmas {where}",
                Decimal("700000"),
                _person(station * 11 + guard),
                f"KW-LINMAS-{station:03d}-{guard}",
            )


def _ppk_pps_pantarlih() -> Iterator[ItemIn]:
    months = Decimal(11)
    for number, kecamatan in enumerate(KECAMATAN, start=1):
        for seat in range(1, 6):
            rate = Decimal("2500000") if seat == 1 else Decimal("2200000")
            role = "Ketua" if seat == 1 else "Anggota"
            yield _item(
                date(2025, 1, 31),
                "pembentukan_badan_adhoc",
                "honorarium_adhoc",
                f"Honorarium {role} PPK Kec. {kecamatan}, 11 bulan",
                rate * months,
                _person(number * 31 + seat),
                f"KW-PPK-{number}-{seat}",
            )
    for kelurahan in range(1, KELURAHAN + 1):
        for seat in range(1, 4):
            rate = Decimal("1500000") if seat == 1 else Decimal("1300000")
            role = "Ketua" if seat == 1 else "Anggota"
            yield _item(
                date(2025, 1, 31),
                "pembentukan_badan_adhoc",
                "honorarium_adhoc",
                f"Honorarium {role} PPS Kel. {kelurahan:02d}, 11 bulan",
                rate * months,
                _person(kelurahan * 13 + seat),
                f"KW-PPS-{kelurahan:02d}-{seat}",
            )
    for station in range(1, POLLING_STATIONS + 1):
        yield _item(
            date(2024, 7, 24),
            "data_pemilih",
            "honorarium_adhoc",
            f"Honorarium Pantarlih TPS {station:03d}",
            Decimal("1000000"),
            _person(station * 5 + 3),
            f"KW-PANTARLIH-{station:03d}",
        )


KPU_LUMPS = (
    Lump("sosialisasi", "sosialisasi", "1980000000", 40, date(2024, 9, 15), "Sosialisasi dan pendidikan pemilih"),
    Lump("logistik", "logistik", "3612500000", 25, date(2024, 11, 10), "Pengadaan dan distribusi logistik"),
    Lump("logistik", "percetakan", "1187250000", 12, date(2024, 10, 30), "Pencetakan surat suara dan formulir"),
    Lump("kampanye", "percetakan", "1540000000", 10, date(2024, 9, 25), "Alat peraga kampanye pasangan calon"),
    Lump("pencalonan", "rapat_konsumsi", "512000000", 8, date(2024, 8, 29), "Rapat pleno dan verifikasi pencalonan"),
    Lump("rekapitulasi", "rapat_konsumsi", "498750000", 6, date(2024, 12, 2), "Rapat pleno rekapitulasi"),
    Lump("pembentukan_badan_adhoc", "bimtek", "1012000000", 15, date(2024, 6, 20), "Bimbingan teknis badan ad hoc"),
    Lump(
        "pemungutan_suara",
        "santunan_kesehatan",
        "145000000",
        5,
        date(2024, 12, 10),
        "Santunan dan layanan kesehatan KPPS",
    ),
    Lump("dukungan_operasional", "perjalanan_dinas", "745600000", 24, date(2024, 10, 15), "Perjalanan dinas"),
)
KPU_SPENT = Decimal("18797160088.00")
KPU_REFUND = RefundCreate(
    amount=Decimal("4319253892.00"),
    returned_on=date(2025, 5, 7),
    sts_number="STS-3574-2025-05-00187",
    note="Pengembalian sisa dana hibah Pilkada 2024 ke RKUD",
)

BAWASLU_LUMPS = (
    Lump("pemungutan_suara", "honorarium_adhoc", "434250000", 1, date(2024, 11, 28), "Honorarium 579 Pengawas TPS"),
    Lump(
        "pembentukan_badan_adhoc", "honorarium_adhoc", "778800000", 1, date(2025, 1, 31), "Honorarium Panwascam dan PKD"
    ),
    Lump("kampanye", "rapat_konsumsi", "1250000000", 20, date(2024, 10, 20), "Pengawasan tahapan kampanye"),
    Lump("sosialisasi", "sosialisasi", "940000000", 15, date(2024, 8, 20), "Sosialisasi pengawasan partisipatif"),
    Lump("pembentukan_badan_adhoc", "bimtek", "620000000", 10, date(2024, 7, 10), "Bimbingan teknis pengawas ad hoc"),
    Lump("dukungan_operasional", "atk_operasional", "989290500", 12, date(2024, 12, 20), "Operasional sekretariat"),
)
BAWASLU_REFUND = RefundCreate(
    amount=Decimal("394712500.00"),
    returned_on=date(2025, 4, 28),
    sts_number="STS-3574-2025-04-00152",
    note="Pengembalian sisa dana hibah pengawasan Pilkada 2024",
)


def _lumps(lumps: tuple[Lump, ...], tag: str) -> Iterator[ItemIn]:
    for lump in lumps:
        for number, amount in enumerate(_split(Decimal(lump.total), lump.lines), start=1):
            yield _item(
                lump.spent_on,
                lump.stage,
                lump.category,
                f"{lump.description} ({number}/{lump.lines})",
                amount,
                f"Penyedia {tag} {number:02d}",
                f"SPJ-{tag}-{lump.category}-{number:02d}",
            )


def _kpu_items() -> list[ItemIn]:
    items = [*_kpps_and_linmas(), *_ppk_pps_pantarlih(), *_lumps(KPU_LUMPS, "KPU")]
    operations = KPU_SPENT - sum((item.amount for item in items), Decimal(0))
    items += list(
        _lumps(
            (
                Lump(
                    "dukungan_operasional",
                    "atk_operasional",
                    str(operations),
                    12,
                    date(2024, 12, 20),
                    "ATK dan operasional sekretariat",
                ),
            ),
            "KPU-OPS",
        )
    )
    return items


async def _agreement(tx: Transaction, number: str) -> Agreement:
    statement = sa.select(Agreement).where(col(Agreement.number) == number).execution_options(populate_existing=True)
    found = await tx.session.execute(statement)
    return found.scalar_one()


async def _report_cycle(tx: Transaction, agreement: Agreement, items: list[ItemIn], refund: RefundCreate) -> None:
    assert agreement.id is not None
    reporter = Actor(role=Role.recipient, recipient_id=agreement.recipient_id)
    report = await reports.create_report(
        tx,
        reporter,
        agreement.id,
        ReportCreate(
            kind=ReportKind.final,
            title="Laporan akhir penggunaan dana hibah Pilkada 2024",
            period_start=agreement.signed_on,
            period_end=date(2025, 2, 28),
        ),
    )
    assert report.id is not None
    for start in range(0, len(items), 1000):
        await reports.add_items(tx, reporter, report.id, items[start : start + 1000])
    # A reconstruction of 2025: date the review as it happened, not as the demo was loaded.
    await ledger.submit(tx, reporter, report.id, None, at=SUBMITTED_AT)
    await ledger.accept(tx, AUDITOR, report.id, None, "Diterima setelah verifikasi bukti", at=REVIEWED_AT)
    await ledger.refund(tx, OPERATOR, agreement.id, refund)
    await ledger.close(tx, OPERATOR, agreement.id, None)


async def load_reports(tx: Transaction) -> None:
    election = (await tx.session.execute(sa.select(Election).where(col(Election.region_code) == "35.74"))).scalar_one()
    assert election.id is not None
    await reference.update_election(
        tx, OPERATOR, election.id, ElectionUpdate(winner_proposed_on=WINNER_PROPOSED_ON), None
    )
    kpu = await _agreement(tx, "001/NPHD/KPU-3574/XII/2023")
    await _report_cycle(tx, kpu, _kpu_items(), KPU_REFUND)
    bawaslu = await _agreement(tx, "002/NPHD/BAWASLU-3574/II/2024")
    await _report_cycle(tx, bawaslu, list(_lumps(BAWASLU_LUMPS, "BWS")), BAWASLU_REFUND)
