"""The launch command lines each engine needs for DeepSeek V4: each engine's `Launch` template
(engines/table.py, from the engines' published V4 recipes) filled in for one setup.

Flags the V4 recipes quote are used as quoted; the few generic engine flags they do not
quote (parallel sizes by name, ports) carry a `# UNCONFIRMED` comment in the printed line.
"""

from __future__ import annotations

import shlex

from v4code.engines.table import ENGINES, LOCAL, Launch

PORTS = {e.name: e.port for e in LOCAL if e.port is not None}


def _line(argv: list[str], comment: str = "") -> str:
    text = shlex.join(argv)
    return f"{text}  # {comment}" if comment else text


def _fill(parts: tuple[str, ...], **values: object) -> list[str]:
    return [part.format(**values) for part in parts]


def launch_commands(
    engine: str, repo: str, gpus: int, nodes: int, context: int
) -> tuple[list[str], list[str] | None]:
    """(shell lines to show, argv `engine serve` can run on this machine or None) for `gpus`
    devices on each of `nodes` machines."""
    record = ENGINES[engine]
    template = record.launch
    if template is None:
        raise ValueError(f"{engine} is not launched by v4code")
    values = dict(
        repo=repo, context=context, port=record.port, gpus=gpus, nodes=nodes, devices=gpus * nodes
    )
    argv = _fill(template.argv, **values)
    if nodes > 1 and (template.many_nodes or template.per_node):
        return _many_nodes(template, argv, values, nodes), None
    single = argv + _fill(template.one_node, **values)
    lines = _fill(template.notes, **values) + [_line(single, template.comment)]
    return lines, single if template.servable and nodes == 1 else None


def _many_nodes(
    template: Launch, argv: list[str], values: dict[str, object], nodes: int
) -> list[str]:
    """One command on the head node (the nodes joined beforehand), or one per node."""
    lines = _fill(template.many_notes, **values)
    if not template.per_node:
        head = argv + _fill(template.many_nodes, **values)
        return [*lines, _line(head, template.many_comment)]
    for rank in range(nodes):
        node = argv + _fill(template.per_node, **values, rank=rank)
        lines += [f"# node {rank}{' (head)' if rank == 0 else ''}:", _line(node)]
    return lines
