"""A check of .ci/fuzz beside schemathesis's own (loaded through SCHEMATHESIS_HOOKS): with 412 and 422 among
the statuses a schema-valid request may get (.ci/schemathesis.toml), a 422 must name a rule of the domain.
FastAPI's own `validation_error` for a request the document calls valid means the two disagree."""

from typing import Any

import schemathesis


def _has_float(value: Any) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, dict):
        return any(_has_float(item) for item in value.values())
    if isinstance(value, list):
        return any(_has_float(item) for item in value)
    return False


@schemathesis.check
def valid_data_passes_the_schema_checks(ctx: Any, response: Any, case: Any) -> bool | None:
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 422:
        return None
    if _has_float(case.body):
        # JSON Schema counts 2020.0 as an integer, so no document can say "an integer, not 2020.0"; the API
        # refuses every JSON number with a fraction part or a decimal point in money (floats never touch money).
        return None
    try:
        code = response.json().get("code")
    except ValueError:
        code = None
    if code == "validation_error":
        raise AssertionError(
            "A request valid by the OpenAPI document was refused by the server's own validation"
            f" (422 validation_error): {response.text[:500]}"
        )
    return None


FEED_WAIT_CAP = 1


@schemathesis.hook
def before_call(ctx: Any, case: Any, kwargs: Any) -> None:
    """A valid `wait` of the change feed above a second becomes one: the held request is still fuzzed, but a few
    hundred cases at up to 30 s each (a feed with nothing after `after`) would take the run past CI's minutes.
    Invalid values (negative, past 30, not a number) are sent as generated."""
    if not case.path.endswith("/changes") or not isinstance(case.query, dict):
        return
    wait = case.query.get("wait")
    if isinstance(wait, str) and wait.isascii() and wait.isdigit():
        wait = int(wait)
    if isinstance(wait, int) and not isinstance(wait, bool) and FEED_WAIT_CAP < wait <= 30:
        case.query["wait"] = FEED_WAIT_CAP
