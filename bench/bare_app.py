"""The baseline: a bare Flask JSON endpoint, served exactly like the plugin.

As the contract has it, it parses the same body (the 12-item cart, with the json module) and answers JSON of the
same size as a real quote answer: the fixed answer below is a real answer for bench/quote_throughput.py's cart,
terms URL included, and the benchmark prints both sizes so that a drift shows.
"""

import json

from flask import Flask, jsonify, request

app = Flask(__name__)

OFFER_DESCRIPTION = "Get a refund or a replacement if your parcel is lost, stolen or damaged in transit."
FIXED = {
    "id": "qt_AwEec2hvcF96UlUwRmx4RkxxVndQTldWSVpTNHc4VmQEVVNEoIgF_AwAAADilJfYBg1lNTc0NzUxMDMzZTcDVVMGVVMtQ0EG"
    "OTQxMDcAAAA.Zv79E7lJtrFFTwZYWVFd9efT02IUPtHX",
    "object": "quote",
    "eligible": True,
    "reasons": [],
    "currency": "USD",
    "declared_value": 82976,
    "coverages": [
        {
            "type": "shipping",
            "premium": 1660,
            "customer_price": 1660,
            "merchant_contribution": 0,
            "rate": "0.02",
            "rate_tier": None,
        }
    ],
    "premium": 1660,
    "customer_price": 1660,
    "merchant_contribution": 0,
    "rate_tier": None,
    "excluded_items": [],
    "expires_at": "2026-11-24T17:33:22Z",
    "offer": {
        "title": "Shipping protection",
        "description": OFFER_DESCRIPTION,
        "terms_url": "http://127.0.0.1:40000/terms/shop_zRU0FlxFLqVwPNWVIZS4w8Vd",
        "terms_version": "1",
        "language": "en",
        "texts": {
            "title": "Shipping protection",
            "description": OFFER_DESCRIPTION,
            "terms": "Terms",
            "price": "Shipping protection: {price}",
            "added": "Shipping protection added for {price}",
            "removed": "Shipping protection removed",
            "changed": "The shipping protection price changed to {price}; select it again to add it.",
        },
    },
}


@app.post("/api/v1/quotes")
def quote():
    """Parse the cart, answer the fixed quote."""
    json.loads(request.get_data())
    return jsonify(FIXED)
