"""The baseline: a bare Flask endpoint answering a fixed JSON body, served exactly like the plugin."""

from flask import Flask, jsonify

app = Flask(__name__)

FIXED = {
    "id": "qt_" + "x" * 200,
    "eligible": True,
    "reasons": [],
    "currency": "USD",
    "declared_value": 50000,
    "premium": 1000,
    "customer_price": 1000,
    "merchant_contribution": 0,
}


@app.post("/api/v1/quotes")
def quote():
    """A fixed answer, whatever was asked."""
    return jsonify(FIXED)
