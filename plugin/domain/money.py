"""Money as integer minor units of one ISO 4217 currency; Decimal only inside calculations."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import (
    ROUND_CEILING,
    Context,
    Decimal,
    DecimalException,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
)

# One explicit context for every calculation: 60 digits hold any int64 amount times a rate with many
# decimals, so nothing is rounded implicitly, and a signal (not a silent rounding) stops anything inexact.
EXACT = Context(prec=60, traps=[InvalidOperation, Inexact, DivisionByZero, Overflow])


class CurrencyMismatchError(ValueError):
    """Two amounts in different currencies were combined."""


@dataclass(frozen=True, slots=True)
class Money:
    """An integer number of minor units (cents, yen, fils) of one currency."""

    amount: int
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int):
            raise TypeError(f"amount must be an int of minor units, not {type(self.amount).__name__}")
        if len(self.currency) != 3 or not self.currency.isalpha() or not self.currency.isupper():
            raise ValueError(f"currency must be an upper-case ISO 4217 code, not {self.currency!r}")

    def _same_currency(self, other: Money) -> None:
        if self.currency != other.currency:
            raise CurrencyMismatchError(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount - other.amount, self.currency)


def scale(amount: int, rate: Decimal) -> Decimal:
    """The exact product of an amount of minor units and a rate."""
    return EXACT.multiply(Decimal(amount), rate)


def sum_of_products(terms: Iterable[tuple[int, Decimal]]) -> Decimal:
    """The exact sum of amount x rate over many terms."""
    total = Decimal(0)
    for amount, rate in terms:
        total = EXACT.add(total, EXACT.multiply(Decimal(amount), rate))
    return total


def to_minor_units(value: Decimal, rounding: str) -> int:
    """An exact decimal amount of minor units made whole with the named rounding mode."""
    return int(value.to_integral_value(rounding=rounding, context=EXACT))


def round_up_to_multiple(value: Decimal, increment: int) -> int:
    """The smallest multiple of `increment` that is >= value (value in minor units)."""
    if increment < 1:
        raise ValueError("increment must be at least 1 minor unit")
    whole = int(value.to_integral_value(rounding=ROUND_CEILING, context=EXACT))
    return -(-whole // increment) * increment  # ceil(ceil(v) / n) == ceil(v / n) for a whole n


def parse_major_units(text: str, exponent: int) -> int:
    """A decimal string in major units ("199.00" USD) as minor units (19900); refuses excess precision."""
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, AttributeError) as exc:
        raise ValueError(f"not a decimal amount: {text!r}") from exc
    if not value.is_finite() or value.adjusted() > 30:
        raise ValueError(f"not a plausible amount: {text!r}")
    try:
        minor = value.scaleb(exponent, context=EXACT)
    except DecimalException as exc:  # far below a minor unit: more decimals than the currency has
        raise ValueError(f"{text!r} has more decimals than the currency allows ({exponent})") from exc
    if minor != minor.to_integral_value(context=EXACT):
        raise ValueError(f"{text!r} has more decimals than the currency allows ({exponent})")
    return int(minor)
