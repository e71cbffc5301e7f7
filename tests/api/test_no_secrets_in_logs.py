"""The app's own logs never print a key, whatever a client does with it."""

from __future__ import annotations

import base64
import logging

from tests.api.test_quotes import CONTRACT_EXAMPLE


def test_refused_and_accepted_keys_are_never_logged(client, shop, caplog):
    caplog.set_level(logging.DEBUG)
    secret, public = shop.keys.secret_key, shop.keys.publishable_key
    attempts = [
        (
            "get",
            f"/api/v1/settings?key={secret}",
            {"Authorization": f"Basic {base64.b64encode(f'{secret}:'.encode()).decode()}"},
        ),
        ("get", "/api/v1/settings", {"Authorization": f"Bearer {public}"}),  # 403: a publishable key
        ("get", "/api/v1/settings", {"Authorization": f"Bearer {secret}x"}),  # 401: unknown
        ("get", "/api/v1/settings", {"Authorization": f"Bearer {secret}"}),
        ("post", f"/api/v1/quotes?pk={public}", {"Authorization": f"bearer\t{public} "}),
    ]
    statuses = []
    for method, path, headers in attempts:
        kwargs = {"json": CONTRACT_EXAMPLE} if method == "post" else {}
        statuses.append(getattr(client, method)(path, headers=headers, **kwargs).status_code)
    assert statuses == [401, 403, 401, 200, 200]
    logged = caplog.text + "".join(repr(record.__dict__) for record in caplog.records)
    assert secret not in logged and public not in logged
