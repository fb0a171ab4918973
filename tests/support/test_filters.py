"""GET /support, filtered: each filter keeps exactly the records of the atlas (tests/helpers.py) it names and drops
the decoys, expected sets written out by hand from the atlas's tables."""

import httpx
import pytest

from tests.helpers import Atlas, Headers, KeyMaker, atlas, atlas_support, ids_of


@pytest.fixture
def grants(client: httpx.Client, admin: Headers, make_key: KeyMaker) -> Atlas:
    return atlas(client, admin, make_key)


def test_each_support_filter_keeps_its_records_and_only_those(client: httpx.Client, grants: Atlas) -> None:
    s = atlas_support(client, grants)
    e, r = grants.elections, grants.recipients

    def these(*names: str) -> list[int]:
        return sorted(s[name] for name in names)

    assert ids_of(client.get("/support")) == these("kota", "bawaslu", "kab", "banten", "old")
    assert ids_of(client.get("/support", params={"kind": "asset_loan"})) == these("kota", "banten")
    assert ids_of(client.get("/support", params={"kind": "goods"})) == these("kab", "old")
    assert ids_of(client.get("/support", params={"outstanding": "true"})) == these("kota")
    assert ids_of(client.get("/support", params={"outstanding": "false"})) == these("bawaslu", "kab", "banten", "old")
    assert ids_of(client.get("/support", params={"region_code": "35.74"})) == these("kota", "bawaslu", "old")
    assert ids_of(client.get("/support", params={"province": "35"})) == these("kota", "bawaslu", "kab", "old")
    assert ids_of(client.get("/support", params={"province": "36"})) == these("banten")
    assert ids_of(client.get("/support", params={"election_id": e["mayor_2024"]})) == these("kota", "bawaslu")
    assert ids_of(client.get("/support", params={"recipient_id": r["kpu_3574"]})) == these("kota", "old")
    assert ids_of(client.get("/support", params={"recipient_kind": "bawaslu"})) == these("bawaslu")
    assert ids_of(client.get("/support", params={"status": "closed"})) == these("old")
    assert ids_of(client.get("/support", params={"status": "active"})) == these("kota", "bawaslu", "kab", "banten")
    assert ids_of(client.get("/support", params={"year": 2020})) == these("old")
    assert ids_of(client.get("/support", params={"kind": "asset_loan", "province": "36"})) == these("banten")
