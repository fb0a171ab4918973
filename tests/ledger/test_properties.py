"""Property-based: random sequences of create, amend, disburse, reverse, refund, report spending (submit) and
review it (accept or return), through the API, keep every invariant and the identities of the position, and match
a plain model of the ledger: reversals and refunds tried after spending is reported must respect it."""

import itertools
import uuid
from decimal import Decimal
from typing import Any

import httpx
import psycopg
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from tests.helpers import Grant, KeyMaker, another_grant, item

CENT = Decimal("0.01")
amounts = st.integers(min_value=1, max_value=5_000_000_00).map(lambda cents: Decimal(cents) * CENT)
_runs = itertools.count()


class Ledger(RuleBasedStateMachine):
    """One fresh agreement per run; the model says what each request must answer."""

    client: httpx.Client
    db: psycopg.Connection[Any]
    grant: Grant
    make_key: KeyMaker

    def __init__(self) -> None:
        super().__init__()
        run = next(_runs)
        self.amount = Decimal("10000000.00")
        agreement = another_grant(
            self.client,
            self.grant,
            {"name": f"Penerima uji {run}", "kind": "polri", "region_code": "35.74"},
            number=f"NPHD-PROP-{run}",
            signed_on="2024-01-02",
            scheme="staged",
            amount=str(self.amount),
        )
        self.agreement_id = agreement.agreement_id
        self.treasurer = self.make_key("recipient", recipient_id=agreement.recipient_id)
        self.disbursed = Decimal(0)
        self.refunded = Decimal(0)
        self.spent_reported = Decimal(0)
        self.spent_accepted = Decimal(0)
        self.payments: dict[int, Decimal] = {}
        self.reversed: set[int] = set()
        self.under_review: dict[int, Decimal] = {}
        self.amendments = 0

    @property
    def held(self) -> Decimal:
        """What the recipient still holds (DESIGN §2): paid, less reported spending, less refunds."""
        return self.disbursed - self.spent_reported - self.refunded

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

    # Preconditions rather than early returns: every step of a run then does something.
    @precondition(lambda self: set(self.payments) - self.reversed)
    @rule(pick=st.integers(min_value=0))
    def reverse(self, pick: int) -> None:
        open_payments = sorted(set(self.payments) - self.reversed)
        payment = open_payments[pick % len(open_payments)]
        response = self.post(f"/disbursements/{payment}/reversal", {"reversed_on": "2024-02-02", "reason": "koreksi"})
        if self.payments[payment] <= self.held:
            assert response.status_code == 201, response.text
            self.disbursed -= self.payments[payment]
            self.reversed.add(payment)
        else:
            assert response.status_code == 409
            assert response.json()["code"] == "reversal_exceeds_held"

    @precondition(lambda self: self.disbursed > 0)
    @rule(share=st.integers(min_value=1, max_value=130))
    def refund(self, share: int) -> None:
        """A refund of ``share``% of what is held, or of what was paid once nothing is held."""
        amount = ((self.held or self.disbursed) * share / 100).quantize(CENT)
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

    @precondition(lambda self: self.held > 0)
    @rule(share=st.integers(min_value=1, max_value=130))
    def report_spending(self, share: int) -> None:
        """The treasurer writes a one-item report of ``share``% of what it holds and submits it: spending may not
        pass what it holds (a share of the held amount, so both answers come up, and often after other spending)."""
        amount = (self.held * share / 100).quantize(CENT)
        if amount <= 0:
            return
        body = {"kind": "interim", "title": "Laporan", "period_start": "2024-01-02", "period_end": "2025-03-31"}
        opened = self.client.post(f"/agreements/{self.agreement_id}/usage-reports", json=body, headers=self.treasurer)
        assert opened.status_code == 201, opened.text
        report_id: int = opened.json()["id"]
        added = self.client.post(
            f"/usage-reports/{report_id}/items", json={"items": [item(str(amount))]}, headers=self.treasurer
        )
        assert added.status_code == 201, added.text
        submitted = self.client.post(f"/usage-reports/{report_id}/submit", headers=self.treasurer)
        if amount <= self.held:
            assert submitted.status_code == 200, submitted.text
            self.spent_reported += amount
            self.under_review[report_id] = amount
        else:
            assert submitted.status_code == 409, submitted.text
            assert submitted.json()["code"] == "spending_exceeds_disbursed"

    @precondition(lambda self: self.under_review)
    @rule(pick=st.integers(min_value=0), accept=st.booleans())
    def review(self, pick: int, accept: bool) -> None:
        """The reviewer accepts a submitted report (its spending stays reported, now accepted too) or returns it
        (its spending no longer counts, so the recipient holds it again)."""
        report_id = sorted(self.under_review)[pick % len(self.under_review)]
        amount = self.under_review.pop(report_id)
        if accept:
            response = self.client.post(f"/usage-reports/{report_id}/accept", json={}, headers=self.grant.finance)
            assert response.status_code == 200, response.text
            assert response.json()["status"] == "accepted"
            self.spent_accepted += amount
        else:
            response = self.client.post(
                f"/usage-reports/{report_id}/return", json={"note": "Kuitansi kurang"}, headers=self.grant.finance
            )
            assert response.status_code == 200, response.text
            assert response.json()["status"] == "returned"
            self.spent_reported -= amount

    @invariant()
    def position_matches_model_and_identities(self) -> None:
        position = self.client.get(f"/agreements/{self.agreement_id}/position").json()
        money = {
            key: Decimal(value) for key, value in position.items() if key not in ("agreement_id", "absorption", "as_of")
        }
        assert money["amount"] == self.amount
        assert money["disbursed"] == self.disbursed
        assert money["refunded"] == self.refunded
        assert money["spent_reported"] == self.spent_reported
        assert money["spent_accepted"] == self.spent_accepted
        assert money["held"] == self.held
        assert money["undisbursed"] == money["amount"] - money["disbursed"]
        assert money["held"] == money["disbursed"] - money["spent_reported"] - money["refunded"]
        assert Decimal(0) <= money["disbursed"] <= money["amount"]
        assert money["held"] >= 0
        assert Decimal(0) <= money["spent_accepted"] <= money["spent_reported"]

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
    client: httpx.Client, db: psycopg.Connection[Any], grant: Grant, make_key: KeyMaker
) -> None:
    Ledger.client, Ledger.db, Ledger.grant, Ledger.make_key = client, db, grant, staticmethod(make_key)
    run_state_machine_as_test(
        Ledger,
        settings=settings(
            max_examples=20,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
            database=None,
        ),
    )
