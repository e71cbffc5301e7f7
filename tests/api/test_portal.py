"""The shopper's claim portal, /claims/<shop_id>, through the test client: pages, forms with their CSRF tokens,
the same rules and refusals as the API, the status link, languages and the shop's branding."""

from __future__ import annotations

import io
import re
import time
from typing import Any
from unittest import mock

import pytest
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from plugin.extensions import db
from plugin.models import Claim, ClaimMessage, Evidence
from plugin.portal import access
from plugin.services.claims import ORDER_NOT_FOUND_MESSAGE
from tests.api.test_security_headers import assert_page_headers
from tests.claim_helpers import EMAIL, claim, days_ago, photo, settings, shipped_order, track
from tests.conftest import bearer
from tests.i18n_helpers import zh
from tests.stripe_helpers import deliver, payment_intent_event


def csrf(page) -> str:
    """The CSRF token of a page's first form."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    assert found, page.get_data(as_text=True)
    return found.group(1)


def text(page) -> str:
    return page.get_data(as_text=True)


def find(client, shop_id: str, order_number: str = "1001", email: str = EMAIL, **headers: str):
    """Fill in the lookup form (after loading it, for its token)."""
    form = client.get(f"/claims/{shop_id}", headers=headers)
    return client.post(
        f"/claims/{shop_id}",
        data={"csrf_token": csrf(form), "order_number": order_number, "email": email},
        headers=headers,
    )


def file(client, shop_id: str, files: list[tuple[bytes, str]] | None = None, **fields: Any):
    """Fill in the claim form of the found order."""
    form = client.get(f"/claims/{shop_id}/claim")
    assert form.status_code == 200, text(form)
    data: dict[str, Any] = {"csrf_token": csrf(form), "type": "damaged", "description": "The vase is broken.", **fields}
    data["evidence"] = [(io.BytesIO(content), name) for content, name in (files or [])]
    return client.post(f"/claims/{shop_id}/claim", data=data, content_type="multipart/form-data")


def stored_claims(app) -> list[Claim]:
    with app.app_context():
        rows = list(db.session.scalars(select(Claim)))
        db.session.expunge_all()
        return rows


def status_link(client, shop_id: str) -> str:
    page = client.get(f"/claims/{shop_id}/filed")
    assert page.status_code == 200
    return re.search(r'id="status-link">[^<]*?(/claims/[^<]+)<', text(page)).group(1)


# ---- finding the order ----------------------------------------------------------------------------------------


def test_the_order_is_found_by_number_and_email_and_the_claim_form_shows_its_parcel(client, shop):
    shipped_order(client, shop)
    shop_id = shop.shop.id
    page = client.get(f"/claims/{shop_id}")
    assert page.status_code == 200
    assert_page_headers(page)
    assert page.headers["Cache-Control"] == "no-store"
    assert "Jade House" in text(page) and "Report a problem with your order" in text(page)
    found = find(client, shop_id, "#1001", "  JADE@Example.COM ")
    assert found.status_code == 303 and found.headers["Location"].endswith(f"/claims/{shop_id}/claim")
    form = client.get(f"/claims/{shop_id}/claim")
    assert form.status_code == 200
    assert "UPS 1Z10010" in text(form) and days_ago(10).strftime("%Y-%m-%d") in text(form)
    assert EMAIL not in text(form)  # nothing needs to show the email back


def test_a_wrong_pair_and_an_unknown_order_answer_alike(client, shop):
    shipped_order(client, shop)
    shop_id = shop.shop.id
    wrong_email = find(client, shop_id, "1001", "someone@example.com")
    unknown_order = find(client, shop_id, "9999", EMAIL)
    assert wrong_email.status_code == unknown_order.status_code == 404
    assert (
        ORDER_NOT_FOUND_MESSAGE == "No order matches this order number and email. Check both and try again."
    )  # the API's words
    assert ORDER_NOT_FOUND_MESSAGE in text(wrong_email)

    def normalised(page, order_number: str, email: str) -> str:
        body = text(page).replace(csrf(page), "TOKEN")
        return body.replace(f'value="{order_number}"', 'value="N"').replace(f'value="{email}"', 'value="E"')

    assert normalised(wrong_email, "1001", "someone@example.com") == normalised(unknown_order, "9999", EMAIL)
    assert client.get(f"/claims/{shop_id}/claim").status_code == 303  # nothing was found, nothing remembered


def test_another_shops_order_is_not_found(client, shop, new_shop):
    shipped_order(client, shop)
    other = new_shop("Other Shop")
    assert find(client, other.shop.id).status_code == 404


def test_lookups_are_rate_limited_per_shop_and_address(client, shop, new_shop):
    shipped_order(client, shop)
    shop_id = shop.shop.id
    for attempt in range(10):
        assert find(client, shop_id, str(5000 + attempt)).status_code == 404
    limited = find(client, shop_id)  # even the right pair, now
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) >= 1
    assert "Too many attempts to find an order from this connection. Please wait a few minutes and try again." in text(
        limited
    )
    assert_page_headers(limited)
    assert client.get(f"/claims/{shop_id}/claim").status_code == 303
    other = new_shop("Other Shop")
    assert find(client, other.shop.id, "1").status_code == 404  # another shop counts on its own


def test_an_unknown_shop_is_a_404_page(client):
    page = client.get("/claims/shop_nope")
    assert page.status_code == 404 and page.mimetype == "text/html"
    assert (
        "This link is not valid or has expired. Use the link from your confirmation, or find your order again."
        in text(page)
    )


def test_the_claim_form_needs_a_found_order_of_this_shop(client, shop, new_shop):
    shipped_order(client, shop)
    assert find(client, shop.shop.id).status_code == 303
    other = new_shop("Other Shop")
    sent = client.get(f"/claims/{other.shop.id}/claim")
    assert sent.status_code == 303 and "expired=1" in sent.headers["Location"]
    start = client.get(f"/claims/{shop.shop.id}/claim")
    assert client.post(f"/claims/{shop.shop.id}/start-over", data={"csrf_token": csrf(start)}).status_code == 303
    assert client.get(f"/claims/{shop.shop.id}/claim").status_code == 303


def test_a_found_order_is_forgotten_after_two_hours(client, shop):
    shipped_order(client, shop)
    assert find(client, shop.shop.id).status_code == 303
    assert client.get(f"/claims/{shop.shop.id}/claim").status_code == 200
    later = time.time() + access.FOUND_ORDER_SECONDS + 1
    with mock.patch.object(access.time, "time", return_value=later):
        expired = client.get(f"/claims/{shop.shop.id}/claim")
    assert expired.status_code == 303 and "expired=1" in expired.headers["Location"]
    assert "For your security, please find your order again." in text(client.get(expired.headers["Location"]))
    assert client.get(f"/claims/{shop.shop.id}/claim").status_code == 303  # and it stays forgotten


def test_the_order_comes_from_the_session_not_from_the_form(app, client, shop):
    shipped_order(client, shop)
    shipped_order(client, shop, order_id="2002")
    assert find(client, shop.shop.id).status_code == 303
    response = file(client, shop.shop.id, [(photo(), "a.jpg")], order_id="2002", shipment_id="ful_2002_1")
    assert response.status_code == 303
    [stored] = stored_claims(app)
    assert stored.order_id == "1001" and stored.source == "portal"


def test_a_tampered_session_cookie_finds_nothing(client, shop):
    shipped_order(client, shop)
    assert find(client, shop.shop.id).status_code == 303
    cookie = client.get_cookie("session")
    client.set_cookie("session", cookie.value[:-2] + ("AA" if not cookie.value.endswith("AA") else "BB"))
    assert client.get(f"/claims/{shop.shop.id}/claim").status_code == 303


# ---- filing ---------------------------------------------------------------------------------------------------


def test_a_damaged_claim_with_a_photo_is_filed_and_followed_by_its_status_link(app, client, shop):
    shipped_order(client, shop)
    shop_id = shop.shop.id
    find(client, shop_id)
    response = file(client, shop_id, [(photo(), "vase.jpg")])
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/claims/{shop_id}/filed")
    [stored] = stored_claims(app)
    assert (stored.type, stored.source, stored.locale, stored.email) == ("damaged", "portal", "en", EMAIL)
    assert stored.description == "The vase is broken."
    with app.app_context():
        [evidence] = db.session.scalars(select(Evidence).where(Evidence.claim_id == stored.id)).all()
        assert (evidence.uploaded_by, evidence.filename, evidence.kind) == ("shopper", "vase.jpg", "image")
    confirmation = client.get(f"/claims/{shop_id}/filed")
    assert stored.id in text(confirmation)
    link = status_link(client, shop_id)
    page = client.get(link)
    assert page.status_code == 200
    assert_page_headers(page)
    assert "Received: waiting for review" in text(page) and "$500.00" in text(page) and "vase.jpg" in text(page)
    # The link works without the session (another device, an email).
    client.delete_cookie("session")
    assert client.get(link).status_code == 200


def test_a_large_photo_may_be_uploaded_but_other_forms_keep_the_small_limit(app, client, shop):
    shipped_order(client, shop)
    find(client, shop.shop.id)
    big = photo() + b"\0" * (3 * 1024 * 1024)  # bytes after the JPEG's end: still a JPEG
    form = client.get(f"/claims/{shop.shop.id}/claim")
    fields = {
        "csrf_token": csrf(form),
        "type": "damaged",
        "description": "Broken.",
        "evidence": FileStorage(io.BytesIO(big), "big.jpg"),
    }
    # Encoded here, in memory: the test client would spool a body this large to a file it never closes.
    boundary, body = encode_multipart(fields)
    sent = client.post(
        f"/claims/{shop.shop.id}/claim", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )
    assert sent.status_code == 303
    assert len(stored_claims(app)) == 1
    page = client.get(f"/claims/{shop.shop.id}")
    too_big = client.post(
        f"/claims/{shop.shop.id}",
        data={"csrf_token": csrf(page), "order_number": "1" * (2 * 1024 * 1024), "email": EMAIL},
    )
    assert too_big.status_code == 413 and too_big.mimetype == "text/html"


def test_a_file_that_is_not_a_photo_is_refused_with_the_input_kept(app, client, shop):
    shipped_order(client, shop)
    find(client, shop.shop.id)
    response = file(client, shop.shop.id, [(b"<script>alert(1)</script>", "x.jpg")], description="Kept <b>text</b>")
    assert response.status_code == 422
    assert "x.jpg is not a JPEG, PNG, WebP or PDF file." in text(response)
    assert "Kept &lt;b&gt;text&lt;/b&gt;" in text(response)  # kept, and escaped
    assert 'value="damaged" required checked' in text(response)
    assert stored_claims(app) == []


def test_several_parcels_are_listed_and_one_must_be_chosen(app, client, shop):
    shipped_order(client, shop, parcels=2)
    find(client, shop.shop.id)
    form = text(client.get(f"/claims/{shop.shop.id}/claim"))
    assert "UPS 1Z10010" in form and "UPS 1Z10011" in form and form.count('name="parcel"') == 2
    unchosen = file(client, shop.shop.id, [(photo(), "a.jpg")])
    assert unchosen.status_code == 422 and "Please choose the parcel." in text(unchosen)
    assert file(client, shop.shop.id, [(photo(), "a.jpg")], parcel="ful_1001_2").status_code == 303
    [stored] = stored_claims(app)
    body = client.get(f"/api/v1/claims/{stored.id}", headers=bearer(shop.keys.secret_key)).get_json()
    assert body["shipment_id"] == "ful_1001_2" and body["amount"] == 25000


def test_affected_items_set_the_amount_and_are_bounded_by_the_parcel(app, client, shop):
    items = [{"sku": "CUP", "quantity": 2, "unit_price": 10000, "name": "Teacup"}, {"sku": "POT", "quantity": 1}]
    shipped_order(client, shop, items=items)
    find(client, shop.shop.id)
    form = text(client.get(f"/claims/{shop.shop.id}/claim"))
    assert "Teacup" in form and 'name="qty-0-0"' in form and 'name="qty-0-1"' in form
    too_many = file(client, shop.shop.id, [(photo(), "a.jpg")], **{"qty-0-0": "3"})
    assert too_many.status_code == 422 and "Choose a number from 0 to 2." in text(too_many)
    assert file(client, shop.shop.id, [(photo(), "a.jpg")], **{"qty-0-0": "1", "qty-0-1": "0"}).status_code == 303
    [stored] = stored_claims(app)
    assert stored.items == [{"sku": "CUP", "quantity": 1}] and stored.amount == 10000


def test_a_description_is_needed(client, shop):
    shipped_order(client, shop)
    find(client, shop.shop.id)
    response = file(client, shop.shop.id, [(photo(), "a.jpg")], description="   ")
    assert response.status_code == 422 and "Please describe what happened." in text(response)
    response = file(client, shop.shop.id, [(photo(), "a.jpg")], description="Broken\x00 glass")
    assert (
        response.status_code == 422
        and "This text contains characters that cannot be stored; please retype it." in text(response)
    )
    response = file(client, shop.shop.id, [(photo(), "a.jpg")], description="x" * 5001)
    assert response.status_code == 422 and "Please keep the description under 5,000 characters." in text(response)
    lines = "\r\n".join(["x" * 99] * 50)  # 5,000 characters as the browser counts them
    assert file(client, shop.shop.id, [(photo(), "a.jpg")], description=lines).status_code == 303


# ---- the rules' refusals, as words on the form ----------------------------------------------------------------


def test_too_early_names_the_date_and_keeps_the_input(app, client, shop):
    shipped_order(client, shop, shipped_days_ago=3)
    find(client, shop.shop.id)
    response = file(client, shop.shop.id, type="lost", description="Still waiting.")
    assert response.status_code == 422
    assert f"This kind of claim can be filed from {days_ago(-4):%Y-%m-%d}." in text(response)
    assert "Still waiting." in text(response) and 'value="lost" required checked' in text(response)
    assert stored_claims(app) == []


def test_a_damaged_claim_without_a_photo_asks_for_one(client, shop):
    shipped_order(client, shop)
    find(client, shop.shop.id)
    response = file(client, shop.shop.id)
    assert (
        response.status_code == 422
        and "A damaged-item claim needs at least one photo of the damage (JPEG, PNG or WebP)." in text(response)
    )


def test_the_claim_limit(client, shop):
    shipped_order(client, shop)
    shipped_order(client, shop, order_id="2002")
    settings(client, shop, max_claims_per_customer=1)
    assert claim(client, shop).status_code == 201
    find(client, shop.shop.id, "2002")
    response = file(client, shop.shop.id, [(photo(), "a.jpg")])
    assert (
        response.status_code == 422
        and "This email address has filed as many claims as this shop accepts in a period; please contact the shop."
        in text(response)
    )


def test_an_unprotected_order_is_not_covered(client, shop):
    shipped_order(client, shop)
    assert deliver(client, shop.shop.id, payment_intent_event({"order_id": "3003"}, pi_id="pi_3003")).status_code == 200
    ship = {"order_id": "3003", "shipment_id": "f3", "carrier": "UPS", "tracking_number": "1Z3"}
    assert client.post("/api/v1/shipments", json=ship, headers=bearer(shop.keys.secret_key)).status_code == 202
    find(client, shop.shop.id, "3003")
    response = file(client, shop.shop.id, [(photo(), "a.jpg")])
    assert response.status_code == 422 and "This parcel is not covered by shipping protection." in text(response)


def test_lost_on_a_delivered_parcel_suggests_stolen(app, client, shop):
    shipped_order(client, shop)
    track(app, "ful_1001_1", "delivered", days_ago(2))
    find(client, shop.shop.id)
    response = file(client, shop.shop.id, type="lost")
    assert response.status_code == 422
    message = f"The tracking shows this parcel delivered on {days_ago(2):%Y-%m-%d}. If it was taken after delivery, choose “It was delivered, then stolen”."
    assert message.replace("“", "&#8220;") in text(response) or message in text(response)
    assert "It was delivered, then stolen" in message
    assert file(client, shop.shop.id, type="stolen").status_code == 303


def test_a_second_claim_on_the_parcel_links_the_first(client, shop):
    shipped_order(client, shop)
    first = claim(client, shop).get_json()["id"]
    find(client, shop.shop.id)
    response = file(client, shop.shop.id, [(photo(), "a.jpg")])
    assert response.status_code == 409 and "This parcel already has a claim." in text(response)
    link = re.search(r'href="([^"]+)" id="existing-claim"', text(response)).group(1)
    page = client.get(link)
    assert page.status_code == 200 and first in text(page)


def test_delayed_is_offered_only_when_the_shop_pays_for_delays(client, shop):
    shipped_order(client, shop, shipped_days_ago=12)
    find(client, shop.shop.id)
    assert 'value="delayed"' not in text(client.get(f"/claims/{shop.shop.id}/claim"))
    refused = file(client, shop.shop.id, type="delayed")
    assert refused.status_code == 422 and "Please choose what happened." in text(refused)
    settings(client, shop, delay_compensation=500)
    assert 'value="delayed"' in text(client.get(f"/claims/{shop.shop.id}/claim"))
    assert file(client, shop.shop.id, type="delayed").status_code == 303


def test_an_order_not_shipped_yet_says_so(client, shop):
    from tests.stripe_helpers import protected_order

    protected_order(client, shop)
    assert find(client, shop.shop.id).status_code == 303
    page = client.get(f"/claims/{shop.shop.id}/claim")
    assert (
        page.status_code == 200
        and "This order has not shipped yet; a claim can be filed once a parcel is on its way." in text(page)
        and 'id="claim"' not in text(page)
    )


# ---- the status page ------------------------------------------------------------------------------------------


@pytest.fixture()
def filed(app, client, shop) -> tuple[str, str]:
    """A claim filed through the portal: its id and status link."""
    shipped_order(client, shop)
    find(client, shop.shop.id)
    assert file(client, shop.shop.id, [(photo(), "vase.jpg")]).status_code == 303
    [stored] = stored_claims(app)
    return stored.id, status_link(client, shop.shop.id)


def test_forged_expired_and_other_shops_tokens_are_404_pages(app, client, shop, new_shop, filed):
    claim_id, link = filed
    token = link.rsplit("/", 1)[1]
    for bad in (token[:-3] + "abc", "x" * 500, "not-a-token"):
        page = client.get(f"/claims/{shop.shop.id}/status/{bad}")
        assert (
            page.status_code == 404
            and "This link is not valid or has expired. Use the link from your confirmation, or find your order again."
            in text(page)
        )
    other = new_shop("Other Shop")
    assert client.get(f"/claims/{other.shop.id}/status/{token}").status_code == 404
    from itsdangerous import TimestampSigner

    from plugin.claim_links import STATUS_LINK_MAX_AGE_SECONDS, status_token
    from tests.conftest import TEST_SECRET_KEY

    assert (
        client.get(
            f"/claims/{shop.shop.id}/status/{status_token(claim_id, shop.shop.id, ['a-key-we-never-had'])}"
        ).status_code
        == 404
    )
    issued_long_ago = int(time.time()) - STATUS_LINK_MAX_AGE_SECONDS - 60
    with mock.patch.object(TimestampSigner, "get_timestamp", return_value=issued_long_ago):
        expired = status_token(claim_id, shop.shop.id, [TEST_SECRET_KEY])
    assert client.get(f"/claims/{shop.shop.id}/status/{expired}").status_code == 404
    with mock.patch.object(TimestampSigner, "get_timestamp", return_value=issued_long_ago + 3600):
        still_valid = status_token(claim_id, shop.shop.id, [TEST_SECRET_KEY])
    assert client.get(f"/claims/{shop.shop.id}/status/{still_valid}").status_code == 200
    assert client.get(link).status_code == 200


def test_the_status_shows_the_decision_and_only_messages_for_the_shopper(client, shop, filed):
    claim_id, link = filed
    key = bearer(shop.keys.secret_key)
    for body, visibility in (("Please send a photo of the box.", "shopper"), ("Looks like fraud <b>", "internal")):
        posted = client.post(
            f"/api/v1/claims/{claim_id}/messages", json={"body": body, "visibility": visibility}, headers=key
        )
        assert posted.status_code == 201
    assert (
        client.post(f"/api/v1/claims/{claim_id}/deny", json={"reason": "Not <covered>."}, headers=key).status_code
        == 200
    )
    page = text(client.get(link))
    assert "Please send a photo of the box." in page
    assert "Looks like fraud" not in page
    assert "Declined" in page and "Not &lt;covered&gt;." in page


def test_the_status_shows_an_approval_and_its_amount(client, shop, filed):
    claim_id, link = filed
    approval = {"resolution": "reship", "replacement_order_id": "1001-R"}
    assert client.post(
        f"/api/v1/claims/{claim_id}/approve", json=approval, headers=bearer(shop.keys.secret_key)
    ).status_code in (200, 202)
    page = text(client.get(link))
    assert "Replacement sent" in page and "The items are sent again" in page and "$500.00" in page


def test_the_shopper_replies_and_adds_photos(app, client, shop, filed):
    claim_id, link = filed
    page = client.get(link)
    sent = client.post(f"{link}/messages", data={"csrf_token": csrf(page), "body": "Here is <more> detail."})
    assert sent.status_code == 303 and sent.headers["Location"].endswith(link)
    shown = text(client.get(link))
    assert "Here is &lt;more&gt; detail." in shown and "Your message was sent." in shown
    with app.app_context():
        [message] = db.session.scalars(select(ClaimMessage).where(ClaimMessage.claim_id == claim_id)).all()
        assert (message.author, message.visibility) == ("shopper", "shopper")
    empty = client.post(f"{link}/messages", data={"csrf_token": csrf(page), "body": "  "})
    assert empty.status_code == 422 and "Please write a message." in text(empty)

    added = client.post(
        f"{link}/evidence",
        data={"csrf_token": csrf(page), "evidence": [(io.BytesIO(photo((10, 200, 10))), "box.png")]},
        content_type="multipart/form-data",
    )
    assert added.status_code == 303
    refused = client.post(
        f"{link}/evidence",
        data={"csrf_token": csrf(page), "evidence": [(io.BytesIO(b"MZ\x90\x00"), "tool.exe")]},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422 and "tool.exe is not a JPEG" in text(refused)
    with app.app_context():
        rows = db.session.scalars(select(Evidence).where(Evidence.claim_id == claim_id)).all()
        assert sorted(row.filename for row in rows) == ["box.png", "vase.jpg"]
        assert {row.uploaded_by for row in rows} == {"shopper"}


def test_a_form_without_its_csrf_token_is_a_400_page_and_changes_nothing(app, client, shop, filed):
    _claim_id, link = filed
    for path, data in (
        (f"/claims/{shop.shop.id}", {"order_number": "1001", "email": EMAIL}),
        (f"{link}/messages", {"body": "hello"}),
        (f"/claims/{shop.shop.id}/claim", {"type": "lost", "description": "x"}),
        (f"{link}/messages", {"body": "hello", "csrf_token": "forged"}),
    ):
        response = client.post(path, data=data)
        assert response.status_code == 400, path
        assert (
            response.mimetype == "text/html"
            and "This form expired or was not sent from this page. Go back, reload the page and try again.".replace(
                "'", "&#39;"
            )
            in text(response)
        )
    with app.app_context():
        assert db.session.scalars(select(ClaimMessage)).all() == []
    assert len(stored_claims(app)) == 1


# ---- languages --------------------------------------------------------------------------------------------------


def test_chinese_by_accept_language(app, client, shop):
    shipped_order(client, shop)
    page = client.get(f"/claims/{shop.shop.id}", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
    assert '<html lang="zh-Hans">' in text(page) and zh("Report a problem with your order") in text(page)
    assert page.headers["Content-Language"] == "zh-Hans"
    wrong = find(client, shop.shop.id, "9999", EMAIL, **{"Accept-Language": "zh-TW"})
    assert wrong.status_code == 404 and zh(
        "No order matches this order number and email. Check both and try again."
    ) in text(wrong)
    find(client, shop.shop.id, **{"Accept-Language": "zh"})
    form = client.get(f"/claims/{shop.shop.id}/claim", headers={"Accept-Language": "zh"})
    assert zh("Something arrived damaged") in text(form)
    refused = client.post(
        f"/claims/{shop.shop.id}/claim",
        data={"csrf_token": csrf(form), "type": "damaged", "description": "花瓶碎了。"},
        headers={"Accept-Language": "zh"},
    )
    assert refused.status_code == 422 and zh(
        "A damaged-item claim needs at least one photo of the damage (JPEG, PNG or WebP)."
    ) in text(refused)
    assert "花瓶碎了。" in text(refused)
    english = client.get(f"/claims/{shop.shop.id}", headers={"Accept-Language": "fr, en;q=0.5"})
    assert "Report a problem with your order" in text(english)


def test_a_chosen_language_is_remembered_and_reaches_the_claim(app, client, shop):
    shipped_order(client, shop)
    chosen = client.get(f"/claims/{shop.shop.id}?lang=zh", headers={"Accept-Language": "en"})
    assert zh("Report a problem with your order") in text(chosen) and 'id="lang-en"' in text(chosen)
    assert find(client, shop.shop.id, **{"Accept-Language": "en"}).status_code == 303
    form = client.get(f"/claims/{shop.shop.id}/claim", headers={"Accept-Language": "en"})
    assert zh("Submit my claim") in text(form)
    too_early = file(client, shop.shop.id, type="stolen")
    assert zh(
        "A stolen-parcel claim can be filed once the parcel is marked delivered; a parcel that never arrived is reported as “It never arrived”."
    ) in text(too_early)
    assert file(client, shop.shop.id, [(photo(), "a.jpg")]).status_code == 303
    [stored] = stored_claims(app)
    assert stored.locale == "zh"
    status = text(client.get(status_link(client, shop.shop.id)))
    assert zh("Received: waiting for review") in status and "US$500.00" in status
    back = client.get(f"/claims/{shop.shop.id}?lang=en")
    assert "Report a problem with your order" in text(back)
    assert "Report a problem with your order" in text(
        client.get(f"/claims/{shop.shop.id}", headers={"Accept-Language": "zh"})
    )


def test_every_claim_type_status_and_resolution_has_words(app):
    from plugin.domain.claims import ClaimStatus, ClaimType, Resolution
    from plugin.portal.texts import CLAIM_TYPES, RESOLUTIONS, STATUSES

    assert set(CLAIM_TYPES) == {kind.value for kind in ClaimType}
    assert set(STATUSES) == {status.value for status in ClaimStatus}
    assert set(RESOLUTIONS) == {resolution.value for resolution in Resolution}
    every = (*CLAIM_TYPES.values(), *STATUSES.values(), *RESOLUTIONS.values())
    with app.test_request_context(headers={"Accept-Language": "en"}):
        english = [str(words) for words in every]
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        assert [str(words) for words in every] == [zh(message) for message in english]  # read in the page's language


# ---- branding ---------------------------------------------------------------------------------------------------


def patch_branding(client, shop, **branding: Any):
    return client.patch("/api/v1/settings", json={"branding": branding}, headers=bearer(shop.keys.secret_key))


def img_src(response) -> list[str]:
    policy = response.headers["Content-Security-Policy"]
    return next(part.split()[1:] for part in policy.split("; ") if part.startswith("img-src "))


def test_branding_colours_the_portal_and_shows_the_logo(client, shop):
    plain = client.get(f"/claims/{shop.shop.id}")
    assert "--accent" not in text(plain) and "<img" not in text(plain)
    assert img_src(plain) == ["'self'", "data:"]
    answer = patch_branding(client, shop, accent_color="#0F766E", logo_url="https://cdn.example.com/brand/logo.png?v=2")
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["branding"] == {
        "accent_color": "#0F766E",
        "logo_url": "https://cdn.example.com/brand/logo.png?v=2",
    }
    page = client.get(f"/claims/{shop.shop.id}")
    assert 'style="--accent: #0f766e; --accent-ink: #ffffff"' in text(page)
    assert '<img class="logo" src="https://cdn.example.com/brand/logo.png?v=2"' in text(page)
    assert img_src(page) == ["'self'", "data:", "https://cdn.example.com"]
    assert_page_headers(page)
    assert img_src(client.get(f"/terms/{shop.shop.id}")) == ["'self'", "data:"]  # only the portal's pages
    patch_branding(client, shop, accent_color="#fde047")
    assert "--accent-ink: #000000" in text(client.get(f"/claims/{shop.shop.id}"))  # dark text on a light accent
    assert patch_branding(client, shop, accent_color=None, logo_url=None).get_json()["branding"] == {
        "accent_color": None,
        "logo_url": None,
    }


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("accent_color", "red"),
        ("accent_color", "#fff"),
        ("accent_color", "#0f766e;}body{background:url(x)"),
        ("accent_color", "#0f766e\n"),
        ("accent_color", '#0f766e" onload="x'),
        ("accent_color", 123),
        ("logo_url", "http://cdn.example.com/logo.png"),
        ("logo_url", "javascript:alert(1)"),
        ("logo_url", "data:image/png;base64,AAAA"),
        ("logo_url", "https://user:pw@cdn.example.com/logo.png"),
        ("logo_url", 'https://cdn.example.com/logo.png" onerror="alert(1)'),
        ("logo_url", "https://cdn.example.com;script-src *"),
        ("logo_url", "https://例子.中国/logo.png"),
        ("logo_url", "https://" + "a" * 2100 + ".com/logo.png"),
        ("logo_url", "//cdn.example.com/logo.png"),
    ],
)
def test_hostile_branding_is_refused(client, shop, field, value):
    response = patch_branding(client, shop, **{field: value})
    assert response.status_code == 422, response.get_json()
    assert f"branding.{field}" in response.get_json()["error"]["fields"]
    page = client.get(f"/claims/{shop.shop.id}")
    assert "--accent" not in text(page) and "<img" not in text(page)


def test_bare_claims_path_leads_to_the_only_shops_portal(client, shop, new_shop):
    response = client.get("/claims")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/claims/{shop.shop.id}")
    new_shop("Second")
    assert client.get("/claims").status_code == 404  # several shops: each gives shoppers its own link


def test_replies_on_a_status_page_are_rate_limited(app, client, shop, filed):
    claim_id, link = filed
    token = csrf(client.get(link))
    for index in range(10):
        assert client.post(f"{link}/messages", data={"csrf_token": token, "body": f"note {index}"}).status_code == 303
    limited = client.post(f"{link}/messages", data={"csrf_token": token, "body": "one too many"})
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    with app.app_context():
        stored = db.session.scalars(select(ClaimMessage.body).where(ClaimMessage.claim_id == claim_id)).all()
    assert len(stored) == 10 and "one too many" not in stored
