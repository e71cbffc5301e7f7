"""What a PDF would do when opened: its action, script, attachment and encryption names, found without a PDF library.

A PDF keeps its dictionaries as text outside its streams or, compressed, inside object streams (`/ObjStm`). So
the scan reads every name outside the streams and inside every Flate-compressed stream that is not an image, with
a budget on the decompressed size (a compressed stream can be a bomb too). Names may hide characters as `#xx`
(`/J#61vaScript`); they are decoded before they are compared. A stream's end is the earlier of its direct
`/Length` and its `endstream`, so text a reader would parse as objects is never skipped as stream data.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

# Names whose presence means the file can act on the reader's machine: scripts, actions on open or on events,
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
DECODED_BUDGET = 64 * 1024 * 1024  # decompressed bytes read from one file's streams, all together

_NAME = re.compile(rb"/([^\s/<>\[\]()%{}\x00]*)")
_HEX_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
_STREAM_START = re.compile(rb"stream(?:\r\n|\n|\r)")
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


def _names(text: bytes) -> set[bytes]:
    return {_HEX_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), raw) for raw in _NAME.findall(text)}


def _stream_end(data: bytes, dictionary: bytes, body_start: int) -> int:
    end = data.find(b"endstream", body_start)
    if end < 0:
        end = len(data)
    lengths = _DIRECT_LENGTH.findall(dictionary)
    if lengths:
        end = min(end, body_start + int(lengths[-1]))
    return end


def scan_pdf(data: bytes) -> PdfVerdict:
    """The names outside streams and in decodable streams, judged; object streams must decode."""
    outside: list[bytes] = []
    found: set[bytes] = set()
    budget = DECODED_BUDGET
    unreadable: str | None = None
    position = 0
    while unreadable is None:
        match = _STREAM_START.search(data, position)
        if match is None:
            break
        if data[max(0, match.start() - 3) : match.start()] == b"end":  # `endstream`, not a stream's start
            outside.append(data[position : match.end()])
            position = match.end()
            continue
        outside.append(data[position : match.start()])
        window = data[max(position, match.start() - 4096) : match.start()]
        dictionary = window[window.rfind(b"obj") + 3 :] if b"obj" in window else window
        names = _names(dictionary)
        end = _stream_end(data, dictionary, match.end())
        body = data[match.end() : end]
        position = max(end, match.end())
        object_stream = b"ObjStm" in names or b"First" in names
        flate = b"FlateDecode" in names or b"Fl" in names
        other_filters = names & {b"LZWDecode", b"ASCII85Decode", b"ASCIIHexDecode", b"RunLengthDecode", b"Crypt"}
        if object_stream and (not flate or other_filters):
            unreadable = "its object streams use a compression this check cannot read"
            break
        if not flate or b"Image" in names:
            continue  # images and unfiltered binary streams hold no dictionaries
        decoder = zlib.decompressobj()
        try:
            decoded = decoder.decompress(body, budget + 1)
        except zlib.error:
            if object_stream:
                unreadable = "an object stream is damaged"
            continue
        if len(decoded) > budget:
            unreadable = "its compressed content is too large to check"
            break
        budget -= len(decoded)
        found |= _names(decoded)
    outside.append(data[position:])
    found |= _names(b"".join(outside))
    forbidden = frozenset(name.decode("latin-1") for name in found & FORBIDDEN_NAMES)
    return PdfVerdict(forbidden, b"Encrypt" in found, unreadable)
