"""No page, file or action of one shop is reachable from another shop's account: every admin URL is walked with
the ids of another shop's objects, by GET and by POST, and must answer 404 (or 400) and change nothing."""

from __future__ import annotations

import hashlib
import itertools
import json

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import inspect, select

from plugin.extensions import db
from plugin.models import Shop
from tests.admin_helpers import csrf_token, make_user
from tests.claim_helpers import claim_with_files, photo, shipped_order, track
from tests.claim_helpers import days_ago as ago
from tests.conftest import bearer
from tests.return_helpers import enable_returns, make_returns_covered_order, open_return


@pytest.fixture()
def other_shop(app: Flask, client: FlaskClient, new_shop):
    """Another shop with one of everything: a paid protection, a parcel and its policy, a claim with a photo,
    jobs, a user, an outbound endpoint, webhook deliveries, audit entries, returns and a blocked shopper."""
    other = new_shop("Other House")
    shipped_order(client, other, shipped_days_ago=5)
    track(app, "ful_1001_1", "delivered", ago(1))
    answer = claim_with_files(client, other, [(photo(), "broken.jpg")])
    assert answer.status_code in (200, 201, 202), answer.get_json()
    make_user(app, other.shop.id, "owner@other.example")
    # A covered return with its claim, and another flagged (its shopper blocked).
    make_returns_covered_order(app, client, other, order_id="1002")
    enable_returns(client, other)
    assert open_return(client, other, order_id="1002").status_code == 201
    flagged = open_return(client, other, order_id="1002", return_id="R-2", tracking_number="1ZR2").get_json()
    answer = client.post(
        f"/api/v1/returns/{flagged['id']}/flag", json={"reason": "empty"}, headers=bearer(other.keys.secret_key)
    )
    assert answer.status_code == 200, answer.get_json()
    return other


def _rows_of(shop_id: str) -> dict[str, list[str]]:
    """Every row of every table that belongs to the shop, as JSON text (a fingerprint of its state)."""
    found: dict[str, list[str]] = {}
    for table in db.metadata.sorted_tables:
        if "shop_id" in table.columns:
            rows = db.session.execute(select(table).where(table.c.shop_id == shop_id)).mappings().all()
        elif table.name == "shops":
            rows = db.session.execute(select(table).where(table.c.id == shop_id)).mappings().all()
        else:
            continue
        found[table.name] = sorted(json.dumps(dict(row), default=str, sort_keys=True) for row in rows)
    return found


def _ids_of(shop_id: str) -> set[str]:
    """The ids of every object of the shop (string and integer keys alike)."""
    ids: set[str] = {shop_id}
    for mapper in db.Model.registry.mappers:
        model = mapper.class_
        columns = {column.key for column in inspect(model).columns}
        if "shop_id" not in columns or "id" not in columns:
            continue
        ids.update(str(value) for value in db.session.scalars(select(model.id).where(model.shop_id == shop_id)))
    return ids


def _admin_rules(app: Flask) -> list:
    return [rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/admin") and rule.arguments]


def test_every_admin_url_with_another_shops_ids_is_a_404_and_changes_nothing(
    app: Flask, owner_client: FlaskClient, other_shop
) -> None:
    with app.app_context():
        ids = _ids_of(other_shop.shop.id)
        before = _rows_of(other_shop.shop.id)
        assert db.session.get(Shop, other_shop.shop.id) is not None
    assert len(ids) > 10, ids  # the walk has something to find
    rules = _admin_rules(app)
    assert rules, "no admin URL takes an id"
    token = csrf_token(owner_client, "/admin/")
    tried = 0
    for rule in rules:
        names = sorted(rule.arguments)
        for values in (
            itertools.product(sorted(ids), repeat=len(names))
            if len(names) == 1
            else [tuple([value] * len(names)) for value in sorted(ids)]
        ):
            path = rule.build(dict(zip(names, values, strict=True)), append_unknown=False)[1]
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                data = {"csrf_token": token} if method != "GET" else None
                answer = owner_client.open(path, method=method, data=data)
                tried += 1
                assert answer.status_code in (400, 404), (method, path, answer.status_code)
    assert tried >= len(ids)
    with app.app_context():
        assert _rows_of(other_shop.shop.id) == before


def test_lists_and_exports_never_show_another_shops_rows(app: Flask, owner_client: FlaskClient, other_shop) -> None:
    with app.app_context():
        ids = {value for value in _ids_of(other_shop.shop.id) if not value.isdigit()}
    pages = [
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/admin") and not rule.arguments and "GET" in rule.methods
    ]
    for page in pages:
        for suffix in ("", "?format=csv"):
            answer = owner_client.get(page + suffix)
            if answer.status_code >= 300:
                continue
            body = answer.get_data(as_text=True)
            leaked = {value for value in ids if value in body}
            assert not leaked, (page + suffix, leaked)
    digest = hashlib.sha256(b"".join(sorted(i.encode() for i in ids))).hexdigest()
    assert digest  # the ids were there to look for
