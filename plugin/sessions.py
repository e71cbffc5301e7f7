"""Cookie sessions for the pages people use (admin, claim portal), none for machine paths."""

from __future__ import annotations

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface

from plugin.errors import JSON_PATH_PREFIXES


class PagesOnlySessionInterface(SecureCookieSessionInterface):
    """The API authenticates with keys, not cookies: its requests skip the cookie's signature check."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if request.path.startswith(JSON_PATH_PREFIXES):
            return self.make_null_session(app)
        return super().open_session(app, request)
