"""Text files as the edit tools see them: decoded, with one line-ending convention, and back.

The model reads and writes `\\n`. A file keeps its own bytes: its encoding (UTF-8, UTF-8 with
a BOM, or Latin-1 for anything that is not valid UTF-8, which decodes every byte and so
round-trips exactly), its line endings (a pure CRLF file is edited as LF text and written back
as CRLF; a file with mixed endings is edited raw, see `match.py`) and its final newline.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

from v4code.errors import ToolError
from v4code.textio import SNIFF_BYTES, UTF16_BOMS, binary_kind

MAX_EDIT_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True)
class TextDoc:
    """A decoded file. `newline` is "\\n", "\\r\\n", or "" when the endings are mixed (raw text)."""

    text: str
    encoding: str = "utf-8"
    newline: str = "\n"

    def encode(self, text: str, path: str = "the file") -> bytes:
        """Turn edited LF text back into bytes with this file's conventions."""
        if self.newline == "\r\n":
            text = text.replace("\n", "\r\n")
        try:
            return text.encode(self.encoding)
        except UnicodeEncodeError as exc:
            bad = text[exc.start]
            raise ToolError(
                f"{path} is a {self.encoding} file and the new text contains {bad!r} "
                f"(U+{ord(bad):04X}), which {self.encoding} cannot represent. Use only "
                f"characters the file's encoding has (or an escape sequence in the code)."
            ) from None

    def normalise_input(self, value: str) -> str:
        """The model's strings in this document's convention (it writes LF; CR-LF becomes LF)."""
        return value.replace("\r\n", "\n")


def detect_newline(data: bytes) -> str:
    crlf = data.count(b"\r\n")
    lf = data.count(b"\n") - crlf
    lone_cr = data.count(b"\r") - crlf
    if lone_cr:
        return ""
    if crlf and lf:
        return ""
    return "\r\n" if crlf else "\n"


def decode(data: bytes, path: str = "the file") -> TextDoc:
    """Decode a file for editing; refuse binary files rather than risk corrupting them."""
    if len(data) > MAX_EDIT_BYTES:
        raise ToolError(
            f"{path} is {len(data) // (1024 * 1024)} MB; v4code edits text files up to "
            f"{MAX_EDIT_BYTES // (1024 * 1024)} MB."
        )
    if data.startswith(UTF16_BOMS):
        raise ToolError(f"{path} is a UTF-16 file; v4code edits UTF-8 and Latin-1 text only.")
    kind = binary_kind(data[:SNIFF_BYTES])
    if kind is not None:
        raise ToolError(f"{path} looks like a binary file ({kind}); not editing it.")
    if data.startswith(codecs.BOM_UTF8):
        try:
            encoding, text = "utf-8-sig", data.decode("utf-8-sig")
        except UnicodeDecodeError:
            encoding, text = "latin-1", data.decode("latin-1")
    else:
        try:
            encoding, text = "utf-8", data.decode("utf-8")
        except UnicodeDecodeError:
            encoding, text = "latin-1", data.decode("latin-1")
    newline = detect_newline(data)
    if newline == "\r\n":
        text = text.replace("\r\n", "\n")
    return TextDoc(text=text, encoding=encoding, newline=newline)


def new_doc() -> TextDoc:
    """The conventions of a file v4code creates: UTF-8, LF."""
    return TextDoc(text="", encoding="utf-8", newline="\n")
