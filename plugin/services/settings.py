"""A shop's settings: the effective document, its masked view, and merge-patch updates."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import select

from plugin.crypto import SecretBox, mask
from plugin.domain.merge_patch import deep_merge, merge_patch
from plugin.domain.settings import (
    DEFAULT_SETTINGS,
    PROVIDER_DEFAULT_CONFIG,
    PROVIDER_REQUIRED_FIELDS,
    SECRET_PATHS,
)
from plugin.errors import ValidationFailedError
from plugin.extensions import db
from plugin.models import Shop, ShopSecret
from plugin.net_guard import UnsafeUrlError, check_insurer_url
from plugin.schemas import INSURER_CONFIG_SCHEMAS, SettingsSchema, StripeSettingsSchema
from plugin.validation import flatten_errors

_INSURER_SECRET_PREFIX = "insurer.config."  # noqa: S105 - a name, not a secret
_SECRET_MAX_LENGTH = 500
_settings_schema = SettingsSchema()
_stripe_schema = StripeSettingsSchema()


@dataclass(frozen=True)
class SettingsContext:
    """What settings updates need from outside: the secret box and the SSRF policy."""

    box: SecretBox
    allow_private_insurer_hosts: bool = False
    resolve_hosts: bool = True


def effective_settings(shop: Shop) -> dict[str, Any]:
    """Defaults overlaid with the shop's overrides, insurer config defaults included (no secrets)."""
    document = deep_merge(DEFAULT_SETTINGS, shop.settings or {})
    provider = document["insurer"]["provider"]
    document["insurer"]["config"] = deep_merge(
        PROVIDER_DEFAULT_CONFIG[provider], (shop.settings or {}).get("insurer", {}).get("config", {})
    )
    return document


def _secret_rows(shop: Shop) -> dict[str, ShopSecret]:
    rows = db.session.scalars(select(ShopSecret).where(ShopSecret.shop_id == shop.id))
    return {row.name: row for row in rows}


def read_secrets(shop: Shop, names: Sequence[str], box: SecretBox) -> dict[str, str]:
    """Several write-only settings in clear, in one query (names that are unset are absent)."""
    rows = db.session.scalars(select(ShopSecret).where(ShopSecret.shop_id == shop.id, ShopSecret.name.in_(names)))
    return {row.name: box.decrypt(row.ciphertext) for row in rows}


def _secret_paths_for(provider: str) -> list[str]:
    fields = [path for path in SECRET_PATHS if not path.startswith(_INSURER_SECRET_PREFIX)]
    insurer_secrets = {"xcover": ("api_key", "api_secret"), "loadsure": ("api_key",)}.get(provider, ())
    return fields + [_INSURER_SECRET_PREFIX + name for name in insurer_secrets]


def _set_path(document: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    node = document
    for key in parents:
        node = node.setdefault(key, {})
    node[leaf] = value


def public_settings(shop: Shop, box: SecretBox) -> dict[str, Any]:
    """The effective settings with write-only fields masked (or null when unset)."""
    document = effective_settings(shop)
    rows = _secret_rows(shop)
    for path in _secret_paths_for(document["insurer"]["provider"]):
        row = rows.get(path)
        _set_path(document, path, mask(box.decrypt(row.ciphertext)) if row else None)
    return document


def _pop_path(document: Any, path: str) -> tuple[bool, Any]:
    """Remove and return a dotted path from a patch, if it is there."""
    *parents, leaf = path.split(".")
    node = document
    for key in parents:
        if not isinstance(node, dict) or not isinstance(node.get(key), dict):
            return False, None
        node = node[key]
    if not isinstance(node, dict) or leaf not in node:
        return False, None
    return True, node.pop(leaf)


def _validate_secret(path: str, value: Any) -> str | None:
    """An error message for a proposed secret value, or None when it is acceptable."""
    if not isinstance(value, str) or not value.strip():
        return "Must be a non-empty string."
    if len(value) > _SECRET_MAX_LENGTH:
        return f"Must be at most {_SECRET_MAX_LENGTH} characters."
    if path.startswith("stripe."):
        errors = _stripe_schema.validate({path.split(".", 1)[1]: value})
        if errors:
            return next(iter(errors.values()))[0]
    return None


def _check_insurer(document: dict[str, Any], secrets: dict[str, str], ctx: SettingsContext) -> dict[str, list[str]]:
    insurer = document["insurer"]
    provider = insurer["provider"]
    errors: dict[str, list[str]] = {}
    try:
        insurer["config"] = INSURER_CONFIG_SCHEMAS[provider]().load(insurer["config"])
    except ValidationError as exc:
        return flatten_errors(exc.messages, prefix="insurer.config")
    for name in PROVIDER_REQUIRED_FIELDS[provider]:
        present = insurer["config"].get(name) is not None or f"{_INSURER_SECRET_PREFIX}{name}" in secrets
        if not present:
            errors[f"{_INSURER_SECRET_PREFIX}{name}"] = [f"Required for the {provider} provider."]
    for index, rule in enumerate(insurer.get("rules") or []):
        if rule["provider"] not in {"sandbox", "self_insured", provider}:
            errors[f"insurer.rules.{index}.provider"] = [
                "Use self_insured, sandbox, or the provider configured in insurer.provider."
            ]
    base_url = insurer["config"].get("base_url")
    if base_url is not None:
        try:
            check_insurer_url(base_url, allow_private=ctx.allow_private_insurer_hosts, resolve=ctx.resolve_hosts)
        except UnsafeUrlError as exc:
            errors["insurer.config.base_url"] = [f"The insurer URL {exc}."]
    return errors


def update_settings(shop: Shop, patch: Any, ctx: SettingsContext) -> dict[str, Any]:
    """Apply a JSON Merge Patch to the shop's settings, validate the result whole, and commit it."""
    if not isinstance(patch, dict):
        raise ValidationFailedError(
            "The body must be a JSON object of settings.", fields={"body": ["Must be a JSON object."]}
        )
    patch = copy.deepcopy(patch)
    overrides = copy.deepcopy(shop.settings or {})
    rows = _secret_rows(shop)
    current_provider = effective_settings(shop)["insurer"]["provider"]
    new_provider = (patch.get("insurer") or {}).get("provider") if isinstance(patch.get("insurer"), dict) else None
    switching = new_provider is not None and new_provider != current_provider
    if switching:
        # A new insurer starts from its own defaults: the old one's config and credentials do not carry over.
        overrides.get("insurer", {}).pop("config", None)
        for name in [name for name in rows if name.startswith(_INSURER_SECRET_PREFIX)]:
            db.session.delete(rows.pop(name))
    provider = new_provider or current_provider

    errors: dict[str, list[str]] = {}
    secret_changes: dict[str, str | None] = {}
    for path in SECRET_PATHS:
        present, value = _pop_path(patch, path)
        if not present:
            continue
        if path not in _secret_paths_for(provider):
            errors[path] = [f"Not a setting of the {provider} provider."]
        elif value is None:
            secret_changes[path] = None
        elif path in rows and value == mask(ctx.box.decrypt(rows[path].ciphertext)):
            continue  # the masked value sent back unchanged: keep the secret
        elif (problem := _validate_secret(path, value)) is not None:
            errors[path] = [problem]
        else:
            secret_changes[path] = value

    overrides = merge_patch(overrides, patch)
    document = deep_merge(DEFAULT_SETTINGS, overrides)
    if isinstance(document.get("insurer"), dict) and document["insurer"].get("provider") in PROVIDER_DEFAULT_CONFIG:
        document["insurer"]["config"] = deep_merge(
            PROVIDER_DEFAULT_CONFIG[document["insurer"]["provider"]],
            document["insurer"].get("config") if isinstance(document["insurer"].get("config"), dict) else {},
        )
    try:
        _settings_schema.load(document)
    except ValidationError as exc:
        errors.update(flatten_errors(exc.messages))
    if not errors:
        secrets_after = {name for name in rows if secret_changes.get(name, "") is not None}
        secrets_after |= {name for name, value in secret_changes.items() if value is not None}
        errors.update(_check_insurer(document, dict.fromkeys(secrets_after, ""), ctx))
    if errors:
        db.session.rollback()
        raise ValidationFailedError(fields=errors)

    for path, value in secret_changes.items():
        row = rows.get(path)
        if value is None:
            if row is not None:
                db.session.delete(row)
        elif row is None:
            db.session.add(ShopSecret(shop_id=shop.id, name=path, ciphertext=ctx.box.encrypt(value)))
        else:
            row.ciphertext = ctx.box.encrypt(value)
    shop.settings = overrides
    db.session.commit()
    return public_settings(shop, ctx.box)
