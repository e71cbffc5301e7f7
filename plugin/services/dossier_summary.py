"""The dossier's summary, as sections of labelled lines, written out as summary.txt (UTF-8) and summary.pdf (fpdf2).

The PDF's font: the TrueType/OpenType file DOSSIER_FONT names (Noto Sans CJK, say, for shoppers who write
Chinese), else the PDF's built-in Helvetica, which draws Windows-1252 only. A character the font cannot draw is
written as `?` (after trying its accent-free form, é → e) and the PDF then says so: summary.txt and dossier.json,
always in the same ZIP, keep every character as it was written.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from datetime import datetime

from plugin.models import rfc3339
from plugin.services.dossier_facts import Amount, DecisionFacts, Dossier, ProtectionFacts, money

Line = tuple[str, str]  # (label, value); an empty label is a paragraph of its own
Section = tuple[str, list[Line]]

NONE = "-"
REPLACEMENT = "?"
CORE_ENCODING = "windows-1252"
LABEL_WIDTH_MM = 48.0
LINE_HEIGHT_MM = 5.0


def _text(value: object) -> str:
    if value is None or value == "":
        return NONE
    return str(value)


def _when(value: datetime | None) -> str:
    return rfc3339(value) or NONE


def _money(amount: Amount | None) -> str:
    return money(amount) if amount is not None else NONE


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _header(dossier: Dossier) -> list[Line]:
    return [
        ("Shop", f"{dossier.shop_name} ({dossier.shop_id})"),
        ("Order", dossier.order_id),
        ("Claim", dossier.claim.id),
        ("Generated at", _when(dossier.generated_at)),
        ("", "Times are UTC (RFC 3339). Money is shown in the order's currency; dossier.json has it in minor units."),
    ]


def _claim(dossier: Dossier) -> list[Line]:
    claim = dossier.claim
    items = "; ".join(f"{item.get('sku')} x {item.get('quantity')}" for item in claim.items) or "the whole parcel"
    return [
        ("Type", claim.type),
        ("Filed at", _when(claim.filed_at)),
        ("Filed through", "the shopper's claim portal" if claim.source == "portal" else "the merchant (API)"),
        ("Customer email", _text(claim.email)),
        ("Claimed amount", _money(claim.amount)),
        ("Covered up to", _money(claim.covered_amount)),
        ("Items claimed", items),
        ("Description", _text(claim.description)),
    ]


def _decision(decision: DecisionFacts) -> list[Line]:
    lines: list[Line] = [
        ("Status", decision.status),
        ("Decided by", _text(decision.decided_by)),
        ("Decided at", _when(decision.decided_at)),
        ("Resolution", _text(decision.resolution)),
        ("Approved amount", _money(decision.approved_amount)),
        ("Deny reason", _text(decision.deny_reason)),
        ("Review reason", _text(decision.review_reason)),
    ]
    lines += [("Reason", f"{reason['code']}: {reason['message']}") for reason in decision.reasons]
    lines += [("Fraud signal", f"{signal['code']}: {signal['detail']}") for signal in decision.signals]
    if not decision.signals:
        lines.append(("Fraud signals", "none found"))
    if decision.replacement_order_id or decision.reship_cost:
        lines += [
            ("Replacement order", _text(decision.replacement_order_id)),
            ("Reship cost", _money(decision.reship_cost)),
        ]
    if decision.refund is not None:
        refund = decision.refund
        lines.append(("Stripe refund", f"{_text(refund['id'])}, {refund['status']}"))
        if refund.get("error"):
            lines.append(("Refund error", str(refund["error"])))
    if decision.paid_at is not None:
        lines += [
            ("Paid at", _when(decision.paid_at)),
            ("Paid by", _text(decision.paid_method)),
            ("Payment reference", _text(decision.paid_reference)),
        ]
    if decision.recovery is not None:
        recovery = decision.recovery
        amount = recovery.get("amount")
        lines += [
            ("Insurer recovery", f"{recovery['status']} ({_text(recovery.get('provider'))})"),
            ("Recovery reference", _text(recovery.get("reference"))),
            ("Recovery amount", _money(amount if isinstance(amount, Amount) else None)),
            ("Insurer claim link", _text(recovery.get("link"))),
        ]
        if recovery.get("error"):
            lines.append(("Recovery error", str(recovery["error"])))
    return lines


def _payment(dossier: Dossier) -> list[Line]:
    payment = dossier.payment
    if payment is None:
        return [("", "No payment on record for this order.")]
    return [
        ("PaymentIntent", _text(payment.payment_intent)),
        ("Charge", _text(payment.charge)),
        ("Amount paid", _money(payment.amount)),
        ("Refunded", _money(payment.refunded)),
        ("Paid at", _when(payment.succeeded_at)),
        ("Disputed", _yes(payment.disputed)),
    ]


def _protection(protection: ProtectionFacts | None) -> list[Line]:
    if protection is None:
        return [("", "This order was not bought with shipping protection (covered by the shop's scope).")]
    lines: list[Line] = [
        ("Protection", f"{protection.id} ({protection.status})"),
        ("Bought at", _when(protection.bought_at)),
        ("Declared value", _money(protection.declared_value)),
        ("Premium", _money(protection.premium)),
        ("Price to the customer", _money(protection.customer_price)),
        ("Consent", _text(protection.consent_id)),
    ]
    consent = protection.consent
    if consent is not None:
        lines += [
            ("Shown to the customer", consent.text_shown),
            ("Price shown", _money(consent.price_shown)),
            ("Terms version", consent.terms_version),
            ("Terms URL", _text(consent.terms_url)),
            ("Language", _text(consent.locale)),
            ("Page", _text(consent.page_origin)),
            ("Shown at (browser)", _when(consent.shown_at)),
            ("Consent recorded at", _when(consent.recorded_at)),
        ]
    return lines


def _parcel(dossier: Dossier) -> list[Line]:
    parcel = dossier.parcel
    lines: list[Line] = [
        ("Store's shipment id", parcel.shipment_ref),
        ("Carrier", _text(parcel.carrier)),
        ("Tracking number", _text(parcel.tracking_number)),
        ("Tracking URL", _text(parcel.tracking_url)),
        ("Tracking status", parcel.tracking_status),
        ("Shipped at", _when(parcel.shipped_at)),
        ("Delivered at", _when(parcel.delivered_at)),
        ("Destination", _text(parcel.destination)),
        ("Items value", _money(parcel.items_value)),
    ]
    for item in parcel.items:
        name = f" {item.name}" if item.name else ""
        price = f" at {_money(item.unit_price)}" if item.unit_price is not None else ""
        lines.append(("Item", f"{item.sku}{name}: {item.quantity}{price}"))
    return lines


def _policy(dossier: Dossier) -> list[Line]:
    policy = dossier.policy
    if policy is None:
        return [("", "No cargo policy was bought for this parcel.")]
    return [
        ("Provider", policy.provider),
        ("Status", policy.status),
        ("Certificate", _text(policy.certificate)),
        ("Certificate URL", _text(policy.certificate_url)),
        ("Provider reference", _text(policy.provider_reference)),
        ("Sum insured", _money(policy.sum_insured)),
        ("Cost", _money(policy.cost)),
        ("Bound at", _when(policy.bound_at)),
    ]


def _tracking(dossier: Dossier) -> list[Line]:
    lines: list[Line] = [("Shipped", f"{_when(dossier.parcel.shipped_at)} (as the store reported)")]
    for event in dossier.tracking:
        where = f" at {event.location}" if event.location else ""
        said = f": {event.message}" if event.message else ""
        lines.append((_when(event.occurred_at), f"{event.status}{where}{said}"))
    if not dossier.tracking:
        lines.append(("", "No carrier scan was recorded after shipping."))
    return lines


def _evidence(dossier: Dossier) -> list[Line]:
    if not dossier.evidence:
        return [("", "No files.")]
    lines: list[Line] = []
    for fact in dossier.evidence:
        role = "Packing (before shipping)" if fact.role == "packing" else "With the claim"
        where = fact.entry or "left out of this ZIP (size cap): download it from the claims API"
        lines += [
            (role, f"{fact.id}, {fact.content_type}, {fact.size:,} bytes"),
            ("Uploaded", f"by the {fact.uploaded_by} at {_when(fact.uploaded_at)}"),
            ("Original name", _text(fact.filename)),
            ("SHA-256", fact.sha256),
            ("In this ZIP", where),
        ]
    return lines


def _messages(dossier: Dossier) -> list[Line]:
    if not dossier.messages:
        return [("", "No messages.")]
    lines: list[Line] = []
    for message in dossier.messages:
        seen = "to/from the shopper" if message.visibility == "shopper" else "internal note"
        lines.append((_when(message.created_at), f"{message.author}, {seen}:\n{message.body}"))
    return lines


def sections(dossier: Dossier) -> list[Section]:
    """The summary's content, in the order an insurer's checklist reads it."""
    return [
        (f"Claim dossier {dossier.claim.id}", _header(dossier)),
        ("The claim", _claim(dossier)),
        ("Decision", _decision(dossier.decision)),
        ("Order and payment (proof of value)", _payment(dossier)),
        ("Shipping protection", _protection(dossier.protection)),
        ("The parcel", _parcel(dossier)),
        ("Cargo policy", _policy(dossier)),
        ("Tracking history", _tracking(dossier)),
        ("Evidence files", _evidence(dossier)),
        ("Messages (all, internal notes included)", _messages(dossier)),
    ]


def render_text(dossier: Dossier) -> str:
    """summary.txt: the same content as the PDF, every character kept."""
    out: list[str] = []
    for title, lines in sections(dossier):
        out += [title, "=" * len(title)]
        for label, value in lines:
            # Continuation lines are indented, so a line of a description cannot pass for a label of ours.
            indented = value.replace("\r\n", "\n").replace("\n", "\n    ")
            out.append(f"{label}: {indented}" if label else indented)
        out.append("")
    return "\n".join(out)


def _in_core_encoding(char: str) -> bool:
    try:
        char.encode(CORE_ENCODING)
    except UnicodeEncodeError:
        return False
    return True


class _Drawable:
    """Text as the font can draw it: tabs and line ends normalised, undrawable characters as `?`."""

    def __init__(self, drawable: Callable[[str], bool]) -> None:
        self.drawable = drawable

    def _char(self, char: str) -> str | None:
        """The character, or its accent-free form (é → e, ﬁ → fi), if the font draws it; else None."""
        if char == "\n" or (unicodedata.category(char)[0] != "C" and self.drawable(char)):
            return char
        base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
        if base and unicodedata.category(base[0])[0] != "C" and all(self.drawable(c) for c in base):
            return base
        return None

    @staticmethod
    def _normalise(text: str) -> str:
        return text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ")

    def undrawable(self, text: str) -> int:
        """How many characters of the text would show as `?`."""
        return sum(1 for char in self._normalise(text) if self._char(char) is None)

    def __call__(self, text: str) -> str:
        return "".join(self._char(char) or REPLACEMENT for char in self._normalise(text))


def render_pdf(dossier: Dossier, font_path: str | None = None) -> bytes:
    """summary.pdf: the sections, A4, with the font DOSSIER_FONT names or Helvetica (see plugin.services.dossier_pdf;
    fpdf2 and fontTools are imported on the first PDF, not by every process that imports this module)."""
    from plugin.services import dossier_pdf

    return dossier_pdf.render_pdf(dossier, font_path)
