"""A client generated from ``/openapi.json`` by a mainstream generator (openapi-python-client) works: it is
generated from the live test server's document and drives a real flow through it, typed end to end: an
agreement, a disbursement, a usage report with items, its submission, and the agreement's position."""

import datetime
import importlib
import subprocess
import sys
import uuid
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

from tests.helpers import EVIDENCE, KeyMaker, secret_of, system_tool

PACKAGE = "hibah_client"


@pytest.fixture(scope="module")
def generated(server_address: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    tool = system_tool("openapi-python-client")
    root = tmp_path_factory.mktemp("generated")
    subprocess.run(
        [
            tool,
            "generate",
            "--meta",
            "none",
            "--url",
            f"{server_address}/openapi.json",
            "--output-path",
            root / PACKAGE,
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(root))
        for name in [name for name in sys.modules if name == PACKAGE or name.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def operation(package: ModuleType, tag: str, name: str) -> Any:
    """The generated module of one operation: ``api/<tag>/<operationId>.py``."""
    return importlib.import_module(f"{package.__name__}.api.{tag}.{name}")


def test_a_generated_client_drives_a_grant_from_agreement_to_position(
    generated: ModuleType, server_address: str, make_key: KeyMaker
) -> None:
    models = importlib.import_module(f"{PACKAGE}.models")

    def keyed(role: str, **scope: Any) -> Any:
        return generated.AuthenticatedClient(base_url=server_address, token=secret_of(make_key(role, **scope)))

    admin, finance = keyed("admin"), keyed("finance")
    public = generated.Client(base_url=server_address)

    for code, name in (("35", "Jawa Timur"), ("35.74", "Kota Probolinggo")):
        region = operation(generated, "reference", "create_region").sync(
            client=admin, body=models.RegionCreate(code=code, name=name)
        )
        assert isinstance(region, models.RegionOut), region
    election = operation(generated, "reference", "create_election").sync(
        client=admin,
        body=models.ElectionCreate(
            name="Pilwali Probolinggo 2024",
            kind=models.ElectionKind.MAYOR,
            region_code="35.74",
            voting_day=datetime.date(2024, 11, 27),
        ),
    )
    kpu = operation(generated, "reference", "create_recipient").sync(
        client=admin,
        body=models.RecipientCreate(name="KPU Kota Probolinggo", kind=models.RecipientKind.KPU, region_code="35.74"),
    )
    assert isinstance(election, models.ElectionOut) and isinstance(kpu, models.RecipientOut)

    agreement = operation(generated, "grants", "create_agreement").sync(
        client=finance,
        body=models.AgreementCreate(
            number="NPHD-KPU-3574-2023",
            election_id=election.id,
            recipient_id=kpu.id,
            signed_on=datetime.date(2023, 12, 4),
            scheme=models.Scheme.STAGED,
            amount="23116413980.00",
        ),
    )
    assert isinstance(agreement, models.AgreementOut), agreement
    payment = operation(generated, "ledger", "disburse").sync(
        agreement.id,
        client=finance,
        body=models.DisbursementCreate(
            tranche=1, amount="1300000000", paid_on=datetime.date(2023, 12, 19), sp2d_number="SP2D-3574-2023-12-00871"
        ),
        idempotency_key=uuid.uuid4().hex,
    )
    assert isinstance(payment, models.DisbursementOut), payment

    treasurer = keyed("recipient", recipient_id=kpu.id)
    report = operation(generated, "reports", "create_report").sync(
        agreement.id,
        client=treasurer,
        body=models.ReportCreate(
            kind=models.ReportKind.INTERIM,
            title="Laporan tahap I",
            period_start=datetime.date(2023, 12, 4),
            period_end=datetime.date(2024, 12, 31),
        ),
    )
    assert isinstance(report, models.ReportOut), report
    lines = [
        models.ItemIn(
            spent_on=datetime.date(2024, 11, 27),
            category="honorarium_adhoc",
            stage="pemungutan_suara",
            description=f"Honorarium KPPS TPS {tps:03d} Kel. Mayangan",
            amount="6300000.00",
            payee=f"Ketua KPPS TPS {tps:03d}",
            document_number=f"KW-{tps:03d}/KPPS/2024",
            evidence_sha256=EVIDENCE,
        )
        for tps in range(1, 4)
    ]
    added = operation(generated, "reports", "add_items").sync(
        report.id, client=treasurer, body=models.ItemBatch(items=lines)
    )
    assert isinstance(added, models.ItemsAdded), added
    assert added.added == 3
    submitted = operation(generated, "ledger", "submit").sync(report.id, client=treasurer)
    assert isinstance(submitted, models.ReportOut), submitted
    assert submitted.status == models.ReportStatus.SUBMITTED

    position = operation(generated, "grants", "get_position").sync(agreement.id, client=public)
    assert isinstance(position, models.Position), position
    # 1,300,000,000 paid; 3 x 6,300,000 = 18,900,000 reported: figures written out, not read back from the app.
    assert (position.disbursed, position.spent_reported, position.held) == (
        "1300000000.00",
        "18900000.00",
        "1281100000.00",
    )

    again = operation(generated, "ledger", "disburse").sync_detailed(
        agreement.id,
        client=finance,
        body=models.DisbursementCreate(
            tranche=2, amount="1", paid_on=datetime.date(2024, 6, 1), sp2d_number="SP2D-3574-2023-12-00871"
        ),
        idempotency_key=uuid.uuid4().hex,
    )
    assert again.status_code == 409
    assert isinstance(again.parsed, models.Problem)
    assert again.parsed.code == "sp2d_number_exists"
