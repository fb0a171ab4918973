"""Each page of the demo, read over HTTP as a citizen's browser reads it: KPU Kota Probolinggo's real figures
(DESIGN §1: Rp23,116,413,980 granted, 81.32% absorbed, Rp4,319,253,892 returned) as Indonesians write them,
in English under ?lang=en, the payment schedule judged as the regulation says, and nothing private."""

import re
from typing import Any

import httpx
import psycopg

from tests.portal.pages import get_page, table, visible_text

GRANTED, ABSORBED, REFUNDED = "Rp23.116.413.980", "81,32%", "Rp4.319.253.892"
GRANTED_EN, ABSORBED_EN, REFUNDED_EN = "Rp23,116,413,980", "81.32%", "Rp4,319,253,892"


def test_every_page_shows_kpu_probolinggo_as_indonesians_write_it(site: httpx.Client, demo: dict[str, int]) -> None:
    kpu = demo["kpu"]
    for path in ("/", "/wilayah/35.74", f"/nphd/{kpu}"):
        text = visible_text(get_page(site, path))
        for figure in (GRANTED, ABSORBED, REFUNDED):
            assert figure in text, (path, figure)
    # The province sums its regions: the city's four grants (23,116,413,980 + 5,407,053,000 + 2,450,000,000 +
    # 850,000,000), of which 4,319,253,892 + 394,712,500 were returned.
    province = visible_text(get_page(site, "/wilayah/35"))
    assert "Rp31.823.466.980" in province and "Rp4.713.966.392" in province
    grant = visible_text(get_page(site, f"/nphd/{kpu}"))
    assert "Rp18.797.160.088" in grant  # reported spending
    assert "7 Mei 2025" in grant  # the refund's day
    assert "4 Desember 2023" in grant  # signed


def test_english_pages_use_english_separators(site: httpx.Client, demo: dict[str, int]) -> None:
    text = visible_text(get_page(site, f"/nphd/{demo['kpu']}?lang=en"))
    for figure in (GRANTED_EN, ABSORBED_EN, REFUNDED_EN, "7 May 2025", "Grant to KPU Kota Probolinggo"):
        assert figure in text, figure
    home = get_page(site, "/?lang=en")
    assert '<html lang="en">' in home
    assert 'href="/wilayah/35?lang=en"' in home, "links keep the reader's language"


def test_kpu_tranche_one_is_marked_short_under_its_regulation(site: httpx.Client, demo: dict[str, int]) -> None:
    html = get_page(site, f"/nphd/{demo['kpu']}")
    dues = table(html, "dues")
    # Signed Monday 2023-12-04; 14 working days later is Friday 2023-12-22 (no holiday between). Tranche II was due
    # five months before voting day (2024-11-27): 2024-06-27, and was paid in full by 2024-06-14.
    assert dues["1"]["assessment"] == "Kurang dari minimum"
    assert dues["2"]["assessment"] == "Sesuai ketentuan"
    text = visible_text(html)
    assert "22 Desember 2023" in text and "27 Juni 2024" in text
    assert "Permendagri 41/2020 Pasal 16" in text
    assert "Tahap I hanya Rp1.300.000.000 (5,62% dari NPHD)" in text
    payments = table(html, "disbursements")
    assert sorted(row["amount"] for row in payments.values() if "amount" in row) == sorted(
        ["Rp1.300.000.000", "Rp12.000.000.000", "Rp9.816.413.980"]
    )


def test_bawaslu_amendment_and_region_side_by_side(site: httpx.Client, demo: dict[str, int]) -> None:
    text = visible_text(get_page(site, f"/nphd/{demo['bawaslu']}"))
    assert "Rp4.715.559.500" in text and "Rp5.407.053.000" in text and "1 Juni 2024" in text
    region = get_page(site, "/wilayah/35.74")
    for kind in ("kpu", "bawaslu", "polri", "tni"):
        assert f'data-agreement="{demo[kind]}"' in region, kind
    assert region.index("KPU Kota Probolinggo") < region.index("Bawaslu Kota Probolinggo") < region.index("Polres")


def test_pages_show_no_payee_receipt_account_or_payment_order_number(
    site: httpx.Client, demo: dict[str, int], db: psycopg.Connection[Any], admin: dict[str, str]
) -> None:
    account = {"bank_name": "Bank Jatim", "account_number": "0011223344", "account_holder": "Bendahara Rahasia"}
    kpu_recipient = db.execute("SELECT recipient_id FROM agreement WHERE id = %s", (demo["kpu"],)).fetchone()
    assert kpu_recipient is not None
    patched = site.patch(f"/api/v1/recipients/{kpu_recipient[0]}", json=account, headers=admin)
    assert patched.status_code == 200, patched.text
    private = {row[0] for row in db.execute("SELECT DISTINCT payee FROM usage_item WHERE payee IS NOT NULL")}
    private |= {
        row[0]
        for row in db.execute("SELECT DISTINCT document_number FROM usage_item WHERE document_number IS NOT NULL")
    }
    private |= {
        row[0] for row in db.execute("SELECT sp2d_number FROM disbursement UNION SELECT sts_number FROM refund")
    }
    private |= {"0011223344", "Bendahara Rahasia"}
    assert len(private) > 50, "the demo's payees, receipts and payment orders"
    pages = ["/", "/?lang=en", "/wilayah", "/wilayah?q=Probolinggo", "/wilayah/35", "/wilayah/35.74", "/temuan"]
    pages += [f"/nphd/{agreement_id}" for agreement_id in demo.values()]
    for path in pages:
        html = get_page(site, path)
        leaked = [value for value in private if value in html]
        assert not leaked, (path, leaked[:5])


def test_findings_page_lists_the_demo_findings_with_filters(site: httpx.Client, demo: dict[str, int]) -> None:
    api = site.get("/api/v1/compliance/findings", params={"year": 2024}).json()["data"]
    html = get_page(site, "/temuan")
    assert f'data-count="{len(api)}"' in html
    assert html.count("data-finding=") == len(api)
    short = get_page(site, "/temuan?aturan=tranche_short")
    assert short.count('data-finding="tranche_short"') == 1 and short.count("data-finding=") == 1
    high = get_page(site, "/temuan?tingkat=high&provinsi=35")
    expected_high = [finding for finding in api if finding["severity"] == "high"]
    assert high.count("data-finding=") == len(expected_high) > 0


def test_search_finds_regions_by_name_and_code(site: httpx.Client, demo: dict[str, int]) -> None:
    by_name = get_page(site, "/wilayah?q=probo")
    assert 'data-key="35.74"' in by_name
    by_code = get_page(site, "/wilayah?q=35.74")
    assert 'data-key="35.74"' in by_code
    assert 'data-key="35"' in get_page(site, "/wilayah"), "with nothing asked, the provinces"
    nothing = visible_text(get_page(site, "/wilayah?q=zzzz"))
    assert "Tidak ada daerah" in nothing


def test_pages_have_titles_descriptions_and_link_previews(site: httpx.Client, demo: dict[str, int]) -> None:
    for path in ("/", "/wilayah/35.74", f"/nphd/{demo['kpu']}", "/temuan", "/wilayah"):
        html = get_page(site, path)
        head = html.split("</head>", 1)[0]
        for marker in (
            "<title>",
            'name="description"',
            'property="og:title"',
            'property="og:description"',
            'rel="canonical"',
            'hreflang="en"',
            'name="viewport"',
        ):
            assert marker in head, (path, marker)
        assert html.count("<h1>") == 1, path
        assert "<script" not in html, "pages need no script"
        for address in re.findall(r'(?:href|src|action|content)="((?:[a-z]+:)?//[^"]*)"', html):
            assert address.startswith(str(site.base_url)), (path, "nothing from another host", address)
        assert 'http-equiv="refresh"' not in html
