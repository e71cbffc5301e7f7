"""The shop's outbound webhook endpoints, from /admin/keys (owners only): add, edit, delete, roll a secret, and
send a signed test event through the worker.

A change is checked as the settings API checks it (the same schema and SSRF guard, only for the endpoint
changed: another endpoint's stored URL is not judged again) and written by the same service. A new or rolled
signing secret is shown once, in the answer page.
"""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext, lazy_gettext

from plugin.admin import access
from plugin.admin.blueprint import bp
from plugin.admin.keys import MAX_ENDPOINTS, secret_box
from plugin.admin.posted import posted
from plugin.crypto import mask
from plugin.domain.webhooks import ALL_EVENTS, EVENT_TYPES
from plugin.extensions import db
from plugin.models import WebhookEndpoint, utcnow
from plugin.services import audit, webhooks
from plugin.services.webhooks import EndpointsPlan

_URL_MAX = 2048
_ITEM = "webhooks.endpoints.0"
# The SSRF guard's reasons (plugin/net_guard.py), as sentences in the page's language.
_URL_REASONS = {
    "must be an https:// URL": lazy_gettext("The URL must start with https://."),
    "must not carry credentials; put them in their own fields": lazy_gettext(
        "The URL must not contain a user name or password."
    ),
    "must not percent-encode its host": lazy_gettext("The URL's host must not be percent-encoded."),
    "must not contain spaces, control characters or backslashes": lazy_gettext(
        "The URL must not contain spaces, control characters or backslashes."
    ),
    "has an invalid port": lazy_gettext("The URL's port is not valid."),
    "has an invalid IPv6 address": lazy_gettext("The URL's IPv6 address is not valid."),
    "must write an IPv4 address as four decimal numbers (or use a host name)": lazy_gettext(
        "Write an IPv4 address as four decimal numbers, or use a host name."
    ),
    "must name a host": lazy_gettext("The URL must name a host."),
    "must write its host in ASCII (use the xn-- form of an international name)": lazy_gettext(
        "Write the host in ASCII (the xn-- form of an international name)."
    ),
    "must not end its host with a dot": lazy_gettext("The URL's host must not end with a dot."),
    "points at a private, loopback, link-local or otherwise non-public address": lazy_gettext(
        "The URL points at a private or local address: webhooks only go to public hosts."
    ),
    "has an invalid host name": lazy_gettext("The URL's host name is not valid."),
    "points at a private host": lazy_gettext("The URL points at a private host: webhooks only go to public hosts."),
    "resolves to something that is not an IP address": lazy_gettext("The URL's host does not resolve to an address."),
    "resolves to a private, loopback, link-local or otherwise non-public address": lazy_gettext(
        "The URL's host resolves to a private or local address: webhooks only go to public hosts."
    ),
    "has a host name that cannot be looked up": lazy_gettext("The URL's host name cannot be looked up."),
}
_URL_PREFIX = "The webhook URL "


def _endpoint(endpoint_id: str) -> WebhookEndpoint:
    """The shop's endpoint with this id; 404 for another shop's or none."""
    endpoint = db.session.get(WebhookEndpoint, endpoint_id[:40])
    if endpoint is None or endpoint.shop_id != access.current_shop().id:
        abort(404)
    return endpoint


def _events_posted() -> list[str]:
    chosen = [value[:60] for value in request.form.getlist("events")[: len(EVENT_TYPES) + 1]]
    return [ALL_EVENTS] if ALL_EVENTS in chosen else chosen


def _url_message(message: str) -> str:
    reason = message.removeprefix(_URL_PREFIX).rstrip(".")
    if message.startswith(_URL_PREFIX) and reason in _URL_REASONS:
        return str(_URL_REASONS[reason])
    if message.startswith("Must be an https"):
        return str(_URL_REASONS["must be an https:// URL"])
    return gettext("Give the https:// URL that should receive the events.")


def _check(item: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """The endpoint as the service plans it (checked like the settings API checks it), or the form's errors."""
    errors: dict[str, str] = {}
    if not item["url"]:
        errors["url"] = gettext("Give the https:// URL that should receive the events.")
    elif len(item["url"]) > _URL_MAX:
        errors["url"] = gettext("The URL must have at most %(count)d characters.", count=_URL_MAX)
    if not item["events"]:
        errors["events"] = gettext("Choose at least one event.")
    if errors:
        return None, errors
    config = current_app.config
    plan = webhooks.plan_endpoints(
        access.current_shop().id,
        {"endpoints": [item]},
        secret_box(),
        allow_private=config["ALLOW_PRIVATE_WEBHOOK_HOSTS"],
        resolve=config.get("RESOLVE_INSURER_HOSTS", True),
    )
    for path, messages in plan.errors.items():
        if path == f"{_ITEM}.url":
            errors["url"] = _url_message(messages[0])
        elif path.startswith(f"{_ITEM}.events"):
            errors["events"] = gettext("Choose events from the list.")
        elif path.startswith(f"{_ITEM}.id"):
            abort(404)
        else:
            errors["url"] = messages[0]
    if errors:
        return None, errors
    return plan.items[0], {}


def _write(items: list[dict[str, Any]]) -> dict[str, str]:
    """Replace the shop's endpoints with these planned items (in the caller's transaction); secrets revealed."""
    return webhooks.apply_endpoints(access.current_shop().id, EndpointsPlan(items=items), secret_box())


def _kept(exclude: str | None = None) -> list[dict[str, Any]]:
    """The shop's endpoints as plan items that keep them unchanged."""
    return [
        {"id": endpoint.id, "url": endpoint.url, "events": list(endpoint.events), "roll": False}
        for endpoint in webhooks.endpoints_of(access.current_shop().id)
        if endpoint.id != exclude
    ]


def _form(values: dict[str, Any], errors: dict[str, str], endpoint_id: str | None, status: int) -> ResponseReturnValue:
    title = gettext("Edit a webhook endpoint") if endpoint_id else gettext("Add a webhook endpoint")
    page = render_template(
        "admin/endpoint_form.html",
        shop=access.current_shop(),
        title=title,
        values=values,
        errors=errors,
        endpoint_id=endpoint_id,
        event_types=EVENT_TYPES,
        all_events=ALL_EVENTS,
    )
    return page, status


def _shown_once(endpoint: WebhookEndpoint, secret: str, created: bool) -> ResponseReturnValue:
    return render_template(
        "admin/endpoint_secret.html",
        shop=access.current_shop(),
        title=gettext("The endpoint's signing secret"),
        endpoint=endpoint,
        secret=secret,
        created=created,
    )


@bp.route("/keys/endpoints/new", methods=["GET", "POST"])
@access.owner_required
def endpoint_new() -> ResponseReturnValue:
    """Add an endpoint; its signing secret is shown once, in the answer."""
    values: dict[str, Any] = {"url": "", "events": [ALL_EVENTS]}
    if request.method == "GET":
        return _form(values, {}, None, 200)
    values = {"url": posted("url", _URL_MAX), "events": _events_posted()}
    kept = _kept()
    if len(kept) >= MAX_ENDPOINTS:
        errors = {"url": gettext("A shop has at most %(count)d endpoints; remove one first.", count=MAX_ENDPOINTS)}
        return _form(values, errors, None, 422)
    item, errors = _check(values)
    if item is None:
        return _form(values, errors, None, 422)
    revealed = _write([*kept, item])
    [(endpoint_id, secret)] = revealed.items()
    now = utcnow()
    shop = access.current_shop()
    after = {"url": item["url"], "events": item["events"]}
    audit.record(shop.id, access.actor(), "webhook_endpoint.created", now, target=endpoint_id, after=after)
    db.session.commit()
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    assert endpoint is not None
    return _shown_once(endpoint, secret, created=True)


@bp.route("/keys/endpoints/<endpoint_id>", methods=["GET", "POST"])
@access.owner_required
def endpoint_edit(endpoint_id: str) -> ResponseReturnValue:
    """Change an endpoint's URL or events (its secret stays)."""
    endpoint = _endpoint(endpoint_id)
    before = {"url": endpoint.url, "events": list(endpoint.events)}
    if request.method == "GET":
        return _form(before, {}, endpoint.id, 200)
    values = {"url": posted("url", _URL_MAX), "events": _events_posted()}
    item, errors = _check({"id": endpoint.id, **values})
    if item is None:
        return _form(values, errors, endpoint.id, 422)
    items = [item if kept["id"] == endpoint.id else kept for kept in _kept()]
    _write(items)
    after = {"url": item["url"], "events": item["events"]}
    audit.record(
        endpoint.shop_id, access.actor(), "webhook_endpoint.updated", utcnow(), target=endpoint.id, before=before,
        after=after,
    )  # fmt: skip
    db.session.commit()
    flash(gettext("The endpoint is saved."))
    return redirect(url_for("admin.keys", _anchor="endpoints"))


@bp.post("/keys/endpoints/<endpoint_id>/delete")
@access.owner_required
def endpoint_delete(endpoint_id: str) -> ResponseReturnValue:
    """Remove an endpoint: no more events go to it (deliveries already queued are dropped by the worker)."""
    endpoint = _endpoint(endpoint_id)
    before = {"url": endpoint.url, "events": list(endpoint.events)}
    shop_id = endpoint.shop_id
    _write(_kept(exclude=endpoint.id))
    audit.record(shop_id, access.actor(), "webhook_endpoint.deleted", utcnow(), target=endpoint_id, before=before)
    db.session.commit()
    flash(gettext("The endpoint is removed."))
    return redirect(url_for("admin.keys", _anchor="endpoints"))


@bp.post("/keys/endpoints/<endpoint_id>/roll")
@access.owner_required
def endpoint_roll(endpoint_id: str) -> ResponseReturnValue:
    """A new signing secret for the endpoint, shown once; the old one stops signing at once."""
    endpoint = _endpoint(endpoint_id)
    old = mask(secret_box().decrypt(endpoint.secret_ciphertext))
    items = [{**kept, "roll": kept["id"] == endpoint.id} for kept in _kept()]
    revealed = _write(items)
    secret = revealed[endpoint.id]
    audit.record(
        endpoint.shop_id, access.actor(), "webhook_endpoint.secret_rolled", utcnow(), target=endpoint.id,
        before={"secret": old}, after={"secret": mask(secret)},
    )  # fmt: skip
    db.session.commit()
    return _shown_once(endpoint, secret, created=False)


@bp.post("/keys/endpoints/<endpoint_id>/test")
@access.owner_required
def endpoint_test(endpoint_id: str) -> ResponseReturnValue:
    """Queue a signed `webhook.test` event for this endpoint; the worker sends it, and the page shows how it went."""
    endpoint = _endpoint(endpoint_id)
    now = utcnow()
    event = webhooks.send_test_event(endpoint, now)
    audit.record(
        endpoint.shop_id, access.actor(), "webhook_endpoint.test_sent", now, target=endpoint.id,
        after={"event": event.id},
    )  # fmt: skip
    db.session.commit()
    flash(gettext("A test event (%(event)s) is queued: the worker sends it in a moment.", event=event.id))
    return redirect(url_for("admin.keys", _anchor="sent"))
