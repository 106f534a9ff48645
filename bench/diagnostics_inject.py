"""Errors planted in real Python files, one of each class, for bench/diagnostics.py.

Each injector takes a file's text (which parses), picks one place (preferring the lines the
commit changed, where an agent's own slip would be), and returns the text with one error of
its class and the line a checker should point at. The planted names are new to the file (and
to the module imported from), so no existing error has the same message.
"""

from __future__ import annotations

import ast
import builtins
import keyword
import random
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

__all__ = ["CLASSES", "Injection", "Source", "inject"]

CLASSES = ("undefined_name", "attribute", "arity", "bad_import", "syntax", "return_type")
SIMPLE_TYPES = {"str": "42", "bytes": "42", "int": '"wrong"', "float": '"wrong"', "bool": '"no"'}


@dataclass(frozen=True)
class Injection:
    kind: str
    text: str  # the file with the error in it
    line: int  # 1-based line the error is on
    what: str  # one line for the report: what was changed


@dataclass
class Source:
    """A file to plant errors in: its text, tree, place in the repository, changed lines."""

    path: str  # relative to the repository root
    text: str
    tree: ast.Module
    root: Path  # the checked-out repository
    preferred: set[int]  # lines the commit changed (and a few around them)
    rng: random.Random

    @property
    def lines(self) -> list[str]:
        return self.text.splitlines(keepends=True)

    def index(self, lineno: int, col: int) -> int:
        """Character index of an ast position (its column counts UTF-8 bytes)."""
        lines = self.lines
        head = lines[lineno - 1].encode("utf-8")[:col].decode("utf-8", "replace")
        return sum(len(line) for line in lines[: lineno - 1]) + len(head)

    def replaced(self, start: int, end: int, new: str) -> str:
        return self.text[:start] + new + self.text[end:]

    def pick(
        self, candidates: Sequence[tuple[int, Callable[[], Injection | None]]]
    ) -> Injection | None:
        """One candidate, those on the commit's lines first; a candidate may still decline."""
        near = [c for c in candidates if c[0] in self.preferred]
        far = [c for c in candidates if c[0] not in self.preferred]
        for pool in (near, far):
            order = list(pool)
            self.rng.shuffle(order)
            for _, make in order:
                made = make()
                if made is not None:
                    return made
        return None


def inject(source: Source, kind: str) -> Injection | None:
    """The file with one error of `kind`, or None when the file offers no place for one."""
    return INJECTORS[kind](source)


# --- names ---------------------------------------------------------------------------------


def identifiers(text: str) -> set[str]:
    return set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text))


def misspelt(name: str, taken: set[str], rng: random.Random) -> str | None:
    """A typo of `name` (a letter dropped, doubled or swapped) that names nothing known."""
    options = []
    for i in range(1, len(name)):
        options.append(name[:i] + name[i + 1 :])  # dropped
        options.append(name[:i] + name[i] + name[i:])  # doubled
        if i + 1 < len(name):
            options.append(name[:i] + name[i + 1] + name[i] + name[i + 2 :])  # swapped
    options.append(name + "s" if not name.endswith("s") else name + "x")
    rng.shuffle(options)
    for option in options:
        fine = option.isidentifier() and not keyword.iskeyword(option)
        if fine and option not in taken and not hasattr(builtins, option) and option != name:
            return option
    return None


def _own_nodes(body: Sequence[ast.stmt]) -> Iterator[ast.AST]:
    """Every node of a function body, not those of functions, lambdas or classes inside it."""
    stack: list[ast.AST] = list(body)
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if not isinstance(
                child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef
            ):
                stack.append(child)


def _undefined_name(src: Source) -> Injection | None:
    taken = identifiers(src.text)
    candidates: list[tuple[int, Callable[[], Injection | None]]] = []
    for node in ast.walk(src.tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            candidates.append((node.lineno, partial(_rename, src, node, taken)))
    return src.pick(candidates)


def _rename(src: Source, node: ast.Name, taken: set[str]) -> Injection | None:
    new = misspelt(node.id, taken, src.rng)
    if new is None or node.end_col_offset is None or node.lineno != node.end_lineno:
        return None
    start = src.index(node.lineno, node.col_offset)
    text = src.replaced(start, start + len(node.id), new)
    return Injection("undefined_name", text, node.lineno, f"{node.id} -> {new}")


# --- classes and their methods -------------------------------------------------------------


def _classes(tree: ast.Module) -> Iterator[ast.ClassDef]:
    """Classes whose attributes a checker knows: no __getattr__ of their own."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            names = {f.name for f in node.body if isinstance(f, ast.FunctionDef)}
            if not names & {"__getattr__", "__getattribute__"}:
                yield node


def _methods(cls: ast.ClassDef) -> Iterator[ast.FunctionDef]:
    """Methods taking `self` (no decorator: a static or class method takes none)."""
    for node in cls.body:
        if not isinstance(node, ast.FunctionDef) or node.decorator_list or not node.args.args:
            continue
        if node.args.args[0].arg == "self":
            yield node


def _self_attributes(method: ast.FunctionDef) -> Iterator[ast.Attribute]:
    for node in _own_nodes(method.body):
        if not isinstance(node, ast.Attribute) or not isinstance(node.ctx, ast.Load):
            continue
        if isinstance(node.value, ast.Name) and node.value.id == "self":
            yield node


def _attribute(src: Source) -> Injection | None:
    taken = identifiers(src.text)
    candidates: list[tuple[int, Callable[[], Injection | None]]] = []
    for cls in _classes(src.tree):
        for method in _methods(cls):
            for node in _self_attributes(method):
                candidates.append(
                    (node.end_lineno or node.lineno, partial(_misattr, src, node, taken))
                )
    return src.pick(candidates)


def _misattr(src: Source, node: ast.Attribute, taken: set[str]) -> Injection | None:
    new = misspelt(node.attr, taken, src.rng)
    if new is None or node.end_lineno is None or node.end_col_offset is None:
        return None
    end = src.index(node.end_lineno, node.end_col_offset)
    if src.text[end - len(node.attr) : end] != node.attr:
        return None
    text = src.replaced(end - len(node.attr), end, new)
    return Injection("attribute", text, node.end_lineno, f"self.{node.attr} -> self.{new}")


# --- calls ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Signature:
    required: int  # positional parameters without a default
    most: int | None  # positional parameters in all; None with *args
    names: tuple[str, ...]


def _signature(node: ast.FunctionDef, skip: int = 0) -> Signature:
    args = node.args
    positional = [a.arg for a in args.posonlyargs + args.args][skip:]
    required = max(0, len(positional) - len(args.defaults))
    most = None if args.vararg is not None else len(positional)
    return Signature(required, most, tuple(positional))


def _top_functions(tree: ast.Module) -> dict[str, ast.FunctionDef]:
    """Module-level functions defined once, undecorated, and never assigned over."""
    count: dict[str, int] = {}
    found: dict[str, ast.FunctionDef] = {}
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names = [node.name]
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names = [node.id]
        elif isinstance(node, ast.alias):
            names = [node.asname or node.name.split(".")[0]]
        for name in names:
            count[name] = count.get(name, 0) + 1
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and not node.decorator_list:
            found[node.name] = node
    return {name: node for name, node in found.items() if count.get(name) == 1}


def module_file(src: Source, module: str | None, level: int) -> Path | None:
    """The repository file an import names (relative, or absolute from the root or `src/`)."""
    parts = module.split(".") if module else []
    if level > 0:
        base = (src.root / src.path).parent
        for _ in range(level - 1):
            base = base.parent
        bases = [base]
    else:
        bases = [src.root, src.root / "src"]
    for base in bases:
        target = base.joinpath(*parts)
        options = [target.with_suffix(".py"), target / "__init__.py"] if parts else []
        options += [] if parts else [target / "__init__.py"]
        found = next((p for p in options if p.is_file()), None)
        if found is not None:
            return found
    return None


def _parsed(path: Path) -> ast.Module | None:
    try:
        return ast.parse(path.read_text(encoding="utf-8"))
    except (SyntaxError, ValueError, OSError):
        return None


def _callables(src: Source) -> dict[str, Signature]:
    """Functions the file calls by name: its own, and those it imports from the repository."""
    mine = _top_functions(src.tree)
    out = {name: _signature(node) for name, node in mine.items()}
    local_count = {n: 0 for n in identifiers(src.text)}
    for node in src.tree.body:
        if not isinstance(node, ast.ImportFrom) or (node.level == 0 and not node.module):
            continue
        target = module_file(src, node.module, node.level)
        tree = _parsed(target) if target is not None else None
        if tree is None:
            continue
        theirs = _top_functions(tree)
        for alias in node.names:
            local = alias.asname or alias.name
            if alias.name in theirs and local in local_count and local not in mine:
                out.setdefault(local, _signature(theirs[alias.name]))
    return out


def _arity(src: Source) -> Injection | None:
    functions = _callables(src)
    candidates: list[tuple[int, Callable[[], Injection | None]]] = []
    for node in ast.walk(src.tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            sig = functions.get(node.func.id)
            if sig is not None:
                candidates.append((node.lineno, partial(_miscall, src, node, sig)))
    for cls in _classes(src.tree):
        methods = {m.name: _signature(m, skip=1) for m in _methods(cls)}
        for method in _methods(cls):
            for node in _own_nodes(method.body):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                    owner, name = node.func.value, node.func.attr
                    if isinstance(owner, ast.Name) and owner.id == "self" and name in methods:
                        sig = methods[name]
                        candidates.append((node.lineno, partial(_miscall, src, node, sig)))
    return src.pick(candidates)


def _miscall(src: Source, call: ast.Call, sig: Signature) -> Injection | None:
    """One positional argument too many, or the last required one left out."""
    if any(isinstance(a, ast.Starred) for a in call.args) or any(
        k.arg is None for k in call.keywords
    ):
        return None
    given, named = len(call.args), {k.arg for k in call.keywords}
    if sig.most is not None and given == sig.most:
        return _extra_argument(src, call)
    if 1 <= given <= sig.required and sig.names[given - 1] not in named:
        return _dropped_argument(src, call)
    return None


def _extra_argument(src: Source, call: ast.Call) -> Injection | None:
    if call.args:
        last = call.args[-1]
        if last.end_lineno is None or last.end_col_offset is None:
            return None
        at = src.index(last.end_lineno, last.end_col_offset)
        text, line = src.replaced(at, at, ", None"), last.end_lineno
    else:
        func = call.func
        if func.end_lineno is None or func.end_col_offset is None:
            return None
        at = src.text.find("(", src.index(func.end_lineno, func.end_col_offset))
        if at < 0:
            return None
        extra = "None, " if call.keywords else "None"
        text, line = src.replaced(at + 1, at + 1, extra), func.end_lineno
    return Injection("arity", text, line, f"one argument too many at line {line}")


def _dropped_argument(src: Source, call: ast.Call) -> Injection | None:
    last = call.args[-1]
    if last.end_lineno is None or last.end_col_offset is None:
        return None
    end = src.index(last.end_lineno, last.end_col_offset)
    if len(call.args) > 1:
        before = call.args[-2]
        if before.end_lineno is None or before.end_col_offset is None:
            return None
        start = src.index(before.end_lineno, before.end_col_offset)
    elif call.keywords:
        start, end = (
            src.index(last.lineno, last.col_offset),
            src.index(call.keywords[0].lineno, call.keywords[0].col_offset),
        )
    else:
        start = src.index(last.lineno, last.col_offset)
    text = src.replaced(start, end, "")
    return Injection("arity", text, call.lineno, f"last argument left out at line {call.lineno}")


# --- imports -------------------------------------------------------------------------------


def _bad_import(src: Source) -> Injection | None:
    candidates: list[tuple[int, Callable[[], Injection | None]]] = []
    for node in src.tree.body:
        if isinstance(node, ast.ImportFrom) and not any(a.name == "*" for a in node.names):
            target = module_file(src, node.module, node.level)
            if target is not None and (node.level > 0 or node.module):
                line = node.end_lineno or node.lineno
                candidates.append((line, partial(_import_more, src, node, target)))
    return src.pick(candidates) or _import_line(src)


def _import_more(src: Source, node: ast.ImportFrom, target: Path) -> Injection | None:
    """`from .utils import a` -> `from .utils import a, b` where utils defines no `b`."""
    taken = identifiers(target.read_text(encoding="utf-8", errors="replace"))
    taken |= {p.stem for p in target.parent.iterdir()} | identifiers(src.text)
    last = node.names[-1]
    new = misspelt(node.names[0].name, taken, src.rng)
    if new is None or last.end_lineno is None or last.end_col_offset is None:
        return None
    at = src.index(last.end_lineno, last.end_col_offset)
    text = src.replaced(at, at, f", {new}")
    return Injection(
        "bad_import", text, last.end_lineno, f"import {new} added (not in {target.name})"
    )


def _import_line(src: Source) -> Injection | None:
    """No import from the repository to extend: a new line importing a name it lacks."""
    imports = [n for n in src.tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
    folders = [src.root, *([src.root / "src"] if (src.root / "src").is_dir() else [])]
    packages = [p for f in folders for p in sorted(f.iterdir()) if (p / "__init__.py").is_file()]
    package = next((p for p in packages if p.name not in ("tests", "test", "docs")), None)
    if not imports or package is None:
        return None
    taken = identifiers((package / "__init__.py").read_text(encoding="utf-8", errors="replace"))
    new = misspelt("Session", taken | {p.stem for p in package.iterdir()}, src.rng)
    end = imports[-1].end_lineno or imports[-1].lineno
    if new is None:
        return None
    at = sum(len(line) for line in src.lines[:end])
    text = src.replaced(at, at, f"from {package.name} import {new}\n")
    return Injection("bad_import", text, end + 1, f"new line: from {package.name} import {new}")


# --- syntax and return types ---------------------------------------------------------------


def _syntax(src: Source) -> Injection | None:
    """The colon of a one-line compound statement's header left out."""
    kinds = ast.If | ast.For | ast.While | ast.With | ast.FunctionDef | ast.ClassDef | ast.Try
    candidates: list[tuple[int, Callable[[], Injection | None]]] = []
    for node in ast.walk(src.tree):
        if isinstance(node, kinds) and node.body and node.body[0].lineno > node.lineno:
            candidates.append((node.lineno, partial(_drop_colon, src, node.lineno)))
    return src.pick(candidates)


def _drop_colon(src: Source, lineno: int) -> Injection | None:
    line = src.lines[lineno - 1]
    code = line.rstrip("\r\n").rstrip()
    if "#" in code or not code.endswith(":"):
        return None
    start = sum(len(x) for x in src.lines[: lineno - 1]) + len(code) - 1
    return Injection(
        "syntax", src.replaced(start, start + 1, ""), lineno, f"':' dropped at {lineno}"
    )


def _return_type(src: Source) -> Injection | None:
    candidates: list[tuple[int, Callable[[], Injection | None]]] = []
    for node in ast.walk(src.tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        returns = node.returns
        if isinstance(returns, ast.Constant) and returns.value is None:
            wrong = "42"
        elif isinstance(returns, ast.Name):
            wrong = SIMPLE_TYPES.get(returns.id, "")
        else:
            wrong = ""
        for ret in _own_nodes(node.body) if wrong else ():
            if isinstance(ret, ast.Return) and ret.value is not None:
                candidates.append((ret.lineno, partial(_wrong_return, src, ret, wrong)))
    return src.pick(candidates)


def _wrong_return(src: Source, ret: ast.Return, wrong: str) -> Injection | None:
    value = ret.value
    if value is None or value.end_lineno is None or value.end_col_offset is None:
        return None
    start = src.index(value.lineno, value.col_offset)
    end = src.index(value.end_lineno, value.end_col_offset)
    text = src.replaced(start, end, wrong)
    return Injection("return_type", text, ret.lineno, f"return {wrong} at {ret.lineno}")


INJECTORS: dict[str, Callable[[Source], Injection | None]] = {
    "undefined_name": _undefined_name,
    "attribute": _attribute,
    "arity": _arity,
    "bad_import": _bad_import,
    "syntax": _syntax,
    "return_type": _return_type,
}
