"""Property-based: random sequences of create, amend, disburse, reverse and refund, through the API,
keep every invariant and the identities of the position, and match a plain model of the ledger."""

import itertools
import uuid
from decimal import Decimal
from typing import Any

import httpx
import psycopg
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from tests.helpers import Grant, another_grant

CENT = Decimal("0.01")
amounts = st.integers(min_value=1, max_value=5_000_000_00).map(lambda cents: Decimal(cents) * CENT)
_runs = itertools.count()


class Ledger(RuleBasedStateMachine):
    """One fresh agreement per run; the model says what each request must answer."""

    client: httpx.Client
    db: psycopg.Connection[Any]
    grant: Grant

    def __init__(self) -> None:
        super().__init__()
        run = next(_runs)
        self.amount = Decimal("10000000.00")
        self.agreement_id = another_grant(
            self.client,
            self.grant,
            {"name": f"Penerima uji {run}", "kind": "polri", "region_code": "35.74"},
            number=f"NPHD-PROP-{run}",
            signed_on="2024-01-02",
            scheme="staged",
            amount=str(self.amount),
        ).agreement_id
        self.disbursed = Decimal(0)
        self.refunded = Decimal(0)
        self.payments: dict[int, Decimal] = {}
        self.reversed: set[int] = set()
        self.amendments = 0

    @property
    def held(self) -> Decimal:
        return self.disbursed - self.refunded

    def post(self, path: str, body: dict[str, Any], *, money: bool = True) -> httpx.Response:
        headers = {**self.grant.finance, "Idempotency-Key": uuid.uuid4().hex} if money else self.grant.finance
        return self.client.post(path, json=body, headers=headers)

    @rule(amount=amounts)
    def disburse(self, amount: Decimal) -> None:
        response = self.post(
            f"/agreements/{self.agreement_id}/disbursements",
            {"tranche": 1, "amount": str(amount), "paid_on": "2024-02-01", "sp2d_number": uuid.uuid4().hex},
        )
        if amount <= self.amount - self.disbursed:
            assert response.status_code == 201, response.text
            self.disbursed += amount
            self.payments[response.json()["id"]] = amount
        else:
            assert response.status_code == 409
            assert response.json()["code"] == "over_disbursement"

    @rule(new_amount=amounts.map(lambda amount: amount * 4))
    def amend(self, new_amount: Decimal) -> None:
        self.amendments += 1
        response = self.post(
            f"/agreements/{self.agreement_id}/amendments",
            {
                "number": f"ADD-{self.amendments}",
                "signed_on": "2024-03-01",
                "new_amount": str(new_amount),
                "reason": "other",
            },
            money=False,
        )
        if new_amount >= self.disbursed:
            assert response.status_code == 201, response.text
            self.amount = new_amount
        else:
            assert response.status_code == 409
            assert response.json()["code"] == "amount_below_disbursed"

    @rule(pick=st.integers(min_value=0))
    def reverse(self, pick: int) -> None:
        open_payments = sorted(set(self.payments) - self.reversed)
        if not open_payments:
            return
        payment = open_payments[pick % len(open_payments)]
        response = self.post(f"/disbursements/{payment}/reversal", {"reversed_on": "2024-02-02", "reason": "koreksi"})
        if self.payments[payment] <= self.held:
            assert response.status_code == 201, response.text
            self.disbursed -= self.payments[payment]
            self.reversed.add(payment)
        else:
            assert response.status_code == 409
            assert response.json()["code"] == "reversal_exceeds_held"

    @rule(amount=amounts.map(lambda amount: amount / 10).map(lambda amount: amount.quantize(CENT)))
    def refund(self, amount: Decimal) -> None:
        if amount <= 0:
            return
        response = self.post(
            f"/agreements/{self.agreement_id}/refunds",
            {"amount": str(amount), "returned_on": "2024-12-30", "sts_number": uuid.uuid4().hex},
        )
        if amount <= self.held:
            assert response.status_code == 201, response.text
            self.refunded += amount
        else:
            assert response.status_code == 409
            assert response.json()["code"] == "refund_exceeds_held"

    @invariant()
    def position_matches_model_and_identities(self) -> None:
        position = self.client.get(f"/agreements/{self.agreement_id}/position").json()
        money = {
            key: Decimal(value) for key, value in position.items() if key not in ("agreement_id", "absorption", "as_of")
        }
        assert money["amount"] == self.amount
        assert money["disbursed"] == self.disbursed
        assert money["refunded"] == self.refunded
        assert money["undisbursed"] == money["amount"] - money["disbursed"]
        assert money["held"] == money["disbursed"] - money["spent_reported"] - money["refunded"]
        assert Decimal(0) <= money["disbursed"] <= money["amount"]
        assert money["held"] >= 0

    @invariant()
    def running_totals_match_the_entries(self) -> None:
        row = self.db.execute(
            """
            SELECT a.disbursed,
                   (SELECT coalesce(sum(amount), 0) FROM disbursement WHERE agreement_id = a.id)
                 - (SELECT coalesce(sum(amount), 0) FROM disbursement_reversal WHERE agreement_id = a.id),
                   a.refunded,
                   (SELECT coalesce(sum(amount), 0) FROM refund WHERE agreement_id = a.id)
            FROM agreement a WHERE a.id = %s
            """,
            (self.agreement_id,),
        ).fetchone()
        assert row is not None
        assert row[0] == row[1]
        assert row[2] == row[3]


def test_random_ledger_histories_keep_the_invariants(
    client: httpx.Client, db: psycopg.Connection[Any], grant: Grant
) -> None:
    Ledger.client, Ledger.db, Ledger.grant = client, db, grant
    run_state_machine_as_test(
        Ledger,
        settings=settings(
            max_examples=30,
            stateful_step_count=15,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
            database=None,
        ),
    )
