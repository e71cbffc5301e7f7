"""The widget is a guest on every product and checkout page: the whole script stays under 6 KB gzipped."""

from __future__ import annotations

import gzip
from pathlib import Path

WIDGET = Path(__file__).resolve().parents[2] / "static" / "widget" / "shipping-protection.js"
BUDGET = 6 * 1024


def test_the_widget_fits_its_budget():
    size = len(gzip.compress(WIDGET.read_bytes(), compresslevel=9))
    assert size < BUDGET, f"the widget is {size} bytes gzipped; the budget is {BUDGET}"


def test_it_defines_the_offer_and_the_badge_and_writes_no_html():
    source = WIDGET.read_text(encoding="utf-8")
    assert 'customElements.define("shipping-protection",' in source
    assert 'customElements.define("shipping-protection-badge",' in source
    assert ".innerHTML" not in source and "insertAdjacentHTML" not in source
