"""The audit log, /admin/audit (owners only): every change to the shop's settings, keys, users and endpoints, who
made it (a person in the admin, an API key, a command) and when, with the changed values before and after.
Newest first, in keyset pages, filtered by action and date, and exported as CSV."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_datetime, gettext, lazy_gettext
from sqlalchemy import Select, select

from plugin.admin import access
from plugin.admin.blueprint import bp
from plugin.admin.listing import Order, choice_arg, csv_response, date_arg, keyset_page, limit_arg, shop_zone, walk
from plugin.domain.changes import leaves
from plugin.extensions import db
from plugin.models import AuditEntry
from plugin.services.settings import effective_settings

ORDER = (Order(AuditEntry.created_at.expression), Order(AuditEntry.id.expression))
ID = AuditEntry.id.expression
# What the log calls the actions it knows; others (added later) are shown as they are recorded.
ACTIONS = {
    "settings.updated": lazy_gettext("Settings changed"),
    "keys.rolled": lazy_gettext("Secret key rolled"),
    "user.created": lazy_gettext("User added"),
}
CSV_HEADER = ("id", "time", "actor", "action", "target", "changed", "before", "after")
ABSENT = "—"


@dataclass(frozen=True)
class Change:
    """One changed field of an entry, as shown."""

    path: str
    before: str
    after: str


def _value(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _shown(values: dict[str, Any], path: str) -> str:
    return _value(values[path]) if path in values else ABSENT


def changes(entry: AuditEntry) -> list[Change]:
    """An entry's changed fields (dotted paths), each with its value before and after."""
    before = dict(leaves(entry.before)) if isinstance(entry.before, dict) else {}
    after = dict(leaves(entry.after)) if isinstance(entry.after, dict) else {}
    found = [
        Change(
            path, _value(before[path]) if path in before else ABSENT, _value(after[path]) if path in after else ABSENT
        )
        for path in sorted(before.keys() | after.keys())
    ]
    if not found and (entry.before is not None or entry.after is not None):
        whole = [entry.before, entry.after]
        found.append(Change("", *(ABSENT if value is None else _value(value) for value in whole)))
    return found


def actor_label(actor: str) -> str:
    """Who made a change, in words: a person's email, an API key, or a command."""
    kind, _, rest = actor.partition(":")
    if kind == "user" and rest:
        return rest.partition(" ")[2] or rest
    if kind == "api_key" and rest:
        return gettext("API key %(key)s", key=rest)
    if actor == "cli":
        return gettext("Command line")
    return actor


def action_label(action: str) -> str:
    """An action in words."""
    known = ACTIONS.get(action)
    return str(known) if known is not None else action


def _filtered(shop_id: str, zone: ZoneInfo) -> tuple[Select[Any], dict[str, str], list[str]]:
    """The shop's entries narrowed by the query string's filters, the filters as given, and the actions to pick."""
    recorded = db.session.scalars(select(AuditEntry.action).where(AuditEntry.shop_id == shop_id).distinct())
    actions = sorted({*ACTIONS, *recorded})
    action = choice_arg("action", actions)
    start = date_arg("from", zone)
    end = date_arg("to", zone, end=True)
    statement = select(AuditEntry).where(AuditEntry.shop_id == shop_id)
    if action is not None:
        statement = statement.where(AuditEntry.action == action)
    if start is not None:
        statement = statement.where(AuditEntry.created_at >= start)
    if end is not None:
        statement = statement.where(AuditEntry.created_at < end)
    filters = {name: request.args.get(name, "").strip() for name in ("action", "from", "to")}
    return statement, filters, actions


def _csv_rows(statement: Select[Any]) -> Iterator[list[Any]]:
    for entry in walk(statement, ORDER, ID):
        changed = "; ".join(change.path for change in changes(entry))
        before = json.dumps(entry.before, ensure_ascii=False, sort_keys=True) if entry.before is not None else ""
        after = json.dumps(entry.after, ensure_ascii=False, sort_keys=True) if entry.after is not None else ""
        yield [entry.id, entry.created_at, entry.actor, entry.action, entry.target, changed, before, after]


def _when(moment: datetime, zone: ZoneInfo) -> str:
    return format_datetime(moment.astimezone(zone), "medium", rebase=False)


@bp.get("/audit")
@access.owner_required
def audit() -> ResponseReturnValue:
    """The audit log, newest first (?action=, ?from=, ?to=, ?after=, ?format=csv)."""
    shop = access.current_shop()
    zone_name = effective_settings(shop).get("shop", {}).get("timezone")
    zone = shop_zone(zone_name if isinstance(zone_name, str) else None)
    statement, filters, actions = _filtered(shop.id, zone)
    if request.args.get("format") == "csv":
        return csv_response("audit-log.csv", CSV_HEADER, _csv_rows(statement))
    page = keyset_page(statement, ORDER, ID, request.args.get("after") or None, limit_arg())
    given: dict[str, Any] = {name: value for name, value in filters.items() if value}
    next_url = url_for("admin.audit", **given, after=page.next_cursor) if page.next_cursor is not None else None
    entries = [
        {
            "id": entry.id,
            "when": _when(entry.created_at, zone),
            "iso": entry.created_at.isoformat(),
            "who": actor_label(entry.actor),
            "actor": entry.actor,
            "action": action_label(entry.action),
            "target": entry.target,
            "changes": changes(entry),
        }
        for entry in page.rows
    ]
    return render_template(
        "admin/audit.html",
        title=gettext("Audit log"),
        shop=shop,
        entries=entries,
        filters=filters,
        actions=[(action, action_label(action)) for action in actions],
        next_url=next_url,
        first_url=url_for("admin.audit", **given) if request.args.get("after") else None,
        csv_url=url_for("admin.audit", **given, format="csv"),
        zone=str(zone),
    )
