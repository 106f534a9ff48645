"""The import direction ARCHITECTURE.md describes, checked against the code.

A part may import parts in its own layer or below, never above: that is what keeps the loop
free of edits and backends, and lets a new feature land in one obvious place. Imports under
`if TYPE_CHECKING:` do not run and are not counted, except where a rule says otherwise.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Bottom to top. The longest matching prefix decides a module's layer.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    (
        "ground",
        (
            "v4code.types",
            "v4code.errors",
            "v4code.textio",
            "v4code.workflow_commands",
            "v4code.dataclass_code",
            "v4code.say",
            "v4code.cancel",
            "v4code.events",
            "v4code.diffs",
            "v4code.workspace",
            "v4code.conversation",
            "v4code.relay",
            # Leaves: they import nothing from v4code, so every layer may use them.
            "v4code.edits.atomic",
            "v4code.safety.redact",
            "v4code.safety.key_handoff",
            "v4code.safety.secret_files",
            "v4code.safety.programs",
            "v4code.globs",
            "v4code.newest_files",
            "v4code.choices",
            "v4code.engines.table",
            "v4code.engines.sources",
            "v4code.home",
            "v4code.project_rules",
            "v4code.prompt_files",
            "v4code.tool_args",
        ),
    ),
    (
        "store",
        (
            "v4code.config",
            "v4code.toml_tables",
            "v4code.pricing",
            "v4code.sessions",
            "v4code.assets",
            "v4code.safety.trust",
            "v4code.project_layer",
        ),
    ),
    ("safety", ("v4code.safety",)),
    ("backends", ("v4code.backends",)),
    ("forge", ("v4code.forge",)),
    ("repo", ("v4code.repo",)),
    (
        "tool core",
        (
            "v4code.toolkit",
            "v4code.tool_context",
            "v4code.tool_cards",
            "v4code.protocols",
            "v4code.turn",
        ),
    ),
    ("edits", ("v4code.edits",)),
    ("reading", ("v4code.repomap",)),
    (
        "turn parts",
        (
            "v4code.pipeline",
            "v4code.controls",
            "v4code.instructions",
            "v4code.notes",
            "v4code.planning",
            "v4code.hooks",
            "v4code.custom_commands",
            "v4code.routing",
            "v4code.named_agents",
        ),
    ),
    ("extensions", ("v4code.mcp", "v4code.lsp")),
    ("engines", ("v4code.engines",)),
    ("loop", ("v4code.agent", "v4code.compaction")),
    ("wiring", ("v4code.app", "v4code.subagents")),
    ("frontends", ("v4code.api", "v4code.ui", "v4code.review", "v4code.jobs")),
    ("commands", ("v4code.cli", "v4code.commands", "v4code.__main__", "v4code.jobs.child")),
]


def layer_of(module: str) -> int | None:
    best: tuple[int, int] | None = None
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and (
                best is None or len(prefix) > best[1]
            ):
                best = (index, len(prefix))
    return None if best is None else best[0]


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    name = ".".join(parts)
    return name.removesuffix(".__init__")


def imports(path: Path, *, with_type_checking: bool) -> list[str]:
    """The v4code modules a file imports (at any depth: lazy imports count)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped: set[int] = set()
    if not with_type_checking:
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                skipped.update(id(inner) for inner in ast.walk(node))
    found = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
    return [name for name in found if name == "v4code" or name.startswith("v4code.")]


def sources() -> list[Path]:
    """Every module but the package's face (`v4code/__init__.py`: the version, nothing else)."""
    face = ROOT / "v4code" / "__init__.py"
    return sorted(
        p for p in (ROOT / "v4code").rglob("*.py") if "__pycache__" not in p.parts and p != face
    )


def test_every_module_has_a_layer() -> None:
    missing = [module_name(p) for p in sources() if layer_of(module_name(p)) is None]
    assert missing == [], f"add these to LAYERS (and ARCHITECTURE.md): {missing}"


def test_no_part_imports_a_part_above_it() -> None:
    upward = []
    for path in sources():
        here = module_name(path)
        mine = layer_of(here)
        for name in imports(path, with_type_checking=False):
            theirs = layer_of(name)
            if mine is not None and theirs is not None and theirs > mine:
                upward.append(f"{here} ({LAYERS[mine][0]}) -> {name} ({LAYERS[theirs][0]})")
    assert upward == [], "imports that run upward:\n" + "\n".join(upward)


def test_the_loop_knows_neither_edits_nor_backends() -> None:
    names = imports(ROOT / "v4code" / "agent.py", with_type_checking=True)
    assert [n for n in names if n.startswith(("v4code.edits", "v4code.backends"))] == []


def test_no_tool_imports_the_agent() -> None:
    for path in sorted((ROOT / "tools").glob("*.py")):
        names = imports(path, with_type_checking=True)
        assert not any(n.startswith(("v4code.agent", "v4code.app")) for n in names), path.name


def test_only_the_command_layer_declares_click_commands() -> None:
    declares = re.compile(r"^\s*@(?:click\.(?:command|group)|\w+\.(?:command|group))\(", re.M)
    allowed = {ROOT / "v4code" / "cli.py", *(ROOT / "v4code" / "commands").glob("*.py")}
    offenders = [
        str(p.relative_to(ROOT))
        for p in sources()
        if p not in allowed and declares.search(p.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_only_the_wiring_builds_an_agent_and_its_session_log() -> None:
    """ARCHITECTURE.md names app.py the one place an Agent is built: a frontend that built
    its own would miss what the wiring gives every agent (the policy, the session log).
    `sessions.py` reopens a log itself only to leave a note in it."""
    builds = {"Agent", "SessionLog.create", "SessionLog.reopen"}
    offenders = []
    for path in sources():
        if path in (ROOT / "v4code" / "app.py", ROOT / "v4code" / "sessions.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and ast.unparse(node.func) in builds:
                offenders.append(f"{module_name(path)}:{node.lineno} {ast.unparse(node.func)}")
    assert offenders == [], "build it through v4code.app:\n" + "\n".join(offenders)


# --- every function on one screen -------------------------------------------------------------

LONGEST_FUNCTION = 60
LONG_FUNCTIONS: dict[str, str] = {}  # "path:function" -> why it must stay long


def long_functions() -> list[str]:
    found = []
    for path in [*sources(), *sorted((ROOT / "tools").glob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                where = f"{path.relative_to(ROOT)}:{node.name}"
                if length > LONGEST_FUNCTION and where not in LONG_FUNCTIONS:
                    found.append(f"{where} ({length} lines)")
    return sorted(found)


def test_every_function_fits_on_one_screen() -> None:
    assert long_functions() == []
