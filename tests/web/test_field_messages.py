"""``errors[].message`` follows ``Accept-Language`` like ``title`` and ``detail``: pydantic's messages come from one
Indonesian table by error type, and the input rules the document cannot state carry both texts."""

from typing import Any

import httpx
import psycopg
import pytest
from pydantic_core._pydantic_core import list_all_errors

from app.core.i18n import FIELD_MESSAGES_ID
from tests.helpers import ELECTION, KEY, Body, World, assert_problem, changed, nothing_written

ID = {"Accept-Language": "id"}

# (method, path, body or query, the field, its message in Indonesian, in English): each a pydantic error type.
CASES: dict[str, tuple[str, str, Body, str, str, str]] = {
    "missing": ("POST", "/elections", {"name": "Pilgub"}, "kind", "Wajib diisi", "Field required"),
    "extra_forbidden": (
        "POST",
        "/elections",
        changed(ELECTION, colour="red"),
        "colour",
        "Kolom ini tidak dikenal",
        "Extra inputs are not permitted",
    ),
    "string_type": (
        "POST",
        "/elections",
        changed(ELECTION, name=7),
        "name",
        "Harus berupa teks",
        "Input should be a valid string",
    ),
    "string_too_long": (
        "POST",
        "/elections",
        changed(ELECTION, name="x" * 201),
        "name",
        "Maksimal 200 karakter",
        "String should have at most 200 characters",
    ),
    "string_pattern_mismatch": (
        "POST",
        "/elections",
        changed(ELECTION, region_code="3"),
        "region_code",
        "Harus sesuai pola",
        "String should match pattern",
    ),
    "enum": (
        "POST",
        "/elections",
        changed(ELECTION, kind="president"),
        "kind",
        "Harus salah satu dari: 'governor'",
        "Input should be 'governor'",
    ),
    "int_parsing": (
        "GET",
        "/regions",
        {"limit": "lima"},
        "limit",
        "Harus berupa bilangan bulat",
        "Input should be a valid integer",
    ),
    "less_than_equal": (
        "GET",
        "/regions",
        {"limit": "501"},
        "limit",
        "Harus lebih kecil dari atau sama dengan 500",
        "Input should be less than or equal to 500",
    ),
    "date (app.core.types)": (
        "POST",
        "/elections",
        changed(ELECTION, voting_day="27-11-2024"),
        "voting_day",
        "harus tanggal dengan format YYYY-MM-DD",
        "must be a date written YYYY-MM-DD",
    ),
    "model_attributes_type": (
        "POST",
        "/elections",
        [],
        "body",
        "Harus berupa objek JSON",
        "Input should be a valid dictionary",
    ),  # type: ignore[dict-item]
    "input_rule": (
        "POST",
        "/keys",
        changed(KEY, role="auditor", recipient_id=1),
        "recipient_id",
        "wajib untuk peran recipient, dan hanya untuk peran itu",
        "required for the recipient role, and only for it",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_field_messages_follow_accept_language(
    client: httpx.Client, db: psycopg.Connection[Any], world: World, case: str
) -> None:
    method, path, payload, field, indonesian, english = CASES[case]
    options: dict[str, Any] = {"params": payload} if method == "GET" else {"json": payload}
    messages = {}
    with nothing_written(db):
        for language, headers in (("id", {**world.admin, **ID}), ("en", world.admin)):
            body = assert_problem(client.request(method, path, headers=headers, **options), 422)
            messages[language] = {error["field"]: error["message"] for error in body["errors"]}
    assert messages["id"][field].startswith(indonesian), messages
    assert messages["en"][field].startswith(english), messages


def test_money_and_date_messages_in_indonesian(client: httpx.Client, grant: Any) -> None:
    body = {"tranche": 1, "amount": "0", "paid_on": "2024-13-01", "sp2d_number": "SP2D-X"}
    headers = {**grant.finance, **ID, "Idempotency-Key": "pesan-1"}
    problem = assert_problem(
        client.post(f"/agreements/{grant.agreement_id}/disbursements", json=body, headers=headers), 422
    )
    messages = {error["field"]: error["message"] for error in problem["errors"]}
    assert messages == {
        "amount": "harus lebih besar dari nol",
        "paid_on": "harus tanggal dengan format YYYY-MM-DD, dari 2000-01-01 sampai 2100-12-31, seperti 2024-11-27",
    }


def test_an_input_rule_is_its_own_code(client: httpx.Client, world: World) -> None:
    """Fields each of their documented form, together breaking a rule: not the schema's `validation_error`."""
    body = {**ELECTION, "winner_proposed_on": "2024-11-01"}
    problem = assert_problem(
        client.post("/elections", json=body, headers={**world.admin, **ID}), 422, "inconsistent_input"
    )
    assert problem["errors"] == [
        {"field": "winner_proposed_on", "message": "winner_proposed_on tidak boleh sebelum voting_day"}
    ]


def test_every_error_type_a_request_can_meet_has_a_translation() -> None:
    """The types pydantic raises while validating JSON, query, path and header input (not its Python-object,
    call-argument or sentinel checks, which a request cannot reach)."""
    unreachable = [
        *("arguments", "argument", "callable", "is_instance", "is_subclass", "frozen", "needs_python"),
        *("get_attribute", "no_such_attribute", "recursion", "default_factory", "missing_sentinel"),
        *("dataclass", "named_tuple", "bytes", "set_item", "invalid_key", "mapping", "ordered_dict"),
        *("complex", "time_delta", "timezone_offset", "uuid_version", "url_", "model_fields", "tuple"),
        *("frozen_set", "generator", "decimal_type", "json_type", "string_sub_type", "union_tag"),
    ]
    reachable = [e["type"] for e in list_all_errors() if not any(word in e["type"] for word in unreachable)]
    assert len(reachable) > 40
    assert [kind for kind in reachable if kind not in FIELD_MESSAGES_ID] == []
