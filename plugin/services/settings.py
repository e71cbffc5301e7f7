"""A shop's settings: the effective document, its masked view, and merge-patch updates."""

from __future__ import annotations

import copy
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import select

from plugin.crypto import SecretBox, mask
from plugin.domain.changes import changed_fields
from plugin.domain.merge_patch import merge_patch
from plugin.domain.settings import PROVIDER_REQUIRED_FIELDS, PROVIDERS, SECRET_PATHS, compose
from plugin.errors import ValidationFailedError
from plugin.extensions import db
from plugin.models import Shop, ShopSecret, utcnow
from plugin.net_guard import UnsafeUrlError, check_insurer_url
from plugin.schemas import INSURER_CONFIG_SCHEMAS, SettingsSchema, StripeSettingsSchema
from plugin.services import audit, webhooks
from plugin.validation import flatten_errors, unstorable_text

logger = logging.getLogger(__name__)

_INSURER_SECRET_PREFIX = "insurer.config."  # noqa: S105 - a name, not a secret
_SECRET_MAX_LENGTH = 500
# Rounds of dropping invalid stored overrides before giving up on them all (each round drops at least one).
_MAX_REPAIRS = 25
_settings_schema = SettingsSchema()
_stripe_schema = StripeSettingsSchema()
AUDIT_ACTION = "settings.updated"


@dataclass(frozen=True)
class SettingsContext:
    """What settings updates need from outside: the secret box and the SSRF policy."""

    box: SecretBox
    allow_private_insurer_hosts: bool = False
    resolve_hosts: bool = True
    allow_private_webhook_hosts: bool = False


def effective_settings(shop: Shop) -> dict[str, Any]:
    """Defaults overlaid with the shop's overrides, insurer config defaults included (no secrets).

    Always a valid document: stored overrides that no longer validate (written before PATCH checked the whole
    document, or by hand) are left out with a warning, so the shop keeps quoting and a PATCH can repair it.
    """
    return compose(_usable_overrides(shop))


def _usable_overrides(shop: Shop) -> dict[str, Any]:
    overrides, dropped = repair_overrides(shop.settings)
    if dropped:
        logger.warning("stored settings ignored", extra={"shop_id": shop.id, "fields": sorted(dropped)})
    return overrides


def document_errors(document: Any) -> dict[str, list[str]]:
    """Every reason a composed settings document is not usable, by field path (no network, no secrets)."""
    errors = unstorable_text(document)
    try:
        _settings_schema.load(document)
    except ValidationError as exc:
        errors.update(flatten_errors(exc.messages))
    if errors or not isinstance(document, dict):
        return errors
    insurer = document["insurer"]
    provider = insurer["provider"]
    try:
        INSURER_CONFIG_SCHEMAS[provider]().load(insurer["config"])
    except ValidationError as exc:
        errors.update(flatten_errors(exc.messages, prefix="insurer.config"))
    for index, rule in enumerate(insurer["rules"]):
        if rule["provider"] not in {"sandbox", "self_insured", provider}:
            errors[f"insurer.rules.{index}.provider"] = [
                "Use self_insured, sandbox, or the provider configured in insurer.provider."
            ]
    return errors


def _within(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + ".")


def _drop_override(overrides: dict[str, Any], path: str) -> str:
    """Remove the deepest stored override on an error's path (a whole list, never one of its items); the
    dotted path removed. An error no override explains (a rule across fields) drops its whole section."""
    keys = path.split(".")
    node: dict[str, Any] = overrides
    depth = 0
    while depth < len(keys) - 1 and isinstance(node.get(keys[depth]), dict) and keys[depth + 1] in node[keys[depth]]:
        node = node[keys[depth]]
        depth += 1
    if keys[depth] in node:
        del node[keys[depth]]
        return ".".join(keys[: depth + 1])
    section = next((key for key in overrides if _within(path, key)), next(iter(overrides)))
    del overrides[section]
    return section


def repair_overrides(stored: Any) -> tuple[dict[str, Any], list[str]]:
    """Stored overrides without the parts that make the document invalid, and the paths left out."""
    if not isinstance(stored, dict):
        return {}, [] if stored is None else ["*"]
    overrides = copy.deepcopy(stored)
    dropped: list[str] = []
    for _ in range(_MAX_REPAIRS):  # each round removes at least one override, so this ends
        errors = document_errors(compose(overrides))
        if not errors:
            return overrides, dropped
        this_round: list[str] = []
        for path in sorted(errors):
            if not overrides:
                break
            if not any(_within(path, removed) for removed in this_round):
                this_round.append(_drop_override(overrides, path))
        dropped.extend(this_round)
    return {}, [*dropped, "*"]


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


def public_settings(shop: Shop, box: SecretBox, revealed: dict[str, str] | None = None) -> dict[str, Any]:
    """The effective settings with write-only fields masked (or null when unset); the webhook endpoints too,
    with the secrets in `revealed` (just created or rolled) shown whole."""
    document = effective_settings(shop)
    rows = _secret_rows(shop)
    for path in _secret_paths_for(document["insurer"]["provider"]):
        row = rows.get(path)
        _set_path(document, path, mask(box.decrypt(row.ciphertext)) if row else None)
    document["webhooks"] = {"endpoints": webhooks.endpoint_views(shop.id, box, revealed)}
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
    if "…" in value:
        return "That is a masked value (as GET shows it); send the secret itself."
    if len(value) > _SECRET_MAX_LENGTH:
        return f"Must be at most {_SECRET_MAX_LENGTH} characters."
    if path.startswith("stripe."):
        errors = _stripe_schema.validate({path.split(".", 1)[1]: value})
        if errors:
            return next(iter(errors.values()))[0]
    return None


def _check_credentials(document: dict[str, Any], secrets_after: set[str], ctx: SettingsContext) -> dict[str, list[str]]:
    """What a valid document still lacks to be saved: the provider's credentials and a safe insurer URL."""
    insurer = document["insurer"]
    provider = insurer["provider"]
    errors: dict[str, list[str]] = {}
    for name in PROVIDER_REQUIRED_FIELDS[provider]:
        if insurer["config"].get(name) is None and f"{_INSURER_SECRET_PREFIX}{name}" not in secrets_after:
            errors[f"{_INSURER_SECRET_PREFIX}{name}"] = [f"Required for the {provider} provider."]
    for field in ("base_url", "claims_base_url"):
        url = insurer["config"].get(field)
        if url is None:
            continue
        try:
            check_insurer_url(url, allow_private=ctx.allow_private_insurer_hosts, resolve=ctx.resolve_hosts)
        except UnsafeUrlError as exc:
            errors[f"insurer.config.{field}"] = [f"The insurer URL {exc}."]
        except ValueError:  # urlsplit's own refusals, e.g. an unclosed "[" of an IPv6 host
            errors[f"insurer.config.{field}"] = ["Must be an https:// URL."]
    return errors


def _provider_of(overrides: dict[str, Any]) -> Any:
    insurer = compose(overrides).get("insurer")
    return insurer.get("provider") if isinstance(insurer, dict) else None


def _merged(overrides: dict[str, Any], patch: dict[str, Any]) -> tuple[dict[str, Any], Any, bool]:
    """The overrides with a patch (its secrets and webhook endpoints taken out) applied, the resulting provider,
    and whether the patch switches the insurer."""
    current_provider = _provider_of(overrides)
    merged = merge_patch(overrides, patch)
    provider = _provider_of(merged)
    if not isinstance(provider, str) or provider == current_provider:
        return merged, provider, False
    # A new insurer starts from its own defaults: the old one's config and credentials do not carry over.
    without_config = copy.deepcopy(overrides)
    if isinstance(without_config.get("insurer"), dict):
        without_config["insurer"].pop("config", None)
    return merge_patch(without_config, patch), provider, True


def draft_settings(shop: Shop, patch: Any) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The settings a patch would give (write-only secrets and webhook endpoints aside) and every reason they
    could not be saved, by field path, as update_settings finds them without the network. Nothing is written."""
    if not isinstance(patch, dict):
        return effective_settings(shop), {"body": ["Must be a JSON object."]}
    errors = unstorable_text(patch)
    patch = copy.deepcopy(patch)
    patch.pop("webhooks", None)
    for path in SECRET_PATHS:
        _pop_path(patch, path)
    merged, _, _ = _merged(_usable_overrides(shop), patch)
    document = compose(merged)
    errors.update(document_errors(document))
    return document, errors


def update_settings(
    shop: Shop, patch: Any, ctx: SettingsContext, *, actor: str | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """Apply a JSON Merge Patch to the shop's settings, validate the result whole, and commit it.

    Nothing is written (overrides or secrets) unless the whole resulting document is valid. With an `actor`, the
    change goes into the audit log in the same transaction: the changed fields before and after, secrets masked.
    """
    if not isinstance(patch, dict):
        raise ValidationFailedError(
            "The body must be a JSON object of settings.", fields={"body": ["Must be a JSON object."]}
        )
    if errors := unstorable_text(patch):
        raise ValidationFailedError(fields=errors)
    patch = copy.deepcopy(patch)
    before = public_settings(shop, ctx.box) if actor is not None else None
    # Webhook endpoints live in their own table (each with its generated secret), not in the overrides.
    webhooks_sent = "webhooks" in patch
    webhooks_plan = webhooks.plan_endpoints(
        shop.id,
        patch.pop("webhooks", None),
        ctx.box,
        allow_private=ctx.allow_private_webhook_hosts,
        resolve=ctx.resolve_hosts,
    )
    # Start from what GET shows: stored parts that no longer validate are dropped by this save.
    overrides = _usable_overrides(shop)
    rows = _secret_rows(shop)
    current_provider = _provider_of(overrides)

    proposed: dict[str, Any] = {}
    for path in SECRET_PATHS:
        present, value = _pop_path(patch, path)
        if present:
            proposed[path] = value

    merged, provider, switched = _merged(overrides, patch)
    dropped_rows = [name for name in rows if name.startswith(_INSURER_SECRET_PREFIX)] if switched else []
    kept_rows = {name: row for name, row in rows.items() if name not in dropped_rows}

    document = compose(merged)
    errors = document_errors(document)
    known_provider = provider if isinstance(provider, str) and provider in PROVIDERS else current_provider
    secret_changes: dict[str, str | None] = {}
    for path, value in proposed.items():
        if path not in _secret_paths_for(known_provider):
            errors[path] = [f"Not a setting of the {known_provider} provider."]
        elif value is None:
            secret_changes[path] = None
        elif path in kept_rows and value == mask(ctx.box.decrypt(kept_rows[path].ciphertext)):
            continue  # the masked value sent back unchanged: keep the secret
        elif (problem := _validate_secret(path, value)) is not None:
            errors[path] = [problem]
        else:
            secret_changes[path] = value
    errors.update(webhooks_plan.errors)
    if not errors:
        secrets_after = {name for name in kept_rows if secret_changes.get(name, "") is not None}
        secrets_after |= {name for name, value in secret_changes.items() if value is not None}
        errors.update(_check_credentials(document, secrets_after, ctx))
    if errors:
        db.session.rollback()
        raise ValidationFailedError(fields=errors)

    for name in dropped_rows:
        db.session.delete(rows[name])
    for path, value in secret_changes.items():
        row = kept_rows.get(path)
        if value is None:
            if row is not None:
                db.session.delete(row)
        elif row is None:
            db.session.add(ShopSecret(shop_id=shop.id, name=path, ciphertext=ctx.box.encrypt(value)))
        else:
            row.ciphertext = ctx.box.encrypt(value)
    revealed = webhooks.apply_endpoints(shop.id, webhooks_plan, ctx.box) if webhooks_sent else {}
    shop.settings = merged
    if actor is not None and before is not None:
        # Secrets replaced count as changed even when their masked forms read the same.
        replaced = [path for path, value in secret_changes.items() if value is not None or path in kept_rows]
        replaced += dropped_rows + (["webhooks.endpoints"] if revealed else [])
        was, became = changed_fields(before, public_settings(shop, ctx.box), always=replaced)
        if was or became:
            audit.record(shop.id, actor, AUDIT_ACTION, now or utcnow(), before=was, after=became)
    db.session.commit()
    return public_settings(shop, ctx.box, revealed)
