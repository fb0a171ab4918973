import httpx


def test_region_round_trip(client: httpx.Client, admin: dict[str, str], region_35: None) -> None:
    response = client.get("/regions/35.74")
    assert response.status_code == 200
    assert response.json()["parent_code"] == "35"
    assert response.headers["etag"] == '"region-35.74-v1"'
