"""Staff users of a shop: creation, sign-in with lock-out, and password resets by signed, single-use links."""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import func, select, update

from plugin.domain.ids import new_id
from plugin.extensions import db
from plugin.models import Shop, User

log = logging.getLogger(__name__)

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024  # Argon2 hashes any length; this only stops a megabyte "password" costing CPU
MAX_EMAIL_LENGTH = 320
# Five wrong passwords in a row lock the account for 15 minutes (the next failures lengthen nothing: an
# attacker cannot keep a merchant out for longer than the window by trying more).
MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
RESET_LINK_MAX_AGE_SECONDS = 3600
_RESET_SALT = "admin-password-reset"
_hasher = PasswordHasher()  # Argon2id with the library's current recommended parameters
# Verified against when the email is unknown, so a wrong address costs the same time as a wrong password. Made by
# the first sign-in attempt of the process (whatever its outcome), not at import: a hash costs ~0.2 s of CPU that a
# worker or CLI process, which signs no one in, need not spend.
_DUMMY_HASH: str | None = None


def _dummy_hash() -> str:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = _hasher.hash("not a password of anyone")
    return _DUMMY_HASH


class Role(StrEnum):
    """What a user may do: owners change settings, keys and users; staff work the queues."""

    OWNER = "owner"
    STAFF = "staff"


class UserInputError(ValueError):
    """A user could not be created or changed as asked (the message says why)."""


class LastOwnerError(UserInputError):
    """The change would leave the shop without an owner."""


class SignInRefused(Exception):
    """Wrong email or password, or a locked account: the caller shows the same words for the first two."""

    def __init__(self, locked_until: datetime | None = None) -> None:
        super().__init__("sign-in refused")
        self.locked_until = locked_until


def normalize_email(email: str) -> str:
    """Emails compare case-insensitively and without surrounding spaces."""
    return email.strip().lower()


def check_password(password: str) -> None:
    """Raise UserInputError unless the password is long enough to resist guessing."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserInputError(f"The password must have at least {MIN_PASSWORD_LENGTH} characters.")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise UserInputError(f"The password must have at most {MAX_PASSWORD_LENGTH} characters.")


def _check_email(email: str) -> str:
    address = normalize_email(email)
    local, _, domain = address.partition("@")
    unprintable = any(c.isspace() or ord(c) < 0x20 for c in address)
    if not local or "." not in domain or len(address) > MAX_EMAIL_LENGTH or unprintable:
        raise UserInputError("Give a valid email address, such as owner@example.com.")
    return address


def create_user(shop: Shop, email: str, password: str, role: str) -> User:
    """Add a user to the shop (in the caller's transaction); emails are unique across the server."""
    address = _check_email(email)
    try:
        chosen = Role(role)
    except ValueError:
        raise UserInputError("The role must be owner or staff.") from None
    check_password(password)
    if db.session.scalar(select(User.id).where(User.email == address)) is not None:
        raise UserInputError("A user with this email already exists.")
    user = User(
        id=new_id("usr"),
        shop_id=shop.id,
        email=address,
        password_hash=_hasher.hash(password),
        role=chosen.value,
    )
    db.session.add(user)
    db.session.flush()
    return user


def find_by_email(email: str) -> User | None:
    """The user with this address, if any (text no address could be, e.g. with control characters, finds none)."""
    address = normalize_email(email)
    if len(address) > MAX_EMAIL_LENGTH or any(ord(character) < 0x20 for character in address):
        return None  # PostgreSQL refuses NUL in text: such input must not reach a query
    return db.session.scalar(select(User).where(User.email == address))


def authenticate(email: str, password: str, now: datetime) -> User:
    """The user whose email and password these are; SignInRefused otherwise, counting toward the lock-out.

    The caller commits either way: a failure's count must persist."""
    dummy_hash = _dummy_hash()  # made before the look-up: the process's first attempt costs the same either way
    user = find_by_email(email)
    if user is None or len(password) > MAX_PASSWORD_LENGTH:
        _verify(dummy_hash, password[:MAX_PASSWORD_LENGTH])
        raise SignInRefused()
    # Lock the row: two wrong passwords at once must both count.
    user = db.session.scalar(select(User).where(User.id == user.id).with_for_update()) or user
    if user.locked_until is not None and user.locked_until > now:
        raise SignInRefused(locked_until=user.locked_until)
    if not _verify(user.password_hash, password):
        user.failed_logins += 1
        if user.failed_logins >= MAX_FAILED_LOGINS:
            user.locked_until = now + LOCKOUT
            user.failed_logins = 0
            log.warning("admin account locked after failed sign-ins", extra={"user": user.id})
            raise SignInRefused(locked_until=user.locked_until)
        raise SignInRefused()
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def set_password(user: User, password: str) -> None:
    """Change the password; every existing session of the user ends."""
    check_password(password)
    user.password_hash = _hasher.hash(password)
    user.session_epoch += 1
    user.failed_logins = 0
    user.locked_until = None


# ---- password reset links -----------------------------------------------------------------------------------


def _reset_serializer(secrets: Sequence[str]) -> URLSafeTimedSerializer:
    # Newest key first in ours; itsdangerous signs with the last of its list and verifies with all.
    return URLSafeTimedSerializer(list(reversed(secrets)), salt=_RESET_SALT)


def _hash_fingerprint(user: User) -> str:
    # The link names the password it replaces: once used (the hash changes), it stops working.
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def reset_token(user: User, secrets: Sequence[str]) -> str:
    """A signed token that lets its holder set the user's password once, for an hour."""
    return _reset_serializer(secrets).dumps({"u": user.id, "p": _hash_fingerprint(user)})


def user_for_reset(token: str, secrets: Sequence[str], max_age: int = RESET_LINK_MAX_AGE_SECONDS) -> User | None:
    """The user a reset token names, if it is genuine, unexpired and unused."""
    if len(token) > 400:
        return None
    try:
        payload: Any = _reset_serializer(secrets).loads(token, max_age=max_age)
    except BadSignature:
        return None
    if not isinstance(payload, Mapping) or not isinstance(payload.get("u"), str):
        return None
    user = db.session.get(User, payload["u"])
    if user is None or payload.get("p") != _hash_fingerprint(user):
        return None
    return user


@dataclass(frozen=True)
class UserCount:
    """How many users a shop has, by role."""

    owners: int
    staff: int


def count_users(shop_id: str) -> UserCount:
    """The shop's users by role (the last owner cannot be removed)."""
    rows = db.session.execute(select(User.role, func.count()).where(User.shop_id == shop_id).group_by(User.role)).all()
    counts = {role: int(n) for role, n in rows}
    return UserCount(owners=counts.get(Role.OWNER, 0), staff=counts.get(Role.STAFF, 0))


# ---- managing a shop's users (the admin's Users page and each user's account page) ---------------------------


def users_of(shop_id: str) -> list[User]:
    """The shop's users, owners first, then by email."""
    return list(
        db.session.scalars(
            select(User).where(User.shop_id == shop_id).order_by(User.role != Role.OWNER.value, User.email)
        )
    )


def user_of_shop(shop_id: str, user_id: str) -> User | None:
    """The user with this id if it belongs to the shop (another shop's user is no user here)."""
    if len(user_id) > 40:
        return None
    user = db.session.get(User, user_id)
    return user if user is not None and user.shop_id == shop_id else None


def _hold_users(shop_id: str) -> None:
    """Take the shop's row lock until commit: role changes and removals of one shop happen one at a time, so
    two owners demoting or removing each other at once cannot leave the shop without one."""
    if db.session.get_bind().dialect.name == "sqlite":
        # SQLite has no row locks: a write takes its single write lock for the rest of the transaction. It
        # writes nothing: updated_at is set to itself, so its onupdate does not fire.
        db.session.execute(
            update(Shop).where(Shop.id == shop_id).values(updated_at=Shop.updated_at),
            execution_options={"synchronize_session": False},
        )
    else:
        db.session.execute(select(Shop.id).where(Shop.id == shop_id).with_for_update())


def _is_last_owner(user: User) -> bool:
    return user.role == Role.OWNER and count_users(user.shop_id).owners <= 1


def change_role(user: User, role: str) -> None:
    """Make the user an owner or staff (the caller commits); never the shop's last owner to staff."""
    try:
        chosen = Role(role)
    except ValueError:
        raise UserInputError("The role must be owner or staff.") from None
    _hold_users(user.shop_id)
    db.session.refresh(user)  # the role as committed, now that the lock is ours
    if chosen != Role.OWNER and _is_last_owner(user):
        raise LastOwnerError("A shop needs at least one owner.")
    user.role = chosen.value


def remove_user(user: User) -> None:
    """Delete the user (the caller commits); never the shop's last owner."""
    _hold_users(user.shop_id)
    db.session.refresh(user)
    if _is_last_owner(user):
        raise LastOwnerError("A shop needs at least one owner.")
    db.session.delete(user)


def unlock(user: User) -> None:
    """End a lock-out after failed sign-ins (the caller commits)."""
    user.locked_until = None
    user.failed_logins = 0


def end_sessions(user: User) -> None:
    """Sign the user out everywhere: every session made before now stops working (the caller commits)."""
    user.session_epoch += 1


def check_current_password(user: User, password: str, now: datetime) -> None:
    """SignInRefused unless `password` is the user's; a wrong one counts toward the lock-out, as at sign-in.

    The caller commits either way: a failure's count must persist."""
    if user.locked_until is not None and user.locked_until > now:
        raise SignInRefused(locked_until=user.locked_until)
    if len(password) > MAX_PASSWORD_LENGTH or not _verify(user.password_hash, password):
        user.failed_logins += 1
        if user.failed_logins >= MAX_FAILED_LOGINS:
            user.locked_until = now + LOCKOUT
            user.failed_logins = 0
            log.warning("admin account locked after wrong current passwords", extra={"user": user.id})
            raise SignInRefused(locked_until=user.locked_until)
        raise SignInRefused()
    user.failed_logins = 0


def unusable_password() -> str:
    """A password nobody knows, for a user who will choose their own through an emailed link."""
    return secrets.token_urlsafe(48)
