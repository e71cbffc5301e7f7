"""One claim in the admin, /admin/claims/<id>: everything a person needs to decide it (the order and parcel, the
amounts, the signals and reasons, the evidence, the tracking, the messages, the timeline), its actions, the
evidence files and the dossier.

The facts come from the dossier service's `gather`, the same reading the insurer's ZIP is built from; files and
the ZIP are served by the API's own functions. Another shop's claim or file is a 404, as a missing one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext, lazy_gettext
from sqlalchemy import select

from plugin.admin import claim_words as words
from plugin.admin.access import current_shop
from plugin.admin.blueprint import bp
from plugin.api.claim_dossier import dossier_response
from plugin.api.uploads import evidence_attachment
from plugin.domain.claims import OPEN_STATUSES, ClaimStatus, Resolution
from plugin.domain.returns import ReturnRules
from plugin.errors import NotFoundError
from plugin.extensions import db
from plugin.models import AuditEntry, Claim, Evidence, Return, Shop, utcnow
from plugin.services import claim_payouts, dossier
from plugin.services import claims as service
from plugin.services.settings import effective_settings
from plugin.services.shipment_evidence import get_packing_evidence

AUDIT_ACTIONS = {
    "claim.approved": lazy_gettext("approved the claim"),
    "claim.denied": lazy_gettext("denied the claim"),
    "claim.marked_paid": lazy_gettext("recorded a payment made outside Stripe"),
    "claim.refund_retried": lazy_gettext("asked Stripe to refund again"),
    "claim.recovery_recorded": lazy_gettext("recorded the insurer's outcome"),
    "claim.message_sent": lazy_gettext("wrote a message"),
}


@dataclass(frozen=True)
class Actions:
    """What may be done with the claim now (the services refuse anything else with a clear error)."""

    decide: bool  # approve or deny
    approve: bool  # not while the payment is disputed
    mark_paid: bool
    retry_refund: bool
    record_recovery: bool


def actions_for(claim: Claim, disputed: bool) -> Actions:
    """The forms the page offers for the claim as it stands."""
    status = ClaimStatus(claim.status)
    open_ = status in OPEN_STATUSES
    refund_sent = claim.refund_id is not None or claim.refund_status in ("sending", "succeeded")
    return Actions(
        decide=open_,
        approve=open_ and not disputed,
        mark_paid=status in (*OPEN_STATUSES, ClaimStatus.APPROVED) and not refund_sent and not (open_ and disputed),
        retry_refund=(
            status is ClaimStatus.APPROVED and claim.resolution == Resolution.REFUND and claim.refund_status == "failed"
        ),
        record_recovery=claim.recovery_status is not None and claim.recovery_status != "reserve",
    )


@dataclass(frozen=True)
class Moment:
    """One line of the claim's timeline."""

    at: datetime
    text: str
    detail: str | None = None


def _timeline(claim: Claim, audit: list[AuditEntry]) -> list[Moment]:
    source = gettext("the claim portal") if claim.source == "portal" else gettext("the API")
    moments = [Moment(claim.created_at, gettext("Filed through %(source)s", source=source))]
    if claim.decided_at is not None:
        by = gettext("automatically") if claim.decided_by == "auto" else gettext("by the merchant")
        decision = ClaimStatus.DENIED if claim.status == ClaimStatus.DENIED else ClaimStatus.APPROVED
        status = words.word(words.STATUSES, decision.value)
        moments.append(Moment(claim.decided_at, gettext("Decided %(by)s: %(status)s", by=by, status=status)))
    if claim.paid_at is not None:
        moments.append(
            Moment(claim.paid_at, gettext("Paid: %(method)s", method=words.word(words.PAID_METHODS, claim.paid_method)))
        )
    for entry in audit:
        action = words.word(AUDIT_ACTIONS, entry.action)
        moments.append(Moment(entry.created_at, f"{_person(entry.actor)} {action}"))
    return sorted(moments, key=lambda moment: moment.at)


def _person(actor: str) -> str:
    # "user:<id> <email>" names a person by their email; anything else is shown as recorded.
    kind, _, rest = actor.partition(":")
    email = rest.partition(" ")[2]
    return email if kind == "user" and email else actor


def _audit(shop_id: str, claim_id: str) -> list[AuditEntry]:
    return list(
        db.session.scalars(
            select(AuditEntry)
            .where(AuditEntry.shop_id == shop_id, AuditEntry.target == claim_id)
            .order_by(AuditEntry.created_at, AuditEntry.id)
        )
    )


def not_found() -> tuple[str, int]:
    """The page for a claim or file that is not this shop's (or does not exist)."""
    message = gettext("No claim or file of this shop has this id.")
    return render_template("admin/problem.html", shop=current_shop(), title=gettext("Not found"), message=message), 404


def render_claim(
    claim_id: str, *, error: str | None = None, status: int = 200, form: Mapping[str, Any] | None = None
) -> ResponseReturnValue:
    """The claim's page; after a refused action, with the refusal said at the top and the form as it was sent."""
    shop = current_shop()
    try:
        gathered = dossier.gather(shop.id, claim_id, utcnow())
    except NotFoundError:
        return not_found()
    claim = service.get_claim(shop.id, claim_id)
    disputed = service.is_disputed(claim)
    facts = gathered.dossier
    return (
        render_template(
            "admin/claim.html",
            shop=shop,
            title=gettext("Claim %(id)s", id=claim.id),
            claim=claim,
            facts=facts,
            claim_files=[fact for fact in facts.evidence if fact.role == "claim"],
            packing_files=[fact for fact in facts.evidence if fact.role == "packing"],
            disputed=disputed,
            actions=actions_for(claim, disputed),
            timeline=_timeline(claim, _audit(shop.id, claim.id)),
            error=error,
            form=form or {},
            words=words,
            zone=words.zone_of(shop),
            recovery_statuses=claim_payouts.RECOVERY_STATUSES,
            safe_link=_safe_link,
            ret=_return_of(claim, shop),
        ),
        status,
    )


def _return_of(claim: Claim, shop: Shop) -> dict[str, Any] | None:
    """A return claim's return, and whether its payout is overdue (unpaid pay_within_hours after receipt)."""
    if claim.return_id is None:
        return None
    ret = db.session.get(Return, claim.return_id)
    if ret is None or ret.shop_id != shop.id:
        return None
    hours = ReturnRules.of(effective_settings(shop)["coverage"]["returns"]).pay_within_hours
    overdue = (
        claim.status == "approved"
        and ret.received_at is not None
        and ret.received_at <= utcnow() - timedelta(hours=hours)
    )
    return {"row": ret, "overdue": overdue, "hours": hours}


def _safe_link(url: str | None) -> str | None:
    """A link from stored data (a tracking page, an insurer's portal) only when it is a web address."""
    return url if url and url.startswith(("https://", "http://")) else None


@bp.get("/claims/<claim_id>")
def claim(claim_id: str) -> ResponseReturnValue:
    """One claim: the facts, the evidence, the signals and reasons, the messages and the actions."""
    return render_claim(claim_id)


def _evidence_row(shop_id: str, claim_id: str, evidence_id: str) -> Evidence:
    """A file of the claim, or of its parcel's packing evidence; NotFoundError for anything else."""
    try:
        return service.get_evidence(shop_id, claim_id, evidence_id)
    except NotFoundError:
        claim = service.get_claim(shop_id, claim_id)
        return get_packing_evidence(shop_id, claim.shipment_id, evidence_id)


@bp.get("/claims/<claim_id>/evidence/<evidence_id>")
def claim_evidence_file(claim_id: str, evidence_id: str) -> ResponseReturnValue:
    """One evidence file: an image shown in the page (stored re-encoded, without metadata), a PDF downloaded."""
    try:
        row = _evidence_row(current_shop().id, claim_id, evidence_id)
    except NotFoundError:
        return not_found()
    return evidence_attachment(row, inline=request.args.get("download") is None)


@bp.get("/claims/<claim_id>/dossier")
def claim_dossier(claim_id: str) -> ResponseReturnValue:
    """The claim's dossier ZIP, as the API builds it, for the insurer."""
    try:
        return dossier_response(current_shop().id, claim_id)
    except NotFoundError:
        return not_found()
