"""Usage reports as they move the position: submit, accept, return, reopen, and closing the grant after them."""

import httpx

from tests.helpers import Grant, add, assert_problem, draft_report, item, money_headers, new_report, position, post_all


def test_full_cycle_to_close(
    client: httpx.Client, paid: Grant, recipient: dict[str, str], auditor: dict[str, str]
) -> None:
    report = new_report(client, paid, recipient, "final")
    assert add(client, report["id"], recipient, item("6000000"), item("2132000.50")).status_code == 201
    submitted = client.post(f"/usage-reports/{report['id']}/submit", headers=recipient)
    assert submitted.json()["status"] == "submitted"
    state = position(client, paid)
    assert (state["spent_reported"], state["spent_accepted"], state["held"]) == ("8132000.50", "0.00", "1867999.50")
    accepted = client.post(f"/usage-reports/{report['id']}/accept", json={"note": "sesuai"}, headers=auditor)
    assert accepted.json()["status"] == "accepted", accepted.text
    assert position(client, paid)["absorption"] == "0.8132"
    close_url = f"/agreements/{paid.agreement_id}/close"
    assert_problem(client.post(close_url, headers=paid.finance), 409, "funds_held")
    refund = {"amount": "1867999.50", "returned_on": "2025-05-07", "sts_number": "STS-1"}
    client.post(f"/agreements/{paid.agreement_id}/refunds", json=refund, headers=money_headers(paid.finance))
    closed = client.post(close_url, headers=paid.finance)
    assert closed.status_code == 200, closed.text
    assert position(client, paid)["held"] == "0.00"


def test_close_waits_for_an_accepted_final_report(client: httpx.Client, paid: Grant, recipient: dict[str, str]) -> None:
    report = draft_report(client, paid, recipient, item("10000000"))
    client.post(f"/usage-reports/{report['id']}/submit", headers=recipient)
    assert_problem(
        client.post(f"/agreements/{paid.agreement_id}/close", headers=paid.finance), 409, "report_under_review"
    )
    client.post(f"/usage-reports/{report['id']}/accept", headers=paid.finance)
    assert_problem(
        client.post(f"/agreements/{paid.agreement_id}/close", headers=paid.finance), 409, "final_report_required"
    )


def test_return_and_reopen(client: httpx.Client, paid: Grant, recipient: dict[str, str]) -> None:
    report = draft_report(client, paid, recipient, item())
    url = f"/usage-reports/{report['id']}"
    etag = client.post(f"{url}/submit", headers=recipient).headers["etag"]
    assert_problem(
        client.post(f"{url}/return", json={"note": "stale etag"}, headers={**paid.finance, "If-Match": '"x"'}),
        412,
        "etag_mismatch",
    )
    returned = client.post(
        f"{url}/return", json={"note": "Kuitansi TPS 001 tidak terbaca"}, headers={**paid.finance, "If-Match": etag}
    )
    assert returned.json()["status"] == "returned"
    assert returned.json()["review_note"] == "Kuitansi TPS 001 tidak terbaca"
    assert position(client, paid)["spent_reported"] == "0.00"
    assert_problem(add(client, report["id"], recipient, item()), 409, "report_not_draft")
    assert_problem(client.post(f"{url}/accept", headers=paid.finance), 409, "invalid_transition")
    assert client.post(f"/usage-reports/{report['id']}/reopen", headers=recipient).json()["status"] == "draft"
    assert add(client, report["id"], recipient, item()).status_code == 201


def test_spending_never_above_disbursed(client: httpx.Client, paid: Grant, recipient: dict[str, str]) -> None:
    report = draft_report(client, paid, recipient, item("10000000.01"))
    assert_problem(
        client.post(f"/usage-reports/{report['id']}/submit", headers=recipient), 409, "spending_exceeds_disbursed"
    )


def test_racing_submissions_cannot_pass_disbursed_together(
    server_address: str, client: httpx.Client, paid: Grant, recipient: dict[str, str]
) -> None:
    reports = [draft_report(client, paid, recipient, item("3000000")) for _ in range(8)]
    submits = [(f"/usage-reports/{report['id']}/submit", None, recipient) for report in reports]
    statuses = sorted(response.status_code for response in post_all(server_address, submits))
    assert statuses == [200] * 3 + [409] * 5
    assert position(client, paid)["spent_reported"] == "9000000.00"


def test_a_double_submit_counts_once(
    server_address: str, client: httpx.Client, paid: Grant, recipient: dict[str, str]
) -> None:
    report = draft_report(client, paid, recipient, item("3000000"))
    submits = [(f"/usage-reports/{report['id']}/submit", None, recipient)] * 6
    statuses = sorted(response.status_code for response in post_all(server_address, submits))
    assert statuses == [200] + [409] * 5
    assert position(client, paid)["spent_reported"] == "3000000.00"
