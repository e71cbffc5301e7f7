"""Users and roles in the admin, and each user's own account: owners add, change, unlock, sign out and remove
users of their shop only; the last owner stays; a password change ends every other session."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from plugin.extensions import db
from plugin.models import AuditEntry, Job, Shop, User
from plugin.services.users import MAX_FAILED_LOGINS, LastOwnerError, remove_user
from tests.admin_helpers import PASSWORD, AdminUser, csrf_token, make_user, post_form, sign_in
from tests.api.test_notifications import _body, inbox  # noqa: F401 - the SMTP server fixture
from tests.api.test_worker import worker

NEW_PASSWORD = "a brand new passphrase 42"


def text(response) -> str:
    return response.get_data(as_text=True)


def user_row(app, user_id: str) -> User | None:
    with app.app_context():
        user = db.session.get(User, user_id)
        if user is not None:
            db.session.expunge(user)
        return user


def audit_actions(app, shop_id: str) -> list[AuditEntry]:
    with app.app_context():
        entries = list(
            db.session.scalars(select(AuditEntry).where(AuditEntry.shop_id == shop_id).order_by(AuditEntry.id))
        )
        db.session.expunge_all()
        return entries


def signed_in(client) -> bool:
    """Whether the client's session still opens an admin page."""
    return client.get("/admin/account").status_code == 200


# ---- the list and adding users ---------------------------------------------------------------------------


def test_the_list_shows_each_users_email_role_last_sign_in_and_lock(app, owner_client, owner, staff, shop):
    for _ in range(MAX_FAILED_LOGINS):
        sign_in(app.test_client(), staff, "not the password")
    page = text(owner_client.get("/admin/users"))
    assert owner.email in page and staff.email in page and "(you)" in page
    owner_row = page.split(f'id="user-{owner.id}"', 1)[1].split("</tr>", 1)[0]
    staff_row = page.split(f'id="user-{staff.id}"', 1)[1].split("</tr>", 1)[0]
    assert 'value="owner" selected' in owner_row and "Never" not in owner_row and "Remove" not in owner_row
    assert 'value="staff" selected' in staff_row and "Never" in staff_row and "Locked until" in staff_row


def test_an_owner_adds_a_user_with_a_password_and_they_can_sign_in(app, owner_client, owner, shop):
    form = owner_client.get("/admin/users/new")
    assert form.status_code == 200 and "PUBLIC_BASE_URL and SMTP_URL" in text(form)
    answer = post_form(
        owner_client,
        "/admin/users/new",
        {"email": " New@Jade.Example ", "role": "staff", "method": "password", "password": PASSWORD,
         "password_confirm": PASSWORD},
    )  # fmt: skip
    assert answer.status_code == 302
    assert "new@jade.example is added" in text(owner_client.get("/admin/users"))
    with app.app_context():
        user = db.session.scalars(select(User).where(User.email == "new@jade.example")).one()
        assert (user.shop_id, user.role) == (shop.shop.id, "staff")
        new = AdminUser(user.id, shop.shop.id, user.email, user.role)
    assert sign_in(app.test_client(), new).status_code == 302
    (entry,) = [entry for entry in audit_actions(app, shop.shop.id) if entry.action == "user.created"]
    assert entry.actor == f"user:{owner.id} {owner.email}" and entry.target == new.id
    assert entry.after == {"email": "new@jade.example", "role": "staff", "first_password": "password"}
    assert PASSWORD not in json.dumps([entry.before, entry.after])


def test_an_emailed_link_lets_the_new_user_choose_a_password(app, owner_client, shop, inbox):  # noqa: F811
    form = text(owner_client.get("/admin/users/new"))
    assert 'value="email"' in form
    answer = post_form(
        owner_client, "/admin/users/new", {"email": "invited@jade.example", "role": "owner", "method": "email"}
    )
    assert answer.status_code == 302
    with app.app_context():
        (job,) = db.session.scalars(select(Job).where(Job.kind == "send_email"))
        assert job.payload["notice"] == "admin_invitation" and "token" not in json.dumps(job.payload)
    assert worker(app).drain().ok
    [(recipients, message)] = inbox.messages
    assert recipients == ["invited@jade.example"] and "added to the Jade House admin" in message["Subject"]
    link = re.search(r"https://shop\.example(/admin/reset/\S+)", _body(message))
    assert link
    newcomer = app.test_client()
    page = newcomer.get(link.group(1))
    assert page.status_code == 200
    chosen = newcomer.post(
        link.group(1),
        data={
            "password": NEW_PASSWORD,
            "password_confirm": NEW_PASSWORD,
            "csrf_token": csrf_token(newcomer, link.group(1)),
        },
    )
    assert chosen.status_code == 302 and signed_in(newcomer)
    with app.app_context():
        user = db.session.scalars(select(User).where(User.email == "invited@jade.example")).one()
        assert user.role == "owner"


def test_an_emailed_link_needs_email_to_be_set_up(app, owner_client):
    answer = post_form(
        owner_client, "/admin/users/new", {"email": "x@jade.example", "role": "staff", "method": "email"}
    )
    assert answer.status_code == 422 and "PUBLIC_BASE_URL and SMTP_URL" in text(answer)
    with app.app_context():
        assert db.session.scalars(select(User).where(User.email == "x@jade.example")).first() is None
        assert db.session.scalars(select(Job)).first() is None


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"email": "not-an-address"}, "Give a valid email address"),
        ({"email": "fresh\x00@jade.example"}, "Give a valid email address"),
        ({"email": "owner@jade.example"}, "A user with this email already exists."),
        ({"email": "OTHER@other.example"}, "A user with this email already exists."),
        ({"password": "short", "password_confirm": "short"}, "at least 12 characters"),
        ({"password": "x" * 1100, "password_confirm": "x" * 1100}, "at most 1024 characters"),
        ({"password_confirm": PASSWORD + "!"}, "The two passwords differ."),
    ],
)
def test_a_user_that_cannot_be_added_is_explained(app, owner_client, owner, new_shop, fields, message):
    other = new_shop("Other House")
    make_user(app, other.shop.id, "other@other.example")  # emails are unique across the server
    data = {
        "email": "fresh@jade.example",
        "role": "staff",
        "method": "password",
        "password": PASSWORD,
        "password_confirm": PASSWORD,
        **fields,
    }
    answer = post_form(owner_client, "/admin/users/new", data)
    assert answer.status_code == 422 and message in text(answer)
    with app.app_context():
        assert db.session.scalars(select(User).where(User.email == "fresh@jade.example")).first() is None
        assert len(list(db.session.scalars(select(User)))) == 2


@pytest.mark.parametrize("fields", [{"role": "admin"}, {"role": ""}, {"method": "pigeon"}])
def test_a_forged_choice_is_a_400(app, owner_client, fields):
    data = {"email": "fresh@jade.example", "role": "staff", "method": "password", "password": PASSWORD,
            "password_confirm": PASSWORD, **fields}  # fmt: skip
    assert post_form(owner_client, "/admin/users/new", data).status_code == 400
    with app.app_context():
        assert db.session.scalars(select(User).where(User.email == "fresh@jade.example")).first() is None


# ---- roles, removal, lock-outs, sessions --------------------------------------------------------------------


def test_an_owner_changes_roles_and_the_change_takes_effect_at_once(app, owner_client, owner, staff, staff_client):
    assert staff_client.get("/admin/users").status_code == 403
    assert post_form(owner_client, f"/admin/users/{staff.id}/role", {"role": "owner"}).status_code == 302
    assert user_row(app, staff.id).role == "owner"
    assert staff_client.get("/admin/users").status_code == 200  # their next page already knows
    assert post_form(owner_client, f"/admin/users/{staff.id}/role", {"role": "staff"}).status_code == 302
    assert staff_client.get("/admin/users").status_code == 403
    changes = [entry for entry in audit_actions(app, owner.shop_id) if entry.action == "user.role_changed"]
    assert [(entry.before["role"], entry.after["role"]) for entry in changes] == [
        ("staff", "owner"),
        ("owner", "staff"),
    ]


def test_the_last_owner_cannot_become_staff_but_one_of_two_can(app, owner_client, owner, shop):
    answer = post_form(owner_client, f"/admin/users/{owner.id}/role", {"role": "staff"}, "/admin/users")
    assert answer.status_code == 422 and "A shop needs at least one owner." in text(answer)
    assert user_row(app, owner.id).role == "owner"
    second = make_user(app, shop.shop.id, "second@jade.example", "owner")
    assert post_form(owner_client, f"/admin/users/{owner.id}/role", {"role": "staff"}).status_code == 302
    assert user_row(app, owner.id).role == "staff" and user_row(app, second.id).role == "owner"
    assert owner_client.get("/admin/users").status_code == 403  # no longer an owner


def test_the_last_owner_cannot_be_removed(app, owner, shop):
    with app.app_context():
        user = db.session.get(User, owner.id)
        with pytest.raises(LastOwnerError):
            remove_user(user)
        db.session.rollback()
        assert db.session.get(User, owner.id) is not None


def test_an_owner_removes_another_user_but_not_themself(app, owner_client, owner, staff, staff_client, shop):
    myself = post_form(owner_client, f"/admin/users/{owner.id}/remove", {}, "/admin/users")
    assert myself.status_code == 422 and "You cannot remove yourself" in text(myself)
    assert user_row(app, owner.id) is not None
    second = make_user(app, shop.shop.id, "second@jade.example", "owner")
    assert post_form(owner_client, f"/admin/users/{second.id}/remove", {}).status_code == 302
    assert post_form(owner_client, f"/admin/users/{staff.id}/remove", {}).status_code == 302
    assert user_row(app, second.id) is None and user_row(app, staff.id) is None
    assert not signed_in(staff_client)
    assert sign_in(app.test_client(), staff).status_code == 401
    removed = [entry for entry in audit_actions(app, shop.shop.id) if entry.action == "user.removed"]
    assert [entry.before for entry in removed] == [
        {"email": "second@jade.example", "role": "owner"},
        {"email": staff.email, "role": "staff"},
    ]


def test_an_owner_unlocks_a_locked_out_user(app, owner_client, staff):
    for _ in range(MAX_FAILED_LOGINS):
        sign_in(app.test_client(), staff, "not the password")
    assert sign_in(app.test_client(), staff).status_code == 429
    assert post_form(owner_client, f"/admin/users/{staff.id}/unlock", {}).status_code == 302
    assert sign_in(app.test_client(), staff).status_code == 302
    assert any(entry.action == "user.unlocked" for entry in audit_actions(app, staff.shop_id))


def test_signing_a_user_out_everywhere_ends_their_sessions(app, owner_client, staff, staff_client):
    other_browser = app.test_client()
    assert sign_in(other_browser, staff).status_code == 302
    assert post_form(owner_client, f"/admin/users/{staff.id}/sign-out", {}).status_code == 302
    assert not signed_in(staff_client) and not signed_in(other_browser)
    assert signed_in(owner_client)
    assert sign_in(app.test_client(), staff).status_code == 302  # their password still works


# ---- each user's account ------------------------------------------------------------------------------------


def test_a_password_change_ends_other_sessions_and_keeps_this_one(app, staff, staff_client):
    elsewhere = app.test_client()
    assert sign_in(elsewhere, staff).status_code == 302
    page = staff_client.get("/admin/account")
    assert page.status_code == 200 and staff.email in text(page)
    answer = post_form(
        staff_client,
        "/admin/account/password",
        {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "new_password_confirm": NEW_PASSWORD},
        "/admin/account",
    )
    assert answer.status_code == 302
    assert "Your password is changed" in text(staff_client.get("/admin/account"))  # still signed in here
    assert not signed_in(elsewhere)
    assert sign_in(app.test_client(), staff).status_code == 401
    assert sign_in(app.test_client(), staff, NEW_PASSWORD).status_code == 302
    (entry,) = [entry for entry in audit_actions(app, staff.shop_id) if entry.action == "user.password_changed"]
    assert entry.target == staff.id and NEW_PASSWORD not in json.dumps([entry.before, entry.after])


@pytest.mark.parametrize(
    ("fields", "status", "message"),
    [
        ({"current_password": "wrong password!"}, 422, "That is not your current password."),
        ({"new_password_confirm": NEW_PASSWORD + "x"}, 422, "The two passwords differ."),
        ({"new_password": "short", "new_password_confirm": "short"}, 422, "at least 12 characters"),
    ],
)
def test_a_password_change_that_cannot_be_made_changes_nothing(app, owner, owner_client, fields, status, message):
    data = {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "new_password_confirm": NEW_PASSWORD, **fields}
    answer = post_form(owner_client, "/admin/account/password", data, "/admin/account")
    assert answer.status_code == status and message in text(answer)
    assert signed_in(owner_client)
    assert sign_in(app.test_client(), owner).status_code == 302


def test_wrong_current_passwords_count_toward_the_lock_out(app, owner, owner_client):
    data = {"current_password": "wrong password!", "new_password": NEW_PASSWORD, "new_password_confirm": NEW_PASSWORD}
    statuses = [
        post_form(owner_client, "/admin/account/password", data, "/admin/account").status_code
        for _ in range(MAX_FAILED_LOGINS)
    ]
    assert statuses == [422] * (MAX_FAILED_LOGINS - 1) + [429]
    assert sign_in(app.test_client(), owner).status_code == 429


def test_each_user_chooses_their_language(app, staff, staff_client):
    assert post_form(staff_client, "/admin/account/language", {"language": "zh"}, "/admin/account").status_code == 302
    assert user_row(app, staff.id).locale == "zh"
    assert "修改密码" in text(staff_client.get("/admin/account"))
    assert post_form(staff_client, "/admin/account/language", {"language": ""}, "/admin/account").status_code == 302
    assert user_row(app, staff.id).locale is None
    assert "Change your password" in text(staff_client.get("/admin/account", headers={"Accept-Language": "en"}))
    assert post_form(staff_client, "/admin/account/language", {"language": "fr"}, "/admin/account").status_code == 400
    assert user_row(app, staff.id).locale is None


# ---- who may, and from which shop ---------------------------------------------------------------------------

OWNER_POSTS = [
    ("/admin/users/new", {"email": "fresh@jade.example", "role": "owner", "method": "password", "password": PASSWORD,
                          "password_confirm": PASSWORD}),
    ("/admin/users/{user}/role", {"role": "staff"}),
    ("/admin/users/{user}/remove", {}),
    ("/admin/users/{user}/unlock", {}),
    ("/admin/users/{user}/sign-out", {}),
]  # fmt: skip
ACCOUNT_POSTS = [
    ("/admin/account/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD,
                                 "new_password_confirm": NEW_PASSWORD}),
    ("/admin/account/language", {"language": "zh"}),
]  # fmt: skip


def users_state(app) -> list[tuple]:
    with app.app_context():
        users = db.session.scalars(select(User).order_by(User.id))
        rows = [(u.id, u.email, u.role, u.password_hash, u.session_epoch, u.locale, u.locked_until) for u in users]
        audited = list(db.session.scalars(select(AuditEntry.id)))
    return [*rows, tuple(audited)]


@pytest.fixture()
def second_owner(app, shop) -> AdminUser:
    return make_user(app, shop.shop.id, "second@jade.example", "owner")


@pytest.mark.parametrize("path", ["/admin/users", "/admin/users/new"])
def test_staff_get_a_403_on_the_users_pages(staff_client, path):
    assert staff_client.get(path).status_code == 403


@pytest.mark.parametrize(("path", "data"), OWNER_POSTS)
def test_staff_get_a_403_on_every_user_action_and_nothing_changes(app, staff_client, second_owner, path, data):
    before = users_state(app)
    assert post_form(staff_client, path.format(user=second_owner.id), data).status_code == 403
    assert users_state(app) == before


@pytest.mark.parametrize(("path", "data"), OWNER_POSTS + ACCOUNT_POSTS)
def test_a_users_form_without_its_csrf_token_is_a_400_and_nothing_changes(app, owner_client, second_owner, path, data):
    before = users_state(app)
    assert owner_client.post(path.format(user=second_owner.id), data=data).status_code == 400
    assert users_state(app) == before


@pytest.mark.parametrize(("path", "data"), [p for p in OWNER_POSTS if "{user}" in p[0]])
def test_another_shops_user_is_a_404_and_stays_as_it_was(app, owner_client, new_shop, path, data):
    other = new_shop("Other House")
    theirs = make_user(app, other.shop.id, "owner@other.example", "owner")
    make_user(app, other.shop.id, "owner2@other.example", "owner")
    before = users_state(app)
    assert post_form(owner_client, path.format(user=theirs.id), data).status_code == 404
    assert post_form(owner_client, path.format(user="usr_" + "x" * 60), data).status_code == 404
    assert users_state(app) == before


def test_the_account_page_is_for_staff_too(staff_client, staff):
    page = staff_client.get("/admin/account")
    assert page.status_code == 200 and staff.email in text(page) and 'href="/admin/users"' not in text(page)


def test_the_users_of_a_shop_are_listed_only_there(app, owner_client, new_shop):
    other = new_shop("Other House")
    make_user(app, other.shop.id, "owner@other.example", "owner")
    assert "owner@other.example" not in text(owner_client.get("/admin/users"))
    with app.app_context():
        assert db.session.get(Shop, other.shop.id) is not None
