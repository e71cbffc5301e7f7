"""/admin/jobs: the failed jobs (every job by filter), filters, pages, CSV, and the retry button, end to end
through the worker: a refused purchase fails, is retried from the list, and is bought."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask import Flask
from sqlalchemy import select

from plugin.admin import jobs_pages
from plugin.extensions import db
from plugin.insurers.base import InsurerRefusedError
from plugin.models import AuditEntry, Job, Policy
from tests.admin_helpers import csrf_token
from tests.api.test_worker import ScriptedInsurer, ship, worker
from tests.list_helpers import add_job, at, csv_rows, row_ids, walk_pages
from tests.stripe_helpers import protected_order


def _ids(client, query: str = "") -> list[str]:
    answer = client.get("/admin/jobs" + query)
    assert answer.status_code == 200, answer.status_code
    return row_ids(answer.get_data(as_text=True))


@pytest.fixture()
def jobs(app: Flask, shop, new_shop) -> dict[str, str]:
    sid = shop.shop.id
    made = {
        "email_failed": add_job(app, sid, "send_email", "clm_a", at(30), last_error="550 mailbox unavailable"),
        "webhook_failed": add_job(app, sid, "deliver_webhook", "evt_a", at(20), payload={"endpoint": "whe_x"}),
        "email_sent": add_job(app, sid, "send_email", "clm_b", at(40), status="succeeded", last_error=None),
        "bind_queued": add_job(app, sid, "bind_policy", "pol_a", at(10), status="queued", last_error=None),
        "mystery_failed": add_job(app, sid, "mystery", "x_1", at(5)),
    }
    made["theirs"] = add_job(app, new_shop("Other House").shop.id, "send_email", "clm_a", at(50))
    return made


def test_failed_jobs_by_default_newest_first(owner_client, jobs):
    assert _ids(owner_client) == [jobs["email_failed"], jobs["webhook_failed"], jobs["mystery_failed"]]


def test_filters(owner_client, jobs):
    every = [jobs[name] for name in ("email_sent", "email_failed", "webhook_failed", "bind_queued", "mystery_failed")]
    assert _ids(owner_client, "?status=all") == every
    assert _ids(owner_client, "?status=succeeded") == [jobs["email_sent"]]
    assert _ids(owner_client, "?status=queued&kind=bind_policy") == [jobs["bind_queued"]]
    assert _ids(owner_client, "?kind=send_email") == [jobs["email_failed"]]
    assert _ids(owner_client, "?kind=send_email&status=all") == [jobs["email_sent"], jobs["email_failed"]]
    assert _ids(owner_client, "?from=2026-11-20&to=2026-11-20&status=all") == every
    assert _ids(owner_client, "?from=2026-11-21") == []


def test_search_by_subject_or_job_id(owner_client, jobs):
    assert _ids(owner_client, "?q=clm_a") == [jobs["email_failed"]]  # not the other shop's
    assert _ids(owner_client, "?q=clm_b&status=all") == [jobs["email_sent"]]
    assert _ids(owner_client, "?q=clm_b&status=all&kind=deliver_webhook") == []
    assert _ids(owner_client, f"?q={jobs['webhook_failed']}") == [jobs["webhook_failed"]]
    assert _ids(owner_client, f"?q={jobs['theirs']}") == []


def test_pages_with_equal_times(app, owner_client, shop):
    made = [add_job(app, shop.shop.id, "send_email", f"clm_{n}", at(1 if n % 2 else 2)) for n in range(7)]
    whole = _ids(owner_client)
    assert sorted(whole) == sorted(made)
    for limit in (1, 2, 3, 6, 7):
        pages = walk_pages(owner_client, f"/admin/jobs?limit={limit}")
        assert [row for page in pages for row in page] == whole


def test_csv(app, owner_client, shop):
    made = add_job(
        app, shop.shop.id, "send_email", "clm_a", datetime(2026, 11, 20, 8, 0, tzinfo=UTC), last_error="@bounce"
    )
    add_job(app, shop.shop.id, "send_email", "clm_b", at(1), status="succeeded", last_error=None)
    rows = csv_rows(owner_client.get("/admin/jobs?format=csv"))
    assert rows[0] == list(jobs_pages.CSV_HEADER)
    assert len(rows) == 2
    assert rows[1][:10] == [made, "send_email", "clm_a", "failed", "8", "8", "'@bounce", "2026-11-20T08:00:00Z", "",
                            "2026-11-20T08:00:00Z"]  # fmt: skip
    assert len(csv_rows(owner_client.get("/admin/jobs?format=csv&status=all"))) == 3


@pytest.mark.parametrize("query", ["?status=broken", "?kind=mine", "?from=1", "?after=k1.WzAsWzFdXQ", "?q=a%1Fb"])
def test_bad_filters_are_a_400_page(owner_client, jobs, query):
    assert owner_client.get("/admin/jobs" + query).status_code == 400


def test_retry_buttons_only_where_a_retry_can_help(owner_client, jobs):
    text = owner_client.get("/admin/jobs?status=all").get_data(as_text=True)
    assert f"/admin/jobs/{jobs['email_failed']}/retry" in text
    assert f"/admin/jobs/{jobs['webhook_failed']}/retry" in text
    for name in ("email_sent", "bind_queued", "mystery_failed"):
        assert f"/admin/jobs/{jobs[name]}/retry" not in text, name


@pytest.mark.parametrize("who", ["owner_client", "staff_client"])
def test_owners_and_staff_retry_a_failed_job(app, jobs, who, request):
    client = request.getfixturevalue(who)
    answer = client.post(
        f"/admin/jobs/{jobs['email_failed']}/retry",
        data={"csrf_token": csrf_token(client, "/admin/jobs"), "next": "/admin/jobs?kind=send_email"},
    )
    assert answer.status_code == 303 and answer.headers["Location"] == "/admin/jobs?kind=send_email"
    with app.app_context():
        job = db.session.get(Job, jobs["email_failed"])
        assert (job.status, job.attempts, job.finished_at) == ("queued", 0, None)
        assert job.next_attempt_at is not None and job.last_error == "550 mailbox unavailable"
        [entry] = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "job.retried")).all()
        assert entry.target == jobs["email_failed"] and entry.before["status"] == "failed"
    assert jobs["email_failed"] not in _ids(client)


def test_a_retry_without_the_csrf_token_is_refused(app, owner_client, jobs):
    assert owner_client.post(f"/admin/jobs/{jobs['email_failed']}/retry").status_code == 400
    with app.app_context():
        assert db.session.get(Job, jobs["email_failed"]).status == "failed"


@pytest.mark.parametrize("name", ["email_sent", "bind_queued", "mystery_failed"])
def test_a_job_that_is_not_failed_or_not_retryable_is_a_409_and_changes_nothing(app, owner_client, jobs, name):
    with app.app_context():
        before = db.session.get(Job, jobs[name]).status
    token = csrf_token(owner_client, "/admin/jobs")
    answer = owner_client.post(f"/admin/jobs/{jobs[name]}/retry", data={"csrf_token": token})
    assert answer.status_code == 409
    with app.app_context():
        assert db.session.get(Job, jobs[name]).status == before
        assert db.session.scalars(select(AuditEntry)).all() == []


def test_another_shops_job_is_a_404(app, owner_client, jobs):
    token = csrf_token(owner_client, "/admin/jobs")
    assert owner_client.post(f"/admin/jobs/{jobs['theirs']}/retry", data={"csrf_token": token}).status_code == 404
    with app.app_context():
        assert db.session.get(Job, jobs["theirs"]).status == "failed"


def test_a_refused_purchase_is_retried_from_the_list_and_bought(app, client, staff_client, shop):
    protected_order(client, shop)
    parcel = ship(client, shop)
    worker(app, ScriptedInsurer([InsurerRefusedError("quote: HTTP 422: Commodity excluded")])).drain()
    with app.app_context():
        assert db.session.get(Policy, parcel["policy"]["id"]).status == "failed"
    [failed_job] = _ids(staff_client, "?kind=bind_policy")
    page = staff_client.get("/admin/jobs?kind=bind_policy").get_data(as_text=True)
    assert "Commodity excluded" in page and f'href="/admin/policies/{parcel["policy"]["id"]}"' in page

    answer = staff_client.post(
        f"/admin/jobs/{failed_job}/retry", data={"csrf_token": csrf_token(staff_client, "/admin/jobs")}
    )
    assert answer.status_code == 303
    assert _ids(staff_client) == []  # the failed purchase is superseded by the new one
    worker(app, ScriptedInsurer()).drain()
    with app.app_context():
        policy = db.session.get(Policy, parcel["policy"]["id"])
        assert (policy.status, policy.key_generation) == ("bound", 1)
        assert db.session.get(Job, failed_job).status == "cancelled"
    # Retrying the old job again: the newer attempt is the one to follow.
    again = staff_client.post(
        f"/admin/jobs/{failed_job}/retry", data={"csrf_token": csrf_token(staff_client, "/admin/jobs")}
    )
    assert again.status_code == 409


def test_a_retry_never_sends_the_browser_to_another_site(app, owner_client, shop):
    token = csrf_token(owner_client, "/admin/jobs")
    for n, target in enumerate(("https://evil.example/", "//evil.example/admin", "/admin\\@evil.example", "")):
        job = add_job(app, shop.shop.id, "send_email", f"clm_{n}", at(n))
        answer = owner_client.post(f"/admin/jobs/{job}/retry", data={"csrf_token": token, "next": target})
        assert answer.status_code == 303 and answer.headers["Location"] == "/admin/jobs", target
