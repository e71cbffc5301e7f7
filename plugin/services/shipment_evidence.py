"""Packing evidence: the merchant's photos or PDFs of a parcel, before or after shipping; they join its claims."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, or_, select, text

from plugin.errors import NotFoundError, ValidationFailedError
from plugin.extensions import db
from plugin.models import Evidence, Shipment
from plugin.services.evidence import InspectedFile, store_evidence

MAX_PACKING_FILES = 20  # per parcel, all requests together


def find_shipment(shop_id: str, reference: str) -> Shipment:
    """The shop's parcel by our id (`shp_…`) or by the store's shipment id; a 404 otherwise."""
    shipment = db.session.scalars(
        select(Shipment)
        .where(Shipment.shop_id == shop_id, or_(Shipment.id == reference, Shipment.shipment_ref == reference))
        .order_by((Shipment.id == reference).desc())  # our id wins should a store's id look like one
    ).first()
    if shipment is None:
        raise NotFoundError("No such shipment.")
    return shipment


def _locked_shipment(shop_id: str, reference: str) -> Shipment:
    shipment = find_shipment(shop_id, reference)
    # Concurrent uploads to one parcel count its files one after the other (the row lock, or SQLite's write lock).
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(select(Shipment.id).where(Shipment.id == shipment.id).with_for_update())
    else:
        db.session.execute(text("UPDATE shipments SET shipped_at = shipped_at WHERE id = :id"), {"id": shipment.id})
    return shipment


def shipment_evidence(shipment: Shipment) -> list[Evidence]:
    """The parcel's packing evidence, oldest first."""
    return list(
        db.session.scalars(
            select(Evidence).where(Evidence.shipment_id == shipment.id).order_by(Evidence.created_at, Evidence.id)
        )
    )


def add_packing_evidence(shop_id: str, reference: str, files: Sequence[InspectedFile]) -> Shipment:
    """Store the merchant's files on the parcel; commit. At most MAX_PACKING_FILES per parcel."""
    shipment = _locked_shipment(shop_id, reference)
    current = (
        db.session.scalar(select(func.count()).select_from(Evidence).where(Evidence.shipment_id == shipment.id)) or 0
    )
    if current + len(files) > MAX_PACKING_FILES:
        db.session.rollback()
        raise ValidationFailedError(
            fields={"evidence": [f"A parcel holds at most {MAX_PACKING_FILES} packing files; it has {current}."]}
        )
    store_evidence(shop_id, files, uploaded_by="merchant", shipment_id=shipment.id)
    db.session.commit()
    return shipment


def get_packing_evidence(shop_id: str, reference: str, evidence_id: str) -> Evidence:
    """One packing file of the shop's parcel."""
    shipment = find_shipment(shop_id, reference)
    row = db.session.get(Evidence, evidence_id)
    if row is None or row.shipment_id != shipment.id or row.shop_id != shop_id:
        raise NotFoundError("No such evidence.")
    return row
