"""The admin's blueprint, shared by its page modules (each adds its views to `bp`)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")
