import httpx


def test_probe(client: httpx.Client, admin: dict[str, str], region_35: None) -> None:
    def show(r: httpx.Response) -> None:
        print(r.request.method, r.request.url, r.status_code, r.headers.get("content-type"), r.text[:300])
    csv = {**admin, "content-type": "text/csv"}
    show(client.post("/regions/import", content=b"code,name\n36,Banten\n35.70,X\n00,Y\n36.01,Z,\n", headers=csv))
    show(client.post("/regions/import", content=b"code,name,level\n36,Banten,city\n", headers=csv))
    show(client.post("/regions/import", content=b"code,name\r\n36,Banten\r\n", headers=csv))
    show(client.post("/regions/import", content=b'{"code": "36", "name": "Banten"}', headers={**admin, "content-type": "application/json"}))
    show(client.post("/regions", content=b"[" * 100000 + b"]" * 100000, headers={**admin, "content-type": "application/json"}))
    show(client.post("/regions", content=b'{"code": "36", "name": NaN}', headers={**admin, "content-type": "application/json"}))
    show(client.post("/keys", content=b'{"name": "x", "role": "recipient", "recipient_id": 1e309}', headers={**admin, "content-type": "application/json"}))
    show(client.post("/keys", json={"name": "x", "role": "recipient", "recipient_id": 1.5}, headers=admin))
    show(client.post("/regions", content=b'{"code": "36", "name": "A", "name": "B"}', headers={**admin, "content-type": "application/json"}))
    show(client.post("/regions", data={"code": "36", "name": "Banten"}, headers=admin))
    show(client.post("/regions", content=b"", headers={**admin, "content-type": "application/json"}))
    show(client.post("/regions", content=b"", headers=admin))
    show(client.post("/regions", json={"code": "36", "name": "Banten"}, headers={**admin, "Accept-Language": "id"}))
    show(client.post("/regions", json={"code": "36", "name": "Banten"}, headers={**admin, "Accept-Language": "id"}))
    show(client.post("/regions", json={"code": "37", "name": "x"}, headers={"Accept-Language": "id"}))
    show(client.put("/regions", json={"code": "37", "name": "x"}, headers={"Accept-Language": "id"}))
    show(client.get("/regions/import"))
    show(client.put("/regions/import"))
    show(client.get("/keys/1/revoke", headers=admin))
    show(client.get("/elections", params={"year": 1900}))
    show(client.get("/regions", params={"limit": "1.5"}))
    show(client.get("/regions", params={"limit": "0", "cursor": "zz"}))
    show(client.post("/elections", json={"name": "X", "kind": "mayor", "region_code": "35.74", "voting_day": 1732665600}, headers=admin))
    show(client.post("/elections", json={"name": "X", "kind": "mayor", "region_code": "35.74", "voting_day": "2024-11-27T00:00:00"}, headers=admin))
    big = b"code,name\n" + b"36,Banten\n" * (5 * 1024 * 1024 // 10 + 10)
    show(client.post("/regions/import", content=big, headers=csv))
    show(client.get("/regions"))
