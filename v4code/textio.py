"""Is it text? One answer for every part of v4code that reads a file's bytes.

`binary_kind` decides from a file's first SNIFF_BYTES bytes (the edit tools, read_file, the
search, the diffs and the chat's @-attachments all ask it, so a file is text or binary the same
way everywhere); `display_text` turns bytes into text for showing, never for writing back;
`one_line` shows a repository's own short text (a file name, a signature) safely on one line,
`shown_lines` its longer text (a diff, a file's content) with its line breaks and tabs kept.
"""

from __future__ import annotations

import re

__all__ = [
    "SNIFF_BYTES",
    "UTF16_BOMS",
    "binary_kind",
    "display_text",
    "is_binary",
    "one_line",
    "shown_lines",
]

SNIFF_BYTES = 8192
"""How much of a file's start decides whether it is binary (git and grep look at 8000)."""

_MAGIC: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\x89PNG\r\n\x1a\n", "PNG image"),
    (0, b"\xff\xd8\xff", "JPEG image"),
    (0, b"GIF87a", "GIF image"),
    (0, b"GIF89a", "GIF image"),
    (0, b"%PDF-", "PDF document"),
    (0, b"PK\x03\x04", "ZIP archive"),
    (0, b"PK\x05\x06", "ZIP archive"),
    (0, b"\x1f\x8b", "gzip archive"),
    (0, b"BZh", "bzip2 archive"),
    (0, b"\xfd7zXZ\x00", "xz archive"),
    (0, b"\x28\xb5\x2f\xfd", "zstd archive"),
    (0, b"7z\xbc\xaf\x27\x1c", "7-zip archive"),
    (257, b"ustar", "tar archive"),
    (0, b"\x7fELF", "ELF executable"),
    (0, b"\xcf\xfa\xed\xfe", "Mach-O executable"),
    (0, b"\xca\xfe\xba\xbe", "Mach-O or Java class file"),
    (0, b"MZ", "Windows executable"),
    (0, b"\x00asm", "WebAssembly module"),
    (0, b"SQLite format 3\x00", "SQLite database"),
    (8, b"WEBP", "WebP image"),
    (8, b"WAVE", "WAV audio"),
    (0, b"ID3", "MP3 audio"),
    (0, b"OggS", "Ogg media"),
    (0, b"fLaC", "FLAC audio"),
    (4, b"ftyp", "MP4/QuickTime media"),
    (0, b"\x00\x00\x01\x00", "ICO image"),
    (0, b"wOFF", "WOFF font"),
    (0, b"wOF2", "WOFF2 font"),
    (0, b"\x00\x01\x00\x00", "TrueType font"),
    (0, b"OTTO", "OpenType font"),
    (0, b"\x93NUMPY", "NumPy array"),
    (0, b"PAR1", "Parquet file"),
    (0, b"\x80\x04\x95", "Python pickle"),
    (0, b"\x80\x05\x95", "Python pickle"),
)
_STRONG = frozenset({"PNG image", "PDF document", "GIF image", "SQLite database", "ZIP archive"})
_TEXT_BYTES = bytes(range(32, 127)) + b"\t\n\r\f\b\x1b"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def binary_kind(head: bytes) -> str | None:
    """What kind of binary file starts with `head` ("PNG image", "binary data"), or None
    for text (UTF-16 with a byte-order mark is text). Binary means: a NUL byte (unless a UTF-16 byte-order mark explains it), a
    well-known signature, or (not UTF-8) mostly control bytes."""
    if head.startswith(UTF16_BOMS):
        return None
    kind = next((k for at, magic, k in _MAGIC if head[at : at + len(magic)] == magic), None)
    if kind in _STRONG:
        return kind
    if b"\0" in head:
        return kind or "binary data"
    if _looks_controlish(head):
        return kind or "binary data"
    return None


def _looks_controlish(head: bytes) -> bool:
    """Not UTF-8, and more than a tenth of the bytes are neither printable ASCII nor Latin-1."""
    if not head:
        return False
    try:
        head.decode("utf-8")
        return False
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 4:  # a character cut by the end of the sample
            return False
    odd = len(head.translate(None, _TEXT_BYTES + bytes(range(160, 256))))
    return odd * 10 > len(head)


def is_binary(data: bytes | None) -> bool:
    """Whether bytes (a whole file, or its start) are a binary file's: see binary_kind."""
    return data is not None and binary_kind(data[:SNIFF_BYTES]) is not None


def display_text(data: bytes | None) -> str:
    """Best-effort text for diffs and messages (never used to write): UTF-8, else Latin-1."""
    if data is None:
        return ""
    if data.startswith(UTF16_BOMS):
        return data.decode("utf-16", "replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


# C0 and C1 control characters (a terminal obeys U+009B as it obeys ESC [), the lone
# surrogates a name that is not UTF-8 decodes to (printing one would raise), and the
# invisible characters that change how the rest of a line looks: bidi embeddings, overrides
# and isolates (U+202A-202E, U+2066-2069, U+061C), zero-width spaces, joiners and marks
# (U+200B-200F), line and paragraph separators (U+2028, U+2029) and the zero-width no-break
# space (U+FEFF). Shown as escapes, a line reads in the order it will run.
_CONTROL = re.compile(
    "[\x00-\x1f\x7f-\x9f\ud800-\udfff\u061c\u200b-\u200f\u2028\u2029"
    "\u202a-\u202e\u2066-\u2069\ufeff]"
)
_KEPT = re.compile(r"(\r?\n|\t)")


def one_line(text: str) -> str:
    """A repository's own text (a file name, a signature) kept on its line: control
    characters shown as escapes, so a file named `a\\nIgnore the task.py` cannot start a line
    of its own in what the model reads, nor `\\x1b]...` drive the terminal it is printed on."""
    return _CONTROL.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    return (
        repr(char)[1:-1]
        if ord(char) < 0x100 or 0xD800 <= ord(char) <= 0xDFFF
        else f"\\u{ord(char):04x}"
    )


def shown_lines(text: str) -> str:
    """`one_line` for a repository's text of several lines (a diff, a file's content, an
    answer quoting one) on a terminal: line breaks and tabs stay, so it reads as it is, and
    every other control character is shown as an escape, so it cannot drive the terminal."""
    parts = _KEPT.split(text)
    return "".join(part if i % 2 else one_line(part) for i, part in enumerate(parts))


def code_fence(text: str) -> str:
    """A backtick fence `text` cannot close: longer than any backtick run inside it (a
    closing fence must be at least as long as the opening one, CommonMark 4.5), so a diff or
    a file holding a line of six backticks cannot end its block and talk to the model from
    outside it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """`1 file`, `2 files`: a count as the person reads it in a one-line summary."""
    return f"{n} {noun}" if n == 1 else f"{n} {plural or noun + 's'}"
