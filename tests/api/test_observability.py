"""/readyz (database and job queue) and /metrics (Prometheus text, counted by route template)."""

from __future__ import annotations

from datetime import timedelta

from prometheus_client.parser import text_string_to_metric_families

from plugin.extensions import db
from plugin.jobs.base import FailJob, JobKind, RetryJob
from plugin.models import utcnow
from plugin.services import jobs
from tests.api.test_worker import worker
from tests.conftest import bearer, make_environ
from tests.stripe_helpers import configure_stripe, deliver, payment_intent_event

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> Samples:
    """Every sample of a scrape, keyed by its name and sorted labels (the parser refuses malformed text)."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scrape(client, **headers: str) -> Samples:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/plain"
    return parse(response.get_data(as_text=True))


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def queue_job(app, kind: str, due_at, key: str) -> None:
    with app.app_context():
        from plugin.models import Shop

        shop_id = db.session.scalars(db.select(Shop.id)).first()
        jobs.enqueue(shop_id=shop_id, kind=kind, subject="s_1", idempotency_key=key, now=due_at)
        db.session.commit()


# ---- /readyz ----------------------------------------------------------------------------------------------


def test_ready_when_the_database_answers_and_no_job_waits_too_long(app, client, shop):
    queue_job(app, "nothing_yet", utcnow() - timedelta(seconds=60), "k1")
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == {"status": "ok"}
    queue = body["checks"]["job_queue"]
    assert queue["status"] == "ok"
    assert queue["max_age_seconds"] == 900
    assert 59 <= queue["oldest_due_age_seconds"] < 900


def test_a_due_job_older_than_the_limit_makes_it_unready(app, client, shop, monkeypatch):
    queue_job(app, "stuck", utcnow() - timedelta(seconds=1000), "k1")
    queue_job(app, "future", utcnow() + timedelta(days=1), "k2")  # not due: never counts
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unavailable"
    assert body["failed"] == ["job_queue"]
    assert body["checks"]["job_queue"]["oldest_due_age_seconds"] >= 1000
    # The limit is configuration (READY_MAX_JOB_AGE_SECONDS).
    monkeypatch.setitem(app.config, "READY_MAX_JOB_AGE_SECONDS", 3600)
    assert client.get("/readyz").status_code == 200


def test_a_worked_off_queue_is_ready_again(app, client, shop):
    queue_job(app, "stuck", utcnow() - timedelta(seconds=1000), "k1")
    assert client.get("/readyz").status_code == 503
    kinds = {"stuck": JobKind("stuck", lambda job, ctx: ctx.finish(job), 3)}
    assert worker(app, kinds=kinds).drain().jobs_succeeded == 1
    assert client.get("/readyz").status_code == 200


def test_a_database_that_does_not_answer_is_a_503_naming_it_never_a_500():
    from plugin import create_app

    down = create_app({"ENVIRON": make_environ("postgresql://postgres@127.0.0.1:9/none?connect_timeout=1")})
    try:
        client = down.test_client()
        response = client.get("/readyz")
        assert response.status_code == 503, response.get_data(as_text=True)
        assert response.get_json()["status"] == "unavailable"
        assert response.get_json()["failed"] == ["database"]
        # Metrics still answer: the process's counts, and a gauge saying the database could not be read.
        samples = scrape(client)
        assert value(samples, "plugin_metrics_database_up") == 0
        assert value(samples, "plugin_http_requests_total", route="/readyz", method="GET", status="503") >= 1
    finally:
        with down.app_context():
            db.engine.dispose()


# ---- /metrics ---------------------------------------------------------------------------------------------


def test_requests_are_counted_by_their_url_rule_not_their_path(app, client, shop):
    before = scrape(client)
    key = bearer(shop.keys.secret_key)
    assert client.get("/api/v1/claims/clm_nope1", headers=key).status_code == 404
    assert client.get("/api/v1/claims/clm_nope2", headers=key).status_code == 404
    assert client.get("/no/such/page/abc").status_code == 404
    assert client.open("/api/v1/claims/clm_nope3", method="BREWX", headers=key).status_code == 405
    after = scrape(client)
    rule = "/api/v1/claims/<claim_id>"
    counted = value(after, "plugin_http_requests_total", route=rule, method="GET", status="404")
    assert counted - value(before, "plugin_http_requests_total", route=rule, method="GET", status="404") == 2
    unmatched = {"route": "<unmatched>", "method": "GET", "status": "404"}
    assert (
        value(after, "plugin_http_requests_total", **unmatched)
        - value(before, "plugin_http_requests_total", **unmatched)
        == 1
    )
    # No label carries a raw path, nor a method a client made up.
    assert not any("clm_nope" in str(labels) or "abc" in str(labels) or "BREWX" in str(labels) for _, labels in after)
    other = {"route": "<unmatched>", "method": "OTHER", "status": "405"}
    assert (
        value(after, "plugin_http_requests_total", **other) - value(before, "plugin_http_requests_total", **other) == 1
    )
    timed = value(after, "plugin_http_request_duration_seconds_count", route=rule, method="GET")
    assert timed - value(before, "plugin_http_request_duration_seconds_count", route=rule, method="GET") == 2
    assert value(after, "plugin_metrics_database_up") == 1


def test_scrape_time_gauges_read_the_database(app, client, shop):
    assert value(scrape(client), "plugin_job_oldest_due_age_seconds") == 0
    queue_job(app, "stuck", utcnow() - timedelta(seconds=120), "k1")
    assert 119 <= value(scrape(client), "plugin_job_oldest_due_age_seconds") < 900
    from tests.claim_helpers import claim, shipped_order

    shipped_order(client, shop)
    filed = claim(client, shop)
    assert filed.status_code == 201, filed.get_json()
    claims = {labels: count for (name, labels), count in scrape(client).items() if name == "plugin_claims"}
    assert claims == {(("status", filed.get_json()["status"]),): 1}


def test_a_metrics_token_is_required_when_set(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "METRICS_TOKEN", "scrape-token-1")
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Basic scrape-token-1"}).status_code == 401
    unauthorized = client.get("/metrics", headers={"Authorization": "Bearer scrape-token-"})
    assert unauthorized.status_code == 401
    assert unauthorized.headers["WWW-Authenticate"].startswith("Bearer")
    assert "plugin_" not in unauthorized.get_data(as_text=True)
    scrape(client, Authorization="Bearer scrape-token-1")


def test_jobs_are_counted_when_the_worker_finishes_them(app, client, shop):
    def flaky(job, ctx):
        raise RetryJob("try later")

    def refused(job, ctx):
        raise FailJob("never")

    kinds = {
        "metrics_ok": JobKind("metrics_ok", lambda job, ctx: ctx.finish(job), 3),
        "metrics_flaky": JobKind("metrics_flaky", flaky, 3),
        "metrics_refused": JobKind("metrics_refused", refused, 3),
    }
    now = utcnow()
    for index, kind in enumerate(["metrics_ok", "metrics_ok", "metrics_flaky", "metrics_refused"]):
        queue_job(app, kind, now - timedelta(seconds=5), f"k{index}")
    before = scrape(client)
    stats = worker(app, kinds=kinds).drain()
    assert (stats.jobs_succeeded, stats.jobs_retrying, stats.jobs_failed) == (2, 1, 1)
    after = scrape(client)
    for kind, status, count in [
        ("metrics_ok", "succeeded", 2),
        ("metrics_flaky", "retrying", 1),
        ("metrics_refused", "failed", 1),
        ("metrics_ok", "failed", 0),
    ]:
        labels = {"kind": kind, "status": status}
        delta = value(after, "plugin_jobs_total", **labels) - value(before, "plugin_jobs_total", **labels)
        assert delta == count, (kind, status)


def test_webhook_deliveries_are_counted_by_source_and_outcome(app, client, shop):
    configure_stripe(client, shop)
    before = scrape(client)
    event = payment_intent_event({})
    assert deliver(client, shop.shop.id, event).status_code == 200
    assert deliver(client, shop.shop.id, event).status_code == 200  # the same delivery again
    after = scrape(client)
    delta = {
        labels: count - before.get((name, labels), 0.0)
        for (name, labels), count in after.items()
        if name == "plugin_webhooks_total" and count != before.get((name, labels), 0.0)
    }
    assert sum(delta.values()) == 2
    assert delta[(("outcome", "duplicate"), ("source", "stripe"))] == 1
