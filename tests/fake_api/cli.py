"""The standalone fake server: serve a JSON script until SIGTERM/SIGINT, then dump the record.

Script file: either a JSON list of steps, or ``{"steps": [...], "config": {...}, "routes": {...}}``
where config holds ``FakeDeepSeek`` settings (dialect, served_model, accepted_models, cache_unit,
...) and routes maps a key to its own steps: requests whose first user message holds the key take
those (``FakeDeepSeek.route``), so clients running in parallel, such as batch units, each follow
their own script by hand as they do in the tests.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from fake_api.server import FakeDeepSeek, OtherApi

__all__ = ["main"]


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="fake_api", description=__doc__)
    parser.add_argument("--script", type=Path, help="JSON steps (list) or {steps, config}")
    parser.add_argument("--port", type=int, default=0, help="0 = any free port (default)")
    parser.add_argument("--port-file", type=Path, help="also write the port number here")
    parser.add_argument("--record", type=Path, help="on exit, write requests and violations here")
    parser.add_argument(
        "--max-lifetime", type=float, default=None, help="exit by itself after this many seconds"
    )
    parser.add_argument(
        "--api",
        type=Path,
        action="append",
        default=[],
        help="a Python file whose API (an OtherApi) the server answers too; repeatable",
    )
    return parser.parse_args(argv)


def _other_api(path: Path) -> OtherApi:
    """The `API` a file defines, loaded by path (bench/ is no package of the tests)."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"fake_api: cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    api: OtherApi = module.API
    return api


Script = tuple[list[dict[str, Any]], dict[str, Any], dict[str, list[dict[str, Any]]]]


def _load(path: Path | None) -> Script:
    if path is None:
        return [], {}, {}
    data = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(data, list):
        return data, {}, {}
    routes = {str(k): list(v) for k, v in dict(data.get("routes") or {}).items()}
    return list(data.get("steps") or []), dict(data.get("config") or {}), routes


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    steps, config, routes = _load(args.script)
    apis = [_other_api(path) for path in args.api]
    server = FakeDeepSeek(steps, port=args.port, apis=apis, **config)
    for key, keyed in routes.items():
        server.route(key, keyed)
    done = threading.Event()

    def _stop(signum: int, frame: object) -> None:
        done.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    server.start()
    try:
        if args.port_file:
            tmp = args.port_file.with_name(args.port_file.name + ".tmp")
            tmp.write_text(str(server.port), encoding="utf-8")
            tmp.replace(args.port_file)
        print(f"PORT {server.port}", flush=True)
        done.wait(args.max_lifetime)
    finally:
        server.stop()
        if args.record:
            state = server.state()
            state["problems"] = server.problems()
            args.record.write_text(
                json.dumps(state, indent=1, ensure_ascii=False), encoding="utf-8"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
