"""GET /usage-reports/{id}/items, filtered by category, stage and spending dates, and paged: each filter keeps
exactly the items it names (expected items written out by hand)."""

import httpx

from tests.helpers import Grant, Headers, draft_report, item


def documents(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [row["document_number"] for row in response.json()["data"]]


def test_each_item_filter_keeps_only_its_items(client: httpx.Client, grant: Grant, recipient: Headers) -> None:
    report = draft_report(
        client,
        grant,
        recipient,
        item("100", spent_on="2024-01-10", document_number="KW-A"),
        item("200", spent_on="2024-06-15", category="logistik", stage="logistik", document_number="KW-B"),
        item("300", spent_on="2024-11-27", stage="kampanye", document_number="KW-C"),
        item("400", spent_on="2024-12-31", category="sewa", document_number="KW-D"),
    )
    url = f"/usage-reports/{report['id']}/items"
    assert documents(client.get(url, headers=recipient)) == ["KW-A", "KW-B", "KW-C", "KW-D"]
    assert documents(
        client.get(f"/usage-reports/{report['id']}/items", params={"category": "honorarium_adhoc"}, headers=recipient)
    ) == ["KW-A", "KW-C"]
    assert documents(
        client.get(f"/usage-reports/{report['id']}/items", params={"stage": "pemungutan_suara"}, headers=recipient)
    ) == ["KW-A", "KW-D"]
    # Both ends of a date range are in it.
    assert documents(
        client.get(f"/usage-reports/{report['id']}/items", params={"spent_from": "2024-06-15"}, headers=recipient)
    ) == ["KW-B", "KW-C", "KW-D"]
    assert documents(
        client.get(f"/usage-reports/{report['id']}/items", params={"spent_to": "2024-11-27"}, headers=recipient)
    ) == ["KW-A", "KW-B", "KW-C"]
    assert documents(
        client.get(
            f"/usage-reports/{report['id']}/items",
            params={"spent_from": "2024-06-15", "spent_to": "2024-11-27", "category": "logistik"},
            headers=recipient,
        )
    ) == ["KW-B"]
    first = client.get(f"/usage-reports/{report['id']}/items", params={"limit": 3}, headers=recipient)
    rest = client.get(
        f"/usage-reports/{report['id']}/items",
        params={"limit": 3, "cursor": first.json()["next_cursor"]},
        headers=recipient,
    )
    assert documents(first) + documents(rest) == ["KW-A", "KW-B", "KW-C", "KW-D"]
    assert rest.json()["next_cursor"] is None
