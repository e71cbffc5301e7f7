"""The claim portal's words chosen by a value (claim types, statuses, decisions, refusals of the rules), and how a
portal page picks its language.

Every word is a gettext message: the English is the msgid, here and in templates/portal/, and the Chinese is in
plugin/translations/zh_Hans/LC_MESSAGES/messages.po (see docs/i18n.md). Placeholders are %(name)s fields; values
are escaped by Jinja when shown, never by the catalogue.
"""

from __future__ import annotations

import re

from flask import request, session
from flask_babel import gettext, lazy_gettext
from werkzeug.exceptions import RequestEntityTooLarge

from plugin.i18n import language_code

SESSION_LANGUAGE = "portal_lang"
_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")

# Lazy: each is read in the language of the page that shows it.
CLAIM_TYPES = {
    "lost": lazy_gettext("It never arrived"),
    "stolen": lazy_gettext("It was delivered, then stolen"),
    "damaged": lazy_gettext("Something arrived damaged"),
    "delayed": lazy_gettext("It is very late"),
    "missing_items": lazy_gettext("Items are missing from the parcel"),
    # Shown on a claim's status page only: never offered on the claim form (a return opens it).
    "return_shipping": lazy_gettext("Return shipping paid back"),
}
STATUSES = {
    "submitted": lazy_gettext("Received: waiting for review"),
    "needs_review": lazy_gettext("Being reviewed"),
    "approved": lazy_gettext("Approved"),
    "denied": lazy_gettext("Declined"),
    "paid": lazy_gettext("Paid"),
    "reshipped": lazy_gettext("Replacement sent"),
}
RESOLUTIONS = {
    "refund": lazy_gettext("Refund to your original payment method"),
    "reship": lazy_gettext("The items are sent again"),
}
# Refusals of the claim rules that name nothing but themselves.
_REFUSALS = {
    "evidence_required": lazy_gettext(
        "A damaged-item claim needs at least one photo of the damage (JPEG, PNG or WebP)."
    ),
    "claim_limit_reached": lazy_gettext(
        "This email address has filed as many claims as this shop accepts in a period; please contact the shop."
    ),
    "not_protected": lazy_gettext("This parcel is not covered by shipping protection."),
    "delay_cover_off": lazy_gettext("This shop does not compensate late parcels."),
    "not_shipped": lazy_gettext("This order has not shipped yet; a claim can be filed once a parcel is on its way."),
    "claim_exists": lazy_gettext("This parcel already has a claim."),
}


def _form_field(name: str) -> str | None:
    """A field of the posted form, or None when there is none (or the body was refused as too large)."""
    if request.method != "POST":
        return None
    try:
        return request.form.get(name)
    except RequestEntityTooLarge:
        return None


def chosen_language() -> str | None:
    """The portal's language chooser (registered with plugin.i18n): the shopper's choice, `lang` in the query or a
    form, remembered in the session; None on other pages or before a choice, so Accept-Language decides."""
    if request.blueprint != "portal":
        return None
    chosen = language_code(request.args.get("lang")) or language_code(_form_field("lang"))
    if chosen is not None:
        if session.get(SESSION_LANGUAGE) != chosen:
            session[SESSION_LANGUAGE] = chosen
        return chosen
    remembered = session.get(SESSION_LANGUAGE)
    return language_code(remembered) if isinstance(remembered, str) else None


def refusal_text(code: str, message: str, claim_type: str | None = None) -> str:
    """A refusal of the claim rules in the page's language; the English message supplies the date it names."""
    found = _DATE.search(message)
    date = found.group(0) if found else ""
    if code == "outside_claim_window":
        if claim_type == "stolen" and not date:
            return gettext(
                "A stolen-parcel claim can be filed once the parcel is marked delivered; a parcel that never "
                "arrived is reported as “It never arrived”."
            )
        if date and " from " in message:
            return gettext("This kind of claim can be filed from %(date)s.", date=date)
        if date and "closed on" in message:
            return gettext("The time to file this kind of claim for this parcel ended on %(date)s.", date=date)
        outside = gettext("This parcel is outside the time allowed for this kind of claim.")
        return f"{outside} ({date})" if date else outside
    if code == "parcel_delivered":
        return gettext(
            "The tracking shows this parcel delivered on %(date)s. If it was taken after delivery, choose “It was "
            "delivered, then stolen”.",
            date=date,
        )
    refusal = _REFUSALS.get(code)
    if refusal is not None:
        return str(refusal)
    return gettext("This claim cannot be filed: %(message)s", message=message)
