"""The pages as HTTP: validators and a short cache like the API's public reads, a page kept until a write moves the
audit chain, gzip, HEAD, a strict Content-Security-Policy, and every bad address answered as a page with the API's
status, in the reader's language, changing nothing."""

import base64
import hashlib
import re
from typing import Any

import httpx
import psycopg
import pytest

from tests.helpers import Grant, created, money_headers, nothing_written, pay
from tests.portal.pages import get_page, table, visible_text


def test_etag_304_and_a_new_page_after_a_write(site: httpx.Client, grant: Grant, client: httpx.Client) -> None:
    first = site.get("/")
    assert first.status_code == 200
    etag = first.headers["etag"]
    assert re.fullmatch(r'W/"portal-[0-9a-f]{24}"', etag)
    assert first.headers["cache-control"] == "public, max-age=60"
    assert "Accept-Encoding" in first.headers["vary"]
    again = site.get("/", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    assert site.get("/", headers={"If-None-Match": '"something-else"'}).status_code == 200

    created(pay(client, grant, "1300000000", "SP2D-1", "2023-12-19"))
    after = site.get("/", headers={"If-None-Match": etag})
    assert after.status_code == 200, "the payment moved the audit chain: the kept page is not served again"
    assert after.headers["etag"] != etag
    provinces = table(after.text, "provinces")
    assert provinces["35"]["disbursed"] == "Rp1.300.000.000"


def test_gzip_and_identity_carry_the_same_page(site: httpx.Client, grant: Grant) -> None:
    zipped = site.get("/", headers={"Accept-Encoding": "gzip"})
    plain = site.get("/", headers={"Accept-Encoding": "identity"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert "content-encoding" not in plain.headers
    assert zipped.text == plain.text
    assert int(zipped.headers["content-length"]) < len(plain.content) / 3
    refused = site.get("/", headers={"Accept-Encoding": "gzip;q=0, identity"})
    assert "content-encoding" not in refused.headers


def test_head_answers_like_get_without_a_body(site: httpx.Client, grant: Grant) -> None:
    got = site.get(f"/nphd/{grant.agreement_id}")
    head = site.head(f"/nphd/{grant.agreement_id}")
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["etag"] == got.headers["etag"]


def test_the_one_stylesheet_is_the_only_thing_the_policy_admits(site: httpx.Client, grant: Grant) -> None:
    response = site.get("/")
    policy = response.headers["content-security-policy"]
    [style] = re.findall(r"<style>(.*?)</style>", response.text, flags=re.DOTALL)
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in policy
    assert "default-src 'none'" in policy and "script-src" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"


def test_an_empty_database_has_a_page_too(site: httpx.Client, database_url: str) -> None:
    text = visible_text(get_page(site, "/"))
    assert "Belum ada pemilihan" in text


BAD = [
    ("/nphd/999999", 404, "Tidak ada NPHD 999999"),
    ("/nphd/abc", 422, "agreement_id"),
    ("/nphd/0", 422, "agreement_id"),
    ("/nphd/99999999999", 422, "agreement_id"),
    ("/wilayah/99", 404, "Tidak ada wilayah dengan kode 99"),
    ("/wilayah/3", 422, "code"),
    ("/wilayah/35.7x", 422, "code"),
    ("/?tahun=1999", 422, "tahun"),
    ("/?tahun=2019", 404, "Tidak ada pemilihan pada tahun 2019"),
    ("/?tahun=abc", 422, "tahun"),
    ("/?lang=fr", 422, "lang"),
    ("/?urut=bogus", 422, "urut"),
    ("/wilayah/35?urut=DROP", 422, "urut"),
    ("/temuan?aturan=x", 422, "aturan"),
    ("/temuan?tingkat=x", 422, "tingkat"),
    ("/temuan?provinsi=3", 422, "provinsi"),
    ("/temuan?provinsi=99", 404, "Tidak ada wilayah dengan kode 99"),
    ("/temuan?halaman=0", 422, "halaman"),
    ("/temuan?tahun=2019", 404, "Tidak ada pemilihan pada tahun 2019"),
    ("/wilayah?q=" + "x" * 101, 422, "q"),
    ("/wilayah?q=a%00b", 422, "q"),
]


@pytest.mark.parametrize(("path", "status", "said"), BAD)
def test_a_bad_address_is_a_page_with_the_apis_status(
    site: httpx.Client, grant: Grant, db: psycopg.Connection[Any], path: str, status: int, said: str
) -> None:
    with nothing_written(db):
        response = site.get(path)
    assert response.status_code == status, response.text[:300]
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["cache-control"] == "no-store"
    text = visible_text(response.text)
    assert said in text
    assert "Traceback" not in response.text
    if "lang=" in path:
        return
    english = site.get(path + ("&" if "?" in path else "?") + "lang=en")
    assert english.status_code == status
    assert '<html lang="en">' in english.text


def test_search_takes_wildcards_literally(site: httpx.Client, grant: Grant) -> None:
    assert "Tidak ada daerah" in visible_text(get_page(site, "/wilayah?q=%25"))
    assert "Tidak ada daerah" in visible_text(get_page(site, "/wilayah?q=_"))


def test_a_reversed_payment_is_marked_and_leaves_the_net(
    site: httpx.Client, grant: Grant, client: httpx.Client
) -> None:
    first = created(pay(client, grant, "1300000000", "SP2D-1", "2023-12-19"))
    created(pay(client, grant, "500000000", "SP2D-2", "2024-01-05", 2))
    reversal = client.post(
        f"/disbursements/{first}/reversal",
        json={"reversed_on": "2023-12-20", "reason": "dibayar ke rekening yang salah"},
        headers=money_headers(grant.finance),
    )
    assert reversal.status_code == 201, reversal.text
    html = get_page(site, f"/nphd/{grant.agreement_id}")
    payments = table(html, "disbursements")
    assert payments[str(first)]["amount"] == "Rp1.300.000.000"
    assert "Dibatalkan 20 Desember 2023" in visible_text(html)
    assert "dibayar ke rekening yang salah" not in html, "a reversal's free-text reason stays in the API"
    assert table(html, "headline")["total"]["disbursed"] == "Rp500.000.000"
