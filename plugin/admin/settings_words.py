"""The settings API's validation messages in words a merchant reads next to a form's input (English or Chinese).

The API speaks to developers ("Must be an integer of minor units (cents)…"); the form takes amounts in major
units and rates as percentages, so each message is re-said for the kind of input it lands on. A message not
known here is shown as the API wrote it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal

from flask_babel import gettext

from plugin import terms
from plugin.admin.settings_fields import PROVIDER_NAMES, Kind
from plugin.i18n import page_language
from plugin.iso_codes import currency_exponent
from plugin.schemas import INTEGER_MESSAGE, MONEY_MESSAGE, RATE_MESSAGE
from plugin.validation import UNSTORABLE_TEXT

_LISTS = {Kind.CODES, Kind.LINES}


def money(amount: int, currency: str) -> str:
    """Minor units as the page's language writes money."""
    return terms.money(amount, currency, page_language())


def plain_amount(amount: int, currency: str) -> str:
    """Minor units as an input takes them: 1999 → "19.99" (no symbol, no grouping)."""
    return format(Decimal(amount).scaleb(-currency_exponent(currency)), "f")


def _fill_in(_: re.Match[str], kind: Kind, currency: str) -> str:
    return gettext("Fill in this field.")


def _rate(_: re.Match[str], kind: Kind, currency: str) -> str:
    return gettext("Enter a percentage from 0 to 100 with at most 6 decimals, such as 1.5.")


def _amount(_: re.Match[str], kind: Kind, currency: str) -> str:
    if currency_exponent(currency) == 0:
        return gettext("Enter a whole amount, such as %(example)s.", example=plain_amount(1999, currency))
    return gettext(
        "Enter an amount with at most %(digits)s decimals, such as %(example)s.",
        digits=currency_exponent(currency),
        example=plain_amount(1999, currency),
    )


def _amount_range(match: re.Match[str], kind: Kind, currency: str) -> str:
    low, high = int(match["low"]), int(match["high"])
    return gettext("Enter an amount from %(low)s to %(high)s.", low=money(low, currency), high=money(high, currency))


def _whole(_: re.Match[str], kind: Kind, currency: str) -> str:
    return gettext("Enter a whole number, such as 7.")


def _number_range(match: re.Match[str], kind: Kind, currency: str) -> str:
    low, high = match["low"], match["high"]
    if kind is Kind.PERCENT:
        return _rate(match, kind, currency)
    return gettext("Enter a whole number from %(low)s to %(high)s.", low=low, high=high)


def _too_long(match: re.Match[str], kind: Kind, currency: str) -> str:
    high = match["high"]
    if kind in _LISTS:
        return gettext("List at most %(most)s entries.", most=high)
    return gettext("Use at most %(most)s characters.", most=high)


def _length(match: re.Match[str], kind: Kind, currency: str) -> str:
    if kind in _LISTS:
        return gettext("List from %(low)s to %(high)s entries.", low=match["low"], high=match["high"])
    return gettext("Use from %(low)s to %(high)s characters.", low=match["low"], high=match["high"])


def _too_short(match: re.Match[str], kind: Kind, currency: str) -> str:
    if kind in _LISTS:
        return gettext("List at least %(least)s.", least=match["low"])
    return gettext("Fill in this field.")


def _choice(_: re.Match[str], kind: Kind, currency: str) -> str:
    return gettext("Choose one of the options.")


def _words(message: Callable[[], str]) -> Callable[[re.Match[str], Kind, str], str]:
    return lambda _match, _kind, _currency: message()


def _required_by(match: re.Match[str], kind: Kind, currency: str) -> str:
    provider = match["provider"]
    return gettext("Required by %(insurer)s.", insurer=str(PROVIDER_NAMES.get(provider, provider)))


# The insurer URL guard's reasons (plugin/net_guard.py), each as a sentence of its own.
_URL_REASONS: dict[str, Callable[[], str]] = {
    "must be an https:// URL": lambda: gettext("Enter an address that starts with https://."),
    "must not carry credentials; put them in their own fields": lambda: gettext(
        "Take the user name and password out of the address; they have their own fields."
    ),
    "points at a private, loopback, link-local or otherwise non-public address": lambda: gettext(
        "This address is on a private or local network; an insurer's address must be public."
    ),
    "resolves to a private, loopback, link-local or otherwise non-public address": lambda: gettext(
        "This address is on a private or local network; an insurer's address must be public."
    ),
    "points at a private host": lambda: gettext(
        "This address is on a private or local network; an insurer's address must be public."
    ),
    "has a host name that cannot be looked up": lambda: gettext("This host name cannot be found."),
}


def _insurer_url(match: re.Match[str], kind: Kind, currency: str) -> str:
    reason = _URL_REASONS.get(match["reason"])
    if reason is not None:
        return reason()
    return gettext("This address cannot be used: it %(reason)s.", reason=match["reason"])


_TYPE_MESSAGES = ("Must be a string.", "Must be a JSON object.", "Must be a JSON array.", "Must be true or false.")
_SAME_MASKED = "That is a masked value (as GET shows it); send the secret itself."

# (the API's message, matched whole; what to say instead)
EXPLANATIONS: list[tuple[re.Pattern[str], Callable[[re.Match[str], Kind, str], str]]] = [
    (re.compile(re.escape(RATE_MESSAGE)), _rate),
    (re.compile(re.escape(MONEY_MESSAGE)), _amount),
    (re.compile(r"Must be an integer of minor units \(cents\) from (?P<low>\d+) to (?P<high>\d+)\."), _amount_range),
    (re.compile(re.escape(INTEGER_MESSAGE)), _whole),
    (re.compile(r"Not a valid integer\."), _whole),
    (
        re.compile(r"Must be greater than or equal to (?P<low>-?\d+) and less than or equal to (?P<high>-?\d+)\."),
        _number_range,
    ),
    (re.compile(r"Longer than maximum length (?P<high>\d+)\."), _too_long),
    (re.compile(r"Must be at most (?P<high>\d+) characters\."), _too_long),
    (re.compile(r"Shorter than minimum length (?P<low>\d+)\."), _too_short),
    (re.compile(r"Length must be between (?P<low>\d+) and (?P<high>\d+)\."), _length),
    (re.compile(r"Must be one of: .*\."), _choice),
    (re.compile(r"Field may not be null\.|Missing data for required field\.|Must be a non-empty string\."), _fill_in),
    (
        re.compile(r"Not a valid URL\."),
        _words(
            lambda: gettext("Enter a web address that starts with https://, such as https://shop.example.com/terms.")
        ),
    ),
    (
        re.compile(r"Must be an https URL such as https://cdn\.example\.com/logo\.png\."),
        _words(lambda: gettext("Enter the https address of an image, such as https://cdn.example.com/logo.png.")),
    ),
    (
        re.compile(r"Must be an https URL on a plain host name, without user name or password\."),
        _words(lambda: gettext("Use an https address on a plain host name, without a user name or password.")),
    ),
    (
        re.compile(r"Must be a colour written #rrggbb, such as #0f766e\."),
        _words(lambda: gettext("Enter # and six hex digits, such as #0f766e.")),
    ),
    (
        re.compile(r"Must be an email address\.|Not a valid email address\."),
        _words(lambda: gettext("Enter an email address, such as orders@example.com.")),
    ),
    (
        re.compile(r"Unknown country: .*"),
        _words(lambda: gettext("Not a country code: use two capital letters, such as US or HK.")),
    ),
    (
        re.compile(r"Unknown region: .*"),
        _words(lambda: gettext("Not a region code: use the country, a hyphen and the region, such as CN-XJ.")),
    ),
    (
        re.compile(r"Unknown time zone: .*"),
        _words(lambda: gettext("Not a time zone: use a name such as Asia/Shanghai, Europe/Paris or UTC.")),
    ),
    (
        re.compile(r"Must be an origin such as .*"),
        _words(lambda: gettext("Enter a web address without a path, such as https://shop.example.com.")),
    ),
    (
        re.compile(r"Must not be above maximum\."),
        _words(lambda: gettext("The lowest price must not be above the highest price.")),
    ),
    (
        re.compile(r"Bands mode needs at least one band\."),
        _words(lambda: gettext("Add at least one price band, or price by percentage.")),
    ),
    (
        re.compile(r"The last band must have up_to null \(no upper bound\)\."),
        _words(lambda: gettext("Leave “up to” empty on the last band, so that it covers every higher value.")),
    ),
    (
        re.compile(r"Only the last band may have up_to null\."),
        _words(lambda: gettext("Only the last band may leave “up to” empty.")),
    ),
    (
        re.compile(r"Bands must be in strictly ascending order of up_to\."),
        _words(lambda: gettext("List the bands from the lowest “up to” to the highest, each above the one before.")),
    ),
    (
        re.compile(r"Give at_least, below, or both\."),
        _words(lambda: gettext("Give “at least”, “below”, or both.")),
    ),
    (re.compile(r"Must be above at_least\."), _words(lambda: gettext("Must be above “at least”."))),
    (
        re.compile(r'Must be a decimal string such as "0\.98", from 0 to 999999\.'),
        _words(lambda: gettext("Enter a percentage such as 98.")),
    ),
    (
        re.compile(r"Must be after lost_after_days\."),
        _words(lambda: gettext("Must be more days than the first day a parcel may be claimed lost.")),
    ),
    (
        re.compile(r"Use self_insured, sandbox, or the provider configured in insurer\.provider\."),
        _words(lambda: gettext("Choose self-insured, the sandbox, or the insurer chosen above.")),
    ),
    (re.compile(r"Required for the (?P<provider>\w+) provider\."), _required_by),
    (
        re.compile(r"Not a setting of the \w+ provider\."),
        _words(lambda: gettext("The chosen insurer has no such setting.")),
    ),
    (re.compile(r"The insurer URL (?P<reason>.*)\."), _insurer_url),
    (re.compile(r"Must be an https:// URL\."), _words(lambda: gettext("Enter an address that starts with https://."))),
    (
        re.compile(re.escape(_SAME_MASKED)),
        _words(lambda: gettext("That is the hidden form of the saved value: type the new value instead.")),
    ),
    (
        re.compile(re.escape(UNSTORABLE_TEXT)),
        _words(lambda: gettext("Remove the invisible control characters from this text.")),
    ),
    (
        re.compile("|".join(re.escape(message) for message in _TYPE_MESSAGES)),
        _words(lambda: gettext("This value has the wrong type.")),
    ),
    (re.compile(r"Unknown field\."), _words(lambda: gettext("This setting is not known."))),
]


def explain(message: str, kind: Kind, currency: str) -> str:
    """The API's message for an input of this kind, in the page's language (unknown messages as they are)."""
    for pattern, say in EXPLANATIONS:
        match = pattern.fullmatch(message)
        if match is not None:
            return say(match, kind, currency)
    return message
