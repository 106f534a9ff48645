"""The code of the methods `dataclasses` writes, compiled once and kept between runs.

`@dataclass` writes each class's `__init__`, `__repr__`, `__eq__`, ... as source text and
compiles it with `exec`: a `v4code run` start makes some 400 of these compiles, most of the
time its dataclasses take to define and a good part of its import time (CPython 3.11). The text
is the same on every run, so the command line gives the `dataclasses` module an `exec` that
finds the compiled code by its text in one file under the user's cache, and compiles only
what is not there, exactly as `exec` would (the file name `<string>`, no inherited future
flags): the classes and methods made are the same, only sooner.

The file is marshal data, as `__pycache__` is: written for this interpreter only (a file from
another Python, or one that does not read back, is ignored and written again), at most
`MAX_ENTRIES` texts, and only when something new was compiled. The library (`import v4code`)
never installs it: a program using the API keeps its own `dataclasses` untouched.
"""

from __future__ import annotations

import atexit
import builtins
import contextlib
import dataclasses
import marshal
import sys
from pathlib import Path
from types import CodeType
from typing import Any

__all__ = ["MAX_ENTRIES", "install", "save"]

MAX_ENTRIES = 2048
"""Past this many texts nothing more is kept (a program defining classes in a loop)."""

_installed: _Codes | None = None


class _Codes:
    """The compiled texts read from `file`, and the `exec` that uses and adds to them."""

    def __init__(self, file: Path) -> None:
        self.file = file
        self.stamp = f"{sys.version}|{sys.implementation.cache_tag}"
        self.codes: dict[str, CodeType] = {}
        self.changed = False
        try:
            data = marshal.loads(file.read_bytes())
        except (OSError, ValueError, EOFError, TypeError):
            return
        fits = isinstance(data, tuple) and len(data) == 2 and data[0] == self.stamp
        if fits and isinstance(data[1], dict):
            self.codes = data[1]  # each value is checked when used, not all of them here

    def exec(self, source: Any, globals: Any = None, locals: Any = None, /) -> None:
        """`exec` as `dataclasses` calls it; any other call is passed on unchanged."""
        if globals is None:  # exec's own default: the caller's globals (and its locals)
            frame = sys._getframe(1)
            globals = frame.f_globals
            locals = frame.f_locals if locals is None else locals
        if not isinstance(source, str):
            builtins.exec(source, globals, locals)
            return
        code = self.codes.get(source)
        if type(code) is not CodeType:
            code = compile(source, "<string>", "exec", dont_inherit=True)
            if len(self.codes) < MAX_ENTRIES:
                self.codes[source] = code
                self.changed = True
        builtins.exec(code, globals, locals)

    def save(self) -> None:
        """Write the file if anything was added; a cache that cannot be written is no error."""
        if not self.changed:
            return
        self.changed = False
        from v4code.edits.atomic import atomic_write  # at exit only: not a start-up import

        data = marshal.dumps((self.stamp, self.codes))
        with contextlib.suppress(OSError):  # atomic_write removes its temp file on failure
            self.file.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(self.file, data, sync=False)  # a lost cache is only a recompile


def install(cache_dir: Path) -> None:
    """Give `dataclasses` the caching `exec` (once; CPython only), saved at exit."""
    global _installed
    if _installed is not None or sys.implementation.name != "cpython":
        return
    tag = sys.implementation.cache_tag or "python"
    _installed = _Codes(cache_dir / f"dataclass-code.{tag}.marshal")
    dataclasses.exec = _installed.exec  # type: ignore[attr-defined]  # found before the builtin
    atexit.register(save)


def save() -> None:
    """Write what was compiled anew (before an `os._exit`, which skips `atexit`)."""
    if _installed is not None:
        _installed.save()
