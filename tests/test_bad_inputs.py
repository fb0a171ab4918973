import base64, json
import httpx


def test_probe(client: httpx.Client, admin: dict[str, str], region_35: None) -> None:
    def show(r: httpx.Response) -> None:
        print(r.request.method, r.request.url, r.status_code, r.headers.get("content-type"), r.text[:400])

    show(client.get("/elections/2147483648"))
    show(client.get("/elections/9223372036854775807"))
    show(client.get("/recipients/2147483648"))
    show(client.get("/keys/2147483648", headers=admin))
    show(client.post("/keys/2147483648/revoke", headers=admin))
    show(client.patch("/elections/2147483648", json={"name": "x"}, headers=admin))
    show(client.patch("/recipients/2147483648", json={"name": "x"}, headers=admin))
    show(client.post("/keys", json={"name": "x", "role": "recipient", "recipient_id": 2147483648}, headers=admin))
    c = base64.urlsafe_b64encode(json.dumps(["\u0000"]).encode()).decode().rstrip("=")
    show(client.get("/regions", params={"cursor": c}))
    c = base64.urlsafe_b64encode(json.dumps([2**40]).encode()).decode().rstrip("=")
    show(client.get("/elections", params={"cursor": c}))
    c = base64.urlsafe_b64encode(json.dumps([2**70]).encode()).decode().rstrip("=")
    show(client.get("/elections", params={"cursor": c}))
    show(client.get("/keys", params={"cursor": c}, headers=admin))
    show(
        client.post(
            "/regions",
            content=b'{"code": "36", "name": "a\\ud800b"}',
            headers={**admin, "content-type": "application/json"},
        )
    )
    show(
        client.post("/regions/import", content=b"code,name\n36,a\x00b\n", headers={**admin, "content-type": "text/csv"})
    )
    show(client.post("/regions/import", content=b"", headers={**admin, "content-type": "text/csv"}))
    show(client.post("/regions/import", content=b"code,name\n", headers={**admin, "content-type": "text/csv"}))
    show(
        client.post(
            "/regions/import", content=b"code,name\n36,Banten\n", headers={**admin, "content-type": "application/json"}
        )
    )
    show(
        client.post(
            "/regions/import",
            content=b"code,name\n36,Banten,x\n36.01,Pandeglang,extra,columns\n",
            headers={**admin, "content-type": "text/csv"},
        )
    )
    show(
        client.post(
            "/regions", content=b'{"code": "36", "name": "Banten"}', headers={**admin, "content-type": "text/plain"}
        )
    )
    show(client.post("/regions", content=b'{"code": "36", "name": "Banten"}', headers={**admin}))
    show(
        client.post(
            "/regions",
            content=b'{"code": "36", "name": "Banten"',
            headers={**admin, "content-type": "application/json"},
        )
    )
    show(client.post("/regions", json=[], headers=admin))
    show(client.post("/regions", json=None, headers=admin))
    show(client.post("/regions", json={"code": "35.01", "name": "X", "level": "city"}, headers=admin))
    show(
        client.post(
            "/elections",
            json={
                "name": "X",
                "kind": "mayor",
                "region_code": "35.74",
                "voting_day": "2024-11-27",
                "winner_proposed_on": "2024-11-01",
            },
            headers=admin,
        )
    )
    show(client.post("/keys", json={"name": "x", "role": "recipient"}, headers=admin))
    show(client.post("/regions", json={"code": "36", "name": "Banten"}, headers={"Authorization": "Bearer"}))
    show(client.post("/regions", json={"code": "36", "name": "Banten"}, headers={"Authorization": "Basic xyz"}))
    show(client.post("/regions", json={"code": "36", "name": "Banten"}, headers={"Authorization": ""}))
    show(client.post("/regions", json={"code": "36", "name": "Banten"}, headers={"Authorization": "bearer x y"}))
    show(client.post("/regions", content=b"{bad", headers={"content-type": "application/json"}))
    show(client.delete("/regions/35"))
    show(client.put("/regions", json={}))
    show(client.get("/nope"))
    show(client.get("/regions/99", headers={"Accept-Language": "id"}))
    show(client.get("/keys/me"))
    show(client.get("/regions", params={"cursor": "!!!"}))
    show(client.get("/regions", params={"cursor": "\x00"}))
    show(client.get("/regions", params={"q": "\x00"}))
    show(
        client.post(
            "/elections",
            json={"name": "X", "kind": "mayor", "region_code": "35.74", "voting_day": "2024-11-27"},
            headers=admin,
        )
    )
    show(client.patch("/elections/1", json={"name": None}, headers=admin))
    show(client.patch("/elections/1", json={"voting_day": None}, headers=admin))
    show(client.patch("/elections/1", json={"winner_proposed_on": "2024-01-01"}, headers=admin))
    show(client.patch("/elections/1", json={}, headers=admin))
    show(client.post("/regions", json={"code": "36", "name": "Banten"}, headers={**admin, "Idempotency-Key": ""}))
    show(
        client.post("/regions", json={"code": "36", "name": "Banten"}, headers={**admin, "Idempotency-Key": "x" * 300})
    )
