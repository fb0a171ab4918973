"""What auditors, the Ministry and watchdogs come for: national summaries, compliance findings, export files."""

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.actor import Actor
from app.core.config import Settings
from app.core.db import Transaction
from app.grants.filters import AgreementFilter
from app.grants.rules import Figures
from app.oversight import exports, repository
from app.oversight.columns import CodeList, Publication, data_package
from app.oversight.exports import Dataset, Export, FileFormat, ItemFilter
from app.oversight.rules import TrancheDue, findings_of, tranche_dues
from app.oversight.schemas import DataPackage, Finding, GroupBy, Rule, Severity, Summary, SummaryRow, Totals
from app.reference import service as reference
from app.support.filters import SupportFilter

# --- summaries -----------------------------------------------------------------------------------


def _totals(values: dict[str, Any]) -> dict[str, Any]:
    figures = Figures(*(Decimal(values[name]) for name in repository.SUMMED))
    return {
        "agreements": int(values["agreements"]),
        "closed": int(values["closed"]),
        **{name: getattr(figures, name) for name in repository.SUMMED},
        "undisbursed": figures.undisbursed,
        "held": figures.held,
        "absorption": figures.absorption,
        "support_value": Decimal(values["support_value"]),
    }


async def summarise(tx: Transaction, group_by: GroupBy, where: AgreementFilter) -> Summary:
    keys, rows, total = await repository.summary_rows(tx.session, group_by, where)
    return Summary(
        group_by=group_by,
        data=[SummaryRow(**{key: row[key] for key in keys}, **_totals(row)) for row in rows],
        total=Totals(**_totals(total)),
    )


# --- findings ------------------------------------------------------------------------------------


async def findings(
    tx: Transaction,
    settings: Settings,
    where: AgreementFilter,
    *,
    as_of: date,
    rule: Rule | None = None,
    severity: Severity | None = None,
) -> list[Finding]:
    found = [
        finding
        for facts in await repository.facts(tx.session, where, as_of)
        for finding in findings_of(facts, settings, as_of)
    ]
    return [f for f in found if (rule is None or f.rule == rule) and (severity is None or f.severity == severity)]


@dataclass(frozen=True)
class Compliance:
    """One agreement's payment schedule under the regulation, and its findings."""

    dues: list[TrancheDue]
    findings: list[Finding]


async def compliance_of(
    tx: Transaction, settings: Settings, agreement_id: int, where: AgreementFilter, *, as_of: date
) -> Compliance | None:
    """The agreement's schedule and findings as of ``as_of`` (``None`` if it was not signed by then); ``where``
    narrows the records loaded to the ones it belongs to (its election and recipient)."""
    for facts in await repository.facts(tx.session, where, as_of):
        if facts.terms.id == agreement_id:
            return Compliance(tranche_dues(facts, settings), findings_of(facts, settings, as_of))
    return None


# --- exports -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportRequest:
    name: str
    """``agreements.csv``, ``usage-items.xlsx``, ..."""
    where: AgreementFilter
    items: ItemFilter
    as_of: date
    rule: Rule | None = None
    severity: Severity | None = None
    support: SupportFilter | None = None
    """The kind and ``outstanding`` of the support export (its other filters are ``where``)."""


@dataclass(frozen=True)
class ExportFile:
    body: AsyncIterator[bytes]
    media_type: str
    filename: str
    opened: exports.OpenExport
    """The slot and transaction the body reads from: the response gives them back however it ends."""


async def export(
    tx: Transaction,
    capacity: exports.ExportCapacity,
    settings: Settings,
    actor: Actor,
    wanted: ExportRequest,
    *,
    replica: AsyncEngine | None = None,
) -> ExportFile:
    """The file, ready to stream: the findings are computed now, every other dataset is read as it is sent, in a
    transaction of the exports' own capacity taken now, before the first byte (busy or unreachable: a 503)."""
    stem, _, suffix = wanted.name.partition(".")
    dataset, file_format = Dataset(stem), FileFormat(suffix)
    chosen: Export
    if dataset == Dataset.findings:
        found = await findings(
            tx, settings, wanted.where, as_of=wanted.as_of, rule=wanted.rule, severity=wanted.severity
        )
        chosen = exports.findings_export(found)
    elif dataset == Dataset.agreements:
        chosen = exports.agreements_export(wanted.where)
    elif dataset == Dataset.disbursements:
        chosen = exports.disbursements_export(wanted.where)
    elif dataset == Dataset.refunds:
        chosen = exports.refunds_export(wanted.where)
    elif dataset == Dataset.support:
        chosen = exports.support_export(wanted.support or SupportFilter(wanted.where))
    else:
        chosen = exports.usage_items_export(wanted.where, wanted.items, actor)
    opened = await capacity.open(replica)
    return ExportFile(
        body=exports.stream(opened, chosen, file_format, stem),
        media_type=exports.MEDIA_TYPES[file_format],
        filename=f"hibah-{wanted.name}",
        opened=opened,
    )


async def describe_exports(tx: Transaction, settings: Settings, path: Callable[[Dataset], str]) -> DataPackage:
    """The Data Package of the CSV exports: their Table Schemas with today's published codes, their live paths."""
    codes = {
        CodeList.category: [code.code for code in await reference.list_categories(tx)],
        CodeList.stage: [code.code for code in await reference.list_stages(tx)],
    }
    publication = Publication(
        license_name=settings.data_license_name,
        license_title=settings.data_license_title,
        license_url=settings.data_license_url,
        publisher_name=settings.publisher_name,
        publisher_url=settings.publisher_url,
        publisher_email=settings.publisher_email,
    )
    return DataPackage.model_validate(data_package(publication, codes, {dataset: path(dataset) for dataset in Dataset}))
