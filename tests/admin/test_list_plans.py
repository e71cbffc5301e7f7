"""Every list's first page, under each of its filters, is read through an index on PostgreSQL: no sequential scan
of a list's table, no sort of the shop's rows (the index gives the order), and each filter's column in an index
condition. (With a million protections only such plans answer in well under 300 ms; `bench/` measures it.)"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import text

from plugin.admin.deliveries_pages import InboundFilters, OutboundFilters, inbound_list, outbound_list
from plugin.admin.jobs_pages import JobFilters, jobs_list
from plugin.admin.listing import Segment, page_statement
from plugin.admin.protections_pages import ProtectionFilters, protections_list
from plugin.admin.shipments_pages import ShipmentFilters, shipments_list
from plugin.extensions import db
from tests.list_helpers import add_delivery, add_endpoint, add_event, add_job, add_protection, add_shipment, at

SINCE, UNTIL = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 30, tzinfo=UTC)
BLOAT_ROUNDS = 60
LIST_TABLES = {"protections", "shipments", "policies", "jobs", "webhook_deliveries", "webhook_events"}


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def _first_page_plan(segment: Segment, may_sort: bool) -> list[dict[str, Any]]:
    statement = page_statement(segment, None, 51)
    compiled = statement.compile(dialect=db.engine.dialect, compile_kwargs={"render_postcompile": True})
    connection = db.session.connection()
    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    if not may_sort:  # else the planner may prefer walking the order's index and filtering to a bitmap search
        connection.exec_driver_sql("SET LOCAL enable_sort = off")
    raw = connection.exec_driver_sql("EXPLAIN (FORMAT JSON) " + str(compiled), compiled.params).scalar()
    document = raw if isinstance(raw, list) else json.loads(raw)
    return list(_nodes(document[0]["Plan"]))


def _conditions(nodes: list[dict[str, Any]]) -> str:
    return " ".join(str(node.get(key, "")) for node in nodes for key in ("Index Cond", "Recheck Cond"))


@pytest.fixture()
def on_postgres(app: Flask, database_url: str, shop) -> str:
    if not database_url.startswith("postgres"):
        pytest.skip("needs PostgreSQL: set TEST_DATABASE_URL")
    sid = shop.shop.id
    for n in range(40):
        add_protection(app, sid, f"o{n}", at(n), email=f"s{n}@example.com")
        add_shipment(app, sid, f"o{n}", at(n), policy_status=("bound", "failed", "pending", None)[n % 4])
        add_job(
            app, sid, ("send_email", "bind_policy")[n % 2], f"clm_{n}", at(n), status=("failed", "succeeded")[n % 2]
        )
        add_delivery(app, sid, ("stripe", "platform")[n % 2], f"d{n}", at(n), topic="t", outcome="applied")
    endpoint = add_endpoint(app, sid, "https://hooks.example/")
    for n in range(30):  # deliveries are many, one event's few: the subject is what narrows a search
        add_event(app, sid, "policy.failed", at(n), endpoint, status="failed" if n == 0 else "succeeded")
    with app.app_context():
        # Old row versions, as a busy database has: on a table of a page or two the planner rightly reads the shop's
        # few rows and filters them, which says nothing of a large shop (the suite's earlier tests leave the same).
        for table in sorted(LIST_TABLES):
            for _ in range(BLOAT_ROUNDS):
                db.session.execute(text(f"UPDATE {table} SET shop_id = shop_id"))  # noqa: S608 - our table names
            db.session.commit()
            db.session.execute(text(f"ANALYZE {table}"))
        db.session.commit()
    return sid


def _cases(shop_id: str) -> list[tuple[str, list[Segment], tuple[str, ...], bool]]:
    """(name, segments, columns the index conditions must name (`a|b`: either), whether the page may sort a few
    found rows)."""
    days = {"since": SINCE, "until": UNTIL}
    return [
        ("protections", protections_list(shop_id, ProtectionFilters()), ("shop_id",), False),
        ("protections status", protections_list(shop_id, ProtectionFilters(status="voided")), ("status",), False),
        ("protections days", protections_list(shop_id, ProtectionFilters(**days)), ("created_at",), False),
        (
            "protections status days",
            protections_list(shop_id, ProtectionFilters(status="voided", **days)),
            ("status", "created_at"),
            False,
        ),
        (
            "protections search",
            protections_list(shop_id, ProtectionFilters(search="s3@example.com")),
            ("order_id", "customer_email", "payment_intent"),
            True,
        ),
        ("shipments", shipments_list(shop_id, ShipmentFilters()), ("status",), False),
        ("shipments status", shipments_list(shop_id, ShipmentFilters(status="bound")), ("status",), False),
        ("shipments carrier", shipments_list(shop_id, ShipmentFilters(carrier="DHL")), ("carrier",), False),
        ("shipments days", shipments_list(shop_id, ShipmentFilters(**days)), ("created_at",), False),
        (
            "shipments search",
            shipments_list(shop_id, ShipmentFilters(search="QX9Z81")),
            ("order_id", "tracking_number", "shipment_ref"),
            True,
        ),
        ("jobs failed", jobs_list(shop_id, JobFilters()), ("status",), False),
        ("jobs all", jobs_list(shop_id, JobFilters(status=None)), ("shop_id",), False),
        ("jobs kind", jobs_list(shop_id, JobFilters(status=None, kind="send_email")), ("kind",), False),
        ("jobs days", jobs_list(shop_id, JobFilters(status=None, **days)), ("created_at",), False),
        ("jobs search", jobs_list(shop_id, JobFilters(status=None, search="clm_3")), ("subject",), True),
        ("received", inbound_list(shop_id, InboundFilters()), ("shop_id",), False),
        ("received source", inbound_list(shop_id, InboundFilters(source="platform")), ("source",), False),
        ("received outcome", inbound_list(shop_id, InboundFilters(outcome="unreadable")), ("outcome",), False),
        ("received days", inbound_list(shop_id, InboundFilters(**days)), ("received_at",), False),
        ("received search", inbound_list(shop_id, InboundFilters(search="d3")), ("delivery_id",), True),
        ("sent", outbound_list(shop_id, OutboundFilters()), ("kind",), False),
        # Either the status's index (kind checked on each) or the kind's (status checked on each), as counts say.
        ("sent status", outbound_list(shop_id, OutboundFilters(status="failed")), ("status|kind",), False),
        ("sent search", outbound_list(shop_id, OutboundFilters(search="evt_x")), ("subject",), True),
    ]


def test_every_first_page_is_read_through_an_index(app, on_postgres):
    with app.test_request_context():
        problems = []
        for name, segments, indexed, may_sort in _cases(on_postgres):
            conditions = ""
            for segment in segments:
                nodes = _first_page_plan(segment, may_sort)
                for node in nodes:
                    if node["Node Type"] == "Seq Scan" and node.get("Relation Name") in LIST_TABLES:
                        problems.append(f"{name}: reads all of {node['Relation Name']}")
                    if node["Node Type"] == "Sort" and not may_sort:
                        problems.append(f"{name}: sorts the rows ({node.get('Sort Key')})")
                conditions += _conditions(nodes)
                db.session.rollback()
            missing = [column for column in indexed if not any(one in conditions for one in column.split("|"))]
            if missing:
                problems.append(f"{name}: no index condition on {missing}: {conditions}")
        assert problems == [], "\n".join(problems)
