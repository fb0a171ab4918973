"""Two submitted usage reports of the demo's Polres agreement, for the reviewer passes of .ci/fuzz to accept
and return: prints their ids. Argv: the server's base URL and the Polres treasurer's key."""

import sys
import uuid

import httpx

ITEM = {
    "spent_on": "2024-11-27",
    "category": "honorarium_adhoc",
    "stage": "pemungutan_suara",
    "description": "Uang makan personel pengamanan TPS",
    "amount": "1500000",
    "payee": "Bripka Santoso",
    "document_number": "KW-PAM/TPS/2024",
    "evidence_sha256": "0" * 64,
}


def submitted_report(http: httpx.Client, agreement_id: int, title: str) -> int:
    report = http.post(
        f"/agreements/{agreement_id}/usage-reports",
        json={"kind": "interim", "title": title, "period_start": "2024-01-15", "period_end": "2024-12-31"},
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    report.raise_for_status()
    report_id: int = report.json()["id"]
    http.post(f"/usage-reports/{report_id}/items", json={"items": [ITEM]}).raise_for_status()
    http.post(f"/usage-reports/{report_id}/submit").raise_for_status()
    return report_id


def main() -> None:
    base, key = sys.argv[1], sys.argv[2]
    with httpx.Client(base_url=f"{base}/api/v1", headers={"Authorization": f"Bearer {key}"}, timeout=30) as http:
        agreement_id = http.get("/agreements", params={"recipient_id": 3}).json()["data"][0]["id"]
        to_accept = submitted_report(http, agreement_id, "Untuk diterima")
        to_return = submitted_report(http, agreement_id, "Untuk dikembalikan")
        print(to_accept, to_return)


if __name__ == "__main__":
    main()
