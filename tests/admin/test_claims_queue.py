"""The claims queue in the admin: its order, filters, search, pages and CSV; a claim's page (signals, reasons,
evidence, tracking, messages, dossier); and its decisions, through the same services as the API."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from plugin.extensions import db
from plugin.models import AuditEntry, Claim, ClaimMessage, Job
from plugin.worker import Worker
from tests.admin_helpers import csrf_token
from tests.claim_helpers import EMAIL, claim, claim_with_files, photo, settings, shipped_order
from tests.conftest import bearer
from tests.evidence_helpers import plain_pdf
from tests.stripe_helpers import configure_stripe, deliver, dispute_event

_ROW = re.compile(r'<tr data-claim="(clm_[A-Za-z0-9]+)" data-status="([a-z_]+)">')
_NEXT = re.compile(r'<a href="([^"]+)" id="next-page"')


def _claims_of(page) -> list[str]:
    return [claim_id for claim_id, _status in _ROW.findall(page.get_data(as_text=True))]


def _file(client, shop, order_id: str, **body) -> str:
    response = claim(client, shop, order_id=order_id, **body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def _age(app, claim_id: str, days: float) -> None:
    """Move a claim's filing time `days` into the past (the queue orders by it)."""
    with app.app_context():
        moment = datetime.now(UTC) - timedelta(days=days)
        db.session.execute(update(Claim).where(Claim.id == claim_id).values(created_at=moment))
        db.session.commit()


def _status(app, claim_id: str) -> str:
    with app.app_context():
        return db.session.get(Claim, claim_id).status


def _count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _post(client, path: str, data: dict[str, str], claim_id: str):
    """Post a claim page's form with the page's own CSRF token."""
    token = csrf_token(client, f"/admin/claims/{claim_id}")
    return client.post(path, data={"csrf_token": token, **data})


@pytest.fixture()
def queue(app, client, shop):
    """Five claims of one customer: A waits for a decision, B and C need review (repeat claimant), D and E are
    denied; filed (oldest first) C, A, B, E, D."""
    settings(client, shop, max_claims_per_customer=0)
    ids = {}
    for letter, order in zip("ABCDE", ("1001", "1002", "1003", "1004", "1005"), strict=True):
        shipped_order(client, shop, order_id=order)
        ids[letter] = _file(client, shop, order)
    for letter in "DE":
        denied = client.post(
            f"/api/v1/claims/{ids[letter]}/deny", json={"reason": "Signed for."}, headers=bearer(shop.keys.secret_key)
        )
        assert denied.status_code == 200
    for letter, days in (("C", 5), ("A", 4), ("B", 3), ("E", 2), ("D", 1)):
        _age(app, ids[letter], days)
    return ids


# ---- the list ---------------------------------------------------------------------------------------------------


def test_the_queue_puts_claims_needing_review_first_oldest_first_then_the_rest_newest_first(owner_client, queue):
    page = owner_client.get("/admin/claims")
    assert page.status_code == 200
    assert _claims_of(page) == [queue[letter] for letter in ("C", "B", "A", "D", "E")]
    statuses = [status for _id, status in _ROW.findall(page.get_data(as_text=True))]
    assert statuses == ["needs_review", "needs_review", "submitted", "denied", "denied"]


def test_the_counts_per_status_head_the_queue(owner_client, queue):
    html = owner_client.get("/admin/claims").get_data(as_text=True)
    counts = dict(
        re.findall(r'data-status="([a-z_]+)">\s*<div class="label">[^<]*</div>\s*<div class="value[^"]*">(\d+)<', html)
    )
    assert counts == {
        "needs_review": "2",
        "submitted": "1",
        "approved": "0",
        "paid": "0",
        "reshipped": "0",
        "denied": "2",
    }


def test_filters_by_status_type_and_filing_date(app, client, shop, owner_client, queue):
    assert _claims_of(owner_client.get("/admin/claims?status=needs_review")) == [queue["C"], queue["B"]]
    assert _claims_of(owner_client.get("/admin/claims?status=denied")) == [queue["D"], queue["E"]]
    assert _claims_of(owner_client.get("/admin/claims?type=damaged")) == []
    assert len(_claims_of(owner_client.get("/admin/claims?type=lost"))) == 5
    day = (datetime.now(UTC) - timedelta(days=4)).date().isoformat()
    assert _claims_of(owner_client.get(f"/admin/claims?from={day}&to={day}")) == [queue["A"]]
    since = (datetime.now(UTC) - timedelta(days=3)).date().isoformat()
    assert set(_claims_of(owner_client.get(f"/admin/claims?from={since}"))) == {queue["B"], queue["E"], queue["D"]}


def test_search_finds_an_order_number_an_email_or_a_claim_id(app, owner_client, queue):
    assert _claims_of(owner_client.get("/admin/claims?q=%231002")) == [queue["B"]]
    assert _claims_of(owner_client.get(f"/admin/claims?q={queue['E']}")) == [queue["E"]]
    with app.app_context():
        db.session.execute(update(Claim).where(Claim.id == queue["D"]).values(email="mei@example.com"))
        db.session.commit()
    assert _claims_of(owner_client.get("/admin/claims?q=+MEI@Example.com+")) == [queue["D"]]
    assert len(_claims_of(owner_client.get(f"/admin/claims?q={EMAIL}"))) == 4
    page = owner_client.get("/admin/claims?q=9999")
    assert _claims_of(page) == [] and 'id="no-claims"' in page.get_data(as_text=True)


@pytest.mark.parametrize(
    "query",
    ["status=lost", "type=broken", "from=2026-13-01", "to=yesterday", "limit=0", "limit=201", "limit=x",
     "after=clm_nope", "q=" + "x" * 201],
)  # fmt: skip
def test_a_filter_that_cannot_be_used_is_a_400_page(owner_client, queue, query):
    page = owner_client.get(f"/admin/claims?{query}")
    assert page.status_code == 400 and page.mimetype == "text/html"


def test_pages_follow_the_queue_to_its_end(owner_client, queue):
    seen: list[str] = []
    path: str | None = "/admin/claims?limit=2"
    pages = 0
    while path is not None:
        page = owner_client.get(path)
        assert page.status_code == 200
        seen += _claims_of(page)
        found = _NEXT.search(page.get_data(as_text=True))
        path = found.group(1).replace("&amp;", "&") if found else None
        pages += 1
    assert pages == 3
    assert seen == [queue[letter] for letter in ("C", "B", "A", "D", "E")]
    whole = owner_client.get("/admin/claims?limit=5")  # exactly full: no next page
    assert len(_claims_of(whole)) == 5 and _NEXT.search(whole.get_data(as_text=True)) is None
    waiting = owner_client.get("/admin/claims?limit=3")  # full at the end of the waiting claims: decided ones follow
    assert _NEXT.search(waiting.get_data(as_text=True)) is not None
    filtered = owner_client.get("/admin/claims?status=denied&limit=1")
    next_path = _NEXT.search(filtered.get_data(as_text=True)).group(1).replace("&amp;", "&")
    assert "status=denied" in next_path and _claims_of(owner_client.get(next_path)) == [queue["E"]]


def test_a_cursor_from_another_shop_is_refused(client, owner_client, queue, new_shop):
    other = new_shop("Other")
    shipped_order(client, other, order_id="7001")
    theirs = _file(client, other, "7001")
    assert owner_client.get(f"/admin/claims?after={theirs}").status_code == 400


def test_the_csv_holds_the_filtered_queue_with_amounts_three_ways(app, client, shop, owner_client, queue):
    response = owner_client.get("/admin/claims.csv?status=denied")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert [row["claim_id"] for row in rows] == [queue["D"], queue["E"]]
    first = rows[0]
    assert (first["currency"], first["amount_minor"], first["amount"]) == ("USD", "50000", "500.00")
    assert (first["covered_amount_minor"], first["covered_amount"]) == ("50000", "500.00")
    assert (first["status"], first["type"], first["order_id"], first["shipment_id"]) == (
        "denied", "lost", "1004", "ful_1004_1"
    )  # fmt: skip
    assert first["deny_reason"] == "Signed for." and first["decided_by"] == "merchant"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", first["created_at"])
    everything = list(csv.DictReader(io.StringIO(owner_client.get("/admin/claims.csv").get_data(as_text=True)[1:])))
    assert [row["claim_id"] for row in everything] == [queue[letter] for letter in ("C", "B", "A", "D", "E")]
    assert everything[0]["signals"] == "repeat_claimant" and everything[0]["review_reason"] == "fraud_signals"


def test_csv_cells_that_a_spreadsheet_would_run_are_defused(client, shop, owner_client):
    shipped_order(client, shop)
    claim_id = _file(client, shop, "1001")
    response = _post(owner_client, f"/admin/claims/{claim_id}/deny", {"reason": '=HYPERLINK("http://x")'}, claim_id)
    assert response.status_code == 303
    [row] = list(csv.DictReader(io.StringIO(owner_client.get("/admin/claims.csv").get_data(as_text=True)[1:])))
    assert row["deny_reason"] == '\'=HYPERLINK("http://x")'


def test_yen_amounts_have_no_decimals(app, client, shop, owner_client):
    shipped_order(client, shop)
    claim_id = _file(client, shop, "1001")
    with app.app_context():  # a yen claim: the currency has no minor unit
        db.session.execute(update(Claim).where(Claim.id == claim_id).values(currency="JPY", amount=5000))
        db.session.commit()
    [row] = list(csv.DictReader(io.StringIO(owner_client.get("/admin/claims.csv").get_data(as_text=True)[1:])))
    assert (row["currency"], row["amount_minor"], row["amount"]) == ("JPY", "5000", "5000")
    assert "¥5,000" in owner_client.get("/admin/claims").get_data(as_text=True)
    refused = _post(owner_client, f"/admin/claims/{claim_id}/mark-paid", {"method": "cash", "amount": "49.5"}, claim_id)
    assert refused.status_code == 422 and "at most 0 decimals" in refused.get_data(as_text=True)
    paid = _post(owner_client, f"/admin/claims/{claim_id}/mark-paid", {"method": "cash", "amount": "4,950"}, claim_id)
    assert paid.status_code == 303
    with app.app_context():
        assert db.session.get(Claim, claim_id).approved_amount == 4950


def test_the_list_and_its_csv_stay_within_the_shop(client, owner_client, queue, new_shop):
    other = new_shop("Other")
    shipped_order(client, other, order_id="7001")
    theirs = _file(client, other, "7001")
    assert theirs not in _claims_of(owner_client.get("/admin/claims"))
    assert theirs not in owner_client.get("/admin/claims.csv").get_data(as_text=True)
    assert theirs not in _claims_of(owner_client.get(f"/admin/claims?q={theirs}"))


# ---- a claim's page ---------------------------------------------------------------------------------------------


def test_the_claim_page_explains_its_signals_and_reasons_and_shows_its_evidence(app, client, shop, owner_client):
    settings(client, shop, max_claims_per_customer=0)
    shipped_order(client, shop, order_id="1001")
    shipped_order(client, shop, order_id="1002")
    _file(client, shop, "1001")
    filed = claim_with_files(client, shop, [(photo((10, 120, 200)), "box.jpg"), (plain_pdf(), "invoice.pdf")],
                             order_id="1002")  # fmt: skip
    assert filed.status_code == 201, filed.get_json()
    body = filed.get_json()
    page = owner_client.get(f"/admin/claims/{body['id']}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-signal="repeat_claimant"' in html and "Repeat claimant" in html
    assert "The same email filed another claim" in html  # the signal in words
    assert body["signal_details"][0]["detail"] in html  # and what it rests on
    assert 'data-reason="repeat_claimant"' in html
    assert "Needs review" in html and "Fraud signals were found" in html
    photo_id, pdf_id = (row["id"] for row in body["evidence"])
    assert f'<img src="/admin/claims/{body["id"]}/evidence/{photo_id}"' in html
    assert f'href="/admin/claims/{body["id"]}/evidence/{pdf_id}"' in html
    assert "$500.00" in html and "ful_1002_1" in html and "UPS" in html
    assert 'id="approve-refund"' in html and 'id="deny"' in html


def test_the_claim_page_speaks_chinese(client, shop, owner_client):
    settings(client, shop, max_claims_per_customer=0)
    for order in ("1001", "1002"):
        shipped_order(client, shop, order_id=order)
        claim_id = _file(client, shop, order)
    html = owner_client.get(f"/admin/claims/{claim_id}", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "重复索赔" in html and "待审核" in html and "同一邮箱" in html
    listing = owner_client.get("/admin/claims", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "待审核" in listing and "丢失" in listing


def test_evidence_is_served_from_storage_with_nosniff_images_inline_pdfs_attached(client, shop, owner_client):
    shipped_order(client, shop)
    body = claim_with_files(client, shop, [(photo(), "box.jpg"), (plain_pdf(), "invoice.pdf")]).get_json()
    photo_id, pdf_id = (row["id"] for row in body["evidence"])
    image = owner_client.get(f"/admin/claims/{body['id']}/evidence/{photo_id}")
    assert image.status_code == 200 and image.headers["Content-Type"] == "image/jpeg"
    assert image.headers["X-Content-Type-Options"] == "nosniff"
    assert image.headers["Content-Disposition"] == f'inline; filename="{photo_id}.jpg"'
    assert "no-store" in image.headers["Cache-Control"] and "sandbox" in image.headers["Content-Security-Policy"]
    api_copy = client.get(f"/api/v1/claims/{body['id']}/evidence/{photo_id}", headers=bearer(shop.keys.secret_key))
    assert image.data == api_copy.data and image.data[:3] == b"\xff\xd8\xff"
    download = owner_client.get(f"/admin/claims/{body['id']}/evidence/{photo_id}?download=1")
    assert download.headers["Content-Disposition"].startswith("attachment;")
    document = owner_client.get(f"/admin/claims/{body['id']}/evidence/{pdf_id}")
    assert document.headers["Content-Type"] == "application/pdf"
    assert document.headers["Content-Disposition"] == f'attachment; filename="{pdf_id}.pdf"'
    assert document.headers["X-Content-Type-Options"] == "nosniff"


def test_the_parcels_packing_evidence_is_shown_and_served(client, shop, owner_client):
    shipped_order(client, shop)
    uploaded = client.post(
        "/api/v1/shipments/ful_1001_1/evidence",
        data={"evidence": [(io.BytesIO(photo((20, 200, 20))), "packed.jpg")]},
        headers=bearer(shop.keys.secret_key),
        content_type="multipart/form-data",
    )
    assert uploaded.status_code == 201
    packing_id = uploaded.get_json()["data"][0]["id"]
    claim_id = _file(client, shop, "1001")
    html = owner_client.get(f"/admin/claims/{claim_id}").get_data(as_text=True)
    assert 'id="packing-evidence"' in html and f'data-evidence="{packing_id}"' in html
    served = owner_client.get(f"/admin/claims/{claim_id}/evidence/{packing_id}")
    assert served.status_code == 200 and served.headers["X-Content-Type-Options"] == "nosniff"


def test_another_shops_claim_evidence_and_dossier_are_404(client, shop, owner_client, new_shop):
    other = new_shop("Other")
    shipped_order(client, other, order_id="7001")
    theirs = claim_with_files(client, other, [(photo((90, 90, 200)), "x.jpg")], order_id="7001").get_json()
    their_file = theirs["evidence"][0]["id"]
    shipped_order(client, shop)
    mine = _file(client, shop, "1001")
    for path in (
        f"/admin/claims/{theirs['id']}",
        f"/admin/claims/{theirs['id']}/evidence/{their_file}",
        f"/admin/claims/{mine}/evidence/{their_file}",
        f"/admin/claims/{theirs['id']}/dossier",
        "/admin/claims/clm_doesnotexist",
        f"/admin/claims/{mine}/evidence/evd_doesnotexist",
    ):
        response = owner_client.get(path)
        assert response.status_code == 404, path
        assert response.mimetype == "text/html" and b"\xff\xd8" not in response.data


def test_the_dossier_downloads_as_the_api_builds_it(client, shop, owner_client):
    shipped_order(client, shop)
    body = claim_with_files(client, shop, [(photo(), "box.jpg")]).get_json()
    response = owner_client.get(f"/admin/claims/{body['id']}/dossier")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert response.headers["Content-Disposition"] == f'attachment; filename="dossier-{body["id"]}.zip"'
    names = zipfile.ZipFile(io.BytesIO(response.data)).namelist()
    assert {"summary.pdf", "summary.txt", "dossier.json"} <= set(names)
    assert any(name.startswith(f"evidence/claim/{body['evidence'][0]['id']}") for name in names)


def test_the_page_needs_a_signed_in_user(client, shop):
    shipped_order(client, shop)
    claim_id = _file(client, shop, "1001")
    for path in (
        f"/admin/claims/{claim_id}",
        "/admin/claims",
        "/admin/claims.csv",
        f"/admin/claims/{claim_id}/dossier",
    ):
        response = client.get(path)
        assert response.status_code == 302 and "/admin/login" in response.headers["Location"]


# ---- decisions --------------------------------------------------------------------------------------------------


def test_approving_a_refund_queues_the_stripe_refund_and_logs_who_did_it(app, client, shop, owner_client, owner):
    shipped_order(client, shop)
    configure_stripe(client, shop, api_key="sk_test_merchant_key_for_refunds")
    claim_id = _file(client, shop, "1001")
    response = _post(owner_client, f"/admin/claims/{claim_id}/approve", {"resolution": "refund", "amount": "200.00"},
                     claim_id)  # fmt: skip
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/admin/claims/{claim_id}")
    with app.app_context():
        row = db.session.get(Claim, claim_id)
        assert (row.status, row.resolution, row.approved_amount, row.refund_status) == (
            "approved", "refund", 20000, "pending"
        )  # fmt: skip
        [job] = db.session.scalars(select(Job).where(Job.kind == "refund_claim")).all()
        assert job.subject == claim_id
        [entry] = db.session.scalars(select(AuditEntry).where(AuditEntry.target == claim_id)).all()
        assert entry.action == "claim.approved" and entry.actor == f"user:{owner.id} {owner.email}"
        assert entry.before["status"] == "submitted"
        assert entry.after == {"status": "approved", "resolution": "refund", "amount": 20000, "note": None}
    page = owner_client.get(f"/admin/claims/{claim_id}").get_data(as_text=True)
    assert "the refund of $200.00 is queued" in page and owner.email in page


def test_staff_may_approve_a_reship(app, client, shop, staff_client, staff):
    shipped_order(client, shop)
    claim_id = _file(client, shop, "1001")
    data = {"resolution": "reship", "replacement_order_id": "R-1001", "cost": "12.00", "note": "Sent again."}
    assert _post(staff_client, f"/admin/claims/{claim_id}/approve", data, claim_id).status_code == 303
    with app.app_context():
        row = db.session.get(Claim, claim_id)
        assert (row.status, row.replacement_order_id, row.reship_cost_amount) == ("reshipped", "R-1001", 1200)
        assert row.reasons[-1] == {"code": "approved", "message": "Sent again."}
        [entry] = db.session.scalars(select(AuditEntry).where(AuditEntry.target == claim_id)).all()
        assert entry.actor.endswith(staff.email)


def test_denying_emails_the_shopper_the_reason_and_a_second_decision_is_a_clear_409(app, client, shop, owner_client):
    shipped_order(client, shop)
    claim_id = _file(client, shop, "1001")
    denied = _post(owner_client, f"/admin/claims/{claim_id}/deny", {"reason": "Signed for by you."}, claim_id)
    assert denied.status_code == 303
    with app.app_context():
        emails = db.session.scalars(select(Job).where(Job.kind == "send_email", Job.subject == claim_id)).all()
        assert "claim_denied" in {job.payload["notice"] for job in emails}
        assert db.session.get(Claim, claim_id).deny_reason == "Signed for by you."
    for path, data in (
        (f"/admin/claims/{claim_id}/deny", {"reason": "Again."}),
        (f"/admin/claims/{claim_id}/approve", {"resolution": "reship", "replacement_order_id": "R-1"}),
    ):
        again = _post(owner_client, path, data, claim_id)
        assert again.status_code == 409
        html = again.get_data(as_text=True)
        assert 'id="claim-error"' in html and "already been decided (it is now Denied)" in html
    assert _status(app, claim_id) == "denied"
    assert _count(app, AuditEntry, AuditEntry.target == claim_id) == 1  # refused decisions leave no entry


def test_a_disputed_payment_is_said_plainly_and_blocks_approval(app, client, shop, owner_client):
    shipped_order(client, shop)
    assert deliver(client, shop.shop.id, dispute_event("pi_1001")).status_code == 200
    claim_id = _file(client, shop, "1001")
    html = owner_client.get(f"/admin/claims/{claim_id}").get_data(as_text=True)
    assert "The payment is disputed" in html and 'id="approve-refund"' not in html
    refused = _post(owner_client, f"/admin/claims/{claim_id}/approve",
                    {"resolution": "reship", "replacement_order_id": "R-1"}, claim_id)  # fmt: skip
    assert refused.status_code == 409 and "dispute is settled" in refused.get_data(as_text=True)
    paid = _post(owner_client, f"/admin/claims/{claim_id}/mark-paid", {"method": "cash"}, claim_id)
    assert paid.status_code == 409 and "dispute is settled" in paid.get_data(as_text=True)
    assert _status(app, claim_id) == "needs_review"


def test_a_refund_without_a_stripe_key_is_refused_with_the_way_out(app, client, shop, owner_client):
    shipped_order(client, shop)
    claim_id = _file(client, shop, "1001")
    refused = _post(
        owner_client, f"/admin/claims/{claim_id}/approve", {"resolution": "refund", "amount": "1"}, claim_id
    )
    assert refused.status_code == 422 and "no Stripe API key" in refused.get_data(as_text=True)
    assert _status(app, claim_id) == "submitted" and _count(app, Job, Job.kind == "refund_claim") == 0


def test_mark_paid_then_retry_and_recovery_answer_their_states(app, client, shop, owner_client):
    shipped_order(client, shop)
    assert Worker(app).drain().ok  # the parcel's sandbox policy is bound: an approved claim is recovered from it
    claim_id = _file(client, shop, "1001")
    retry = _post(owner_client, f"/admin/claims/{claim_id}/retry-refund", {}, claim_id)
    assert retry.status_code == 409 and "whose Stripe refund failed" in retry.get_data(as_text=True)
    paid = _post(owner_client, f"/admin/claims/{claim_id}/mark-paid",
                 {"method": "bank_transfer", "reference": "TX-9", "amount": "450"}, claim_id)  # fmt: skip
    assert paid.status_code == 303
    with app.app_context():
        row = db.session.get(Claim, claim_id)
        assert (row.status, row.paid_method, row.paid_reference, row.approved_amount) == (
            "paid", "bank_transfer", "TX-9", 45000
        )  # fmt: skip
        recovery = row.recovery_status
    assert recovery == "pending"  # the sandbox policy: the insurer claim is queued
    recorded = _post(owner_client, f"/admin/claims/{claim_id}/recovery",
                     {"status": "paid", "amount": "450.00", "reference": "SBX-1"}, claim_id)  # fmt: skip
    assert recorded.status_code == 303
    with app.app_context():
        row = db.session.get(Claim, claim_id)
        assert (row.recovery_status, row.recovery_amount, row.recovery_reference) == ("paid", 45000, "SBX-1")
        actions = db.session.scalars(
            select(AuditEntry.action).where(AuditEntry.target == claim_id).order_by(AuditEntry.id)
        ).all()
    assert actions == ["claim.marked_paid", "claim.recovery_recorded"]
    too_much = _post(owner_client, f"/admin/claims/{claim_id}/recovery", {"status": "paid", "amount": "500.01"},
                     claim_id)  # fmt: skip
    assert too_much.status_code == 422 and "covered for ($500.00)" in too_much.get_data(as_text=True)


def test_recording_a_recovery_without_an_insurer_says_so(app, client, shop, owner_client):
    shipped_order(client, shop)  # its policy is never bound: nothing to recover
    claim_id = _file(client, shop, "1001")
    assert _post(owner_client, f"/admin/claims/{claim_id}/mark-paid", {"method": "cash"}, claim_id).status_code == 303
    refused = _post(owner_client, f"/admin/claims/{claim_id}/recovery", {"status": "paid"}, claim_id)
    assert refused.status_code == 409 and "nothing to recover from an insurer" in refused.get_data(as_text=True)


def test_a_failed_refund_can_be_retried_from_the_page(app, client, shop, owner_client):
    shipped_order(client, shop)
    configure_stripe(client, shop, api_key="sk_test_merchant_key_for_refunds")
    claim_id = _file(client, shop, "1001")
    assert (
        _post(owner_client, f"/admin/claims/{claim_id}/approve", {"resolution": "refund"}, claim_id).status_code == 303
    )
    with app.app_context():
        db.session.execute(
            update(Claim).where(Claim.id == claim_id).values(refund_status="failed", refund_error="stripe_refused")
        )
        db.session.commit()
    html = owner_client.get(f"/admin/claims/{claim_id}").get_data(as_text=True)
    assert 'id="retry-refund"' in html and "stripe_refused" in html
    assert _post(owner_client, f"/admin/claims/{claim_id}/retry-refund", {}, claim_id).status_code == 303
    with app.app_context():
        row = db.session.get(Claim, claim_id)
        assert (row.refund_status, row.refund_generation) == ("pending", 1)
        assert _count(app, Job, Job.kind == "refund_claim") == 2


def test_messages_to_the_shopper_are_emailed_and_internal_notes_are_not(app, client, shop, owner_client):
    shipped_order(client, shop)
    claim_id = _file(client, shop, "1001")
    sent = _post(owner_client, f"/admin/claims/{claim_id}/messages",
                 {"body": "We asked the carrier.", "visibility": "shopper"}, claim_id)  # fmt: skip
    note = _post(owner_client, f"/admin/claims/{claim_id}/messages",
                 {"body": "Customer sounds genuine.", "visibility": "internal"}, claim_id)  # fmt: skip
    assert sent.status_code == note.status_code == 303
    with app.app_context():
        messages = db.session.scalars(select(ClaimMessage).order_by(ClaimMessage.created_at)).all()
        assert [(m.visibility, m.author) for m in messages] == [("shopper", "merchant"), ("internal", "merchant")]
        emails = db.session.scalars(select(Job).where(Job.kind == "send_email")).all()
        assert [job.payload.get("message") for job in emails if job.payload["notice"] == "claim_message"] == [
            messages[0].id
        ]
    html = owner_client.get(f"/admin/claims/{claim_id}").get_data(as_text=True)
    assert "We asked the carrier." in html and "Customer sounds genuine." in html


# ---- hostile forms ----------------------------------------------------------------------------------------------


def test_a_form_without_its_csrf_token_is_a_400_and_changes_nothing(app, client, shop, owner_client):
    shipped_order(client, shop)
    claim_id = _file(client, shop, "1001")
    for path, data in (
        (f"/admin/claims/{claim_id}/deny", {"reason": "No."}),
        (f"/admin/claims/{claim_id}/approve", {"resolution": "reship", "replacement_order_id": "R-1"}),
        (f"/admin/claims/{claim_id}/messages", {"body": "Hi", "visibility": "shopper"}),
        (f"/admin/claims/{claim_id}/deny", {"reason": "No.", "csrf_token": "forged"}),
    ):
        assert owner_client.post(path, data=data).status_code == 400
    assert _status(app, claim_id) == "submitted"
    assert _count(app, AuditEntry, AuditEntry.action.like("claim.%")) == 0 and _count(app, ClaimMessage) == 0


@pytest.mark.parametrize(
    "data",
    [
        {"resolution": "refund", "amount": "-5"},
        {"resolution": "refund", "amount": "abc"},
        {"resolution": "refund", "amount": "1e9"},
        {"resolution": "refund", "amount": "99999999999999999999"},
        {"resolution": "refund", "amount": "1000000000.01"},
        {"resolution": "refund", "amount": "12.345"},
        {"resolution": "refund", "amount": "１２"},
        {"resolution": "refund", "amount": "NaN"},
        {"resolution": "refund", "amount": "500.01"},  # above what the parcel is covered for
        {"resolution": "refund ", "amount": "1"},
        {"resolution": "cash"},
        {},
        {"resolution": "reship"},
        {"resolution": "reship", "replacement_order_id": "   "},
        {"resolution": "reship", "replacement_order_id": "R" * 256},
        {"resolution": "reship", "replacement_order_id": "R\x00-1"},
        {"resolution": "reship", "replacement_order_id": "R-1", "cost": "-1"},
        {"resolution": "reship", "replacement_order_id": "R-1", "note": "n" * 5001},
    ],
)
def test_hostile_approvals_are_4xx_pages_and_change_nothing(app, client, shop, owner_client, data):
    shipped_order(client, shop)
    configure_stripe(client, shop, api_key="sk_test_merchant_key_for_refunds")
    claim_id = _file(client, shop, "1001")
    response = _post(owner_client, f"/admin/claims/{claim_id}/approve", data, claim_id)
    assert response.status_code == 422, data
    assert response.mimetype == "text/html" and 'id="claim-error"' in response.get_data(as_text=True)
    assert _status(app, claim_id) == "submitted"
    assert (
        _count(app, AuditEntry, AuditEntry.action.like("claim.%")) == 0
        and _count(app, Job, Job.kind == "refund_claim") == 0
    )


@pytest.mark.parametrize(
    ("action", "data"),
    [
        ("deny", {}),
        ("deny", {"reason": "  "}),
        ("deny", {"reason": "x" * 1001}),
        ("deny", {"reason": "bad\x00byte"}),
        ("mark-paid", {"method": "bitcoin"}),
        ("mark-paid", {"method": "cash", "amount": "-1"}),
        ("mark-paid", {"method": "cash", "reference": "r" * 256}),
        ("recovery", {"status": "lost"}),
        ("recovery", {"status": "paid", "amount": "0x10"}),
        ("messages", {"body": "", "visibility": "shopper"}),
        ("messages", {"body": "Hi", "visibility": "everyone"}),
        ("messages", {"body": "m" * 5001, "visibility": "internal"}),
    ],
)
def test_hostile_values_on_the_other_forms_are_422_pages(app, client, shop, owner_client, action, data):
    shipped_order(client, shop)
    claim_id = _file(client, shop, "1001")
    response = _post(owner_client, f"/admin/claims/{claim_id}/{action}", data, claim_id)
    assert response.status_code == 422, (action, data)
    assert 'id="claim-error"' in response.get_data(as_text=True)
    assert _status(app, claim_id) == "submitted"
    assert _count(app, AuditEntry, AuditEntry.action.like("claim.%")) == 0 and _count(app, ClaimMessage) == 0


def test_deciding_another_shops_claim_is_a_404_and_leaves_it_alone(app, client, shop, owner_client, new_shop):
    other = new_shop("Other")
    shipped_order(client, other, order_id="7001")
    theirs = _file(client, other, "7001")
    shipped_order(client, shop)
    mine = _file(client, shop, "1001")
    token = csrf_token(owner_client, f"/admin/claims/{mine}")
    for action, data in (
        ("deny", {"reason": "No."}),
        ("approve", {"resolution": "reship", "replacement_order_id": "R-1"}),
        ("mark-paid", {"method": "cash"}),
        ("retry-refund", {}),
        ("recovery", {"status": "paid"}),
        ("messages", {"body": "Hi", "visibility": "shopper"}),
    ):
        response = owner_client.post(f"/admin/claims/{theirs}/{action}", data={"csrf_token": token, **data})
        assert response.status_code == 404, action
    assert (
        owner_client.post("/admin/claims/clm_missing/deny", data={"csrf_token": token, "reason": "x"}).status_code
        == 404
    )
    assert _status(app, theirs) == "submitted"
    assert _count(app, AuditEntry, AuditEntry.action.like("claim.%")) == 0 and _count(app, ClaimMessage) == 0
