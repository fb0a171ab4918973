"""Who sees what: the one policy for what some readers must not see (README, "Who sees what").

Private data always belongs to one recipient, its *owner*:

| private | of | owner |
|---|---|---|
| ``payee``, ``document_number`` | a usage item | the recipient whose agreement the item's report is under |
| ``account_number``, ``account_holder`` | a recipient (its grant account) | that recipient |
| the whole report, its items included, while ``draft`` or ``returned`` | a usage report | as for its items |

One rule (:func:`may_see`): ``finance``, ``auditor`` and ``admin`` keys see the private data of every
recipient; a ``recipient`` key sees its own; the public (no key) and other recipients' keys see none of it.
Withheld fields are ``null`` — the field stays, so an answer's shape does not depend on who reads it;
an unsubmitted report is not found (404) and its items are left out of exports. Every read path asks
this module, in one of these ways:

- :func:`withhold` on a response model, :func:`withhold_mapping` on a dict such as an audit payload
  (lists, single resources, a change feed);
- :func:`shown` for a SQL column that is NULL where the reader may not see it (exports, bulk reads), and
  :func:`may_see_sql`, the rule as a SQL condition on a row's owner;
- :func:`may_see` for a yes/no on one record.

A public product (the change feed, the portal) asks as :data:`app.core.actor.PUBLIC`:
``withhold_mapping(PUBLIC, None, event.payload)`` nulls every private field of an audit payload.
"""

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, TypeVar

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlalchemy.sql.elements import ColumnElement

from app.core.actor import PUBLIC, Actor, Role


class Private(StrEnum):
    """A kind of private data, named by the record that carries it."""

    payee = "payee"
    """Who a usage item paid, and the document that names them."""
    account = "account"
    """A recipient's grant account: its number and holder (the bank's name is public)."""


PRIVATE_FIELDS: dict[Private, tuple[str, ...]] = {
    Private.payee: ("payee", "document_number"),
    Private.account: ("account_number", "account_holder"),
}
ALL_PRIVATE_FIELDS: frozenset[str] = frozenset(name for names in PRIVATE_FIELDS.values() for name in names)

SEES_EVERY_OWNER: frozenset[Role] = frozenset({Role.admin, Role.finance, Role.auditor})
"""Roles that see the private fields of every recipient; a recipient key sees only its own."""

WITHHELD_NOTE = (
    "null unless the reader is a finance, auditor or admin key, or the key of the recipient it belongs to"
    " (README: who sees what)."
)
"""How a private field is described in the OpenAPI document."""
PRIVATE_MARK = "x-hibah-private"
"""The OpenAPI extension on a private field of a response (``true``), for clients and for the tests."""


def private_field(what: str) -> Any:
    """A response model's private field: described, and marked, as such in the OpenAPI document."""
    return Field(description=f"{what}; {WITHHELD_NOTE}", json_schema_extra={PRIVATE_MARK: True})


Model = TypeVar("Model", bound=BaseModel)


def may_see(actor: Actor, owner_recipient_id: int | None) -> bool:
    """Whether ``actor`` may see the private fields of a record owned by ``owner_recipient_id``."""
    if actor.role in SEES_EVERY_OWNER:
        return True
    return actor.role == Role.recipient and owner_recipient_id is not None and actor.recipient_id == owner_recipient_id


def withhold(actor: Actor, owner_recipient_id: int | None, record: Model, kind: Private) -> Model:
    """``record`` with the private fields of ``kind`` set to null unless ``actor`` may see them."""
    if may_see(actor, owner_recipient_id):
        return record
    return record.model_copy(update=dict.fromkeys(PRIVATE_FIELDS[kind]))


def withhold_mapping(actor: Actor, owner_recipient_id: int | None, record: Mapping[str, Any]) -> dict[str, Any]:
    """A dict (an audit event's payload, a row) with every private field, at any depth, nulled where
    ``actor`` may not see it. Keys absent stay absent: a payload that never named a field still does not."""
    if may_see(actor, owner_recipient_id):
        return dict(record)
    return {key: None if key in ALL_PRIVATE_FIELDS else _nulled(item) for key, item in record.items()}


def _nulled(value: Any) -> Any:
    if isinstance(value, Mapping):
        return withhold_mapping(PUBLIC, None, value)
    if isinstance(value, list):
        return [_nulled(item) for item in value]
    return value


def may_see_sql(actor: Actor, owner_recipient_id: Any) -> ColumnElement[bool]:
    """:func:`may_see` as a SQL condition on a column holding each row's owner (a recipient id)."""
    if actor.role in SEES_EVERY_OWNER:
        return sa.true()
    if actor.role == Role.recipient and actor.recipient_id is not None:
        condition: ColumnElement[bool] = owner_recipient_id == actor.recipient_id
        return condition
    return sa.false()


def shown(actor: Actor, column: Any, owner_recipient_id: Any) -> Any:
    """``column`` where ``actor`` may see it, else NULL; labelled with the column's name, typed as it."""
    if actor.role in SEES_EVERY_OWNER:
        return column
    return sa.case((may_see_sql(actor, owner_recipient_id), column), else_=sa.null()).label(column.key)
