"""The command line's cache of dataclass method code: the classes it makes are the ones
`dataclasses` makes, whether the code was compiled now or read back from the file."""

from __future__ import annotations

import dataclasses
import marshal
from pathlib import Path
from typing import Any

import pytest

from v4code import dataclass_code
from v4code.dataclass_code import _Codes

SOURCE = """
from __future__ import annotations
from dataclasses import dataclass, field
from typing import ClassVar

@dataclass(frozen=True, slots=True)
class Point:
    kind: ClassVar[str] = "point"
    x: int
    y: int = 0
    tags: tuple[str, ...] = field(default_factory=tuple)

@dataclass(order=True)
class Plain:
    name: str
    size: float = 1.5
"""


def define(codes: _Codes | None, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The module SOURCE defines, with `codes` as dataclasses' exec (None: the builtin)."""
    import sys
    import types

    if codes is not None:
        monkeypatch.setattr(dataclasses, "exec", codes.exec, raising=False)
    else:
        monkeypatch.delattr(dataclasses, "exec", raising=False)
    module = types.ModuleType("defined_here")
    monkeypatch.setitem(sys.modules, "defined_here", module)
    exec(compile(SOURCE, "defined_here.py", "exec"), module.__dict__)
    return module.__dict__


def behaviour(ns: dict[str, Any]) -> list[object]:
    point, plain = ns["Point"], ns["Plain"]
    p = point(1, 2, ("a",))
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.x = 3
    return [
        repr(p),
        p == point(1, 2, ("a",)),
        hash(p) == hash(point(1, 2, ("a",))),
        point.__match_args__,
        point.__slots__,
        [f.name for f in dataclasses.fields(point)],
        repr(dataclasses.replace(p, y=5)),
        plain("a") < plain("b"),
        repr(plain("n")),
        plain.__init__.__code__.co_filename,
        plain.__init__.__defaults__,
    ]


def test_the_classes_are_the_same_compiled_now_or_read_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = tmp_path / "cache" / "codes.marshal"
    plain = behaviour(define(None, monkeypatch))
    first = _Codes(file)
    assert behaviour(define(first, monkeypatch)) == plain
    assert first.changed and first.codes
    first.save()
    again = _Codes(file)
    assert again.codes.keys() == first.codes.keys()
    assert behaviour(define(again, monkeypatch)) == plain
    assert not again.changed  # nothing compiled: every text was in the file


@pytest.mark.parametrize("content", [b"", b"not marshal", None])
def test_a_damaged_or_foreign_file_is_ignored_and_written_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: bytes | None
) -> None:
    file = tmp_path / "codes.marshal"
    file.write_bytes(
        content if content is not None else marshal.dumps(("another python", {"x": 1}))
    )
    codes = _Codes(file)
    assert codes.codes == {}
    assert behaviour(define(codes, monkeypatch)) == behaviour(define(None, monkeypatch))
    codes.save()
    assert _Codes(file).codes.keys() == codes.codes.keys()


def test_an_unwritable_cache_is_no_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the folder should be\n")
    codes = _Codes(blocked / "codes.marshal")
    define(codes, monkeypatch)
    codes.save()  # no exception


def test_exec_called_otherwise_is_exec(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    codes = _Codes(tmp_path / "codes.marshal")
    space: dict[str, Any] = {}
    codes.exec(compile("y = 2", "<x>", "exec"), space)
    codes.exec("z = y + 1", space)
    assert (space["y"], space["z"]) == (2, 3)
    assert dataclass_code.MAX_ENTRIES >= len(codes.codes) == 1


def test_an_entry_that_is_no_code_is_compiled_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = tmp_path / "codes.marshal"
    first = _Codes(file)
    define(first, monkeypatch)
    file.write_bytes(marshal.dumps((first.stamp, dict.fromkeys(first.codes, 1))))
    damaged = _Codes(file)
    assert behaviour(define(damaged, monkeypatch)) == behaviour(define(None, monkeypatch))
    assert damaged.changed
