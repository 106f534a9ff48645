"""The examples a document shows, as a user would paste them, and a shell that runs them.

What counts as an example:
- a fenced `sh`, `bash` or `shell` block: every line that is not blank or a comment is one
  command (a line ending in a backslash goes on with the next); a `console` block: the lines
  starting with `$ `;
- a fenced `yaml` block: every `run:` step (with the `env:` of its step);
- a fenced `python` block: the whole block is one example, run as `python -` (the test
  environment's interpreter, first on PATH) with the block on stdin; its key is
  `python: ` and the block's first line of code.
Other blocks (toml, markdown, text) are configuration or output, not commands.

Markers: an HTML comment right before a block (blank lines and other markers may sit between),
read by the README test:
- `<!-- readme-test: skip REASON -->` skips the whole block;
- ``<!-- readme-test: skip `PREFIX` REASON -->`` skips the block's commands starting with PREFIX.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]  # PyYAML, which pre-commit (a test extra) needs

SHELL_LANGS = ("sh", "bash", "shell", "console")
PYTHON_LANGS = ("python", "py")
FENCE = re.compile(r"^```\s*([\w-]*)\s*$")
MARKER = re.compile(r"^<!--\s*readme-test:\s*skip\s+(?:`([^`]+)`\s+)?(.+?)\s*-->\s*$")
COMMENT = re.compile(r"\s+#\s.*$")


@dataclass(frozen=True)
class Example:
    """One command of a block: `command` is what runs, `key` names it in the test's tables
    (the command without its trailing comment, whitespace collapsed)."""

    doc: str
    line: int
    command: str
    env: dict[str, str] = field(default_factory=dict)
    skip: str | None = None
    label: str | None = None  # the key, when not the command (a python block's)

    @property
    def key(self) -> str:
        if self.label is not None:
            return self.label
        lines = [COMMENT.sub("", part) for part in self.command.split("\n")]
        joined = " ".join(part.rstrip("\\").strip() for part in lines)
        return " ".join(joined.split())


@dataclass(frozen=True)
class Block:
    """A fenced block of examples; `line` is its opening fence (1-based)."""

    doc: str
    line: int
    lang: str
    examples: tuple[Example, ...]
    section: str = ""  # the heading above it, and its number there when it is not the first

    @property
    def name(self) -> str:
        return f"{self.doc}:{self.line}"

    @property
    def first(self) -> str:
        return self.examples[0].key


def _shell_commands(body: list[str], start: int, console: bool) -> list[tuple[int, str]]:
    """(line number, command) for each command of a shell block whose first body line is
    `start`."""
    out: list[tuple[int, str]] = []
    pending: list[str] = []
    first = 0
    for number, raw in enumerate(body, start):
        line = raw.rstrip()
        if not pending:
            if console:
                if not line.startswith("$ "):
                    continue
                line = line[2:]
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            first = number
        pending.append(line)
        if not line.endswith("\\"):
            out.append((first, "\n".join(pending)))
            pending = []
    if pending:
        out.append((first, "\n".join(pending)))
    return out


def _run_steps(node: Any) -> list[dict[str, Any]]:
    """Every mapping with a string `run:` below `node` (a workflow, a job, a list of steps)."""
    if isinstance(node, list):
        return [step for item in node for step in _run_steps(item)]
    if not isinstance(node, dict):
        return []
    if isinstance(node.get("run"), str):
        return [node]
    return [step for value in node.values() for step in _run_steps(value)]


def _yaml_commands(body: list[str], start: int) -> list[tuple[int, str, dict[str, str]]]:
    steps = _run_steps(yaml.safe_load("\n".join(body)))
    lines = [start + i for i, text in enumerate(body) if re.match(r"^\s*-?\s*run:", text)]
    out = []
    for number, found in zip(lines, steps, strict=True):
        env = {str(k): str(v) for k, v in (found.get("env") or {}).items()}
        out.append((number, found["run"].strip(), env))
    return out


def _skip(command: str, markers: list[tuple[str | None, str]]) -> str | None:
    key = Example("", 0, command).key
    for prefix, reason in markers:
        if prefix is None or key.startswith(prefix):
            return reason
    return None


def _block(
    doc: str, fence: int, lang: str, body: list[str], markers: list[Any], section: str
) -> Block:
    if lang in PYTHON_LANGS:
        return _python_block(doc, fence, lang, body, markers, section)
    if lang == "yaml":
        found = _yaml_commands(body, fence + 1)
    else:
        found = [(n, c, {}) for n, c in _shell_commands(body, fence + 1, lang == "console")]
    examples = tuple(
        Example(doc, number, command, env, _skip(command, markers))
        for number, command, env in found
    )
    return Block(doc, fence, lang, examples, section)


def _python_block(
    doc: str, fence: int, lang: str, body: list[str], markers: list[Any], section: str
) -> Block:
    """A python block as one example: the block fed to `python -` from a quoted heredoc."""
    code = [line for line in body if line.strip() and not line.lstrip().startswith("#")]
    if not code:
        return Block(doc, fence, lang, (), section)
    label = f"python: {code[0].strip()}"
    command = "python - <<'PYTHON'\n" + "\n".join(body) + "\nPYTHON"
    skip = _skip(label, markers)
    return Block(doc, fence, lang, (Example(doc, fence + 1, command, {}, skip, label),), section)


def blocks(path: Path, doc: str) -> list[Block]:
    """The blocks of `path` that hold at least one example, in order."""
    lines = path.read_text(encoding="utf-8").splitlines()
    out: list[Block] = []
    markers: list[tuple[str | None, str]] = []
    heading, seen = doc, 0
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        marker = MARKER.match(line)
        if marker:
            markers.append((marker.group(1), marker.group(2)))
            continue
        if line.startswith("#"):
            heading, seen = line.lstrip("#").strip().replace("`", ""), 0
        fence = FENCE.match(line)
        if not fence:
            if line.strip():
                markers = []
            continue
        fence_line, lang = index, fence.group(1).lower()
        body: list[str] = []
        while index < len(lines) and not lines[index].startswith("```"):
            body.append(lines[index])
            index += 1
        index += 1
        if lang in SHELL_LANGS or lang in PYTHON_LANGS or lang == "yaml":
            section = heading if seen == 0 else f"{heading} {seen + 1}"
            block = _block(doc, fence_line, lang, body, markers, section)
            if block.examples:
                out.append(block)
                seen += 1
        markers = []
    return out


@dataclass
class Shell:
    """Runs commands one at a time as a user's shell would: each in bash, in the folder the
    previous one left, with the variables the previous ones exported (`export`, an activated
    venv)."""

    cwd: Path
    env: dict[str, str]
    state: Path

    def run(self, command: str, timeout: float) -> subprocess.CompletedProcess[str]:
        state, where = self.state / "exports.sh", self.state / "cwd"
        if not where.exists():
            self.state.mkdir(parents=True, exist_ok=True)
            state.write_text("")
            where.write_text(str(self.cwd))
        script = (
            f'. "{state}"\ncd "$(cat "{where}")" || exit 99\n{command}\n'
            f'__rc=$?\nexport -p > "{state}"\npwd > "{where}"\nexit $__rc\n'
        )
        return subprocess.run(
            ["bash", "-c", script],
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    @property
    def folder(self) -> Path:
        where = self.state / "cwd"
        return Path(where.read_text().strip()) if where.exists() else self.cwd


def clean_environ() -> dict[str, str]:
    """os.environ without anything that points v4code somewhere: every DEEPSEEK_* and
    V4CODE_* variable (V4CODE_HOME included) and the XDG_*_HOME folders (so HOME decides)."""
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DEEPSEEK_", "V4CODE_"))
        and not (name.startswith("XDG_") and name.endswith("_HOME"))
    }
