"""The JSON API under /api/v1: one flask-smorest blueprint per resource, each named `bp`."""

from __future__ import annotations

from flask import Flask

from plugin.extensions import api


def register(app: Flask) -> None:
    """Register the API blueprints (and so their OpenAPI paths)."""
    from plugin.api import (
        badge,
        claim_dossier,
        claim_recovery,
        claims,
        consents,
        platform_webhooks,
        policies,
        protections,
        quotes,
        reports,
        returns,
        settings,
        shipment_evidence,
        shipments,
        stripe_webhooks,
    )

    for module in (settings, quotes, consents, protections, shipments, policies, stripe_webhooks, platform_webhooks):
        api.register_blueprint(module.bp)
    api.register_blueprint(claims.uploads_bp)
    api.register_blueprint(claims.bp)
    api.register_blueprint(claim_dossier.bp)
    api.register_blueprint(claim_recovery.bp)
    api.register_blueprint(shipment_evidence.bp)
    api.register_blueprint(reports.bp)
    api.register_blueprint(badge.bp)
    api.register_blueprint(returns.bp)
    api.register_blueprint(returns.blocked_bp)
    from plugin.api import cors

    cors.init_app(app)
