"""A built-in simulated insurer for the demo and tests: settable latency and failure rate, idempotent by key.

Its ledger lives in its own table and is written on its own connection, committed at once, the way an
external insurer's books are independent of our transaction: a worker that dies after the sandbox booked
but before our commit finds the booking again under the same idempotency key.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, select, update
from sqlalchemy.engine import Engine

from plugin.extensions import insert_with_conflicts
from plugin.insurers.base import (
    Binding,
    Cancellation,
    CancelReason,
    ClaimFiling,
    FiledClaim,
    Insurer,
    Parcel,
    TransientInsurerError,
)
from plugin.models import SandboxBooking

SANDBOX_RATE = Decimal("0.005")  # 0.5 % of the sum insured, at least 1 minor unit


class SandboxInsurer(Insurer):
    """Books instantly (after `latency_ms`) unless a simulated outage (`failure_rate`) strikes."""

    name = "sandbox"

    def __init__(
        self,
        engine: Engine,
        *,
        latency_ms: int = 0,
        failure_rate: Decimal = Decimal(0),
        random_source: Callable[[], float] = random.random,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._engine = engine
        self._latency = latency_ms / 1000
        self._failure_rate = failure_rate
        self._random = random_source
        self._sleep = sleep

    def _call(self) -> None:
        if self._latency:
            self._sleep(self._latency)
        if self._failure_rate and Decimal(str(self._random())) < self._failure_rate:
            raise TransientInsurerError("sandbox: simulated outage (503)", status=503)

    @staticmethod
    def _binding(row: Any) -> Binding:
        # A SandboxBooking, or a Core row of the same columns (the ledger is read on its own connection).
        return Binding(
            certificate=row.certificate,
            provider_reference=row.certificate,
            sum_insured=row.sum_insured_amount,
            cost=row.cost_amount,
            currency=row.currency,
        )

    def bind(self, parcel: Parcel, idempotency_key: str) -> Binding:
        self._call()
        cost = max(1, int(parcel.sum_insured * SANDBOX_RATE)) if parcel.sum_insured else 0
        values = {
            "idempotency_key": idempotency_key,
            "certificate": f"SBX-{parcel.reference.removeprefix('pol_')[:16].upper()}",
            "shop_id": parcel.shop_id,
            "reference": parcel.reference,
            "sum_insured_amount": parcel.sum_insured,
            "cost_amount": cost,
            "currency": parcel.currency,
            "status": "active",
        }
        table = cast(Table, SandboxBooking.__table__)
        insert = insert_with_conflicts(self._engine.dialect.name)
        # The insurer's books are not ours: on PostgreSQL their commit does not wait for our WAL flush (4 ms of
        # fsync a booking on the development disk, shared by every worker). Nothing we record can outlive it: our
        # own commit of the outcome comes later and flushes the WAL up to it. One statement for a new booking;
        # under a key booked before, that booking, as a real insurer replays it.
        with self._engine.begin() as connection:
            if self._engine.dialect.name == "postgresql":
                connection.exec_driver_sql("SET LOCAL synchronous_commit = off")
            row = connection.execute(
                insert(table)
                .values(**values)
                .on_conflict_do_nothing(index_elements=["idempotency_key"])
                .returning(table)
            ).first()
            if row is None:
                row = connection.execute(select(table).where(table.c.idempotency_key == idempotency_key)).one()
        return self._binding(row)

    def cancel(self, binding_reference: str, reason: CancelReason) -> Cancellation:
        self._call()
        with self._engine.begin() as connection:
            changed = connection.execute(
                update(SandboxBooking)
                .where(SandboxBooking.certificate == binding_reference, SandboxBooking.status == "active")
                .values(status="cancelled")
            ).rowcount
        return Cancellation(cancelled=True, message=None if changed else "already cancelled")

    def find(self, parcel: Parcel) -> Binding | None:
        with self._engine.connect() as connection:
            row = connection.execute(
                select(SandboxBooking).where(SandboxBooking.reference == parcel.reference).limit(1)
            ).first()
        return self._binding(row) if row else None

    def file_claim(self, filing: ClaimFiling, idempotency_key: str) -> FiledClaim:
        """Files at once; the reference comes from our claim id, so a repeat files the same claim."""
        self._call()
        return FiledClaim(status="filed", reference=sandbox_claim_reference(filing.reference), amount=filing.amount)

    def claim_status(self, reference: str) -> FiledClaim:
        """Every sandbox claim is paid when asked about (its amount stays the one filed)."""
        self._call()
        return FiledClaim(status="paid", reference=reference)


def sandbox_claim_reference(claim_id: str) -> str:
    """`SBX-<claim id>-CLA`, shaped like XCover's claim references."""
    return f"SBX-{claim_id.removeprefix('clm_')[:16].upper()}-CLA"
