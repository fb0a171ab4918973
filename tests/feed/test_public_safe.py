"""The public feed over demo-like data carries no payee, document number or account number, anywhere in its JSON.

The demo of Kota Probolinggo (its reports' items have payees and document numbers, its support records), then
through the API what the demo lacks: grant accounts set on its recipients and on a new one, a report of the
Polri's with items added, changed, deleted and imported, submitted and returned. Every private value written
(read back from the database, and those of the deleted item, which the database no longer holds) is searched
for in the raw bodies of the whole public feed, page by page."""

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import psycopg

from tests.helpers import EVIDENCE, KeyMaker, money_headers
from tests.portal.conftest import _load_demo

WRITTEN = {
    "account_number": ["0012345678901", "9876543210"],
    "account_holder": ["RPL 012 Bendahara Polres Probolinggo Kota", "Bendahara Panwas Kelurahan Jrebeng"],
    "payee": ["CV Sinar Mayangan Abadi", "Toko Percetakan Raharjo", "Warung Makan Bu Sulastri"],
    "document_number": ["KW-POLRI-0001/2024", "KW-POLRI-0002/2024", "NOTA/RJ/771/2024"],
}


def _item(payee: str, document: str, amount: str) -> dict[str, str]:
    return {
        "spent_on": "2024-11-26",
        "category": "atk_operasional",
        "stage": "dukungan_operasional",
        "description": "Konsumsi pengamanan TPS",
        "amount": amount,
        "payee": payee,
        "document_number": document,
        "evidence_sha256": EVIDENCE,
    }


def _public_feed(client: httpx.Client) -> tuple[str, int]:
    """Every raw body of the public feed from the start, and the number of entries."""
    bodies, after, entries = [], 0, 0
    while True:
        answer = client.get("/changes", params={"after": after, "limit": 500})
        assert answer.status_code == 200, answer.text
        bodies.append(answer.text)
        page = answer.json()
        entries += len(page["data"])
        if not page["data"]:
            return "\n".join(bodies), entries
        after = int(page["next_cursor"])


def test_the_public_feed_carries_no_private_value_of_the_demo(
    client: httpx.Client, database_url: str, db: psycopg.Connection[Any], make_key: KeyMaker
) -> None:
    with ThreadPoolExecutor(max_workers=1) as thread:
        thread.submit(asyncio.run, _load_demo(database_url)).result()
    admin = make_key("admin")
    recipients = dict(db.execute("SELECT kind, id FROM recipient").fetchall())
    agreements = dict(db.execute("SELECT recipient_kind, id FROM agreement").fetchall())

    accounts = WRITTEN["account_number"], WRITTEN["account_holder"]
    changed = client.patch(
        f"/recipients/{recipients['polri']}",
        json={"bank_name": "Bank Jatim", "account_number": accounts[0][0], "account_holder": accounts[1][0]},
        headers=admin,
    )
    assert changed.status_code == 200, changed.text
    panwas = {
        "name": "Panwaslu Kelurahan Jrebeng Kidul",
        "kind": "bawaslu",
        "region_code": "35.74",
        "bank_name": "Bank Jatim",
        "account_number": accounts[0][1],
        "account_holder": accounts[1][1],
    }
    made = client.post("/recipients", json=panwas, headers=admin)
    assert made.status_code == 201, made.text

    polri = make_key("recipient", recipient_id=recipients["polri"])
    report = client.post(
        f"/agreements/{agreements['polri']}/usage-reports",
        json={
            "kind": "interim",
            "title": "Laporan pengamanan",
            "period_start": "2024-01-15",
            "period_end": "2024-12-31",
        },
        headers=polri,
    )
    assert report.status_code == 201, report.text
    report_id = report.json()["id"]
    payees, documents = WRITTEN["payee"], WRITTEN["document_number"]
    added = client.post(
        f"/usage-reports/{report_id}/items",
        json={"items": [_item(payees[0], documents[0], "1500000"), _item(payees[1], "KW-TMP-1", "200000")]},
        headers=polri,
    )
    assert added.status_code == 201, added.text
    items = client.get(f"/usage-reports/{report_id}/items", headers=polri).json()["data"]
    by_payee = {item["payee"]: item["id"] for item in items}
    patched = client.patch(f"/usage-items/{by_payee[payees[0]]}", json={"document_number": documents[1]}, headers=polri)
    assert patched.status_code == 200, patched.text
    deleted = client.delete(f"/usage-items/{by_payee[payees[1]]}", headers=polri)  # its payee lives on only in the log
    assert deleted.status_code == 204, deleted.text
    csv = (
        "spent_on,category,stage,description,amount,payee,document_number,evidence_sha256\n"
        "2024-11-27,atk_operasional,dukungan_operasional,Makan siang personel,750000,"
        f"{payees[2]},{documents[2]},{EVIDENCE}\n"
    )
    imported = client.post(
        f"/usage-reports/{report_id}/items/import",
        content=csv,
        headers={**polri, "Content-Type": "text/csv", "Idempotency-Key": uuid.uuid4().hex},
    )
    assert imported.status_code == 201, imported.text
    submitted = client.post(f"/usage-reports/{report_id}/submit", headers=money_headers(polri))
    assert submitted.status_code == 200, submitted.text
    finance = make_key("finance")
    returned = client.post(
        f"/usage-reports/{report_id}/return", json={"note": "Lampiran kuitansi kurang"}, headers=finance
    )
    assert returned.status_code == 200, returned.text

    # Every private value the database holds, and what was written and has since gone (the deleted item).
    secrets: set[str] = {value for values in WRITTEN.values() for value in values} | {"KW-TMP-1"}
    for (value,) in db.execute(
        "SELECT payee FROM usage_item UNION SELECT document_number FROM usage_item"
        " UNION SELECT account_number FROM recipient UNION SELECT account_holder FROM recipient"
    ).fetchall():
        if value:
            secrets.add(value)
    demo_items = db.execute("SELECT count(*) FROM usage_item WHERE payee IS NOT NULL").fetchone()
    assert demo_items is not None and demo_items[0] > 10  # the demo's items are among them
    support = db.execute("SELECT count(*) FROM support").fetchone()
    assert support is not None and support[0] > 0

    body, entries = _public_feed(client)
    assert entries == db.execute("SELECT count(*) FROM audit_event").fetchone()[0]  # type: ignore[index]
    leaked = sorted(secret for secret in secrets if secret in body)
    assert leaked == []
    # The same search finds them where they may be seen (it is not blind): an auditor's feed carries the account
    # numbers and holders, and the document number the item's change recorded (adding and importing items record
    # their count and total only; the payee is never written to the audit log).
    auditor = make_key("auditor")
    seen = client.get("/changes", params={"after": 0, "limit": 500}, headers=auditor).text
    assert [secret for secret in [*accounts[0], *accounts[1], documents[1]] if secret not in seen] == []
