"""Usage reports: the workflow, items, privacy, the streamed import and spending against disbursed money."""

import hashlib
import json
from decimal import Decimal
from typing import Any

import httpx
import psycopg

from tests.helpers import (
    EVIDENCE,
    Grant,
    KeyMaker,
    add,
    assert_problem,
    count,
    created,
    draft_report,
    in_parallel,
    item,
    money_headers,
    new_report,
    position,
    post_all,
)

HEADER = "spent_on,category,stage,description,amount,payee,document_number,evidence_sha256\n"


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
    assert client.post(f"{url}/reopen", headers=recipient).json()["status"] == "draft"
    assert add(client, report["id"], recipient, item()).status_code == 201


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


def test_csv_import_all_or_nothing(
    client: httpx.Client, paid: Grant, recipient: dict[str, str], db: psycopg.Connection[Any]
) -> None:
    report = new_report(client, paid, recipient)
    url = f"/usage-reports/{report['id']}/items/import"
    good = HEADER + "".join(
        f'2024-11-27,honorarium_adhoc,pemungutan_suara,"Honorarium Anggota KPPS, TPS {n:03d}",850000,'
        f"Warga {n},KW-{n},{EVIDENCE}\n"
        for n in range(1, 251)
    )
    bad_lines = good.splitlines()
    bad_lines[3] = "2024-02-30,honorarium_adhoc,pemungutan_suara,x,850000,,,"
    bad_lines[7] = "2024-11-27,makan,pesta,,-5,,,nothex"
    rejected = client.post(url, content="\n".join(bad_lines) + "\n", headers={**recipient, "Content-Type": "text/csv"})
    body = assert_problem(rejected, 422, "import_rejected")
    assert body["bad_rows"] == 2
    rows = body["rows"]
    assert {(row["row"], row["column"]) for row in rows} == {
        (3, "spent_on"),
        (7, "amount"),
        (7, "category"),
        (7, "description"),
        (7, "evidence_sha256"),
        (7, "stage"),
    }
    assert count(db, "usage_item") == 0
    imported = client.post(url, content=good, headers={**recipient, "Content-Type": "text/csv"})
    assert imported.status_code == 201, imported.text
    result = imported.json()
    assert (result["rows"], result["total"]) == (250, "212500000.00")
    assert result["sha256"] == hashlib.sha256(good.encode()).hexdigest()
    assert result["report"]["item_count"] == 250
    event = db.execute("SELECT payload FROM audit_event WHERE action = 'usage_item.import'").fetchone()
    assert event is not None
    assert (event[0]["rows"], event[0]["sha256"]) == (250, result["sha256"])


def test_csv_header_and_shape_are_checked(
    client: httpx.Client, paid: Grant, recipient: dict[str, str], db: psycopg.Connection[Any]
) -> None:
    report = new_report(client, paid, recipient)
    url = f"/usage-reports/{report['id']}/items/import"
    csv_headers = {**recipient, "Content-Type": "text/csv"}
    assert_problem(client.post(url, content="spent_on,amount,colour\n", headers=csv_headers), 422, "invalid_header")
    ragged = "spent_on,category,stage,description,amount\n2024-11-27,logistik,logistik,x,1,extra\n"
    body = assert_problem(client.post(url, content=ragged, headers=csv_headers), 422, "import_rejected")
    assert body["rows"][0]["row"] == 1
    assert_problem(
        client.post(url, content="spent_on,category,stage,description,amount\n", headers=csv_headers),
        422,
        "import_empty",
    )
    assert_problem(client.post(url, content=b"\xff\xfe", headers=csv_headers), 422, "invalid_header")
    assert_problem(
        client.post(url, content="{}", headers={**recipient, "Content-Type": "application/pdf"}),
        415,
        "unsupported_media_type",
    )
    assert count(db, "usage_item") == 0


def test_ndjson_import(
    client: httpx.Client, paid: Grant, recipient: dict[str, str], db: psycopg.Connection[Any]
) -> None:
    report = new_report(client, paid, recipient)
    url = f"/usage-reports/{report['id']}/items/import"
    headers = {**recipient, "Content-Type": "application/x-ndjson"}
    lines = [json.dumps(item(str(100 + n))) for n in range(50)]
    broken = [
        *lines[:10],
        "not json",
        json.dumps({**item(), "colour": "red"}),
        json.dumps({**item(), "amount": True}),
        *lines[10:],
    ]
    body = assert_problem(client.post(url, content="\n".join(broken), headers=headers), 422, "import_rejected")
    assert body["bad_rows"] == 3
    assert [row["row"] for row in body["rows"]] == [11, 12, 13]
    imported = client.post(url, content="\n".join(lines) + "\n", headers=headers)
    assert imported.status_code == 201, imported.text
    assert imported.json()["rows"] == 50
    assert count(db, "usage_item") == 50


def test_budget_variance(
    client: httpx.Client, paid: Grant, recipient: dict[str, str], election_and_kpu: tuple[int, int]
) -> None:
    report = draft_report(
        client, paid, recipient, item("4000000"), item("1000000", stage="logistik", category="logistik")
    )
    client.post(f"/usage-reports/{report['id']}/submit", headers=recipient)
    variance = client.get(f"/agreements/{paid.agreement_id}/budget-variance").json()
    assert variance["reported"] == "5000000.00"
    assert variance["unbudgeted"] == "5000000.00"
    assert all(line["over_budget"] is False for line in variance["lines"])


def test_budget_variance_follows_a_returned_and_corrected_report(
    client: httpx.Client, paid: Grant, recipient: dict[str, str], db: psycopg.Connection[Any]
) -> None:
    """The breakdown is fixed at submission: a return, a correction and a new submission replace it."""
    report = draft_report(
        client, paid, recipient, item("4000000"), item("1000000", stage="logistik", category="logistik")
    )
    url = f"/usage-reports/{report['id']}"
    assert client.post(f"{url}/submit", headers=recipient).status_code == 200
    assert client.post(f"{url}/return", json={"note": "kuitansi kurang"}, headers=paid.finance).status_code == 200
    assert client.get(f"/agreements/{paid.agreement_id}/budget-variance").json()["reported"] == "0.00"
    assert client.post(f"{url}/reopen", headers=recipient).status_code == 200
    assert count(db, "usage_report_spend") == 0
    logistics = client.get(f"{url}/items", params={"stage": "logistik"}, headers=recipient).json()["data"][0]
    assert client.delete(f"/usage-items/{logistics['id']}", headers=recipient).status_code == 204
    add(client, report["id"], recipient, item("250000", stage="logistik", category="logistik"), item("500000"))
    assert client.post(f"{url}/submit", headers=recipient).status_code == 200
    variance = client.get(f"/agreements/{paid.agreement_id}/budget-variance").json()
    assert variance["reported"] == "4750000.00"
    spent = {(line["stage"], line["category"]): line["reported"] for line in variance["lines"]}
    assert spent == {("logistik", "logistik"): "250000.00", ("pemungutan_suara", "honorarium_adhoc"): "4500000.00"}
    rows = db.execute("SELECT sum(amount), sum(items) FROM usage_report_spend").fetchone()
    assert rows == (Decimal("4750000.00"), 3)


def test_a_double_submit_counts_once(
    server_address: str, client: httpx.Client, paid: Grant, recipient: dict[str, str]
) -> None:
    report = draft_report(client, paid, recipient, item("3000000"))
    submits = [(f"/usage-reports/{report['id']}/submit", None, recipient)] * 6
    statuses = sorted(response.status_code for response in post_all(server_address, submits))
    assert statuses == [200] + [409] * 5
    assert position(client, paid)["spent_reported"] == "3000000.00"


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


def test_ndjson_lines_that_are_too_long_or_too_deep_are_row_errors(
    client: httpx.Client, paid: Grant, recipient: dict[str, str]
) -> None:
    report = new_report(client, paid, recipient)
    lines = [
        json.dumps(item()),
        "[" * 100_000,
        json.dumps({**item(), "description": "x" * 70_000}),
        json.dumps({**item(), "payee": "a\u0000b"}),
    ]
    response = client.post(
        f"/usage-reports/{report['id']}/items/import",
        content="\n".join(lines),
        headers={**recipient, "Content-Type": "application/x-ndjson"},
    )
    body = assert_problem(response, 422, "import_rejected")
    assert body["bad_rows"] == 3
    assert [row["row"] for row in body["rows"]] == [2, 3, 4]


def test_an_import_retried_with_its_key_is_not_imported_twice(
    client: httpx.Client, paid: Grant, recipient: dict[str, str], db: psycopg.Connection[Any]
) -> None:
    report = new_report(client, paid, recipient)
    url = f"/usage-reports/{report['id']}/items/import"
    body = HEADER + f"2024-11-27,logistik,logistik,Kotak suara,1000,,,{EVIDENCE}\n"
    headers = {**recipient, "Content-Type": "text/csv", "Idempotency-Key": "upload-1"}
    first = client.post(url, content=body, headers=headers)
    again = client.post(url, content=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert count(db, "usage_item") == 1
