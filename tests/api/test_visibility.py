"""Who sees what (README), walked over every GET operation of the OpenAPI document, for every kind of reader.

Two recipients each own a submitted report, a draft report and a grant account, all holding marked strings.
Every GET operation the running server documents is called with every value its path parameters can take
here (and, where it takes one, with each ``report_id``), by each reader. A private string of a recipient
may appear in an answer only for finance, auditor and admin keys and that recipient's own key; every
answer is searched whole (JSON, CSV, and the XML inside an XLSX), so a new endpoint, field or export
that carries private data to the wrong reader fails here without anyone listing it. A new path parameter
without values below fails too, so the walk cannot silently skip an endpoint.

The table is written out here, independently of app/core/visibility.py.
"""

import io
import itertools
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.helpers import (
    Grant,
    Headers,
    KeyMaker,
    another_grant,
    created,
    draft_report,
    item,
    money_headers,
    pay,
)

OWNERS = ("kpu", "bawaslu")
READERS = ("public", "admin", "finance", "regional_finance", "auditor", "kpu", "bawaslu")
SEES_EVERY_OWNER = {"admin", "finance", "regional_finance", "auditor"}


def may_see(reader: str, owner: str) -> bool:
    """The README's table: overseers see every recipient's private data, a recipient its own, no one else."""
    return reader in SEES_EVERY_OWNER or reader == owner


@dataclass(frozen=True)
class Secret:
    owner: str
    text: str
    carriers: tuple[str, ...]
    """URLs (walk keys) whose answer must show it to a reader allowed to see it."""


@dataclass
class Walk:
    callers: dict[str, Headers]
    path_values: dict[str, list[str]]
    report_ids: list[str]
    secrets: list[Secret] = field(default_factory=list)
    public_marks: list[Secret] = field(default_factory=list)
    """Strings every reader must see in their carriers: proof the walk reached the data at all."""


def _account(owner: str) -> dict[str, str]:
    number = {"kpu": "1010101010101", "bawaslu": "2020202020202"}[owner]
    return {"bank_name": "Bank Jatim", "account_number": number, "account_holder": f"HOLDER-{owner}-rpl"}


def _private_item(owner: str, state: str) -> dict[str, str]:
    return item(
        "1000000",
        payee=f"PAYEE-{owner}-{state}",
        document_number=f"DOC-{owner}-{state}",
        description=f"DESC-{owner}-{state}",
    )


ITEM_EXPORTS = ("/exports/usage-items.csv", "/exports/usage-items.xlsx")


@pytest.fixture
def walk(client: httpx.Client, grant: Grant, make_key: KeyMaker, admin: Headers) -> Walk:
    """The KPU's grant (from ``grant``) and a Bawaslu's in the same election, each paid, refunded in part, with a
    submitted and a draft report of its own items; a key of every kind of reader."""
    kpu_account = client.patch(f"/recipients/{grant.recipient_id}", json=_account("kpu"), headers=admin)
    assert kpu_account.status_code == 200, kpu_account.text
    bawaslu = another_grant(
        client,
        grant,
        {"name": "Bawaslu Kota Probolinggo", "kind": "bawaslu", "region_code": "35.74", **_account("bawaslu")},
        number="NPHD-BAWASLU-3574-2024",
        signed_on="2023-12-04",
        scheme="lump_sum",
        amount="5407053000.00",
    )
    grants = {"kpu": grant, "bawaslu": bawaslu}
    callers: dict[str, Headers] = {
        "public": {},
        "admin": admin,
        "finance": grant.finance,
        "regional_finance": make_key("finance", region_code="35.74", name="BPKAD Kota Probolinggo"),
        "auditor": make_key("auditor"),
        **{owner: make_key("recipient", recipient_id=grants[owner].recipient_id) for owner in OWNERS},
    }
    values: dict[str, list[str]] = {
        "agreement_id": [],
        "recipient_id": [],
        "disbursement_id": [],
        "refund_id": [],
        "report_id": [],
    }
    walk = Walk(callers, values, [])
    for owner in OWNERS:
        owned = grants[owner]
        paid = pay(client, owned, "10000000", f"SP2D-{owner}", "2023-12-19")
        values["disbursement_id"].append(str(created(paid)))
        refund = {"amount": "1000000", "returned_on": "2025-05-07", "sts_number": f"STS-{owner}"}
        headers = money_headers(owned.finance)
        values["refund_id"].append(
            str(created(client.post(f"/agreements/{owned.agreement_id}/refunds", json=refund, headers=headers)))
        )
        submitted = draft_report(client, owned, callers[owner], _private_item(owner, "submitted"))
        sent = client.post(f"/usage-reports/{submitted['id']}/submit", headers=callers[owner])
        assert sent.status_code == 200, sent.text
        draft = draft_report(client, owned, callers[owner], _private_item(owner, "draft"), title=f"DRAFT-{owner}")
        values["agreement_id"].append(str(owned.agreement_id))
        values["recipient_id"].append(str(owned.recipient_id))
        values["report_id"] += [str(submitted["id"]), str(draft["id"])]
        _mark(walk, owner, submitted["id"], draft["id"], owned.recipient_id)
    walk.report_ids = list(values["report_id"])
    support = {
        "election_id": grant.election_id,
        "recipient_id": grant.recipient_id,
        "kind": "asset_loan",
        "description": "Kendaraan dinas",
        "quantity": 1,
        "unit": "unit",
        "value": "350000000",
        "handed_over_on": "2024-06-03",
        "bast_number": "BAST-WALK-1",
    }
    values["support_id"] = [str(created(client.post("/support", json=support, headers=money_headers(grant.finance))))]
    values["code"] = ["35.74"]
    values["election_id"] = [str(grant.election_id)]
    values["key_id"] = ["1"]
    return walk


def _mark(walk: Walk, owner: str, submitted: int, draft: int, recipient_id: int) -> None:
    """What each reader must, or must not, find where."""
    submitted_items = f"/usage-reports/{submitted}/items"
    in_exports = (
        submitted_items,
        *ITEM_EXPORTS,
        *(f"{export}?report_id={submitted}" for export in ITEM_EXPORTS),
    )
    draft_items = f"/usage-reports/{draft}/items"
    draft_exports = (draft_items, *ITEM_EXPORTS, *(f"{export}?report_id={draft}" for export in ITEM_EXPORTS))
    accounts = ("/recipients", f"/recipients/{recipient_id}")
    walk.secrets += [
        Secret(owner, f"PAYEE-{owner}-submitted", in_exports),
        Secret(owner, f"DOC-{owner}-submitted", in_exports),
        # A draft is its recipient's until submitted: all of it, not only the payee.
        Secret(owner, f"PAYEE-{owner}-draft", draft_exports),
        Secret(owner, f"DOC-{owner}-draft", draft_exports),
        Secret(owner, f"DESC-{owner}-draft", draft_exports),
        Secret(owner, f"DRAFT-{owner}", (f"/usage-reports/{draft}",)),
        Secret(owner, _account(owner)["account_number"], accounts),
        Secret(owner, _account(owner)["account_holder"], accounts),
    ]
    walk.public_marks += [
        Secret(owner, f"DESC-{owner}-submitted", in_exports),
        Secret(owner, "Bank Jatim", accounts),
    ]


# --- the walk ----------------------------------------------------------------------------------------

API = "/api/v1"
EXPORT_NAMES = re.compile(r"\^\(([^()]+)\)\\\.\(([^()]+)\)\$")


def _name_values(pattern: str) -> list[str]:
    """Every export name the ``{name}`` pattern admits: ``^(a|b)\\.(csv|xlsx)$`` gives a.csv, a.xlsx, ..."""
    found = EXPORT_NAMES.fullmatch(pattern)
    assert found is not None, f"the walk cannot expand the export name pattern {pattern!r}: teach it"
    names = [f"{stem}.{suffix}" for stem in found[1].split("|") for suffix in found[2].split("|")]
    assert all(re.fullmatch(pattern, name) for name in names)
    return names


def _urls(document: dict[str, Any], walk: Walk) -> Iterator[str]:
    """Every GET of the document, with every value of its path parameters, and of ``report_id`` if it takes one."""
    for path, operations in document["paths"].items():
        if "get" not in operations:
            continue
        parameters = operations["get"].get("parameters", [])
        names = [p["name"] for p in parameters if p["in"] == "path"]
        choices = []
        for parameter in (p for p in parameters if p["in"] == "path"):
            name = parameter["name"]
            if name == "name":
                choices.append(_name_values(parameter["schema"]["pattern"]))
                continue
            assert name in walk.path_values, f"GET {path}: give the visibility walk values for {{{name}}}"
            choices.append(walk.path_values[name])
        takes_report = any(p["in"] == "query" and p["name"] == "report_id" for p in parameters)
        for combination in itertools.product(*choices):
            url = path
            for name, value in zip(names, combination, strict=True):
                url = url.replace(f"{{{name}}}", value)
            url = url.removeprefix(API)
            yield url
            if takes_report:
                yield from (f"{url}?report_id={report_id}" for report_id in walk.report_ids)


def _text(response: httpx.Response) -> str:
    """The whole answer as text; an XLSX's parts unzipped, so a cell's text is found like any other."""
    if response.content[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
            return "\n".join(archive.read(part).decode() for part in archive.namelist())
    return response.content.decode()


def _read_all(server_address: str, walk: Walk, reader: str) -> dict[str, tuple[int, str]]:
    with httpx.Client(base_url=server_address, timeout=60) as http:
        document = http.get("/openapi.json").json()
        answers = {}
        for url in _urls(document, walk):
            absolute = url if url.startswith(("/healthz", "/readyz", "/metrics")) else API + url
            response = http.get(absolute, headers=walk.callers[reader])
            answers[url] = (response.status_code, _text(response))
    return answers


@pytest.mark.parametrize("reader", READERS)
def test_every_get_shows_private_data_only_to_those_the_table_names(
    server_address: str, walk: Walk, reader: str
) -> None:
    answers = _read_all(server_address, walk, reader)
    assert len(answers) > 60, sorted(answers)
    assert not [url for url, (status, _) in answers.items() if status >= 500], "no 5xx on any read"
    leaks = [
        f"{url} shows {secret.text!r} (of {secret.owner})"
        for url, (_, text) in answers.items()
        for secret in walk.secrets
        if not may_see(reader, secret.owner) and secret.text in text
    ]
    assert not leaks, "\n".join(leaks)
    # Withholding is not hiding everything: what the reader may see is there, where it belongs.
    missing = [
        f"{url} lacks {secret.text!r} (of {secret.owner})"
        for secret in walk.secrets + walk.public_marks
        if secret in walk.public_marks or may_see(reader, secret.owner)
        for url in secret.carriers
        if secret.text not in answers[url][1]
    ]
    assert not missing, "\n".join(missing)


def test_an_admin_reads_every_url_of_the_walk(server_address: str, walk: Walk) -> None:
    """Every URL the walk makes is a real read (a 404 everywhere would make the walk prove nothing)."""
    answers = _read_all(server_address, walk, "admin")
    failed = [f"{url}: {status}" for url, (status, _) in answers.items() if status != 200]
    assert not failed, "\n".join(failed)


# --- what the OpenAPI document says -------------------------------------------------------------------

PRIVATE_NAMES = {"payee", "document_number", "account_number", "account_holder"}


def _response_schemas(document: dict[str, Any]) -> set[str]:
    """The component schemas any operation's answer can contain, followed through every $ref."""
    components = document["components"]["schemas"]
    found: set[str] = set()

    def follow(node: Any) -> None:
        if isinstance(node, dict):
            reference = node.get("$ref", "")
            if reference.startswith("#/components/schemas/"):
                name = reference.rsplit("/", 1)[-1]
                if name not in found:
                    found.add(name)
                    follow(components[name])
            for value in node.values():
                follow(value)
        elif isinstance(node, list):
            for value in node:
                follow(value)

    for operations in document["paths"].values():
        for operation in operations.values():
            for status, response in operation.get("responses", {}).items():
                if status.startswith("2"):
                    follow(response)
    return found


def test_the_openapi_document_marks_every_private_field_of_an_answer(server_address: str) -> None:
    """A field of an answer named like private data is nullable and says who sees it, in every schema,
    so a new response model (a change feed, a portal's data) cannot carry one unmarked."""
    document = httpx.get(f"{server_address}/openapi.json").json()
    components = document["components"]["schemas"]
    carriers = []
    for name in sorted(_response_schemas(document)):
        for field_name, schema in components[name].get("properties", {}).items():
            if field_name in PRIVATE_NAMES:
                carriers.append(f"{name}.{field_name}")
                assert schema.get("x-hibah-private") is True, f"{name}.{field_name} is not marked private"
                assert {"type": "null"} in schema.get("anyOf", []), f"{name}.{field_name} cannot be null"
                assert "who sees what" in schema["description"], f"{name}.{field_name} does not say who sees it"
    assert set(carriers) >= {
        "ItemOut.payee",
        "ItemOut.document_number",
        "RecipientOut.account_number",
        "RecipientOut.account_holder",
    }
