"""The PDF scan: what it finds in plain text, escaped names, object streams, and what it refuses to guess at."""

from __future__ import annotations

import zlib

import pytest

from plugin.services.pdf_scan import DECODED_BUDGET, scan_pdf
from tests.evidence_helpers import pdf, pdf_with_catalog, pdf_with_hidden_script, plain_pdf, stream

CATALOG = b"<< /Type /Catalog /Pages 2 0 R >>"


def object_stream(inner: bytes, filters: bytes = b"/Filter /FlateDecode", compress=zlib.compress) -> bytes:
    header = b"6 0 "
    body = compress(header + inner) if filters else header + inner
    return stream(b"/Type /ObjStm /N 1 /First %d %s" % (len(header), filters), body)


def test_a_plain_pdf_passes():
    verdict = scan_pdf(plain_pdf())
    assert not verdict.refused and verdict.forbidden == frozenset()


@pytest.mark.parametrize(
    ("catalog", "name"),
    [
        (b"<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R >>", "OpenAction"),
        (b"<< /Type /Catalog /Pages 2 0 R /AA << /WC 4 0 R >> >>", "AA"),
        (b"<< /Type /Catalog /Pages 2 0 R /Names << /JavaScript 4 0 R >> >>", "JavaScript"),
        (b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /XFA 4 0 R >> >>", "XFA"),
        (b"<< /Type /Catalog /Pages 2 0 R /O#70enAction 4 0 R >>", "OpenAction"),  # #70 is `p`
    ],
)
def test_forbidden_names_outside_streams(catalog, name):
    assert name in scan_pdf(pdf_with_catalog(catalog, b"<< /S /URI /URI (https://x.example) >>")).forbidden


def test_names_inside_a_compressed_object_stream():
    assert scan_pdf(pdf_with_hidden_script()).forbidden == {"JavaScript", "JS"}


def test_names_inside_an_uncompressed_object_stream():
    document = pdf_with_catalog(CATALOG, object_stream(b"<< /S /Launch /F (cmd.exe) >>", filters=b""))
    assert "Launch" in scan_pdf(document).forbidden


def test_an_object_stream_in_another_compression_is_not_guessed_at():
    hex_encoded = object_stream(
        b"<< /S /JavaScript >>", filters=b"/Filter /ASCIIHexDecode", compress=lambda raw: raw.hex().encode()
    )
    verdict = scan_pdf(pdf_with_catalog(CATALOG, hex_encoded))
    assert verdict.refused and "compression" in (verdict.unreadable or "")


def test_a_compressed_bomb_in_an_object_stream_is_refused():
    bomb = object_stream(b"<<>>" + b" " * (DECODED_BUDGET + 10), compress=lambda raw: zlib.compress(raw, 9))
    verdict = scan_pdf(pdf_with_catalog(CATALOG, bomb))
    assert verdict.refused and "too large" in (verdict.unreadable or "")


def test_binary_streams_do_not_match_short_names_by_chance():
    font = b"\x00\x01/JS \x7f\xff/AA(\x80" * 1000  # a font program's bytes that happen to spell short names
    document = pdf_with_catalog(CATALOG, stream(b"/Length1 %d" % len(font), font))
    assert not scan_pdf(document).refused


def test_long_names_are_found_in_any_stream():
    hidden = stream(b"", b"junk << /S /JavaScript /JS (app.alert(1)) >> junk")
    assert "JavaScript" in scan_pdf(pdf_with_catalog(CATALOG, hidden)).forbidden


def test_a_stream_start_in_a_string_cannot_hide_objects():
    # A string that looks like a stream's start: everything up to the next `endstream` would be skipped.
    decoy = b"<< /Title (x>>stream\n) >>"
    real = stream(b"", b"BT ET")
    document = pdf_with_catalog(CATALOG, decoy, b"<< /S /GoTo /Next 7 0 R >>", real)
    verdict = scan_pdf(document)
    assert verdict.refused and verdict.unreadable == "its streams overlap"


def test_a_short_direct_length_ends_the_stream_where_a_reader_ends_it():
    body = b"BT ET"
    trick = b"<< /Length %d >>\nstream\n" % len(body) + body + b"\nendstream endobj 9 0 obj << /AA << >> >>\nendstream"
    verdict = scan_pdf(pdf_with_catalog(CATALOG, trick))
    assert "AA" in verdict.forbidden


def test_encryption_is_seen():
    verdict = scan_pdf(pdf_with_catalog(CATALOG, trailer_extra=b"/Encrypt 9 0 R "))
    assert verdict.encrypted and verdict.refused


def test_a_pdf_of_only_objects_is_read_whole():
    assert not scan_pdf(pdf(CATALOG)).refused


def test_an_open_action_that_only_opens_a_page_is_allowed():
    assert not scan_pdf(pdf_with_catalog(b"<< /Type /Catalog /Pages 2 0 R /OpenAction [3 0 R /FitH null] >>")).refused
    action = pdf_with_catalog(b"<< /Type /Catalog /Pages 2 0 R /OpenAction << /S /URI /URI (https://x.example) >> >>")
    assert scan_pdf(action).forbidden == {"OpenAction"}
    to_a_page = pdf_with_catalog(b"<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R >>", b"[3 0 R /Fit]")
    assert not scan_pdf(to_a_page).refused  # object 4 is a destination array
    to_an_action = pdf_with_catalog(b"<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R >>", b"<< /S /URI /URI (x) >>")
    assert scan_pdf(to_an_action).forbidden == {"OpenAction"}
    to_nothing = pdf_with_catalog(b"<< /Type /Catalog /Pages 2 0 R /OpenAction 9 0 R >>")
    assert scan_pdf(to_nothing).forbidden == {"OpenAction"}  # not found: refused rather than guessed at
    in_object_stream = pdf_with_catalog(
        b"<< /Type /Catalog /Pages 2 0 R /OpenAction 6 0 R >>", object_stream(b"[3 0 R /Fit]")
    )
    assert not scan_pdf(in_object_stream).refused
    go_to = pdf_with_catalog(b"<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R >>", b"<< /S /GoTo /D [3 0 R /Fit] >>")
    assert not scan_pdf(go_to).refused  # what pdfTeX writes
    chained = b"<< /S /GoTo /D [3 0 R /Fit] /Next << /S /URI /URI (https://x.example) >> >>"
    assert scan_pdf(pdf_with_catalog(b"<< /Type /Catalog /Pages 2 0 R /OpenAction " + chained + b" >>")).forbidden == {
        "OpenAction"
    }
    remote = b"<< /Type /Catalog /Pages 2 0 R /OpenAction << /S /GoToR /F (other.pdf) /D [0 /Fit] >> >>"
    assert scan_pdf(pdf_with_catalog(remote)).forbidden == {"OpenAction"}


def test_pdfs_written_by_fpdf2_pass():
    from fpdf import FPDF

    document = FPDF()
    document.add_page()
    document.set_font("helvetica", size=12)
    document.cell(text="Packed with care")
    assert not scan_pdf(bytes(document.output())).refused
