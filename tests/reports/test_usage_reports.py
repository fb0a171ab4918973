"""Usage reports and their items: who may write them, what an item must be, and what the public sees."""

from typing import Any

import httpx
import psycopg

from tests.helpers import (
    Grant,
    KeyMaker,
    add,
    assert_problem,
    count,
    created,
    draft_report,
    in_parallel,
    item,
    new_report,
)


def test_recipients_write_only_their_own(
    client: httpx.Client, paid: Grant, recipient: dict[str, str], make_key: KeyMaker, admin: dict[str, str]
) -> None:
    other = created(
        client.post(
            "/recipients",
            json={"name": "Bawaslu Kota Probolinggo", "kind": "bawaslu", "region_code": "35.74"},
            headers=admin,
        )
    )
    stranger = make_key("recipient", recipient_id=other)
    body = {"kind": "interim", "title": "x", "period_start": "2024-01-01", "period_end": "2024-12-31"}
    assert_problem(
        client.post(f"/agreements/{paid.agreement_id}/usage-reports", json=body, headers=stranger),
        403,
        "not_your_report",
    )
    report = new_report(client, paid, recipient)
    assert_problem(add(client, report["id"], stranger, item()), 403, "not_your_report")
    add(client, report["id"], recipient, item())
    client.post(f"/usage-reports/{report['id']}/submit", headers=recipient)
    assert_problem(client.post(f"/usage-reports/{report['id']}/accept", headers=recipient), 403, "role_not_allowed")


def test_items_follow_the_rules(
    client: httpx.Client, paid: Grant, recipient: dict[str, str], db: psycopg.Connection[Any]
) -> None:
    report = new_report(client, paid, recipient)
    bad = add(
        client,
        report["id"],
        recipient,
        item(),
        item(spent_on="2026-01-01"),
        item(stage="pesta"),
        item(evidence_sha256="xyz"),
        item(amount="1.001"),
    )
    body = assert_problem(bad, 422, "validation_error")
    fields = {error["field"] for error in body["errors"]}
    assert fields == {"items.3.evidence_sha256", "items.4.amount"}
    rules = add(client, report["id"], recipient, item(), item(spent_on="2026-01-01"), item(stage="pesta"))
    body = assert_problem(rules, 422, "items_rejected")
    assert {error["field"] for error in body["errors"]} == {"items.1.spent_on", "items.2.stage"}
    assert count(db, "usage_item") == 0
    assert_problem(add(client, report["id"], recipient, *[item()] * 1001), 422, "validation_error")


def test_edit_and_delete_only_in_draft(client: httpx.Client, paid: Grant, recipient: dict[str, str]) -> None:
    report = draft_report(client, paid, recipient, item("100"), item("200"))
    items = client.get(f"/usage-reports/{report['id']}/items", headers=recipient).json()["data"]
    edited = client.patch(f"/usage-items/{items[0]['id']}", json={"amount": "150"}, headers=recipient)
    assert edited.json()["amount"] == "150.00"
    assert client.delete(f"/usage-items/{items[1]['id']}", headers=recipient).status_code == 204
    assert client.get(f"/usage-reports/{report['id']}", headers=recipient).json()["total"] == "150.00"
    client.post(f"/usage-reports/{report['id']}/submit", headers=recipient)
    assert_problem(
        client.patch(f"/usage-items/{items[0]['id']}", json={"amount": "1"}, headers=recipient), 409, "report_not_draft"
    )
    assert_problem(client.delete(f"/usage-items/{items[0]['id']}", headers=recipient), 409, "report_not_draft")


def test_public_never_sees_payees(
    client: httpx.Client, paid: Grant, recipient: dict[str, str], auditor: dict[str, str]
) -> None:
    report = draft_report(client, paid, recipient, item())
    assert_problem(client.get(f"/usage-reports/{report['id']}"), 404, "report_not_found")
    client.post(f"/usage-reports/{report['id']}/submit", headers=recipient)
    public = client.get(f"/usage-reports/{report['id']}/items").json()["data"][0]
    assert (public["payee"], public["document_number"]) == (None, None)
    assert public["amount"] == "900000.00"
    audited = client.get(f"/usage-reports/{report['id']}/items", headers=auditor).json()["data"][0]
    assert audited["payee"] == "Siti Aminah"


def test_racing_deletes_of_one_item_count_once(
    server_address: str, client: httpx.Client, paid: Grant, recipient: dict[str, str]
) -> None:
    report = draft_report(client, paid, recipient, item("100"), item("200"))
    first = client.get(f"/usage-reports/{report['id']}/items", headers=recipient).json()["data"][0]["id"]

    def delete(http: httpx.Client) -> httpx.Response:
        return http.delete(f"/usage-items/{first}", headers=recipient)

    statuses = sorted(response.status_code for response in in_parallel(server_address, [delete] * 6))
    assert statuses == [204] + [404] * 5
    shown = client.get(f"/usage-reports/{report['id']}", headers=recipient).json()
    assert (shown["total"], shown["item_count"]) == ("200.00", 1)
