"""The published code lists of election stages and spending categories."""

import httpx


def test_code_lists_are_published(client: httpx.Client) -> None:
    stages = client.get("/codes/stages").json()["data"]
    categories = client.get("/codes/categories").json()["data"]
    assert stages[0]["code"] == "perencanaan"
    assert "pemungutan_suara" in {row["code"] for row in stages}
    assert "honorarium_adhoc" in {row["code"] for row in categories}
    assert all(row["label_id"] and row["label_en"] for row in stages + categories)
