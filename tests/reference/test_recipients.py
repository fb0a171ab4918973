"""Recipients (KPU, Bawaslu, Polri, TNI offices) and their grant accounts; bad bodies refused with no write."""

import httpx
import pytest

from tests.helpers import (
    LONG_NAME,
    NUL_NAME,
    RECIPIENT,
    Body,
    Refuses,
    World,
    assert_problem,
    changed,
    without,
)


def test_recipients(client: httpx.Client, admin: dict[str, str], region_35: None) -> None:
    kpu = {"name": "KPU Kota Probolinggo", "kind": "kpu", "region_code": "35.74", "bank_name": "Bank Jatim"}
    created = client.post("/recipients", json=kpu, headers=admin)
    assert created.status_code == 201
    assert_problem(client.post("/recipients", json=kpu, headers=admin), 409, "recipient_exists")
    recipient_id = created.json()["id"]
    updated = client.patch(f"/recipients/{recipient_id}", json={"account_number": "0011223344"}, headers=admin)
    assert updated.json()["account_number"] == "0011223344"
    assert client.get("/recipients", params={"kind": "kpu"}).json()["data"][0]["id"] == recipient_id
    assert client.get("/recipients", params={"kind": "tni"}).json()["data"] == []


RECIPIENT_CASES = [
    pytest.param(changed(RECIPIENT, name=1), 422, "validation_error", "name", id="name-is-a-number"),
    pytest.param(changed(RECIPIENT, kind=["kpu"]), 422, "validation_error", "kind", id="kind-is-a-list"),
    pytest.param(changed(RECIPIENT, region_code=35.74), 422, "validation_error", "region_code", id="region-float"),
    pytest.param(changed(RECIPIENT, bank_name=5), 422, "validation_error", "bank_name", id="bank-is-a-number"),
    pytest.param(
        changed(RECIPIENT, account_number=1234567890), 422, "validation_error", "account_number", id="account-int"
    ),
    pytest.param(without(RECIPIENT, "name"), 422, "validation_error", "name", id="name-missing"),
    pytest.param(without(RECIPIENT, "kind"), 422, "validation_error", "kind", id="kind-missing"),
    pytest.param(without(RECIPIENT, "region_code"), 422, "validation_error", "region_code", id="region-missing"),
    pytest.param(changed(RECIPIENT, id=3), 422, "validation_error", "id", id="extra-id"),
    pytest.param(changed(RECIPIENT, account={"bank": "BRI"}), 422, "validation_error", "account", id="extra-account"),
    pytest.param(changed(RECIPIENT, name=""), 422, "validation_error", "name", id="name-empty"),
    pytest.param(changed(RECIPIENT, name=" \t "), 422, "validation_error", "name", id="name-blank"),
    pytest.param(changed(RECIPIENT, name=LONG_NAME), 422, "validation_error", "name", id="name-201-chars"),
    pytest.param(changed(RECIPIENT, name=NUL_NAME), 422, "validation_error", "name", id="name-with-NUL"),
    pytest.param(changed(RECIPIENT, kind="kpud"), 422, "validation_error", "kind", id="kind-unknown"),
    pytest.param(changed(RECIPIENT, region_code="3"), 422, "validation_error", "region_code", id="region-3"),
    pytest.param(changed(RECIPIENT, region_code="35.100"), 422, "validation_error", "region_code", id="region-35.100"),
    pytest.param(changed(RECIPIENT, region_code="ab"), 422, "validation_error", "region_code", id="region-ab"),
    pytest.param(changed(RECIPIENT, region_code="36"), 422, "unknown_region", "region_code", id="region-unknown"),
    pytest.param(changed(RECIPIENT, name="KPU Kota Probolinggo"), 409, "recipient_exists", None, id="duplicate-name"),
    pytest.param(
        changed(RECIPIENT, name="  KPU Kota Probolinggo "), 409, "recipient_exists", None, id="duplicate-after-trim"
    ),
    pytest.param(changed(RECIPIENT, bank_name=""), 422, "validation_error", "bank_name", id="bank-empty"),
    pytest.param(changed(RECIPIENT, bank_name=NUL_NAME), 422, "validation_error", "bank_name", id="bank-NUL"),
    pytest.param(
        changed(RECIPIENT, account_holder=LONG_NAME), 422, "validation_error", "account_holder", id="holder-201"
    ),
    pytest.param(
        changed(RECIPIENT, account_holder=NUL_NAME), 422, "validation_error", "account_holder", id="holder-NUL"
    ),
    pytest.param(
        changed(RECIPIENT, account_number="12"), 422, "validation_error", "account_number", id="account-short"
    ),
    pytest.param(
        changed(RECIPIENT, account_number="abcd-1234"), 422, "validation_error", "account_number", id="acc-abc"
    ),
    pytest.param(
        changed(RECIPIENT, account_number="1234\u00005678"), 422, "validation_error", "account_number", id="acc-NUL"
    ),
    pytest.param(
        changed(RECIPIENT, account_number="1" * 40), 422, "validation_error", "account_number", id="account-40-digits"
    ),
]


@pytest.mark.parametrize(("body", "status", "code", "field"), RECIPIENT_CASES)
def test_recipient_create_refuses(refuses: Refuses, body: Body, status: int, code: str, field: str | None) -> None:
    refuses("POST", "/recipients", body, status, code, field)


RECIPIENT_UPDATE_CASES = [
    pytest.param({"name": None}, 422, "field_cannot_be_emptied", "name", id="name-null"),
    pytest.param({"name": ""}, 422, "validation_error", "name", id="name-empty"),
    pytest.param({"name": LONG_NAME}, 422, "validation_error", "name", id="name-201-chars"),
    pytest.param({"name": NUL_NAME}, 422, "validation_error", "name", id="name-with-NUL"),
    pytest.param({"name": "Bawaslu Kota Probolinggo"}, 409, "recipient_exists", None, id="name-taken"),
    pytest.param({"kind": "tni"}, 422, "validation_error", "kind", id="extra-kind"),
    pytest.param({"region_code": "35"}, 422, "validation_error", "region_code", id="extra-region_code"),
    pytest.param({"account_number": "rekening"}, 422, "validation_error", "account_number", id="account-a-word"),
    pytest.param({"bank_name": "  "}, 422, "validation_error", "bank_name", id="bank-blank"),
]


@pytest.mark.parametrize(("body", "status", "code", "field"), RECIPIENT_UPDATE_CASES)
def test_recipient_update_refuses(
    refuses: Refuses, world: World, body: Body, status: int, code: str, field: str | None
) -> None:
    refuses("PATCH", f"/recipients/{world.kpu_id}", body, status, code, field)
