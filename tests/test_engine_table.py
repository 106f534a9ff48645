"""An engine is one record in engines/table.py: every part that names engines reads it."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from v4code.backends.dialects import DIALECTS
from v4code.choices import DIALECTS as OFFERED
from v4code.engines.launch import launch_commands
from v4code.engines.table import ENGINES, LOCAL

# Run in a child, so the extra record is in the table before any module reads it.
ONE_MORE = textwrap.dedent(
    """
    import json
    from v4code.engines import table

    toy = table.VLLM._replace(
        name="toy",
        label="ToyServe",
        port=9123,
        owners=("toyserve",),
        families=("nvidia",),
        advice=table.Advice("toy thinking", "toy tools", "toy switch", "toy usage"),
        programs={"toyserve": "pip install toyserve"},
        launch=table.Launch(argv=("toyserve", "{repo}", "--port", "{port}"), servable=True),
    )
    table.ENGINES["toy"] = toy
    table.LOCAL = (*table.LOCAL, toy)

    from v4code.backends.dialects import get_dialect
    from v4code.choices import DIALECTS
    from v4code.engines.plan import ENGINES, PlanRequest, make_plan
    from v4code.engines.probe import fix_for, guess_dialect
    from v4code.engines.serve import INSTALL_HINTS, unknown_engine

    plan = make_plan(PlanRequest(gpus=4))
    print(json.dumps({
        "offered": "toy" in DIALECTS and "toy" in ENGINES,
        "field": get_dialect("toy").reasoning_field,
        "planned": plan.commands.get("toy"),
        "known": unknown_engine(["toyserve", "x"]) is None,
        "hint": INSTALL_HINTS.get("toyserve"),
        "guess": guess_dialect("http://127.0.0.1:1/v1", [{"owned_by": "toyserve"}]),
        "advice": fix_for("tools", "toy"),
    }))
    """
)


def test_an_engine_added_to_the_table_is_offered_planned_served_and_probed() -> None:
    done = subprocess.run(
        [sys.executable, "-c", ONE_MORE], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen == {
        "offered": True,
        "field": "reasoning",
        "planned": ["toyserve deepseek-ai/DeepSeek-V4-Flash --port 9123"],
        "known": True,
        "hint": "pip install toyserve",
        "guess": "toy",
        "advice": "toy tools",
    }


def test_every_engine_has_a_dialect_and_every_local_one_a_launch_and_a_port() -> None:
    assert OFFERED == tuple(ENGINES) == tuple(DIALECTS)
    for engine in LOCAL:
        assert engine.port is not None and engine.launch is not None, engine.name
        lines, _ = launch_commands(engine.name, "deepseek-ai/DeepSeek-V4-Flash", 2, 2, 4096)
        assert lines and not any("{" in line for line in lines), engine.name
