"""GET /api/v1/claims/<id>/dossier: one ZIP holding everything a forwarder's insurer asks for about a claim."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from plugin.extensions import db
from plugin.models import Evidence, Shipment
from plugin.services.dossier import safe_entry_name
from plugin.services.evidence import inspect_upload, read_evidence, store_evidence
from plugin.services.shipments import record_tracking
from plugin.worker import Worker
from tests.claim_helpers import EMAIL, claim_with_files, days_ago, photo, rfc3339
from tests.conftest import bearer
from tests.stripe_helpers import configure_stripe, deliver, payment_intent_event, protected_metadata, quote_for

CHINESE = "玉镯到货时已经碎了"  # "the jade bangle arrived broken"
ENTRY = re.compile(
    r"^(summary\.pdf|summary\.txt|dossier\.json|evidence/(claim|packing)/evd_[A-Za-z0-9]+(-[\w-]+)?\.(jpg|png|webp|pdf))$"
)
TINY_PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def consented_order(client, shop) -> str:
    """Order 1001 paid with protection after the shopper's consent was recorded; the consent's id."""
    configure_stripe(client, shop)
    quote = quote_for(client, shop, 50000)
    consent = client.post(
        "/api/v1/consents",
        json={
            "quote": quote["id"],
            "price_shown": quote["customer_price"],
            "currency": "USD",
            "text_shown": "Protect your parcel against loss, theft and damage.",
            "terms_version": "7",
            "locale": "en-US",
        },
        headers=bearer(shop.keys.publishable_key),
    ).get_json()
    metadata = protected_metadata(quote, "1001", sp_consent=consent["id"])
    assert deliver(client, shop.shop.id, payment_intent_event(metadata, pi_id="pi_dossier_1")).status_code == 200
    return consent["id"]


def ship(client, shop) -> None:
    body = {
        "order_id": "1001",
        "shipment_id": "ful_1001_1",
        "carrier": "UPS",
        "tracking_number": "1ZDOSSIER01",
        "tracking_url": "https://track.example/1ZDOSSIER01",
        "shipped_at": rfc3339(days_ago(6)),
        "items": [{"sku": "JB-1", "quantity": 1, "unit_price": 50000, "name": "Jade bangle"}],
    }
    assert client.post("/api/v1/shipments", json=body, headers=bearer(shop.keys.secret_key)).status_code == 202


def add_tracking_and_packing(app) -> bytes:
    """Carrier scans, and the merchant's packing photo and PDF on the parcel (as POST …/shipments/…/evidence
    would store them); the photo's bytes as stored (re-encoded without metadata)."""
    packing = photo((20, 160, 40))
    with app.app_context():
        shipment = db.session.scalars(select(Shipment).where(Shipment.shipment_ref == "ful_1001_1")).one()
        record_tracking(shipment, "in_transit", days_ago(5), message="Departed facility", location="Shenzhen, CN")
        record_tracking(shipment, "out_for_delivery", days_ago(2.1), message="Out for delivery")
        record_tracking(shipment, "delivered", days_ago(2), message="Left at front door", location="Austin, US")
        files = [inspect_upload("packing-scale.jpg", packing), inspect_upload("../invoice 1001.pdf", TINY_PDF)]
        store_evidence(shipment.shop_id, files, uploaded_by="merchant", shipment_id=shipment.id)
        db.session.commit()
    return files[0].data


@pytest.fixture()
def filed(app, client, shop):
    """A damaged claim on a consented, insured (bound), tracked parcel, with files of hostile and Chinese names."""
    consent_id = consented_order(client, shop)
    ship(client, shop)
    assert Worker(app).drain().bound == 1
    packing = add_tracking_and_packing(app)
    files = [(photo(), "../../etc/passwd.jpg"), (photo((10, 10, 200)), "破损照片.jpg")]
    response = claim_with_files(client, shop, files, description=f"{CHINESE}\nThe box was crushed.")
    assert response.status_code == 201, response.get_json()
    return {"claim": response.get_json(), "consent": consent_id, "packing": packing}


def download(client, shop, claim_id: str):
    return client.get(f"/api/v1/claims/{claim_id}/dossier", headers=bearer(shop.keys.secret_key))


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_the_dossier_holds_the_facts_and_the_files(app, client, shop, filed):
    claim_id = filed["claim"]["id"]
    headers = bearer(shop.keys.secret_key)
    messages = ["Please send a photo of the box.", "Carrier confirms the scan; checking the invoice."]
    for body, visibility in zip(messages, ["shopper", "internal"], strict=True):
        note = client.post(
            f"/api/v1/claims/{claim_id}/messages", json={"body": body, "visibility": visibility}, headers=headers
        )
        assert note.status_code == 201
    reason = "The bangle was packed without padding, against the shop's terms."
    assert client.post(f"/api/v1/claims/{claim_id}/deny", json={"reason": reason}, headers=headers).status_code == 200
    policy = client.get(f"/api/v1/claims/{claim_id}", headers=headers).get_json()["policy"]
    certificate = client.get(f"/api/v1/policies/{policy}", headers=headers).get_json()["certificate"]
    assert certificate

    response = download(client, shop, claim_id)

    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    assert response.headers["Content-Disposition"] == f'attachment; filename="dossier-{claim_id}.zip"'
    assert response.headers["Cache-Control"] == "private, no-store"
    assert int(response.headers["Content-Length"]) == len(response.data)
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    assert archive.testzip() is None
    names = archive.namelist()
    assert all(ENTRY.match(name) for name in names), names
    assert not any(name.startswith("/") or ".." in name or "\\" in name for name in names)
    assert {"summary.pdf", "summary.txt", "dossier.json"} <= set(names)

    pdf = archive.read("summary.pdf")
    assert pdf.startswith(b"%PDF")
    text = pdf_text(pdf)
    for expected in [
        "1001",
        claim_id,
        "Jade House",
        certificate,
        "pi_dossier_1",
        filed["consent"],
        "1ZDOSSIER01",
        "Departed facility",
        "Shenzhen, CN",
        "Out for delivery",
        "Left at front door",
        *messages,
        reason,
        "$500.00",  # claimed, covered, declared and insured
        "$510.00",  # the payment: the item and the protection
        "$10.00",  # the protection's price to the customer
        "Protect your parcel against loss, theft and damage.",
    ]:
        assert expected in text, expected
    # Tracking in the order it happened.
    assert text.index("Departed facility") < text.index("Out for delivery") < text.index("Left at front door")
    # Helvetica cannot draw Chinese: the PDF says so, and the text twins keep it.
    assert CHINESE not in text and "could not be drawn" in text
    summary = archive.read("summary.txt").decode()
    assert CHINESE in summary and reason in summary and certificate in summary
    facts = json.loads(archive.read("dossier.json"))
    assert facts["claim"]["description"].startswith(CHINESE)
    assert facts["decision"]["deny_reason"] == reason and facts["decision"]["status"] == "denied"
    assert facts["claim"]["amount"] == {"minor_units": 50000, "currency": "USD", "formatted": "$500.00"}
    assert facts["policy"]["certificate"] == certificate
    assert [event["status"] for event in facts["tracking"]] == ["in_transit", "out_for_delivery", "delivered"]
    assert [m["body"] for m in facts["messages"]] == messages
    assert [m["visibility"] for m in facts["messages"]] == ["shopper", "internal"]
    assert facts["protection"]["consent"]["terms_version"] == "7"
    assert facts["parcel"]["items"][0]["unit_price"]["formatted"] == "$500.00"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", facts["generated_at"])

    # The shopper's files, byte for byte as the API serves them; the hostile name is cut to its last part.
    by_id = {fact["id"]: fact for fact in facts["evidence"]}
    for evidence in filed["claim"]["evidence"]:
        entry = by_id[evidence["id"]]["entry"]
        served = client.get(f"/api/v1/claims/{claim_id}/evidence/{evidence['id']}", headers=headers).data
        assert archive.read(entry) == served
        assert by_id[evidence["id"]]["sha256"] == evidence["sha256"]
        assert entry.startswith("evidence/claim/") and entry in archive.read("summary.txt").decode()
    named = {evidence["filename"]: evidence["id"] for evidence in filed["claim"]["evidence"]}
    hostile, chinese = by_id[named["passwd.jpg"]]["entry"], by_id[named["破损照片.jpg"]]["entry"]
    assert hostile == f"evidence/claim/{named['passwd.jpg']}-passwd.jpg" and hostile in text
    assert chinese == f"evidence/claim/{named['破损照片.jpg']}-破损照片.jpg"

    # The merchant's packing files, before the claim's.
    packing = [fact for fact in facts["evidence"] if fact["role"] == "packing"]
    assert [fact["uploaded_by"] for fact in packing] == ["merchant", "merchant"]
    assert archive.read(packing[0]["entry"]) == filed["packing"]
    assert packing[1]["entry"].endswith("-invoice_1001.pdf") and archive.read(packing[1]["entry"]) == TINY_PDF
    assert [fact["role"] for fact in facts["evidence"]] == ["packing", "packing", "claim", "claim"]


def test_an_approval_is_in_the_dossier(client, shop, filed):
    claim_id = filed["claim"]["id"]
    headers = bearer(shop.keys.secret_key)
    approval = {"resolution": "reship", "amount": 42050, "replacement_order_id": "1001-R", "cost": 1234}
    approved = client.post(f"/api/v1/claims/{claim_id}/approve", json=approval, headers=headers)
    assert approved.status_code == 200, approved.get_json()
    archive = zipfile.ZipFile(io.BytesIO(download(client, shop, claim_id).data))
    text = pdf_text(archive.read("summary.pdf"))
    for expected in ["reshipped", "reship", "$420.50", "1001-R", "$12.34", "merchant"]:
        assert expected in text, expected
    decision = json.loads(archive.read("dossier.json"))["decision"]
    assert (decision["decided_by"], decision["approved_amount"]["minor_units"]) == ("merchant", 42050)


def test_another_shops_claim_is_unknown(client, shop, new_shop, filed):
    other = new_shop("Other")
    path = f"/api/v1/claims/{filed['claim']['id']}/dossier"
    assert client.get(path, headers=bearer(other.keys.secret_key)).status_code == 404
    assert client.get("/api/v1/claims/clm_missing/dossier", headers=bearer(shop.keys.secret_key)).status_code == 404
    assert client.get(path, headers=bearer(shop.keys.publishable_key)).status_code == 403
    assert client.get(path).status_code == 401


def test_a_claim_without_files_or_scans_still_has_a_dossier(app, client, shop):
    from tests.claim_helpers import claim, shipped_order

    shipped_order(client, shop, shipped_days_ago=10)
    claim_id = claim(client, shop).get_json()["id"]
    archive = zipfile.ZipFile(io.BytesIO(download(client, shop, claim_id).data))
    assert sorted(archive.namelist()) == ["dossier.json", "summary.pdf", "summary.txt"]
    text = pdf_text(archive.read("summary.pdf"))
    assert "No carrier scan was recorded" in text and "No messages." in text and "could not be drawn" not in text
    assert EMAIL in text


def cjk_font(path: Path) -> Path:
    """A tiny TrueType font (boxes for glyphs) covering ASCII and the Chinese test text."""
    from fontTools.fontBuilder import FontBuilder
    from fontTools.pens.ttGlyphPen import TTGlyphPen

    def box():
        pen = TTGlyphPen(None)
        pen.moveTo((50, 0))
        pen.lineTo((50, 700))
        pen.lineTo((450, 700))
        pen.lineTo((450, 0))
        pen.closePath()
        return pen.glyph()

    chars = sorted({chr(code) for code in range(32, 127)} | set(CHINESE) | set("破损照片"))
    names = [".notdef", *(f"uni{ord(char):04X}" for char in chars)]
    builder = FontBuilder(1000, isTTF=True)
    builder.setupGlyphOrder(names)
    builder.setupCharacterMap({ord(char): f"uni{ord(char):04X}" for char in chars})
    builder.setupGlyf({name: box() for name in names})
    builder.setupHorizontalMetrics({name: (500, 50) for name in names})
    builder.setupHorizontalHeader(ascent=800, descent=-200)
    builder.setupNameTable({"familyName": "DossierTest", "styleName": "Regular"})
    builder.setupOS2(sTypoAscender=800, usWinAscent=800, usWinDescent=200)
    builder.setupPost()
    builder.save(str(path))
    return path


def test_a_configured_font_draws_chinese(app, client, shop, filed, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "DOSSIER_FONT", str(cjk_font(tmp_path / "cjk.ttf")))
    archive = zipfile.ZipFile(io.BytesIO(download(client, shop, filed["claim"]["id"]).data))
    text = pdf_text(archive.read("summary.pdf"))
    assert CHINESE in text and "破损照片" in text and "$500.00" in text


def test_an_unusable_font_falls_back_to_helvetica(app, client, shop, filed, tmp_path, monkeypatch):
    bad = tmp_path / "broken.ttf"
    bad.write_bytes(b"not a font")
    monkeypatch.setitem(app.config, "DOSSIER_FONT", str(bad))
    response = download(client, shop, filed["claim"]["id"])
    assert response.status_code == 200
    text = pdf_text(zipfile.ZipFile(io.BytesIO(response.data)).read("summary.pdf"))
    assert "could not be drawn" in text and "1001" in text


def test_files_past_the_size_cap_are_listed_not_packed(app, client, shop, filed, monkeypatch):
    from plugin.services import dossier

    with app.app_context():
        sizes = [row.size for row in db.session.scalars(select(Evidence).order_by(Evidence.created_at, Evidence.id))]
        assert read_evidence(db.session.scalars(select(Evidence)).first())
    monkeypatch.setattr(dossier, "MAX_EVIDENCE_BYTES", sizes[0] + sizes[1])  # the two packing files fit
    archive = zipfile.ZipFile(io.BytesIO(download(client, shop, filed["claim"]["id"]).data))
    facts = json.loads(archive.read("dossier.json"))
    assert [fact["entry"] is not None for fact in facts["evidence"]] == [True, True, False, False]
    assert len([name for name in archive.namelist() if name.startswith("evidence/")]) == 2
    assert "left out of this ZIP" in archive.read("summary.txt").decode()


@pytest.mark.parametrize(
    ("uploaded", "content_type", "entry"),
    [
        ("../../etc/passwd.jpg", "image/jpeg", "evd_1-passwd.jpg"),
        ("..\\..\\windows\\win.ini.png", "image/png", "evd_1-win_ini.png"),
        ("/abs/photo.exe", "image/jpeg", "evd_1-photo.jpg"),  # the checked content names the extension
        ("a\u202egpj.exe", "image/jpeg", "evd_1-a_gpj.jpg"),  # a right-to-left override is no letter
        ("破损.webp", "image/webp", "evd_1-破损.webp"),
        (".htaccess", "application/pdf", "evd_1.pdf"),
        ("....", "image/jpeg", "evd_1.jpg"),
        ("con\x00trol.jpg", "image/jpeg", "evd_1-con_trol.jpg"),
        (None, "application/pdf", "evd_1.pdf"),
        ("x" * 300 + ".jpg", "image/jpeg", "evd_1-" + "x" * 80 + ".jpg"),
    ],
)
def test_entry_names_are_safe(uploaded, content_type, entry):
    assert safe_entry_name("evd_1", uploaded, content_type) == entry


def test_long_words_and_odd_characters_still_make_a_pdf(client, shop):
    from tests.claim_helpers import claim, shipped_order

    shipped_order(client, shop, shipped_days_ago=10)
    description = "x" * 3000 + " Crème brûlée 😀 \u202eevil\u202c ﬁne\ttab\r\nnext 𝔘𝔫𝔦𝔠𝔬𝔡𝔢"
    claim_id = claim(client, shop, description=description).get_json()["id"]
    response = download(client, shop, claim_id)
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    text = pdf_text(archive.read("summary.pdf"))
    assert "Crème brûlée" in text and "fine" in text and "Unicode" in text  # Latin-1 kept, the rest made plain
    assert "could not be drawn" in text
    assert json.loads(archive.read("dossier.json"))["claim"]["description"] == description
