"""Property: any merge patch either leaves a valid document that still quotes, or is a 4xx that changes nothing."""

from __future__ import annotations

import copy
import itertools
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from plugin.domain.settings import DEFAULT_SETTINGS, PROVIDER_DEFAULT_CONFIG, PROVIDERS, SECRET_PATHS
from plugin.extensions import db
from plugin.models import ShopSecret
from plugin.services.settings import document_errors
from tests.api.test_quotes import CONTRACT_EXAMPLE
from tests.conftest import bearer

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=6),
)
garbage = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children, max_size=3),
    max_leaves=6,
)
money = st.one_of(st.integers(min_value=0, max_value=10**11), st.sampled_from([-1, 10**11 + 1, 10**30, 1.5, "100"]))
rates = st.sampled_from(["0", "0.015", "0.5", "1", "1.5", "-0.1", "0.5\n", "abc", 0.02])
countries = st.sampled_from(["US", "CN", "HK", "XX", "us", ""])
regions = st.sampled_from(["CN-XJ", "US-CA", "CN-ZZ", "XJ"])
bands = st.lists(st.fixed_dictionaries({"up_to": st.one_of(st.none(), money), "price": money}) | garbage, max_size=3)
band_lists = st.one_of(
    bands, st.just([{"up_to": 10_000, "price": 300}, {"up_to": None, "price": 900}])
)  # the valid shape too, so `bands` mode is reached
urls = st.sampled_from(
    ["https://api.example.com", "http://127.0.0.1:9", "https://%31%32%37.0.0.1", "http://[::1", "ftp://x", ""]
)
provider_configs = st.one_of(
    *[
        st.fixed_dictionaries(
            {},
            optional={
                **dict.fromkeys(PROVIDER_DEFAULT_CONFIG[name], st.one_of(garbage, urls, st.just("PARTNER1"))),
                "latency_ms": st.one_of(st.integers(min_value=-1, max_value=70_000), garbage),
                "failure_rate": rates,
                "api_key": st.sampled_from(["ls_key_123456", "xc-key-0000", "", 5, None]),
                "api_secret": st.sampled_from(["xc-secret-0000", None, []]),
            },
        )
        for name in PROVIDERS
    ],
    garbage,
)

# What a right value looks like per field, beside anything else; `garbage` reaches every other shape.
RIGHT_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "pricing.mode": st.sampled_from(["percent", "bands", "magic"]),
    "pricing.rate": rates,
    "pricing.merchant_share": rates,
    "pricing.category_rates": st.dictionaries(st.sampled_from(["jewelry", "Jewelry", "", "x" * 70]), rates),
    "pricing.minimum": money,
    "pricing.maximum": st.one_of(st.none(), money),
    "pricing.bands": band_lists,
    "pricing.round_up_to": money,
    "pricing.max_declared_value": st.one_of(st.none(), money),
    "pricing.remote_surcharge.regions": st.lists(regions, max_size=3),
    "pricing.remote_surcharge.amount": money,
    "eligibility.excluded_countries": st.lists(countries, max_size=3),
    "eligibility.excluded_categories": st.lists(st.text(max_size=5), max_size=3),
    "eligibility.excluded_skus": st.lists(st.text(max_size=5), max_size=3),
    "offer.title": st.text(max_size=8),
    "offer.terms_url": st.one_of(urls, st.just("https://shop.example/terms")),
    "cors.allowed_origins": st.lists(st.sampled_from(["https://shop.example", "http://[::1", "https://a/b"])),
    "stripe.webhook_secret": st.sampled_from(["whsec_abcdefgh1234", "whsec_…1234", "nope"]),
    "stripe.api_key": st.sampled_from(["sk_test_abcdefgh1234", "pk_test_abcdefgh"]),
    "insurer.provider": st.sampled_from([*PROVIDERS, "acme"]),
    "insurer.config": provider_configs,
    "insurer.scope": st.sampled_from(["protected_orders", "all_orders", "some"]),
    "insurer.rules": st.lists(
        st.fixed_dictionaries(
            {"max_value": st.one_of(st.none(), money), "provider": st.sampled_from([*PROVIDERS, None])}
        )
        | garbage,
        max_size=3,
    ),
    "claims.lost_after_days": st.integers(min_value=-1, max_value=400),
    "claims.damaged_requires_photo": st.one_of(st.booleans(), st.just(1)),
}


def shaped(node: Any, path: str = "") -> st.SearchStrategy[Any]:
    """A merge patch for one node of the settings document: its shape, right and wrong values, nulls, extras."""
    right = RIGHT_VALUES.get(path)
    if isinstance(node, dict) and right is None:
        known = {key: shaped(value, f"{path}.{key}".strip(".")) for key, value in node.items()}
        objects = st.fixed_dictionaries({}, optional={**known, "unknown": garbage})
        return st.one_of(objects, objects, objects, garbage) if path else objects
    return st.one_of(right, right, garbage) if right is not None else st.one_of(st.none(), json_scalars, garbage)


def _leaf_paths(node: dict[str, Any], prefix: str = "") -> list[str]:
    paths = []
    for key, value in node.items():
        path = f"{prefix}.{key}".strip(".")
        is_group = isinstance(value, dict) and path not in RIGHT_VALUES
        paths.extend(_leaf_paths(value, path) if is_group else [path])
    return paths


def _nest(path: str, value: Any) -> dict[str, Any]:
    for key in reversed(path.split(".")):
        value = {key: value}
    return value


@st.composite
def sparse_patches(draw: st.DrawFn) -> dict[str, Any]:
    """One to three fields, mostly with values of the right shape (so that many patches are accepted)."""
    patch: dict[str, Any] = {}
    for path in draw(st.lists(st.sampled_from(_leaf_paths(DEFAULT_SETTINGS)), min_size=1, max_size=3)):
        right = RIGHT_VALUES.get(path, st.none())
        value = draw(st.one_of(right, right, right, st.none(), garbage))
        patch = merge(patch, _nest(path, value))
    return patch


def merge(target: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    result = dict(target)
    for key, value in other.items():
        both = isinstance(result.get(key), dict) and isinstance(value, dict)
        result[key] = merge(result[key], value) if both else value
    return result


patches = st.one_of(shaped(DEFAULT_SETTINGS), sparse_patches(), sparse_patches(), garbage)
_shipment_ids = itertools.count()


def _without_secrets(document: dict[str, Any]) -> dict[str, Any]:
    """The document as it would be stored: masked write-only fields left out."""
    document = copy.deepcopy(document)
    for path in SECRET_PATHS:
        *parents, leaf = path.split(".")
        node = document
        for key in parents:
            node = node[key]
        node.pop(leaf, None)
    return document


@settings(
    max_examples=75,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(patch=patches)
def test_any_merge_patch_leaves_a_working_document_or_changes_nothing(app, client, shop, patch):
    # The shop carries over from one example to the next: sequences of patches are explored too.
    secret = bearer(shop.keys.secret_key)

    def secrets() -> dict[str, str]:
        with app.app_context():
            rows = db.session.scalars(select(ShopSecret).where(ShopSecret.shop_id == shop.shop.id))
            return {row.name: row.ciphertext for row in rows}

    before, secrets_before = client.get("/api/v1/settings", headers=secret).get_json(), secrets()
    response = client.patch("/api/v1/settings", json=patch, headers=secret)
    assert response.status_code < 500
    event(f"PATCH answered {response.status_code}")
    after = client.get("/api/v1/settings", headers=secret)
    assert after.status_code == 200
    if response.status_code >= 400:
        assert response.get_json()["error"]["code"] in {"validation_error", "invalid_json"}
        assert after.get_json() == before
        assert secrets() == secrets_before
        return
    assert response.status_code == 200 and response.get_json() == after.get_json()
    document = _without_secrets(after.get_json())
    # Write-only fields are checked when written; everything else must validate as stored.
    for name in ("webhook_secret", "previous_webhook_secret", "api_key"):
        document["stripe"][name] = None
    assert document_errors(document) == {}
    quote = client.post("/api/v1/quotes", json=CONTRACT_EXAMPLE, headers=bearer(shop.keys.publishable_key))
    assert quote.status_code == 200, quote.get_json()
    shipment = {
        "order_id": "1001",
        "shipment_id": f"ful_{next(_shipment_ids)}",
        "carrier": "UPS",
        "tracking_number": "1Z999",
        "items": [{"sku": "JB-1", "quantity": 1, "unit_price": 50000}],
    }
    assert client.post("/api/v1/shipments", json=shipment, headers=secret).status_code < 500
