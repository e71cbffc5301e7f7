"""Flask commands: `shops` (create, roll-keys, list), `shoppers erase`, `evidence purge`, `keys rotate`, `demo` and
more."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select
from werkzeug.serving import run_simple

from plugin.demo import demo_webhook_secret
from plugin.extensions import db
from plugin.models import Shop, ShopSecret, utcnow
from plugin.services import audit
from plugin.services.shops import CreatedShop, ShopInputError, create_shop, get_shop, roll_keys
from plugin.services.users import UserInputError, create_user, find_by_email, set_password

DEMO_SECRET_KEY = "demo.secret_key"  # noqa: S105 - a name: the demo shop's key, kept encrypted so `demo` can show it
DEMO_ADMIN_PASSWORD = "demo.admin_password"  # noqa: S105 - a name: the demo owner's password, shown by `demo`
DEMO_ADMIN_EMAIL = "owner@demo.example"

shops_cli = AppGroup("shops", help="Create shops and manage their API keys.")


def _created_json(created: CreatedShop) -> dict[str, str]:
    return {
        "id": created.shop.id,
        "name": created.shop.name,
        "currency": created.shop.currency,
        "publishable_key": created.keys.publishable_key,
        "secret_key": created.keys.secret_key,
        "platform_webhook_secret": created.platform_webhook_secret,
    }


@shops_cli.command("create")
@click.option("--name", required=True, help="The store's name, as shoppers know it.")
@click.option("--currency", required=True, help="ISO 4217 code of the store's prices, e.g. USD.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (for scripts).")
def create_command(name: str, currency: str, as_json: bool) -> None:
    """Create a shop; its secret key is shown once, now."""
    try:
        created = create_shop(name, currency, current_app.extensions["secret_box"])
    except ShopInputError as exc:
        raise click.BadParameter(str(exc)) from exc
    data = _created_json(created)
    if as_json:
        click.echo(json.dumps(data))
        return
    for key, value in data.items():
        click.echo(f"{key:>24}: {value}")
    click.echo("Keep the secret key and the webhook secret now: they are not shown again.")


@shops_cli.command("roll-keys")
@click.option("--shop", "shop_id", required=True, help="The shop's id (shop_…).")
@click.option("--grace-hours", default=0.0, show_default=True, help="How long the old keys keep working.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def roll_keys_command(shop_id: str, grace_hours: float, as_json: bool) -> None:
    """Issue new keys; the old ones stop working after the grace period."""
    shop = get_shop(shop_id)
    if shop is None:
        raise click.BadParameter(f"no shop {shop_id!r}", param_hint="--shop")
    try:
        keys = roll_keys(shop, utcnow(), timedelta(hours=grace_hours))
    except ShopInputError as exc:
        raise click.BadParameter(str(exc), param_hint="--grace-hours") from exc
    data = {"id": shop.id, "publishable_key": keys.publishable_key, "secret_key": keys.secret_key}
    click.echo(json.dumps(data) if as_json else "\n".join(f"{k:>16}: {v}" for k, v in data.items()))


@shops_cli.command("list")
def list_command() -> None:
    """One line per shop: id, currency, name."""
    for shop in db.session.scalars(select(Shop).order_by(Shop.created_at)):
        click.echo(f"{shop.id}\t{shop.currency}\t{shop.name}")


def ensure_demo_shop() -> tuple[Shop, str, str]:
    """The first shop (created on first run) with its publishable and secret keys."""
    box = current_app.extensions["secret_box"]
    shop = db.session.scalars(select(Shop).order_by(Shop.created_at).limit(1)).first()
    if shop is None:
        created = create_shop("Demo Jade & Jewelry", "USD", box)
        db.session.add(
            ShopSecret(shop_id=created.shop.id, name=DEMO_SECRET_KEY, ciphertext=box.encrypt(created.keys.secret_key))
        )
        db.session.commit()
        return created.shop, created.keys.publishable_key, created.keys.secret_key
    kept = db.session.get(ShopSecret, (shop.id, DEMO_SECRET_KEY))
    if kept is None:  # a real shop made outside the demo: give the demo fresh keys of its own
        keys = roll_keys(shop, utcnow(), timedelta(hours=24))
        db.session.add(ShopSecret(shop_id=shop.id, name=DEMO_SECRET_KEY, ciphertext=box.encrypt(keys.secret_key)))
        db.session.commit()
        return shop, keys.publishable_key, keys.secret_key
    secret_key = box.decrypt(kept.ciphertext)
    publishable = next(key.display for key in shop.api_keys if key.kind == "publishable" and key.expires_at is None)
    return shop, publishable, secret_key


def ensure_demo_owner(shop: Shop) -> tuple[str, str]:
    """The demo shop's owner (created on first run with a random password, kept encrypted so `demo` shows it)."""
    import secrets

    box = current_app.extensions["secret_box"]
    kept = db.session.get(ShopSecret, (shop.id, DEMO_ADMIN_PASSWORD))
    user = find_by_email(DEMO_ADMIN_EMAIL)
    if kept is not None and user is not None:
        return DEMO_ADMIN_EMAIL, box.decrypt(kept.ciphertext)
    password = secrets.token_urlsafe(12)
    if user is None:
        create_user(shop, DEMO_ADMIN_EMAIL, password, "owner")
    else:
        set_password(user, password)
    if kept is None:
        db.session.add(ShopSecret(shop_id=shop.id, name=DEMO_ADMIN_PASSWORD, ciphertext=box.encrypt(password)))
    else:
        kept.ciphertext = box.encrypt(password)
    db.session.commit()
    return DEMO_ADMIN_EMAIL, password


@click.command("demo")
@with_appcontext
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
def demo_command(host: str, port: int) -> None:
    """Bring the database up to date, make sure a demo shop exists, print its keys, and serve."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if not app.config["DEMO"]:
        raise click.UsageError("the demo needs DEMO=1 in the environment (and HTTPS_ONLY=0 on plain http)")
    from flask_migrate import upgrade

    upgrade(directory=app.config["MIGRATIONS_DIR"])
    shop, publishable, secret = ensure_demo_shop()
    demo_webhook_secret(shop)  # so the demo's Pay button can sign its test payment events
    admin_email, admin_password = ensure_demo_owner(shop)
    base = f"http://{host}:{port}"
    click.echo(
        f"\nShipping protection is running at {base}\n"
        f"  demo store:      {base}/demo\n"
        f"  shop:            {shop.id} ({shop.name}, {shop.currency})\n"
        f"  publishable key: {publishable}\n"
        f"  secret key:      {secret}\n"
        f"  admin:           {base}/admin/ ({admin_email} / {admin_password})\n"
        f"  API docs:        {base}/api/docs\n"
        f"  health:          {base}/healthz\n"
    )
    # A worker beside the web process, so shipped parcels are insured by the sandbox within seconds.
    import threading

    from plugin.worker import Worker

    stop = threading.Event()
    threading.Thread(target=Worker(app).run_forever, args=(stop, 1.0), name="job-worker", daemon=True).start()
    try:
        # werkzeug's server directly: Flask ignores app.run() inside a `flask` command.
        run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False)
    finally:
        stop.set()


@click.command("worker")
@click.option("--drain", is_flag=True, help="Do all the work that is due, then exit.")
@click.option("--poll", default=1.0, show_default=True, help="Seconds to wait when nothing is due.")
@with_appcontext
def worker_command(drain: bool, poll: float) -> None:
    """Run background jobs (buy and cancel policies, confirm Stripe line items); runs until stopped
    (SIGTERM/SIGINT finish the batch). With --drain: the report's last line is JSON, and the exit status
    is 1 when any job failed (every other job was still done)."""
    import signal
    import threading

    from plugin import worker, worker_metrics

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    port = app.config.get("WORKER_METRICS_PORT")
    metrics_server = (
        None if drain or port is None else worker_metrics.serve(app, app.config["WORKER_METRICS_HOST"], port)
    )
    try:
        stats = worker.run(app, drain=drain, stop=stop, poll_seconds=poll)
    finally:
        if metrics_server is not None:
            metrics_server.shutdown()
            metrics_server.server_close()
    for failure in stats.failures:
        click.echo(
            f"job {failure['job']} ({failure['kind']} {failure['subject']}) {failure['status']}: {failure['error']}",
            err=True,
        )
    click.echo(json.dumps(stats.report()))
    if drain and not stats.ok:
        raise SystemExit(1)


policies_cli = AppGroup("policies", help="Policies that need a hand.")


@policies_cli.command("retry")
@click.argument("policy_id")
def retry_policy_command(policy_id: str) -> None:
    """Make a failed or retrying policy due now."""
    from plugin.api.presenters import policy_body
    from plugin.errors import ApiError
    from plugin.models import Policy
    from plugin.services.policies import retry_policy

    policy = db.session.get(Policy, policy_id)
    if policy is None:
        raise click.BadParameter(f"no policy {policy_id!r}")
    try:
        click.echo(json.dumps(policy_body(retry_policy(policy.shop_id, policy_id, utcnow()))))
    except ApiError as exc:
        raise click.ClickException(exc.message) from exc


stripe_cli = AppGroup("stripe", help="Stripe housekeeping for a shop.")


@stripe_cli.command("reconcile")
@click.option("--shop", "shop_id", required=True, help="The shop's id (shop_…).")
@click.option(
    "--since",
    required=True,
    type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%SZ"]),
    help="UTC date or time to look back to (Stripe keeps events for 30 days).",
)
def reconcile_command(shop_id: str, since: datetime) -> None:
    """Apply the shop's Stripe events we missed (an outage longer than Stripe's retries), and confirm
    Checkout protection lines still pending. Safe to run again: every event is applied once."""
    from plugin.config import quote_signing_keys
    from plugin.payments.stripe_api import StripeApiError
    from plugin.services.stripe_account import stripe_account
    from plugin.services.stripe_events import reconcile

    shop = get_shop(shop_id)
    if shop is None:
        raise click.BadParameter(f"no shop {shop_id!r}", param_hint="--shop")
    api = stripe_account(shop, current_app.extensions["secret_box"]).client(current_app.config["STRIPE_API_BASE"])
    if api is None:
        raise click.UsageError("the shop has no stripe.api_key in its settings")
    try:
        summary = reconcile(shop, api, since.replace(tzinfo=UTC), quote_signing_keys(current_app.config), utcnow())
    except StripeApiError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps(summary))


claims_cli = AppGroup("claims", help="Claims housekeeping.")


@claims_cli.command("scan")
@click.option("--shop", "shop_id", default=None, help="Only this shop (shop_…); default: every shop.")
def scan_command(shop_id: str | None) -> None:
    """Find stalled and late parcels: alert the merchant, then invite the shopper to claim (each once); print a
    JSON summary. The worker runs this every CLAIMS_SCAN_INTERVAL_SECONDS by itself."""
    from plugin.services.tracking_scan import scan_tracking

    if shop_id is not None and get_shop(shop_id) is None:
        raise click.BadParameter(f"no shop {shop_id!r}", param_hint="--shop")
    click.echo(json.dumps(scan_tracking(utcnow(), shop_id).report()))


reports_cli = AppGroup("reports", help="The reports' pre-aggregates (PostgreSQL).")


@reports_cli.command("rebuild")
def rebuild_reports_command() -> None:
    """Recompute the reports' pre-aggregates from the payments, protections, policies and claims (after loading
    rows with triggers off, or to repair); writes to those tables wait meanwhile. Prints how many rows there are
    now (none on SQLite, where the reports read the rows themselves)."""
    from plugin.services import report_rollup

    written = report_rollup.rebuild()
    db.session.commit()
    click.echo(json.dumps({"rows": written}))


@reports_cli.command("compact")
def compact_reports_command() -> None:
    """Fold the pre-aggregates' appended rows now (the worker does it every 5 minutes by itself)."""
    from plugin.services import report_rollup

    written = report_rollup.compact()
    db.session.commit()
    click.echo(json.dumps({"rows": written}))


performance_cli = AppGroup("performance", help="The shops' last-30-day figures and their price tiers.")


@performance_cli.command("refresh")
@click.option("--shop", "shop_id", default=None, help="Only this shop (shop_…); default: every shop.")
def refresh_performance_command(shop_id: str | None) -> None:
    """Measure the shops' last 30 days now, store the figures and the tier each coverage earns, and record tier
    changes (the worker does it every 15 minutes by itself); print how many shops were refreshed."""
    from plugin.services import performance

    now = utcnow()
    if shop_id is None:
        click.echo(json.dumps({"shops": performance.refresh_all(now)}))
        return
    shop = get_shop(shop_id)
    if shop is None:
        raise click.BadParameter(f"no shop {shop_id!r}", param_hint="--shop")
    performance.refresh_shop(shop, now)
    click.echo(json.dumps({"shops": 1}))


shoppers_cli = AppGroup("shoppers", help="Shoppers' personal data.")


@shoppers_cli.command("erase")
@click.option("--shop", "shop_id", required=True, help="The shop's id (shop_…).")
@click.option("--email", required=True, help="The shopper's address (any case).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def shoppers_erase_command(shop_id: str, email: str, as_json: bool) -> None:
    """Erase a shopper's personal data in one shop (addresses, descriptions, their messages and evidence files,
    emails queued to them); money records stay. Safe to run again."""
    from plugin.services.erasure import erase_shopper

    shop = get_shop(shop_id)
    if shop is None:
        raise click.BadParameter(f"no shop {shop_id!r}", param_hint="--shop")
    if "@" not in email.strip():
        raise click.BadParameter(f"{email!r} is not an email address", param_hint="--email")
    summary = erase_shopper(shop.id, email, utcnow())
    db.session.commit()
    if as_json:
        click.echo(json.dumps(summary.report()))
        return
    click.echo(f"Erased in {shop.id} (shopper sha256:{summary.email_sha256[:12]}…):")
    for kind, count in summary.counts.items():
        click.echo(f"{kind:>18}: {count}")


evidence_cli = AppGroup("evidence", help="Evidence files.")


@evidence_cli.command("purge")
@click.option("--shop", "shop_id", default=None, help="Only this shop (shop_…); default: every shop.")
def evidence_purge_command(shop_id: str | None) -> None:
    """Delete evidence past claims.evidence_retention_days now (the worker does it every 6 hours by itself); print
    JSON: how many files went, by shop."""
    from plugin.services import evidence_retention

    if shop_id is not None and get_shop(shop_id) is None:
        raise click.BadParameter(f"no shop {shop_id!r}", param_hint="--shop")
    done = evidence_retention.purge(utcnow(), shop_id)
    click.echo(json.dumps({"deleted": sum(done.values()), "shops": done}))


users_cli = AppGroup("users", help="Create the people who sign in to the admin, and set their passwords.")


@users_cli.command("create")
@click.option("--shop", "shop_id", required=True, help="The shop's id (shop_…).")
@click.option("--email", required=True, help="The address the person signs in with (unique on this server).")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True, help="At least 12 characters.")
@click.option("--role", type=click.Choice(["owner", "staff"]), default="owner", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def users_create_command(shop_id: str, email: str, password: str, role: str, as_json: bool) -> None:
    """Add a user to a shop: owners change settings, keys and users; staff work the queues."""
    shop = get_shop(shop_id)
    if shop is None:
        raise click.BadParameter(f"no shop {shop_id!r}", param_hint="--shop")
    try:
        user = create_user(shop, email, password, role)
    except UserInputError as exc:
        raise click.BadParameter(str(exc)) from exc
    audit.record(shop.id, "cli", "user.created", utcnow(), target=user.id, after={"email": user.email, "role": role})
    db.session.commit()
    data = {"id": user.id, "shop": shop.id, "email": user.email, "role": user.role}
    click.echo(json.dumps(data) if as_json else f"Created {user.role} {user.email} ({user.id}) for {shop.name}.")


@users_cli.command("set-password")
@click.option("--email", required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True, help="At least 12 characters.")
def users_set_password_command(email: str, password: str) -> None:
    """Set a user's password (ends their sessions and any lock-out), e.g. when no email server is set up."""
    user = find_by_email(email)
    if user is None:
        raise click.BadParameter(f"no user {email!r}", param_hint="--email")
    try:
        set_password(user, password)
    except UserInputError as exc:
        raise click.BadParameter(str(exc), param_hint="--password") from exc
    audit.record(user.shop_id, "cli", "user.password_set", utcnow(), target=user.id)
    db.session.commit()
    click.echo(f"Password of {user.email} changed.")


keys_cli = AppGroup("keys", help="Encryption keys of stored secrets (ENCRYPTION_KEY).")


@keys_cli.command("rotate")
@click.option("--batch-size", default=200, show_default=True, type=click.IntRange(1, 10_000), help="Rows a commit.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def keys_rotate_command(batch_size: int, as_json: bool) -> None:
    """Re-encrypt every stored secret under the first ENCRYPTION_KEY (safe to run again, and beside running
    processes); exits 1 when a secret cannot be read with any configured key (it is left as it is)."""
    from plugin.services.key_rotation import rotate

    summary = rotate(current_app.extensions["secret_box"], utcnow(), batch_size)
    data = summary.report()
    if as_json:
        click.echo(json.dumps(data))
    else:
        for table, counts in data["tables"].items():
            meanwhile = f", {counts['changed_meanwhile']} changed meanwhile" if counts["changed_meanwhile"] else ""
            done, current = counts["reencrypted"], counts["already_current"]
            click.echo(f"{table}: {done} re-encrypted, {current} already under the first key{meanwhile}")
        for row in data["undecryptable"]:
            where = ", ".join(f"{name} {value}" for name, value in row.items() if name != "table")
            click.echo(f"cannot decrypt {row['table']} ({where}) with any configured key; left as it is", err=True)
    if data["undecryptable"]:
        raise SystemExit(1)


def register(app: Flask) -> None:
    """Add the project's commands to `flask --app plugin …`."""
    app.cli.add_command(shops_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(stripe_cli)
    app.cli.add_command(worker_command)
    app.cli.add_command(policies_cli)
    app.cli.add_command(claims_cli)
    app.cli.add_command(reports_cli)
    app.cli.add_command(performance_cli)
    app.cli.add_command(shoppers_cli)
    app.cli.add_command(evidence_cli)
    app.cli.add_command(demo_command)
    app.cli.add_command(keys_cli)
