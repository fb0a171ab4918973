"""The ledger through the API: disbursements, reversals, refunds and closing, with KPU Probolinggo's real figures."""

from typing import Any

import httpx
import psycopg

from tests.helpers import (
    Grant,
    Headers,
    KeyMaker,
    assert_problem,
    count,
    draft_report,
    item,
    money_headers,
    pay,
    position,
)


def test_kpu_disbursements_and_position(client: httpx.Client, grant: Grant) -> None:
    assert pay(client, grant, "1300000000.00", "SP2D-1", "2023-12-19").status_code == 201
    assert pay(client, grant, "7946565592", "SP2D-2", "2024-01-26").status_code == 201
    assert pay(client, grant, "13869848388.00", "SP2D-3", "2024-06-14", tranche=2).status_code == 201
    state = position(client, grant)
    assert state["disbursed"] == "23116413980.00"
    assert state["undisbursed"] == "0.00"
    assert state["held"] == "23116413980.00"
    assert state["absorption"] == "0.0000"
    over = pay(client, grant, "0.01", "SP2D-4")
    body = assert_problem(over, 409, "over_disbursement")
    assert "Rp0.00" in str(body["detail"])


def test_over_disbursement_names_what_is_left(client: httpx.Client, grant: Grant, db: psycopg.Connection[Any]) -> None:
    assert pay(client, grant, "23000000000", "SP2D-A").status_code == 201
    over = pay(client, grant, "200000000", "SP2D-B")
    assert "Rp116413980.00" in str(assert_problem(over, 409, "over_disbursement")["detail"])
    assert count(db, "disbursement") == 1


def test_money_posts_require_an_idempotency_key(client: httpx.Client, grant: Grant) -> None:
    body = {"tranche": 1, "amount": "1000", "paid_on": "2024-01-10", "sp2d_number": "SP2D-X"}
    response = client.post(f"/agreements/{grant.agreement_id}/disbursements", json=body, headers=grant.finance)
    assert_problem(response, 428, "idempotency_key_required")


def test_who_you_are_is_answered_before_what_you_sent(client: httpx.Client, grant: Grant) -> None:
    """A money POST checks the key and its role (401, 403) before the Idempotency-Key (428, 422)."""
    body = {"tranche": 1, "amount": "1000", "paid_on": "2024-01-10", "sp2d_number": "SP2D-X"}
    path = f"/agreements/{grant.agreement_id}/disbursements"
    bad_key = {"Authorization": "Bearer not-a-key"}
    assert_problem(client.post(path, json=body), 401, "api_key_required")
    assert_problem(client.post(path, json=body, headers=bad_key), 401, "invalid_api_key")
    too_long = {**bad_key, "Idempotency-Key": "k" * 1000}
    assert_problem(client.post(path, json=body, headers=too_long), 401, "invalid_api_key")
    assert_problem(client.post(path, json=body, headers=grant.admin), 403, "role_not_allowed")
    long_for_finance = {**grant.finance, "Idempotency-Key": "k" * 1000}
    assert_problem(client.post(path, json=body, headers=long_for_finance), 422, "invalid_idempotency_key")


def test_disbursement_rules(client: httpx.Client, grant: Grant, db: psycopg.Connection[Any]) -> None:
    assert pay(client, grant, "1000", "SP2D-1").status_code == 201
    assert_problem(pay(client, grant, "1000", "SP2D-1"), 409, "sp2d_number_exists")
    assert_problem(pay(client, grant, "1000", "SP2D-2", paid_on="2023-12-03"), 422, "paid_on_too_early")
    assert_problem(pay(client, grant, "-5", "SP2D-3"), 422, "validation_error")
    assert_problem(pay(client, grant, "10.001", "SP2D-3"), 422, "validation_error")
    assert count(db, "disbursement") == 1


def test_money_records_cannot_be_edited(client: httpx.Client, grant: Grant) -> None:
    entry = pay(client, grant, "1000", "SP2D-1").json()
    for method in ("PUT", "PATCH", "DELETE"):
        response = client.request(method, f"/disbursements/{entry['id']}", headers=grant.finance)
        assert_problem(response, 405, "method_not_allowed")


def test_reversal_once_as_a_new_entry(client: httpx.Client, grant: Grant) -> None:
    entry = pay(client, grant, "1300000000", "SP2D-1").json()
    reversal_url = f"/disbursements/{entry['id']}/reversal"
    body = {"reversed_on": "2024-01-15", "reason": "SP2D diterbitkan ke rekening yang salah"}
    reversed_ = client.post(reversal_url, json=body, headers=money_headers(grant.finance))
    assert reversed_.status_code == 201, reversed_.text
    assert reversed_.json()["amount"] == "1300000000.00"
    assert_problem(client.post(reversal_url, json=body, headers=money_headers(grant.finance)), 409, "already_reversed")
    shown = client.get(f"/disbursements/{entry['id']}").json()
    assert shown["amount"] == "1300000000.00"
    assert shown["reversal"]["reason"] == body["reason"]
    assert position(client, grant)["disbursed"] == "0.00"
    assert pay(client, grant, "1300000000", "SP2D-2").status_code == 201


def test_refund_never_above_what_is_held(client: httpx.Client, grant: Grant, db: psycopg.Connection[Any]) -> None:
    pay(client, grant, "5000000", "SP2D-1")
    url = f"/agreements/{grant.agreement_id}/refunds"
    too_much = {"amount": "5000000.01", "returned_on": "2025-05-07", "sts_number": "STS-1"}
    assert_problem(client.post(url, json=too_much, headers=money_headers(grant.finance)), 409, "refund_exceeds_held")
    ok = client.post(url, json={**too_much, "amount": "4000000"}, headers=money_headers(grant.finance))
    assert ok.status_code == 201
    assert_problem(
        client.post(url, json={**too_much, "amount": "1"}, headers=money_headers(grant.finance)),
        409,
        "sts_number_exists",
    )
    state = position(client, grant)
    assert (state["refunded"], state["held"]) == ("4000000.00", "1000000.00")
    assert count(db, "refund") == 1


def test_reversal_cannot_take_back_refunded_money(client: httpx.Client, grant: Grant) -> None:
    entry = pay(client, grant, "1000000", "SP2D-1").json()
    client.post(
        f"/agreements/{grant.agreement_id}/refunds",
        json={"amount": "600000", "returned_on": "2024-02-01", "sts_number": "STS-1"},
        headers=money_headers(grant.finance),
    )
    response = client.post(
        f"/disbursements/{entry['id']}/reversal",
        json={"reversed_on": "2024-02-02", "reason": "salah bayar"},
        headers=money_headers(grant.finance),
    )
    assert_problem(response, 409, "reversal_exceeds_held")


def test_after_spending_is_reported_reversals_and_refunds_meet_only_what_is_held(
    client: httpx.Client, paid: Grant, recipient: Headers, auditor: Headers
) -> None:
    """Rp10,000,000 paid (one SP2D), Rp8,000,000 reported spent: Rp2,000,000 is held, so the payment can no
    longer be reversed and at most Rp2,000,000 refunded; once the report is returned, Rp10,000,000 is held again."""
    [payment] = client.get(f"/agreements/{paid.agreement_id}/disbursements").json()["data"]
    report = draft_report(client, paid, recipient, item("8000000"))
    assert client.post(f"/usage-reports/{report['id']}/submit", headers=recipient).status_code == 200
    assert position(client, paid)["held"] == "2000000.00"
    reversal = {"reversed_on": "2024-02-02", "reason": "salah bayar"}
    reversal_url = f"/disbursements/{payment['id']}/reversal"
    assert_problem(
        client.post(reversal_url, json=reversal, headers=money_headers(paid.finance)), 409, "reversal_exceeds_held"
    )
    refunds = f"/agreements/{paid.agreement_id}/refunds"
    too_much = {"amount": "2000000.01", "returned_on": "2025-05-07", "sts_number": "STS-1"}
    assert_problem(client.post(refunds, json=too_much, headers=money_headers(paid.finance)), 409, "refund_exceeds_held")
    exact = client.post(refunds, json={**too_much, "amount": "2000000"}, headers=money_headers(paid.finance))
    assert exact.status_code == 201, exact.text
    state = position(client, paid)
    assert (state["spent_reported"], state["refunded"], state["held"]) == ("8000000.00", "2000000.00", "0.00")
    returned = client.post(f"/usage-reports/{report['id']}/return", json={"note": "Kuitansi kurang"}, headers=auditor)
    assert returned.status_code == 200, returned.text
    assert position(client, paid)["held"] == "8000000.00"
    assert_problem(
        client.post(reversal_url, json=reversal, headers=money_headers(paid.finance)), 409, "reversal_exceeds_held"
    )


def test_finance_key_bound_to_a_region(
    client: httpx.Client, grant: Grant, make_key: KeyMaker, admin: dict[str, str]
) -> None:
    client.post("/regions", json={"code": "35.13", "name": "Kabupaten Probolinggo"}, headers=admin)
    elsewhere = make_key("finance", region_code="35.13")
    assert_problem(pay(client, grant, "1000", "SP2D-Z", key=elsewhere), 403, "outside_key_scope")
    own = make_key("finance", region_code="35.74")
    assert pay(client, grant, "1000", "SP2D-Z", key=own).status_code == 201


def test_only_finance_moves_money(client: httpx.Client, grant: Grant, auditor: dict[str, str]) -> None:
    assert_problem(pay(client, grant, "1000", "SP2D-Z", key=grant.admin), 403, "role_not_allowed")
    assert_problem(pay(client, grant, "1000", "SP2D-Z", key=auditor), 403, "role_not_allowed")
    assert_problem(pay(client, grant, "1000", "SP2D-Z", key={}), 401, "api_key_required")


def test_close_needs_nothing_held_and_an_accepted_final_report(client: httpx.Client, grant: Grant) -> None:
    pay(client, grant, "1000000", "SP2D-1")
    url = f"/agreements/{grant.agreement_id}/close"
    assert_problem(client.post(url, headers=grant.finance), 409, "funds_held")
    client.post(
        f"/agreements/{grant.agreement_id}/refunds",
        json={"amount": "1000000", "returned_on": "2025-05-07", "sts_number": "STS-1"},
        headers=money_headers(grant.finance),
    )
    assert_problem(client.post(url, headers=grant.finance), 409, "final_report_required")


def test_a_grant_that_never_paid_out_can_close(client: httpx.Client, grant: Grant) -> None:
    closed = client.post(f"/agreements/{grant.agreement_id}/close", headers=grant.finance)
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed"
    assert_problem(pay(client, grant, "1", "SP2D-2"), 409, "agreement_closed")


def test_a_refund_reads_back_by_its_id(client: httpx.Client, paid: Grant) -> None:
    body = {"amount": "2500000.50", "returned_on": "2025-05-07", "sts_number": "STS-77", "note": "sisa dana"}
    refund_id = client.post(
        f"/agreements/{paid.agreement_id}/refunds", json=body, headers=money_headers(paid.finance)
    ).json()["id"]
    shown = client.get(f"/refunds/{refund_id}")
    assert shown.status_code == 200, shown.text
    assert {key: shown.json()[key] for key in ("id", "agreement_id", *body)} == {
        "id": refund_id,
        "agreement_id": paid.agreement_id,
        "amount": "2500000.50",
        "returned_on": "2025-05-07",
        "sts_number": "STS-77",
        "note": "sisa dana",
    }
    assert_problem(client.get(f"/refunds/{refund_id + 1}"), 404)


def test_an_agreements_reports_are_listed_with_their_status_and_total(
    client: httpx.Client, paid: Grant, recipient: Headers, auditor: Headers
) -> None:
    submitted = draft_report(client, paid, recipient, item("3000000"), title="Tahap I")
    assert client.post(f"/usage-reports/{submitted['id']}/submit", headers=recipient).status_code == 200
    draft = draft_report(client, paid, recipient, item("1000000.25"), title="Tahap II")
    url = f"/agreements/{paid.agreement_id}/usage-reports"
    listed = client.get(url, headers=auditor)
    assert listed.status_code == 200, listed.text
    rows = [(row["id"], row["title"], row["status"], row["total"]) for row in listed.json()["data"]]
    assert rows == [
        (submitted["id"], "Tahap I", "submitted", "3000000.00"),
        (draft["id"], "Tahap II", "draft", "1000000.25"),
    ]
    public = [row["id"] for row in client.get(url).json()["data"]]
    assert public == [submitted["id"]], "drafts are the recipient's own until submitted"
