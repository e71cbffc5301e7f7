"""POST /api/v1/quotes served below Flask's request handling, for the request every checkout page sends.

A quote is asked for on every cart change of every checkout, and Flask's own request and response machinery (the
request context, URL matching, a dozen hooks, the `Response` object and its WSGI headers) cost as much as pricing
the cart (docs/performance.md, "Quotes"). This WSGI layer answers the common request itself, with the same code
that prices, signs and encodes the quote in the Flask view, and hands every other request to Flask untouched.

It takes a request only when everything the view would check is already known to pass, without a database
round trip: a plain JSON body of a sane declared length, no query, a key whose grant this process keeps, an allowed
origin, a cart that decodes and is in the shop's currency, offer texts already built, and room under the rate
limit. Anything else (an error to answer, a key not kept, the first quote of a language) goes to the Flask view,
with the body put back, and that view has the only word on errors. So the fast path can never answer differently
from the view; tests/api/test_quote_fast_path.py compares the two answer for answer.
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from werkzeug.wsgi import get_host

from plugin.api.blueprint import PLAIN_JSON  # the JSON bodies the Flask path also takes unparsed
from plugin.api.cart_decoding import decode_quote_request
from plugin.api.cors import origin_allowed
from plugin.api.quotes import QUOTE_KEY_KINDS, answer_language, create_quote, encoded_quote, shop_offer_kind
from plugin.auth import authenticate, presented_key
from plugin.errors import ApiError
from plugin.metrics import count_request
from plugin.models import utcnow
from plugin.offer_texts import built_offer_texts
from plugin.rate_limits import hit_per_key_and_address
from plugin.validation import read_exactly

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
    from flask import Flask

    from plugin.services.shop_snapshots import GrantCache

log = logging.getLogger(__name__)

PATH = "/api/v1/quotes"  # the URL rule, which is also the route label of its metrics
RATE_LIMIT = "RATE_LIMIT_QUOTES"


class QuoteFastPath:
    """WSGI middleware: answer the common quote request directly, hand everything else to `app` (Flask's)."""

    def __init__(self, flask_app: Flask, app: WSGIApplication, headers: Sequence[tuple[str, str]]) -> None:
        self.app = app
        self.flask_app = flask_app
        self._headers = list(headers)  # what every API answer gets (nosniff, HSTS when HTTPS_ONLY)
        self._grants: GrantCache = flask_app.extensions["grant_cache"]
        self._view_name = create_quote.__name__  # the rate limit's bucket is the view's
        config = flask_app.config
        self._max_body: int = config["MAX_CONTENT_LENGTH"]
        # Host checks and a fixed server name change how Flask routes and what `request.host` is: Flask decides.
        self._enabled = not (config.get("TRUSTED_HOSTS") or config.get("SERVER_NAME"))

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == PATH and environ.get("REQUEST_METHOD") == "POST" and self._enabled:
            started = time.perf_counter()
            answer = self._answer(environ)
            if answer is not None:
                headers = [("Content-Type", "application/json"), ("Content-Length", str(len(answer))), *self._headers]
                origin = environ.get("HTTP_ORIGIN")
                if origin:  # as the Flask app's CORS hook answers an allowed browser call
                    headers += [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")]
                count_request(PATH, "POST", 200, started)
                start_response("200 OK", headers)
                return [answer]
        return self.app(environ, start_response)

    def _answer(self, environ: WSGIEnvironment) -> bytes | None:
        """The quote's JSON, or None when the Flask view must answer (the body, if read, is put back for it)."""
        length = environ.get("CONTENT_LENGTH", "")
        if (
            environ.get("QUERY_STRING")
            or environ.get("CONTENT_TYPE") not in PLAIN_JSON
            or "HTTP_TRANSFER_ENCODING" in environ
            or not (0 < len(length) < 10 and length.isascii() and length.isdecimal())  # int() of any length costs
            or not 0 < int(length) <= self._max_body
        ):
            return None
        presented = presented_key(environ)
        if presented is None:
            return None
        try:  # the view's own key check, on the grants kept here (a key not kept is looked up, and kept, by the view)
            caller = authenticate(presented[0], utcnow(), self._grants.peek, presented[1])
        except ApiError:
            return None
        if caller.kind not in QUOTE_KEY_KINDS:
            return None
        shop = caller.shop
        if not origin_allowed(shop.settings, environ.get("HTTP_ORIGIN")):
            return None
        raw = read_exactly(environ["wsgi.input"], int(length))
        try:
            answer = self._priced(environ, shop, raw)
        except Exception:  # a bug here must not cost the shopper the quote: the view answers (and reports) it
            log.exception("the quote fast path failed; the Flask view answers")
            answer = None
        if answer is None:
            environ["wsgi.input"] = io.BytesIO(raw)
        return answer

    def _priced(self, environ: WSGIEnvironment, shop: Any, raw: bytes) -> bytes | None:
        try:
            quote_request = decode_quote_request(raw)
        except ApiError:
            return None
        if quote_request.cart.currency != shop.currency:
            return None
        language = answer_language(quote_request.locale, environ.get("HTTP_ACCEPT_LANGUAGE", ""))
        texts = built_offer_texts(self.flask_app.extensions, language, shop_offer_kind(shop))
        if texts is None:
            return None
        try:  # last of the checks: a request answered by the view is counted there, once
            hit_per_key_and_address(self.flask_app, RATE_LIMIT, self._view_name, environ)
        except ApiError:
            return None  # the view counts it again (a refused hit counts nothing) and answers 429
        return encoded_quote(
            shop,
            quote_request,
            signing_key=self.flask_app.config["SECRET_KEY"],
            texts=texts,
            # `request.host` as werkzeug computes it (without trusted hosts: the fast path is off when they are set).
            site_root=f"{environ['wsgi.url_scheme']}://{get_host(environ)}{_script_root(environ)}",
        )


def _script_root(environ: WSGIEnvironment) -> str:
    """`request.script_root` as werkzeug computes it."""
    return environ.get("SCRIPT_NAME", "").encode("latin1").decode(errors="replace").rstrip("/")


def install(app: Flask, headers: Sequence[tuple[str, str]]) -> None:
    """Serve the common quote request in front of the Flask app (inside the request-id and proxy layers)."""
    fast_path = QuoteFastPath(app, app.wsgi_app, headers)
    app.extensions["quote_fast_path"] = fast_path
    app.wsgi_app = fast_path  # type: ignore[method-assign]
