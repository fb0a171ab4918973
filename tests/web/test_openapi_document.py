"""The OpenAPI document says exactly what the server does, and third-party tools read it without a complaint:
Spectral's `spectral:oas` ruleset finds nothing; Swagger UI and ReDoc load from this server alone."""

import json
import random
import re
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.core.money import MONEY_DOCUMENT_PATTERN, parse_money
from tests.helpers import system_tool

MONEY_WRITES = [
    ("/api/v1/agreements/{agreement_id}/disbursements", "post"),
    ("/api/v1/disbursements/{disbursement_id}/reversal", "post"),
    ("/api/v1/agreements/{agreement_id}/refunds", "post"),
]
PUBLIC_READS_WITH_OPTIONAL_KEY = [
    "/api/v1/keys/me",
    "/api/v1/usage-reports/{report_id}",
    "/api/v1/usage-reports/{report_id}/items",
    "/api/v1/agreements/{agreement_id}/usage-reports",
    "/api/v1/exports/{name}",
]


@pytest.fixture(scope="module")
def document(server_address: str) -> dict[str, Any]:
    body: dict[str, Any] = httpx.get(f"{server_address}/openapi.json").json()
    return body


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, ops in document["paths"].items() for method, op in ops.items()]


def test_spectral_finds_nothing(document: dict[str, Any], tmp_path: Path) -> None:
    spectral = system_tool("spectral")
    (tmp_path / "openapi.json").write_text(json.dumps(document))
    (tmp_path / ".spectral.yaml").write_text('extends: ["spectral:oas"]\n')
    options = ["--ruleset", ".spectral.yaml", "--format", "json", "--output", "findings.json"]
    options += ["--fail-severity", "hint"]
    result = subprocess.run(
        [spectral, "lint", *options, "--quiet", "openapi.json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    findings = json.loads((tmp_path / "findings.json").read_text() or "[]")
    assert findings == [], [f"{f['code']} at {'.'.join(map(str, f['path']))}: {f['message']}" for f in findings]
    assert result.returncode == 0, result.stderr


def test_the_documented_money_pattern_refuses_exactly_what_the_server_refuses() -> None:
    pattern = re.compile(MONEY_DOCUMENT_PATTERN)
    rng = random.Random(20261127)
    edges = ["0", "0.00", "0.01", "1", "1000000000000000", "1000000000000000.00", "1000000000000000.01"]
    edges += ["1000000000000001", "0999999999999999.99", "0000000000000001", "1.", ".5", "1.234", "9999999999999999"]
    drawn = [
        "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 17)))
        + rng.choice(["", ".", "." + str(rng.randint(0, 999))])
        for _ in range(20000)
    ]
    disagree = []
    for text in edges + drawn:
        try:
            parse_money(text)
            accepted = True
        except ValueError:
            accepted = False
        if bool(pattern.fullmatch(text)) != accepted:
            disagree.append(text)
    assert disagree == []


def test_money_writes_require_an_idempotency_key(document: dict[str, Any]) -> None:
    for path, method in MONEY_WRITES:
        operation = document["paths"][path][method]
        header = next(p for p in operation["parameters"] if p["name"] == "Idempotency-Key")
        assert header["required"] is True, path
        assert operation["responses"]["428"]["x-problem-codes"] == ["idempotency_key_required"], path
        assert operation["security"] == [{"apiKey": []}], path


def test_public_operations_are_marked(document: dict[str, Any]) -> None:
    for path in PUBLIC_READS_WITH_OPTIONAL_KEY:
        operation = document["paths"][path]["get"]
        assert operation["security"] == [{}, {"apiKey": []}], path  # a key is optional: it may show more
        assert "no key needed" in operation["description"], path
    for path in ("/api/v1/agreements", "/api/v1/summaries", "/api/v1/agreements/{agreement_id}/position"):
        operation = document["paths"][path]["get"]
        assert "security" not in operation and not document.get("security"), path
        assert "**Who may call**: anyone; no key needed." in operation["description"], path
    assert "`finance`" in document["paths"]["/api/v1/agreements/{agreement_id}/disbursements"]["post"]["description"]


def test_every_operation_has_tags_description_and_its_statuses(document: dict[str, Any]) -> None:
    declared = {tag["name"] for tag in document["tags"] if tag.get("description")}
    for path, method, operation in operations(document):
        assert operation["tags"] and set(operation["tags"]) <= declared, (method, path)
        assert operation["description"].strip(), (method, path)
        assert operation["operationId"] and re.fullmatch(r"[a-z_]+", operation["operationId"])
        if method == "get" and path != "/api/v1/exports/{name}":
            assert "304" in operation["responses"], (method, path)
        if "{" in path:
            assert "not_found" in operation["responses"]["404"]["x-problem-codes"], (method, path)


def test_servers_contact_and_licence(document: dict[str, Any], server_address: str) -> None:
    assert document["servers"] == [{"url": server_address, "description": "The server that served this document."}]
    assert document["info"]["contact"]["name"]
    assert document["info"]["license"]["identifier"]


def test_links_chain_each_create_to_what_it_made(document: dict[str, Any]) -> None:
    links = document["paths"]["/api/v1/agreements/{agreement_id}/usage-reports"]["post"]["responses"]["201"]["links"]
    assert links["submit"] == {
        "operationId": "submit",
        "parameters": {"report_id": "$response.body#/id"},
        "description": "POST /api/v1/usage-reports/{report_id}/submit of the record just created.",
    }
    assert {"get_report", "add_items", "list_items", "accept", "return_report"} <= set(links)
    ids = {operation["operationId"] for _, _, operation in operations(document)}
    every_link = [
        link
        for _, _, operation in operations(document)
        for response in operation["responses"].values()
        for link in response.get("links", {}).values()
    ]
    assert every_link and all(link["operationId"] in ids for link in every_link)


@pytest.mark.parametrize(("method", "page"), [("GET", "/docs"), ("GET", "/redoc")])
def test_docs_pages_load_nothing_from_another_host(server_address: str, method: str, page: str) -> None:
    html = httpx.request(method, f"{server_address}{page}").text
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']|url:\s*["']([^"']+)["']|(https?://[^\s"'<>)]+)""", html)
    found = {url for group in urls for url in group if url}
    assert found, html
    external = {url for url in found if re.match(r"(https?:)?//", url)}
    assert external == set()
    for url in found:
        response = httpx.get(f"{server_address}{url}")
        assert response.status_code == 200, url
        assert response.content, url


def test_the_swagger_oauth2_redirect_page_is_served(server_address: str) -> None:
    page = httpx.get(f"{server_address}/docs/oauth2-redirect")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "oauth2" in page.text.lower()
