"""Support in kind over HTTP: records, lists and filters, ETags, a loan's return, a void, and every refusal."""

from typing import Any

import httpx
import psycopg
import pytest

from tests.helpers import Grant, KeyMaker, assert_problem, money_headers, nothing_written
from tests.support.conftest import loan, record


def test_a_loan_is_recorded_with_its_figures_and_audited(
    client: httpx.Client, grant: Grant, db: psycopg.Connection[Any]
) -> None:
    response = record(client, grant, loan(quantity="1.5", value=350000000))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["value"] == "350000000.00"
    assert body["quantity"] == "1.5"
    assert body["region_code"] == "35.74"
    assert body["province_code"] == "35"
    assert body["recipient_kind"] == "kpu"
    assert body["outstanding"] is True
    assert body["returned_on"] is None
    assert response.headers["Location"] == f"/api/v1/support/{body['id']}"
    assert response.headers["ETag"] == f'"support-{body["id"]}-v1"'
    stored = db.execute("SELECT value, quantity FROM support WHERE id = %s", (body["id"],)).fetchone()
    assert stored is not None and str(stored[0]) == "350000000.00" and str(stored[1]) == "1.5000"
    event = db.execute(
        "SELECT action, entity, entity_id, payload->>'value', payload->>'quantity' FROM audit_event"
        " WHERE entity = 'support' ORDER BY seq"
    ).fetchall()
    assert event == [("support.create", "support", str(body["id"]), "350000000.00", "1.5")]


def test_the_same_idempotency_key_replays_the_first_answer(
    client: httpx.Client, grant: Grant, db: psycopg.Connection[Any]
) -> None:
    headers = money_headers(grant.finance)
    body = {"election_id": grant.election_id, "recipient_id": grant.recipient_id, **loan()}
    first = client.post("/support", json=body, headers=headers)
    again = client.post("/support", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    row = db.execute("SELECT count(*) FROM support").fetchone()
    assert row == (1,)


def test_get_carries_an_etag_and_answers_304_to_it(client: httpx.Client, lent: dict[str, Any]) -> None:
    response = client.get(f"/support/{lent['id']}")
    assert response.status_code == 200
    assert response.json() == lent
    etag = response.headers["ETag"]
    assert etag == f'"support-{lent["id"]}-v1"'
    assert "Last-Modified" in response.headers
    assert client.get(f"/support/{lent['id']}", headers={"If-None-Match": etag}).status_code == 304


def test_list_filters_by_kind_region_recipient_and_outstanding(
    client: httpx.Client, grant: Grant, lent: dict[str, Any]
) -> None:
    office = record(
        client,
        grant,
        loan(kind="facility", description="Ruang kantor sekretariat", unit="m2", quantity=120, bast_number="BAST-F-1"),
    )
    assert office.status_code == 201, office.text
    office_id = office.json()["id"]

    def ids(query: str) -> list[int]:
        response = client.get(f"/support?{query}")
        assert response.status_code == 200, response.text
        return [row["id"] for row in response.json()["data"]]

    assert ids("") == [lent["id"], office_id]
    assert ids("kind=facility") == [office_id]
    assert ids("kind=asset_loan") == [lent["id"]]
    assert ids("outstanding=true") == [lent["id"]]
    assert ids("outstanding=false") == [office_id]
    assert ids("region_code=35.74&recipient_kind=kpu&year=2024") == [lent["id"], office_id]
    assert ids("recipient_kind=bawaslu") == []
    assert ids("year=2029") == []
    assert ids(f"election_id={grant.election_id}&recipient_id={grant.recipient_id}") == [lent["id"], office_id]
    assert ids("status=active") == [lent["id"], office_id]
    assert ids("status=closed") == []
    page = client.get("/support?limit=1").json()
    assert [row["id"] for row in page["data"]] == [lent["id"]]
    assert [row["id"] for row in client.get(f"/support?limit=1&cursor={page['next_cursor']}").json()["data"]] == [
        office_id
    ]


def test_a_loan_comes_back_once_with_its_own_bast(
    client: httpx.Client, grant: Grant, lent: dict[str, Any], db: psycopg.Connection[Any]
) -> None:
    path = f"/support/{lent['id']}/return"
    back = {"returned_on": "2025-02-28", "return_bast_number": "BAST-KEMBALI-001/2025"}
    response = client.post(path, json=back, headers={**grant.finance, "If-Match": f'"support-{lent["id"]}-v1"'})
    assert response.status_code == 200, response.text
    assert response.json()["returned_on"] == "2025-02-28"
    assert response.json()["return_bast_number"] == "BAST-KEMBALI-001/2025"
    assert response.json()["outstanding"] is False
    assert response.headers["ETag"] == f'"support-{lent["id"]}-v2"'
    assert client.get("/support?outstanding=true").json()["data"] == []
    actions = db.execute("SELECT action FROM audit_event WHERE entity = 'support' ORDER BY seq").fetchall()
    assert actions == [("support.create",), ("support.return",)]
    with nothing_written(db):
        again = client.post(path, json={**back, "return_bast_number": "BAST-LAIN"}, headers=grant.finance)
    assert_problem(again, 409, "already_returned")


def test_a_void_keeps_the_record_with_its_reason(
    client: httpx.Client, grant: Grant, lent: dict[str, Any], db: psycopg.Connection[Any]
) -> None:
    path = f"/support/{lent['id']}/void"
    response = client.post(path, json={"reason": "dicatat ganda"}, headers=grant.admin)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["void_reason"] == "dicatat ganda"
    assert body["voided_at"] is not None
    assert body["outstanding"] is False
    assert client.get(f"/support/{lent['id']}").json()["void_reason"] == "dicatat ganda"
    assert client.get("/support?outstanding=true").json()["data"] == []
    with nothing_written(db):
        twice = client.post(path, json={"reason": "lagi"}, headers=grant.admin)
        back = client.post(
            f"/support/{lent['id']}/return",
            json={"returned_on": "2025-02-28", "return_bast_number": "BAST-K"},
            headers=grant.finance,
        )
    assert_problem(twice, 409, "support_voided")
    assert_problem(back, 409, "support_voided")


# --- refusals: each leaves every table as it was ---------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "status", "code", "field"),
    [
        ({"value": "0"}, 422, "validation_error", "value"),
        ({"value": "-5"}, 422, "validation_error", "value"),
        ({"value": "1.001"}, 422, "validation_error", "value"),
        ({"value": 1.5}, 422, "validation_error", "value"),
        ({"value": "10000000000000000"}, 422, "validation_error", "value"),
        ({"quantity": 0}, 422, "validation_error", "quantity"),
        ({"quantity": "1.00001"}, 422, "validation_error", "quantity"),
        ({"quantity": 1.5}, 422, "validation_error", "quantity"),
        ({"quantity": "-1"}, 422, "validation_error", "quantity"),
        ({"kind": "money"}, 422, "validation_error", "kind"),
        ({"handed_over_on": "2024-02-30"}, 422, "validation_error", "handed_over_on"),
        ({"handed_over_on": "1999-12-31"}, 422, "validation_error", "handed_over_on"),
        ({"bast_number": "  "}, 422, "validation_error", "bast_number"),
        ({"description": ""}, 422, "validation_error", "description"),
        ({"election_id": 999}, 422, "unknown_party", "election_id"),
        ({"recipient_id": 999}, 422, "unknown_party", "recipient_id"),
    ],
)
def test_a_bad_record_is_refused(
    client: httpx.Client,
    grant: Grant,
    db: psycopg.Connection[Any],
    changes: dict[str, Any],
    status: int,
    code: str,
    field: str,
) -> None:
    with nothing_written(db):
        response = record(client, grant, loan(**changes))
    assert_problem(response, status, code, field)


def test_a_taken_bast_number_is_a_409(
    client: httpx.Client, grant: Grant, lent: dict[str, Any], db: psycopg.Connection[Any]
) -> None:
    with nothing_written(db):
        response = record(client, grant, loan(description="Lain"))
    assert_problem(response, 409, "bast_number_exists")


def test_a_recipient_outside_the_elections_region_is_refused(
    client: httpx.Client, grant: Grant, db: psycopg.Connection[Any]
) -> None:
    other = client.post("/regions", json={"code": "35.13", "name": "Kabupaten Probolinggo"}, headers=grant.admin)
    assert other.status_code == 201
    outside = client.post(
        "/recipients",
        json={"name": "KPU Kabupaten Probolinggo", "kind": "kpu", "region_code": "35.13"},
        headers=grant.admin,
    )
    with nothing_written(db):
        response = record(client, grant, loan(recipient_id=outside.json()["id"]))
    assert_problem(response, 422, "region_mismatch")


def test_keys_that_may_not_record_support(
    client: httpx.Client, grant: Grant, make_key: KeyMaker, lent: dict[str, Any], db: psycopg.Connection[Any]
) -> None:
    assert client.post("/regions", json={"code": "35.13", "name": "Kab. Probolinggo"}, headers=grant.admin).is_success
    elsewhere = make_key("finance", region_code="35.13")
    auditor = make_key("auditor")
    kpu = make_key("recipient", recipient_id=grant.recipient_id)
    body = {"election_id": grant.election_id, "recipient_id": grant.recipient_id, **loan(bast_number="BAST-X")}
    back = {"returned_on": "2025-02-28", "return_bast_number": "BAST-K"}
    with nothing_written(db):
        assert_problem(record(client, grant, loan(bast_number="BAST-X"), key=elsewhere), 403, "outside_key_scope")
        assert_problem(record(client, grant, loan(bast_number="BAST-X"), key=auditor), 403, "role_not_allowed")
        assert_problem(record(client, grant, loan(bast_number="BAST-X"), key=kpu), 403, "role_not_allowed")
        assert_problem(client.post("/support", json=body), 401, "api_key_required")
        assert_problem(client.post("/support", json=body, headers=grant.finance), 428, "idempotency_key_required")
        path = f"/support/{lent['id']}/return"
        assert_problem(client.post(path, json=back, headers=elsewhere), 403, "outside_key_scope")
        assert_problem(client.post(path, json=back, headers=auditor), 403, "role_not_allowed")
        void = f"/support/{lent['id']}/void"
        assert_problem(client.post(void, json={"reason": "salah"}, headers=elsewhere), 403, "outside_key_scope")
        assert_problem(client.post(void, json={"reason": "salah"}), 401, "api_key_required")


@pytest.mark.parametrize(
    ("back", "status", "code"),
    [
        ({"returned_on": "2024-06-02", "return_bast_number": "BAST-K"}, 422, "returned_on_too_early"),
        ({"returned_on": "2025-02-28", "return_bast_number": "BAST-PP-001/2024"}, 409, "return_bast_number_exists"),
        ({"returned_on": "2025-02-31", "return_bast_number": "BAST-K"}, 422, "validation_error"),
        ({"returned_on": "2025-02-28"}, 422, "validation_error"),
    ],
)
def test_a_bad_return_is_refused(
    client: httpx.Client,
    grant: Grant,
    lent: dict[str, Any],
    db: psycopg.Connection[Any],
    back: dict[str, Any],
    status: int,
    code: str,
) -> None:
    with nothing_written(db):
        response = client.post(f"/support/{lent['id']}/return", json=back, headers=grant.finance)
    assert_problem(response, status, code)


def test_only_a_loan_is_returned_and_a_stale_etag_is_412(
    client: httpx.Client, grant: Grant, lent: dict[str, Any], db: psycopg.Connection[Any]
) -> None:
    staff = record(
        client, grant, loan(kind="personnel", description="ASN diperbantukan", unit="orang", bast_number="BAST-P")
    )
    assert staff.status_code == 201
    back = {"returned_on": "2025-02-28", "return_bast_number": "BAST-K"}
    with nothing_written(db):
        not_loan = client.post(f"/support/{staff.json()['id']}/return", json=back, headers=grant.finance)
        stale = client.post(
            f"/support/{lent['id']}/return", json=back, headers={**grant.finance, "If-Match": '"support-1-v9"'}
        )
        missing = client.post("/support/999/return", json=back, headers=grant.finance)
    assert_problem(not_loan, 409, "not_a_loan")
    assert_problem(stale, 412, "etag_mismatch")
    assert_problem(missing, 404, "support_not_found")
    assert_problem(client.get("/support/999"), 404, "support_not_found")


def test_refusals_speak_indonesian(client: httpx.Client, grant: Grant, lent: dict[str, Any]) -> None:
    staff = record(client, grant, loan(kind="personnel", bast_number="BAST-P"))
    back = {"returned_on": "2025-02-28", "return_bast_number": "BAST-K"}
    response = client.post(
        f"/support/{staff.json()['id']}/return", json=back, headers={**grant.finance, "Accept-Language": "id"}
    )
    body = assert_problem(response, 409, "not_a_loan")
    assert body["detail"] == "Hanya pinjam pakai barang milik daerah yang dikembalikan; catatan ini berjenis personnel."
    taken = client.post(
        "/support",
        json={"election_id": grant.election_id, "recipient_id": grant.recipient_id, **loan()},
        headers={**money_headers(grant.finance), "Accept-Language": "id"},
    )
    assert assert_problem(taken, 409, "bast_number_exists")["detail"] == "BAST 'BAST-PP-001/2024' sudah tercatat."
