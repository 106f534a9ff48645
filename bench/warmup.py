"""The repo map's warm-up on a real repository: does a chat's first message, typed a few
seconds after v4code starts, get the map while the parse cache is cold?

Run by hand: `python bench/warmup.py /path/to/repository [--delay 3] [--task TEXT]`.

Prints the index's build times (cold, warm from the parse cache, and the kept index
revalidated by stat, as the repo_map and find_symbol tools use it within a session), then
runs the chat twice with a cold cache (each in its own process and empty V4CODE_HOME, against
the fake server from tests/): with the background warm-up off, then on. The first message is
typed `--delay` seconds after the chat starts; each run reports whether the first request
carried the map, how long that request took to leave after Enter, and how long the chat took
to exit afterwards (a warm-up still running is stopped and waited for).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common  # noqa: F401  (puts tests/ on sys.path for fake_api)

TASK = "solve() returns a wrong root for a quadratic polynomial equation with rational coefficients"
CTRL_D = "\x04"


def index_times(root: Path) -> dict[str, float]:
    from v4code.repomap import api
    from v4code.repomap.index import build_index

    out: dict[str, float] = {}
    started = time.monotonic()
    cold = api.repo_index(root)
    out["cold"] = time.monotonic() - started
    out["files"] = len(cold.files)
    started = time.monotonic()
    build_index(root)
    out["from_cache"] = time.monotonic() - started
    started = time.monotonic()
    api.repo_index(root)
    out["kept"] = time.monotonic() - started
    return out


def chat_once(root: Path, delay: float, task: str, warm: bool) -> dict[str, object]:
    """One chat, in this process: the first message typed `delay` s after it starts."""
    import threading

    from fake_api import FakeDeepSeek, text
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput
    from rich.console import Console

    from v4code.repomap.opening import OpeningMap
    from v4code.ui.repl import run_repl

    if not warm:
        OpeningMap.warm_up = lambda self: None  # type: ignore[method-assign]
    server = FakeDeepSeek().start()
    server.load([text("Looked.")])
    os.environ["DEEPSEEK_API_KEY"] = "sk-bench"
    os.environ["DEEPSEEK_BASE_URL"] = server.base_url
    os.chdir(root)
    times: dict[str, float] = {}
    screen = io.StringIO()
    with create_pipe_input() as pipe:

        def person() -> None:
            time.sleep(delay)
            times["enter"] = time.monotonic()
            pipe.send_text(task + "\r")
            server.wait_for_requests(1, timeout=600)
            times["request"] = time.monotonic()
            time.sleep(0.5)  # the answer renders
            times["leave"] = time.monotonic()
            pipe.send_text(CTRL_D * 3)

        threading.Thread(target=person, daemon=True).start()
        started = time.monotonic()
        run_repl(
            flags={},
            input=pipe,
            output=DummyOutput(),
            console=Console(file=screen, width=120, color_system=None),
        )
        ended = time.monotonic()
    server.stop()
    (request,) = server.chat_requests
    first = next(m for m in request.messages if m["role"] == "user")
    return {
        "map": "<repo_map>" in str(first["content"]),
        "enter_after": times["enter"] - started,
        "first_message_wait": times["request"] - times["enter"],
        "exit": ended - times["leave"],
        "notice": "No repo map this session" in screen.getvalue(),
    }


def run_child(root: Path, delay: float, task: str, warm: bool) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "V4CODE_HOME": home}
        argv = [sys.executable, __file__, str(root), "--child", "warm" if warm else "cold"]
        argv += ["--delay", str(delay), "--task", task]
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise SystemExit(f"the chat run failed:\n{done.stderr}")
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    result["stderr"] = done.stderr.strip()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--delay", type=float, default=3.0, help="seconds before the first message")
    parser.add_argument("--task", default=TASK)
    parser.add_argument("--child", choices=["warm", "cold"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    root = args.root.resolve()
    if args.child:
        print(json.dumps(chat_once(root, args.delay, args.task, args.child == "warm")))
        return
    from v4code.repomap.opening import MAP_SECONDS

    with tempfile.TemporaryDirectory() as home:
        os.environ["V4CODE_HOME"] = home
        t = index_times(root)
    print(f"repository: {root} ({t['files']:.0f} files indexed), {os.cpu_count()} CPUs")
    print(f"index: cold {t['cold']:.2f} s, from the parse cache {t['from_cache']:.2f} s, ", end="")
    print(f"kept index revalidated {t['kept']:.3f} s")
    print(
        f"chat, cold cache, first message typed {args.delay:g} s after start, budget {MAP_SECONDS:g} s:"
    )
    for warm in (False, True):
        r = run_child(root, args.delay, args.task, warm)
        label = "with warm-up   " if warm else "without warm-up"
        print(
            f"  {label}: map {'yes' if r['map'] else 'no '}"
            f" (Enter at {r['enter_after']:.1f} s; request left {r['first_message_wait']:.2f} s"
            f" after Enter; exit took {r['exit']:.2f} s)"
            + (f"\n    stderr: {r['stderr']}" if r["stderr"] else "")
        )


if __name__ == "__main__":
    main()
