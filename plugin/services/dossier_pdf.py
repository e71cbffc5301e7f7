"""summary.pdf, drawn with fpdf2 (see plugin.services.dossier_summary for the content and its font rules).

Its own module so that fpdf2 and fontTools (a third of a second to import) load with the first PDF only.
"""

from __future__ import annotations

import functools
import io
import logging
import os
from collections.abc import Callable
from pathlib import Path

from fontTools.ttLib import TTFont, TTLibError  # type: ignore[import-untyped]
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.errors import FPDFException

from plugin.services.dossier_facts import Dossier
from plugin.services.dossier_summary import (
    CORE_ENCODING,
    LABEL_WIDTH_MM,
    LINE_HEIGHT_MM,
    _Drawable,
    _in_core_encoding,
    sections,
)

log = logging.getLogger("plugin.services.dossier_summary")  # the name its warnings have always had


class _SummaryPdf(FPDF):
    """A4 pages with the claim's id and the page number at the foot."""

    claim_id = ""
    regular = "helvetica"

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(self.regular, "", 8)
        self.cell(0, 5, f"Claim dossier {self.claim_id} - page {self.page_no()}/{{nb}}", align="C")


@functools.lru_cache(maxsize=4)
def _readable_font(path: str, modified_ns: int, size: int) -> str | None:
    """Why the font file cannot be used, or None; checked from bytes in memory (a font that fails to parse
    from a path leaves its file open), once per version of the file."""
    try:
        data = Path(path).read_bytes()
        font = TTFont(io.BytesIO(data), lazy=True, fontNumber=0)
        if font.getBestCmap() is None:
            return "no Unicode character map"
    except (OSError, ValueError, TTLibError, AssertionError, KeyError) as error:
        return str(error) or type(error).__name__
    return None


def _load_font(pdf: _SummaryPdf, font_path: str | None) -> Callable[[str], bool]:
    """Use the configured font if it loads; the test of which characters the chosen font draws."""
    if font_path:
        try:
            stat = os.stat(font_path)
            problem = _readable_font(font_path, stat.st_mtime_ns, stat.st_size)
            if problem is None:
                for style in ("", "B"):  # one face for both: headings are told apart by their size
                    pdf.add_font("dossier", style, Path(font_path))
        except (OSError, ValueError, TTLibError, FPDFException, NotImplementedError) as error:
            problem = str(error) or type(error).__name__
        if problem is None:
            pdf.regular = "dossier"
            pdf.set_font("dossier", "", 10)
            cmap = pdf.fonts["dossier"].cmap  # type: ignore[union-attr]
            return lambda char: ord(char) in cmap
        log.warning("dossier font unusable, using Helvetica", extra={"font": font_path, "problem": problem})
        pdf.fonts.pop("dossier", None)
        pdf.fonts.pop("dossierB", None)
    pdf.core_fonts_encoding = CORE_ENCODING
    return _in_core_encoding


def render_pdf(dossier: Dossier, font_path: str | None = None) -> bytes:
    """summary.pdf: the sections, A4, with the font DOSSIER_FONT names or Helvetica."""
    pdf = _SummaryPdf(format="A4")
    pdf.claim_id = dossier.claim.id
    pdf.set_title(f"Claim dossier {dossier.claim.id}")
    pdf.set_creator("shipping-protection plugin")
    pdf.set_creation_date(dossier.generated_at)
    pdf.set_auto_page_break(auto=True, margin=16)
    draw = _Drawable(_load_font(pdf, font_path))
    content = sections(dossier)
    undrawable = sum(draw.undrawable(text) for _, lines in content for line in lines for text in line)
    if undrawable:  # said at the top, where a reader of a '?' looks first
        content[0][1].append(
            (
                "",
                f"{undrawable} character(s) could not be drawn with this PDF's font and show as '?'; "
                "summary.txt and dossier.json in the same ZIP keep the text exactly as written.",
            )
        )
    pdf.add_page()
    text_width = pdf.epw - LABEL_WIDTH_MM
    for index, (title, lines) in enumerate(content):
        pdf.set_font(pdf.regular, "B", 15 if index == 0 else 12)
        pdf.ln(2 if index else 0)
        pdf.multi_cell(0, 8, draw(title), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        for label, value in lines:
            if label:
                pdf.set_font(pdf.regular, "B", 9)
                pdf.cell(LABEL_WIDTH_MM, LINE_HEIGHT_MM, draw(label))
                pdf.set_font(pdf.regular, "", 9)
                pdf.multi_cell(text_width, LINE_HEIGHT_MM, draw(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            else:
                pdf.set_font(pdf.regular, "", 9)
                pdf.multi_cell(0, LINE_HEIGHT_MM, draw(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())
