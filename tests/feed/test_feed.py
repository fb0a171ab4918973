"""The change feed: order and paging, who sees what, bad parameters."""

from typing import Any

import httpx

from tests.helpers import Grant, Headers, KeyMaker, assert_problem, created, draft_report, item, pay


def changes(client: httpx.Client, headers: Headers | None = None, **params: Any) -> dict[str, Any]:
    response = client.get("/changes", params=params, headers=headers or {})
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-cache"
    body: dict[str, Any] = response.json()
    return body


def summary(page: dict[str, Any]) -> list[tuple[int, str, str, str]]:
    return [(entry["seq"], entry["action"], entry["entity"], entry["entity_id"]) for entry in page["data"]]


def test_every_change_in_commit_order_page_by_page(client: httpx.Client, grant: Grant) -> None:
    created(pay(client, grant, "10000000", "SP2D-1", "2023-12-19"))
    created(pay(client, grant, "5000000", "SP2D-2", "2023-12-20"))
    aid = str(grant.agreement_id)

    first = changes(client, limit=3)
    assert summary(first) == [
        (1, "region.create", "region", "35"),
        (2, "region.create", "region", "35.74"),
        (3, "election.create", "election", str(grant.election_id)),
    ]
    assert first["next_cursor"] == "3"
    second = changes(client, after=first["next_cursor"], limit=3)
    assert summary(second) == [
        (4, "recipient.create", "recipient", str(grant.recipient_id)),
        (5, "agreement.create", "agreement", aid),
        (6, "disbursement.create", "disbursement", "1"),
    ]
    assert second["next_cursor"] == "6"
    third = changes(client, after=6, limit=3)
    assert summary(third) == [(7, "disbursement.create", "disbursement", "2")]
    assert third["data"][0]["data"] == {
        "agreement_id": grant.agreement_id,
        "tranche": 1,
        "amount": "5000000.00",
        "paid_on": "2023-12-20",
        "sp2d_number": "SP2D-2",
        "note": None,
    }
    assert third["next_cursor"] == "7"
    # At the head: nothing, and the cursor stays where it was.
    assert changes(client, after=7) == {"data": [], "next_cursor": "7"}
    assert changes(client, after=1000) == {"data": [], "next_cursor": "1000"}
    assert [entry["seq"] for entry in changes(client)["data"]] == [1, 2, 3, 4, 5, 6, 7]


ACCOUNT = {"bank_name": "Bank Jatim", "account_number": "0011223344", "account_holder": "Bendahara Bawaslu"}


def test_the_public_never_sees_account_numbers_payees_or_drafts(
    client: httpx.Client, grant: Grant, recipient: Headers, make_key: KeyMaker
) -> None:
    bawaslu = {"name": "Bawaslu Kota Probolinggo", "kind": "bawaslu", "region_code": "35.74", **ACCOUNT}
    bawaslu_id = created(client.post("/recipients", json=bawaslu, headers=grant.admin))  # seq 6
    report = draft_report(client, grant, recipient, item())  # seq 7 (report), 8 (its item)
    item_id = client.get(f"/usage-reports/{report['id']}/items", headers=recipient).json()["data"][0]["id"]
    patched = client.patch(
        f"/usage-items/{item_id}", json={"payee": "Budi", "document_number": "KW-002"}, headers=recipient
    )
    assert patched.status_code == 200, patched.text  # seq 9

    public = {entry["seq"]: entry for entry in changes(client, after=5)["data"]}
    assert sorted(public) == [6, 7, 8, 9]
    assert public[6]["data"] == {
        "name": "Bawaslu Kota Probolinggo",
        "kind": "bawaslu",
        "region_code": "35.74",
        "bank_name": "Bank Jatim",
        "account_number": None,
        "account_holder": None,
    }
    # A draft and its items are the recipient's until handed in: the public learns only that they changed.
    assert [(public[seq]["action"], public[seq]["data"]) for seq in (7, 8, 9)] == [
        ("usage_report.create", None),
        ("usage_item.add", None),
        ("usage_item.update", None),
    ]
    body = changes(client, after=5).__repr__()
    for secret in ("0011223344", "Bendahara Bawaslu", "KW-002", "Budi", "Siti Aminah"):
        assert secret not in body

    # The KPU's treasurer sees its own draft's changes, not the Bawaslu's account.
    own = {entry["seq"]: entry["data"] for entry in changes(client, recipient, after=5)["data"]}
    assert own[6] is not None and own[6]["account_number"] is None
    assert own[7] is not None and own[7]["kind"] == "interim"
    assert own[8] == {"items": 1, "total": "900000.00"}
    assert own[9] == {"document_number": "KW-002"}  # the payee is never written to the audit log
    # The Bawaslu's treasurer sees its own account, not the KPU's draft.
    theirs = {
        e["seq"]: e["data"] for e in changes(client, make_key("recipient", recipient_id=bawaslu_id), after=5)["data"]
    }
    assert theirs[6] is not None and theirs[6]["account_number"] == "0011223344"
    assert theirs[6]["account_holder"] == "Bendahara Bawaslu"
    assert [theirs[seq] for seq in (7, 8, 9)] == [None, None, None]
    # Finance and auditors see everything their reads show.
    for role in ("finance", "auditor"):
        seen = {e["seq"]: e["data"] for e in changes(client, make_key(role), after=5)["data"]}
        assert seen[6] is not None and seen[6]["account_number"] == "0011223344"
        assert seen[9] == {"document_number": "KW-002"}


def test_key_changes_are_for_admins_and_auditors(client: httpx.Client, admin: Headers, make_key: KeyMaker) -> None:
    made = client.post("/keys", json={"name": "BPK", "role": "auditor"}, headers=admin)
    assert made.status_code == 201, made.text
    [public] = changes(client)["data"]
    assert (public["action"], public["data"]) == ("api_key.create", None)
    [audited] = changes(client, make_key("auditor"))["data"]
    assert audited["data"] is not None and audited["data"]["name"] == "BPK"
    [financed] = changes(client, make_key("finance"))["data"]
    assert financed["data"] is None


def test_bad_parameters_are_problems(client: httpx.Client) -> None:
    for params in (
        {"after": "-1"},
        {"after": "x"},
        {"after": str(2**63)},
        {"limit": "0"},
        {"limit": "501"},
        {"wait": "31"},
        {"wait": "-1"},
        {"wait": "1.5"},
    ):
        response = client.get("/changes", params=params)
        assert_problem(response, 422, "validation_error", next(iter(params)))
    unknown = client.get("/changes", headers={"Authorization": "Bearer hibah_nope"})
    assert_problem(unknown, 401, "invalid_api_key", None)
