"""The edits part and the tool core import one another in one direction only.

Applying, recording, snapshotting and undoing once imported each other in a ring (hidden by
imports inside functions, and joined by the tool core's annotations); a reader following any
import must never come back where they started. Every import counts here: inside functions and
under `if TYPE_CHECKING:`.
"""

from __future__ import annotations

from test_architecture import imports, module_name, sources

WATCHED = ("v4code.edits", "v4code.toolkit", "v4code.protocols")


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in sources():
        here = module_name(path)
        if here.startswith(WATCHED):
            names = imports(path, with_type_checking=True)
            graph[here] = {n for n in names if n.startswith(WATCHED) and n != here}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle among `graph`'s modules, or [] when there is none."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> list[str]:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], node, nxt] if nxt in path else [node, nxt]
            if nxt not in state:
                found = visit(nxt, [*path, node])
                if found:
                    return found
        state[node] = 2
        return []

    for start in sorted(graph):
        if start not in state:
            found = visit(start, [])
            if found:
                return found
    return []


def test_edits_and_the_tool_core_import_in_one_direction() -> None:
    cycle = _cycle(_graph())
    assert cycle == [], "import cycle: " + " -> ".join(cycle)


def test_one_place_builds_the_users_checkpoint_store() -> None:
    """Sessions, the chat and `v4code undo` all get the store from edits/checkpoints.py."""
    builders = [
        module_name(path) for path in sources() if "CheckpointStore(" in path.read_text("utf-8")
    ]
    assert builders == ["v4code.edits.checkpoints"]
