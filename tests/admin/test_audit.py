"""The audit log: who changed what and when, from the admin and from the API, on a page of its own (owners only),
newest first in keyset pages, filtered by action and date, and exported as CSV."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from plugin.crypto import mask
from plugin.extensions import db
from plugin.models import AuditEntry, utcnow
from plugin.services import audit
from tests.admin_helpers import AdminUser
from tests.conftest import bearer
from tests.form_helpers import form_fields

DAY = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def entries(app: Flask, shop_id: str) -> list[AuditEntry]:
    with app.app_context():
        found = list(
            db.session.scalars(
                select(AuditEntry).where(AuditEntry.shop_id == shop_id).order_by(AuditEntry.id.expression)
            )
        )
        db.session.expunge_all()
        return found


def save(client: FlaskClient, path: str, changes: dict[str, str]) -> None:
    form = form_fields(client.get(path).get_data(as_text=True), "settings-form")
    form.update(changes)
    answer = client.post(path, data={**form, "action": "save"})
    assert answer.status_code == 302, answer.get_data(as_text=True)[:500]


def test_an_admin_change_is_recorded_with_who_when_and_only_the_changed_fields(
    app: Flask, shop, owner: AdminUser, owner_client: FlaskClient
) -> None:
    started = utcnow()
    save(owner_client, "/admin/settings", {"pricing.rate": "3.5", "pricing.minimum": "1"})
    finished = utcnow()
    [entry] = entries(app, shop.shop.id)
    assert entry.actor == f"user:{owner.id} {owner.email}"
    assert entry.action == "settings.updated"
    assert started <= entry.created_at <= finished
    assert entry.before == {"pricing": {"rate": "0.02", "minimum": 0}}
    assert entry.after == {"pricing": {"rate": "0.035", "minimum": 100}}


def test_secrets_changed_in_the_admin_are_recorded_masked(app: Flask, shop, owner_client: FlaskClient) -> None:
    key = "ls_live_key_0123456789"
    save(
        owner_client,
        "/admin/settings/insurer",
        {"insurer.provider": "loadsure", "insurer.config.loadsure.api_key": key},
    )
    [entry] = entries(app, shop.shop.id)
    assert entry.before["insurer"]["provider"] == "sandbox"
    assert entry.before["insurer"]["config"] == {"latency_ms": 0, "failure_rate": "0", "base_url": None}
    assert entry.after["insurer"] == {
        "provider": "loadsure",
        "config": {"base_url": "https://portal.loadsure.net", "api_key": mask(key)},
    }
    assert key not in str(entry.before) + str(entry.after)


def test_the_page_lists_admin_and_api_changes_newest_first(
    app: Flask, client: FlaskClient, shop, owner: AdminUser, owner_client: FlaskClient
) -> None:
    save(owner_client, "/admin/settings/claims", {"claims.lost_after_days": "9"})
    answer = client.patch(
        "/api/v1/settings", json={"branding": {"accent_color": "#0f766e"}}, headers=bearer(shop.keys.secret_key)
    )
    assert answer.status_code == 200
    page = owner_client.get("/admin/audit").get_data(as_text=True)
    rows = re.findall(r'<tr id="audit-(\d+)">(.*?)</tr>\s*(?=<tr id="audit-|</tbody>\s*</table>\s*</div>)', page, re.S)
    assert len(rows) == 2
    newest, oldest = rows[0][1], rows[1][1]
    assert f"API key {mask(shop.keys.secret_key)}" in newest
    assert "branding.accent_color" in newest and "#0f766e" in newest
    assert owner.email in oldest
    assert re.search(r"claims\.lost_after_days</td><td class=\"mono\">7</td><td class=\"mono\">9</td>", oldest)
    assert "Settings changed" in oldest


def _record(app: Flask, shop_id: str, moments: list[tuple[str, datetime]]) -> list[int]:
    with app.app_context():
        made = [
            audit.record(
                shop_id, "cli", action, moment, target=f"t{index}", before={"n": index}, after={"n": index + 1}
            )
            for index, (action, moment) in enumerate(moments)
        ]
        db.session.commit()
        return [entry.id for entry in made]


def _ids(page: str) -> list[int]:
    return [int(found) for found in re.findall(r'<tr id="audit-(\d+)">', page)]


def test_keyset_pages_walk_every_entry_once_newest_first(app: Flask, shop, owner_client: FlaskClient) -> None:
    same = DAY + timedelta(hours=3)
    ids = _record(
        app,
        shop.shop.id,
        [
            ("settings.updated", DAY),
            ("settings.updated", same),
            ("keys.rolled", same),
            ("settings.updated", DAY + timedelta(days=1)),
            ("user.created", DAY - timedelta(days=1)),
        ],
    )
    expected = [ids[3], ids[2], ids[1], ids[0], ids[4]]  # newest first; a tie on time by id, newest first
    seen: list[int] = []
    url: str | None = "/admin/audit?limit=2"
    while url is not None:
        page = owner_client.get(url).get_data(as_text=True)
        seen.extend(_ids(page))
        found = re.search(r'<a href="([^"]+)" id="audit-next"', page)
        url = found.group(1).replace("&amp;", "&") if found else None
    assert seen == expected


def test_filters_by_action_and_date_in_the_shops_zone(app: Flask, shop, owner_client: FlaskClient) -> None:
    ids = _record(
        app,
        shop.shop.id,
        [
            ("settings.updated", DAY),
            ("keys.rolled", DAY + timedelta(hours=1)),
            ("settings.updated", DAY + timedelta(days=2)),
            ("settings.updated", DAY - timedelta(days=3)),
        ],
    )
    assert _ids(owner_client.get("/admin/audit?action=keys.rolled").get_data(as_text=True)) == [ids[1]]
    page = owner_client.get("/admin/audit?action=settings.updated&from=2026-11-02&to=2026-11-02")
    assert _ids(page.get_data(as_text=True)) == [ids[0]]
    page = owner_client.get("/admin/audit?from=2026-11-02")
    assert _ids(page.get_data(as_text=True)) == [ids[2], ids[1], ids[0]]
    page = owner_client.get("/admin/audit?to=2026-11-01")
    assert _ids(page.get_data(as_text=True)) == [ids[3]]


@pytest.mark.parametrize(
    "query",
    [
        "action=deleted_everything",
        "from=yesterday",
        "to=2026-13-01",
        "after=abc",
        "after=99999999",
        "after=-1",
        "after=１２",
        "limit=0",
        "limit=1000",
    ],
)
def test_bad_filters_are_a_400_page(app: Flask, shop, owner_client: FlaskClient, query: str) -> None:
    _record(app, shop.shop.id, [("settings.updated", DAY)])
    answer = owner_client.get(f"/admin/audit?{query}")
    assert answer.status_code == 400
    assert "This list cannot be shown" in answer.get_data(as_text=True)


def test_another_shops_entries_are_never_shown_nor_usable_as_a_cursor(
    app: Flask, shop, new_shop, owner_client: FlaskClient
) -> None:
    other = new_shop("Other House")
    [theirs] = _record(app, other.shop.id, [("settings.updated", DAY)])
    [ours] = _record(app, shop.shop.id, [("settings.updated", DAY - timedelta(hours=1))])
    assert _ids(owner_client.get("/admin/audit").get_data(as_text=True)) == [ours]
    assert owner_client.get(f"/admin/audit?after={theirs}").status_code == 400
    exported = owner_client.get("/admin/audit?format=csv").get_data(as_text=True).lstrip("\ufeff")
    assert [row[0] for row in csv.reader(io.StringIO(exported))] == ["id", str(ours)]


def test_the_csv_export_holds_every_matching_entry(app: Flask, shop, owner_client: FlaskClient) -> None:
    with app.app_context():
        audit.record(
            shop.shop.id,
            '=HYPERLINK("http://evil")',
            "settings.updated",
            DAY,
            before={"pricing": {"rate": "0.02"}},
            after={"pricing": {"rate": "0.03"}},
        )
        audit.record(shop.shop.id, "cli", "keys.rolled", DAY + timedelta(hours=1), target="sk_…abcd")
        audit.record(shop.shop.id, "cli", "settings.updated", DAY + timedelta(days=5), after={"claims": {"n": 1}})
        db.session.commit()
    answer = owner_client.get("/admin/audit?format=csv&to=2026-11-03")
    assert answer.status_code == 200
    assert answer.mimetype == "text/csv"
    assert "attachment" in answer.headers["Content-Disposition"]
    text = answer.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0] == ["id", "time", "actor", "action", "target", "changed", "before", "after"]
    assert [row[1:6] for row in rows[1:]] == [
        ["2026-11-02T13:00:00Z", "cli", "keys.rolled", "sk_…abcd", ""],
        ["2026-11-02T12:00:00Z", '\'=HYPERLINK("http://evil")', "settings.updated", "", "pricing.rate"],
    ]
    assert rows[2][6:] == ['{"pricing": {"rate": "0.02"}}', '{"pricing": {"rate": "0.03"}}']
    only_keys = owner_client.get("/admin/audit?format=csv&action=keys.rolled").get_data(as_text=True)
    assert len(list(csv.reader(io.StringIO(only_keys.lstrip("\ufeff"))))) == 2


def test_staff_cannot_read_the_audit_log(staff_client: FlaskClient) -> None:
    assert staff_client.get("/admin/audit").status_code == 403
    assert staff_client.get("/admin/audit?format=csv").status_code == 403
    assert "admin/audit" not in staff_client.get("/admin/").get_data(as_text=True)  # not in the staff's menu


def test_an_empty_log_says_so(owner_client: FlaskClient) -> None:
    page = owner_client.get("/admin/audit").get_data(as_text=True)
    assert 'id="audit-empty"' in page
    assert 'id="audit-next"' not in page
