"""What a PDF would do when opened: its action, script, attachment and encryption names, found without a PDF library.

A PDF keeps its dictionaries as text outside its streams or, compressed, inside object streams (`/ObjStm`). So
the scan reads every name outside the streams and inside every object stream (Flate-compressed or plain; any
other compression is refused as unreadable), with a budget on the decompressed size (a compressed stream can be a
bomb too). Other streams (page content, fonts, images) hold no dictionaries and are not read: binary data would
match short names such as `/JS` by chance. Names may hide characters as `#xx`
(`/J#61vaScript`); they are decoded before they are compared. A stream's end is the earlier of its direct
`/Length` and its `endstream`, so text a reader would parse as objects is never skipped as stream data; the long
forbidden names are looked for in every stream too, and overlapping streams are refused.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

# Names whose presence means the file can act on the reader's machine: scripts, actions on open (an OpenAction
# that is only a page to open at, `[3 0 R /Fit]`, is allowed: fpdf2 and many writers add one) or on events,
# launching programs, embedded files and rich media, forms that send or import data.
FORBIDDEN_NAMES = frozenset(
    {
        b"JavaScript",
        b"JS",
        b"OpenAction",
        b"AA",
        b"Launch",
        b"EmbeddedFile",
        b"EmbeddedFiles",
        b"RichMedia",
        b"XFA",
        b"SubmitForm",
        b"ImportData",
        b"GoToE",
    }
)
_LONG_NAMES = frozenset(name for name in FORBIDDEN_NAMES if len(name) >= 5) | {b"Encrypt"}
DECODED_BUDGET = 64 * 1024 * 1024  # decompressed bytes read from one file's streams, all together

_WS = rb"[\x00\t\n\f\r ]"
# A name, and what follows it when that is an array or an indirect reference (`/OpenAction [3 0 R /Fit]`, or
# `/OpenAction 98 0 R` naming such an array, only opens the file at a page: harmless).
_NAME = re.compile(rb"/([^\s/<>\[\]()%{}\x00]*)" + _WS + rb"*(\[|<<|(\d{1,10})" + _WS + rb"+\d{1,5}" + _WS + rb"+R\b)?")
_OBJECT_START = re.compile(rb"(?<![0-9])(\d{1,10})" + _WS + rb"+\d{1,5}" + _WS + rb"+obj\b")
_GOTO = re.compile(rb"/S" + _WS + rb"*/GoTo(?=[\x00\t\n\f\r /\[<(])")
_PREFIX = 400  # what is kept of each object: enough to judge a destination or a GoTo action
_FIRST = re.compile(rb"/First" + _WS + rb"+(\d{1,10})")
_HEX_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
# A stream's data follows its dictionary's `>>` and the `stream` keyword (whitespace between them is allowed).
_STREAM_START = re.compile(rb">>[\x00\t\n\f\r ]*stream(?:\r\n|\n|\r)")
_FILTERS = frozenset(
    {
        b"FlateDecode",
        b"Fl",
        b"LZWDecode",
        b"LZW",
        b"ASCII85Decode",
        b"A85",
        b"ASCIIHexDecode",
        b"AHx",
        b"RunLengthDecode",
        b"RL",
        b"CCITTFaxDecode",
        b"CCF",
        b"DCTDecode",
        b"DCT",
        b"JBIG2Decode",
        b"JPXDecode",
        b"Crypt",
    }
)
_DIRECT_LENGTH = re.compile(rb"/Length\s+(\d{1,12})(?!\s+\d+\s+R)")


@dataclass(frozen=True, slots=True)
class PdfVerdict:
    """Why a PDF is refused (None: nothing found)."""

    forbidden: frozenset[str]
    encrypted: bool
    unreadable: str | None

    @property
    def refused(self) -> bool:
        return bool(self.forbidden) or self.encrypted or self.unreadable is not None


def _harmless_open_action(value: bytes) -> bool:
    """A destination array, or a plain GoTo action within the file (no chained `/Next`, nothing nested)."""
    value = value.lstrip(b"\x00\t\n\f\r ")
    if value.startswith(b"["):
        return True
    end = value.find(b">>")
    if not value.startswith(b"<<") or end < 0:
        return False
    body = value[2:end]
    return b"<<" not in body and b"/Next" not in body and b"#" not in body and _GOTO.search(body) is not None


class _Names:
    """The names found so far, and the objects an `/OpenAction` points at (judged once every object is known)."""

    def __init__(self) -> None:
        self.found: set[bytes] = set()
        self.open_action_targets: set[int] = set()
        self.objects: dict[int, bytes] = {}  # object number -> the start of its text

    def read(self, text: bytes, *, only: frozenset[bytes] | None = None) -> set[bytes]:
        """Add the text's names (`#xx` decoded; only those in `only` if given) and return them."""
        names = set()
        for match in _NAME.finditer(text):
            raw, value, target = match.groups()
            name = _HEX_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), raw)
            if only is not None and name not in only:
                continue
            if name == b"OpenAction" and target:
                self.open_action_targets.add(int(target))
                continue
            if (
                name == b"OpenAction"
                and value
                and _harmless_open_action(text[match.start(2) : match.start(2) + _PREFIX])
            ):
                continue
            names.add(name)
        self.found |= names
        return names

    def read_objects(self, text: bytes) -> None:
        for match in _OBJECT_START.finditer(text):
            self.objects.setdefault(int(match.group(1)), text[match.end() : match.end() + _PREFIX])

    def read_object_stream(self, dictionary: bytes, decoded: bytes) -> None:
        first = _FIRST.findall(dictionary)
        if not first:
            return
        start = int(first[-1])
        numbers = decoded[:start].split()
        for number, offset in zip(numbers[::2], numbers[1::2], strict=False):
            if number.isdigit() and offset.isdigit():
                at = start + int(offset)
                self.objects.setdefault(int(number), decoded[at : at + _PREFIX])

    def judged(self) -> set[bytes]:
        """The names, with OpenAction if any of its targets is not harmless (or is not found)."""
        if not all(_harmless_open_action(self.objects.get(target, b"")) for target in self.open_action_targets):
            return self.found | {b"OpenAction"}
        return self.found


def _stream_end(data: bytes, dictionary: bytes, body_start: int) -> int:
    end = data.find(b"endstream", body_start)
    if end < 0:
        end = len(data)
    lengths = _DIRECT_LENGTH.findall(dictionary)
    if lengths:
        end = min(end, body_start + int(lengths[-1]))
    return end


def scan_pdf(data: bytes) -> PdfVerdict:
    """The names outside streams, in object streams, and the long ones anywhere, judged."""
    outside: list[bytes] = []
    found = _Names()
    dictionary_names = _Names()  # scratch: the stream dictionaries are read again with the text outside
    budget = DECODED_BUDGET
    unreadable: str | None = None
    position = 0
    while unreadable is None:
        match = _STREAM_START.search(data, position)
        if match is None:
            break
        dictionary_end = match.start() + 2  # through the dictionary's `>>`
        outside.append(data[position:dictionary_end])
        window = data[max(position, match.start() - 4096) : dictionary_end]
        dictionary = window[window.rfind(b"obj") + 3 :] if b"obj" in window else window
        names = dictionary_names.read(dictionary)
        end = _stream_end(data, dictionary, match.end())
        body = data[match.end() : end]
        position = max(end, match.end())
        if _STREAM_START.search(body):
            # A stream start inside what we take as one stream: a `>>stream` in a string, or a missing
            # `endstream`. Objects could hide in the part skipped, so the file is refused, not guessed at.
            unreadable = "its streams overlap"
            break
        # Names long enough never to match binary data by chance are looked for in every stream.
        found.read(body, only=_LONG_NAMES)
        if not (b"ObjStm" in names or b"First" in names):
            continue  # page content, fonts and images hold no dictionaries
        filters = names & _FILTERS
        if filters - {b"FlateDecode", b"Fl"}:
            unreadable = "its object streams use a compression this check cannot read"
            break
        decoded = body
        if filters:
            try:
                decoded = zlib.decompressobj().decompress(body, budget + 1)
            except zlib.error:
                unreadable = "an object stream is damaged"
                break
        if len(decoded) > budget:
            unreadable = "its object streams are too large to check"
            break
        budget -= len(decoded)
        found.read(decoded)
        found.read_object_stream(dictionary, decoded)
    outside.append(data[position:])
    text = b"".join(outside)
    found.read(text)
    found.read_objects(text)
    names = found.judged()
    forbidden = frozenset(name.decode("latin-1") for name in names & FORBIDDEN_NAMES)
    return PdfVerdict(forbidden, b"Encrypt" in names, unreadable)
