"""Signing in to the admin: sessions, lock-out, password resets, CSRF, roles and languages."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from plugin.extensions import db
from plugin.models import Job, User, utcnow
from plugin.services.users import MAX_FAILED_LOGINS, reset_token
from tests.admin_helpers import PASSWORD, AdminUser, csrf_token, make_user, post_form, sign_in
from tests.conftest import TEST_SECRET_KEY


def _user(app: Flask, user_id: str) -> User:
    with app.app_context():
        user = db.session.get(User, user_id)
        assert user is not None
        db.session.expunge(user)
        return user


def test_pages_need_a_signed_in_user(client: FlaskClient) -> None:
    answer = client.get("/admin/")
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("/admin/login?next=")


def test_sign_in_then_out(app: Flask, client: FlaskClient, owner: AdminUser) -> None:
    answer = sign_in(client, owner)
    assert answer.status_code == 302 and answer.headers["Location"] == "/admin/"
    page = client.get("/admin/")
    assert page.status_code == 200 and "owner@jade.example" in page.get_data(as_text=True)
    assert "no-store" in page.headers["Cache-Control"]
    out = post_form(client, "/admin/logout", {})
    assert out.status_code == 302
    assert client.get("/admin/").status_code == 302
    assert _user(app, owner.id).last_login_at is not None


def test_the_session_cookie_is_http_only_and_secure_when_https_only(app: Flask, owner: AdminUser) -> None:
    client = app.test_client()
    answer = sign_in(client, owner)
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert app.config["SESSION_COOKIE_SECURE"] is app.config["HTTPS_ONLY"]


def test_after_sign_in_it_goes_where_the_user_was_going_but_never_off_site(client: FlaskClient, owner) -> None:
    token = csrf_token(client)
    data = {"email": owner.email, "password": owner.password, "csrf_token": token}
    assert client.post("/admin/login?next=/admin/?x=1", data=data).headers["Location"] == "/admin/?x=1"
    client.post("/admin/logout", data={"csrf_token": csrf_token(client, "/admin/")})
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example", "/claims"):
        token = csrf_token(client)
        answer = client.post(f"/admin/login?next={target}", data={**data, "csrf_token": token})
        assert answer.headers["Location"] == "/admin/", target
        client.post("/admin/logout", data={"csrf_token": csrf_token(client, "/admin/")})


def test_a_wrong_email_and_a_wrong_password_get_the_same_answer(client: FlaskClient, owner: AdminUser) -> None:
    wrong_password = sign_in(client, owner, password="not the password at all")
    nobody = sign_in(client, AdminUser("usr_x", owner.shop_id, "nobody@jade.example", "owner"))
    assert wrong_password.status_code == nobody.status_code == 401

    def body(answer) -> str:
        text = answer.get_data(as_text=True)
        return re.sub(r'value="[^"]*"', "", text)

    assert body(wrong_password).replace(owner.email, "") == body(nobody).replace("nobody@jade.example", "")
    assert "The email or the password is wrong." in body(nobody)


def test_the_form_without_its_csrf_token_is_refused(client: FlaskClient, owner: AdminUser) -> None:
    answer = client.post("/admin/login", data={"email": owner.email, "password": owner.password})
    assert answer.status_code == 400
    assert client.get("/admin/").status_code == 302  # not signed in


def test_repeated_failures_lock_the_account_for_a_while(app: Flask, client: FlaskClient, owner: AdminUser) -> None:
    for _ in range(MAX_FAILED_LOGINS - 1):
        assert sign_in(client, owner, password="wrong password here").status_code == 401
    locked = sign_in(client, owner, password="wrong password here")
    assert locked.status_code == 429 and "locked" in locked.get_data(as_text=True)
    # Even the right password is refused while the lock lasts.
    assert sign_in(client, owner).status_code == 429
    with app.app_context():
        user = db.session.get(User, owner.id)
        assert user is not None and user.locked_until is not None
        user.locked_until = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert sign_in(client, owner).status_code == 302
    assert _user(app, owner.id).failed_logins == 0


def test_sign_in_attempts_per_address_are_rate_limited(app: Flask, owner: AdminUser) -> None:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "192.0.2.77"  # its own address: other tests' attempts do not count
    limit = app.config["RATE_LIMIT_ADMIN_LOGINS"]
    app.config["RATE_LIMIT_ADMIN_LOGINS"] = "3/minute"
    try:
        answers = [
            sign_in(client, AdminUser("usr_x", owner.shop_id, f"n{i}@jade.example", "owner")).status_code
            for i in range(4)
        ]
    finally:
        app.config["RATE_LIMIT_ADMIN_LOGINS"] = limit
    assert answers[:3] == [401, 401, 401] and answers[3] == 429


def test_an_idle_session_ends(app: Flask, owner_client: FlaskClient) -> None:
    assert owner_client.get("/admin/").status_code == 200
    with owner_client.session_transaction() as session:
        session["admin_seen_at"] -= app.config["ADMIN_SESSION_IDLE_MINUTES"] * 60 + 1
    assert owner_client.get("/admin/").status_code == 302


def test_a_session_ends_after_its_longest_life_even_when_busy(app: Flask, owner_client: FlaskClient) -> None:
    with owner_client.session_transaction() as session:
        session["admin_signed_in_at"] -= app.config["ADMIN_SESSION_MAX_HOURS"] * 3600 + 1
    assert owner_client.get("/admin/").status_code == 302


def _reset_link(app: Flask, user_id: str) -> str:
    with app.app_context():
        user = db.session.get(User, user_id)
        assert user is not None
        return f"/admin/reset/{reset_token(user, [TEST_SECRET_KEY])}"


def test_a_reset_request_queues_one_email_and_says_the_same_for_unknown_addresses(
    app: Flask, client: FlaskClient, owner: AdminUser
) -> None:
    app.config["PUBLIC_BASE_URL"] = "https://shop.example"
    try:
        known = client.post(
            "/admin/reset", data={"email": owner.email, "csrf_token": csrf_token(client, "/admin/reset")}
        )
        again = client.post(
            "/admin/reset", data={"email": owner.email, "csrf_token": csrf_token(client, "/admin/reset")}
        )
        unknown = client.post(
            "/admin/reset", data={"email": "nobody@jade.example", "csrf_token": csrf_token(client, "/admin/reset")}
        )
    finally:
        app.config["PUBLIC_BASE_URL"] = None
    assert known.status_code == unknown.status_code == again.status_code == 200
    assert known.get_data(as_text=True) == unknown.get_data(as_text=True)
    with app.app_context():
        jobs = db.session.scalars(select(Job).where(Job.kind == "send_email")).all()
        assert len(jobs) == 1  # the repeat within the minute is the same job
        assert jobs[0].payload == {"notice": "admin_password_reset", "user": owner.id, "locale": "en"}


def test_the_reset_email_carries_a_link_on_the_public_address(app: Flask, owner: AdminUser) -> None:
    from plugin.services.notifications import compose_email

    config = {**app.config, "PUBLIC_BASE_URL": "https://shop.example"}
    with app.app_context():
        payload = {"notice": "admin_password_reset", "user": owner.id}
        composed = compose_email(payload, owner.shop_id, "email:k", config)
        assert composed is not None
        body = composed.message.get_content()
        assert composed.message["To"] == owner.email
        assert "https://shop.example/admin/reset/" in body
        token = re.search(r"/admin/reset/(\S+)", body)
        assert token is not None
        # Without PUBLIC_BASE_URL there is no link to send (the request's Host header is never trusted).
        assert compose_email(payload, owner.shop_id, "email:k", {**config, "PUBLIC_BASE_URL": None}) is None
        # Another shop's job cannot mail this user.
        assert compose_email(payload, "shop_other", "email:k", config) is None


def test_a_reset_link_sets_the_password_once_and_ends_older_sessions(
    app: Flask, client: FlaskClient, owner: AdminUser, owner_client: FlaskClient
) -> None:
    link = _reset_link(app, owner.id)
    page = client.get(link)
    assert page.status_code == 200
    new_password = "a new and long password"
    mismatch = client.post(
        link, data={"password": new_password, "password_confirm": "other", "csrf_token": csrf_token(client, link)}
    )
    assert mismatch.status_code == 422
    short = client.post(
        link, data={"password": "short", "password_confirm": "short", "csrf_token": csrf_token(client, link)}
    )
    assert short.status_code == 422
    done = client.post(
        link, data={"password": new_password, "password_confirm": new_password, "csrf_token": csrf_token(client, link)}
    )
    assert done.status_code == 302
    assert client.get("/admin/").status_code == 200  # signed in by the reset
    assert owner_client.get("/admin/").status_code == 302  # the session from before the reset is over
    assert client.get(link).status_code == 404  # used once
    fresh = app.test_client()
    assert sign_in(fresh, owner).status_code == 401
    assert sign_in(fresh, owner, password=new_password).status_code == 302


def test_forged_and_expired_reset_links_are_refused(app: Flask, client: FlaskClient, owner: AdminUser) -> None:
    assert client.get("/admin/reset/not-a-token").status_code == 404
    assert client.get("/admin/reset/" + "x" * 5000).status_code == 404
    link = _reset_link(app, owner.id)
    with app.app_context():
        from plugin.services.users import user_for_reset

        assert user_for_reset(link.rsplit("/", 1)[1], [TEST_SECRET_KEY], max_age=-1) is None


def test_the_language_follows_the_browser_until_the_user_chooses(app: Flask, owner_client: FlaskClient) -> None:
    chinese = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}
    page = owner_client.get("/admin/", headers=chinese).get_data(as_text=True)
    assert 'lang="zh-Hans"' in page and "退出登录" in page
    assert 'lang="en"' in owner_client.get("/admin/").get_data(as_text=True)
    post_form(owner_client, "/admin/language", {"language": "zh", "next": "/admin/"})
    page = owner_client.get("/admin/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert 'lang="zh-Hans"' in page and "概览" in page
    post_form(owner_client, "/admin/language", {"language": "en", "next": "/admin/"})
    assert 'lang="en"' in owner_client.get("/admin/", headers=chinese).get_data(as_text=True)


def test_the_sign_in_page_speaks_the_browsers_language(client: FlaskClient) -> None:
    page = client.get("/admin/login", headers={"Accept-Language": "zh-Hans"}).get_data(as_text=True)
    assert "登录" in page and 'lang="zh-Hans"' in page
    assert "Sign in" in client.get("/admin/login?lang=en").get_data(as_text=True)


@pytest.mark.parametrize("email", ["", "x" * 400 + "@a.example", "\x00@a.example"])
def test_hostile_sign_in_input_is_a_clean_refusal(client: FlaskClient, email: str) -> None:
    token = csrf_token(client)
    answer = client.post("/admin/login", data={"email": email, "password": "p" * 5000, "csrf_token": token})
    assert answer.status_code == 401


def test_users_are_unique_per_server(app: Flask, shop, new_shop) -> None:
    make_user(app, shop.shop.id, "someone@jade.example")
    other = new_shop("Other")
    with pytest.raises(ValueError, match="already exists"):
        make_user(app, other.shop.id, "SOMEONE@jade.example")


def test_users_create_command(app: Flask, shop) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--shop",
            shop.shop.id,
            "--email",
            "Boss@Jade.example",
            "--password",
            PASSWORD,
            "--role",
            "owner",
            "--json",
        ]
    )
    assert result.exit_code == 0, result.output
    assert '"email": "boss@jade.example"' in result.output and '"role": "owner"' in result.output
    again = runner.invoke(
        args=["users", "create", "--shop", shop.shop.id, "--email", "boss@jade.example", "--password", PASSWORD]
    )
    assert again.exit_code != 0 and "already exists" in again.output
    short = runner.invoke(
        args=["users", "create", "--shop", shop.shop.id, "--email", "b2@jade.example", "--password", "short"]
    )
    assert short.exit_code != 0 and "12 characters" in short.output
    nowhere = runner.invoke(
        args=["users", "create", "--shop", "shop_nope", "--email", "b3@x.example", "--password", PASSWORD]
    )
    assert nowhere.exit_code != 0 and "no shop" in nowhere.output
    role = runner.invoke(
        args=[
            "users",
            "create",
            "--shop",
            shop.shop.id,
            "--email",
            "b4@x.example",
            "--password",
            PASSWORD,
            "--role",
            "god",
        ]
    )
    assert role.exit_code != 0
    changed = runner.invoke(
        args=["users", "set-password", "--email", "boss@jade.example", "--password", "another long password"]
    )
    assert changed.exit_code == 0, changed.output
    client = app.test_client()
    user = AdminUser("", shop.shop.id, "boss@jade.example", "owner", "another long password")
    assert sign_in(client, user).status_code == 302
