"""Which adapter serves a provider name, built from the shop's settings and decrypted credentials."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Engine

from plugin.domain.settings import PROVIDER_DEFAULT_CONFIG
from plugin.insurers.base import Insurer, InsurerConfigError
from plugin.insurers.loadsure import LoadsureInsurer
from plugin.insurers.sandbox import SandboxInsurer
from plugin.insurers.self_insured import SelfInsurer
from plugin.insurers.xclaim import DEFAULT_CLAIMS_BASE_URL
from plugin.insurers.xcover import XCoverInsurer


def insurer_for(
    provider: str,
    config: Mapping[str, Any],
    credentials: Mapping[str, str],
    *,
    engine: Engine,
    allow_private: bool,
) -> Insurer:
    """The adapter for `provider`; a missing credential is a configuration error the merchant can fix."""
    settings = {**PROVIDER_DEFAULT_CONFIG.get(provider, {}), **config}

    def need(name: str) -> str:
        value = credentials.get(name) or settings.get(name)
        if not value:
            raise InsurerConfigError(f"{provider}: insurer.config.{name} is not set")
        return str(value)

    if provider == "sandbox":
        return SandboxInsurer(
            engine,
            latency_ms=int(settings.get("latency_ms") or 0),
            failure_rate=Decimal(str(settings.get("failure_rate") or "0")),
        )
    if provider == "self_insured":
        return SelfInsurer()
    if provider == "xcover":
        return XCoverInsurer(
            base_url=need("base_url"),
            partner_code=need("partner_code"),
            api_key=need("api_key"),
            api_secret=need("api_secret"),
            allow_private=allow_private,
            claims_base_url=str(settings.get("claims_base_url") or DEFAULT_CLAIMS_BASE_URL),
        )
    if provider == "loadsure":
        return LoadsureInsurer(base_url=need("base_url"), api_key=need("api_key"), allow_private=allow_private)
    raise InsurerConfigError(f"unknown insurer provider {provider!r}")
