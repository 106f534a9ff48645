"""The README's path as a newcomer walks it on a real project: what they read on the screen
after `map`, `mcp list` and `batch status`, and the fake server driven by hand as the README's
Development section and the tests drive it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from cli_harness import plan_each, v4code
from fake_api import FakeDeepSeek, start_subprocess_server, text, tool_call
from tmux_harness import chat_in_tmux, leave, send, wait_for

NESTED = '''\
def iter_params(order, declared):
    """Parameters in processing order."""

    def sort_key(item):
        return order.index(item)

    return sorted(declared, key=sort_key)


class Parser:
    def parse(self, args):
        def split(arg):
            return arg.split("=")

        return [split(a) for a in args]


def _private(value):
    def hidden_closure():
        return value

    return hidden_closure
'''


def commit_all(root: Path, message: str) -> None:
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run(["git", "commit", "-qm", message], cwd=root, check=True)


def test_a_nested_function_is_shown_under_the_function_that_holds_it(workspace: Path) -> None:
    (workspace / "core.py").write_text(NESTED)
    commit_all(workspace, "core")
    shown = v4code(workspace, "map", "--tokens", "2000")
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert "  1-7: def iter_params(order, declared)" in lines
    assert "    4-5: def sort_key(item)" in lines
    assert "    11-15: def parse(self, args)" in lines
    assert "      12-13: def split(arg)" in lines
    assert "hidden_closure" not in shown.stdout  # inside a private helper the map leaves out
    outline = v4code(workspace, "map", "--tokens", "2000", "--focus", "split")
    assert "      12-13: def split(arg)" in outline.stdout.splitlines()


def test_mcp_list_says_why_a_server_did_not_start_and_where_its_log_is(
    workspace: Path, v4code_home: Path
) -> None:
    missing = workspace.parent / "no_such_server.py"
    added = v4code(workspace, "mcp", "add", "broken", "--", sys.executable, str(missing))
    assert added.returncode == 0, added.stderr
    listed = v4code(workspace, "mcp", "list", "--wait", "20")
    assert listed.returncode == 1
    log = v4code_home / "logs" / "mcp-broken.log"
    assert "no_such_server.py" in log.read_text()
    assert "broken (user, stdio) failed" in listed.stdout
    assert f"its stderr ({log}):" in listed.stdout
    assert listed.stdout.count("No such file or directory") == 1  # restarted once, said once


def test_batch_status_keeps_each_changed_path_on_one_line(
    workspace: Path, fake_api: FakeDeepSeek
) -> None:
    long_names = ["src/package/handlers_for_uploads.py", "src/package/handlers_for_exports.py"]
    for name in long_names:
        (workspace / name).parent.mkdir(parents=True, exist_ok=True)
        (workspace / name).write_text("VALUE = 1\n")
    commit_all(workspace, "handlers")
    manifest = plan_each(workspace, fake_api, "src/**/*.py", workspace.parent / "jobs.jsonl")
    for name in long_names:
        edit = tool_call("edit_file", path=name, old_string="VALUE = 1", new_string="VALUE = 2")
        fake_api.route(name, [edit, text("Done.")])
    out = workspace.parent / "run"
    ran = v4code(
        workspace, "batch", "run", str(manifest), "-j", "2", "--out", str(out), server=fake_api
    )
    assert ran.returncode == 0, ran.stderr
    status = v4code(workspace, "batch", "status", str(out), env={"COLUMNS": "120"})
    assert status.returncode == 0, status.stderr
    for name in long_names:
        assert name in status.stdout, status.stdout


def test_the_fake_server_run_by_hand_answers_parallel_clients_from_their_own_script(
    tmp_path: Path,
) -> None:
    script = tmp_path / "script.json"
    routes = {"alpha": [text("for alpha")], "beta": [text("for beta")]}
    script.write_text(json.dumps({"steps": [text("main")], "routes": routes}))
    port_file = tmp_path / "port"
    tests_dir = Path(__file__).resolve().parent.parent
    server = subprocess.Popen(
        [sys.executable, str(tests_dir / "fake_api"), "--script", str(script)]
        + ["--port-file", str(port_file), "--max-lifetime", "60"],
        stdout=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            if port_file.exists():
                break
            subprocess.run(["sleep", "0.1"], check=True)
        env = {"DEEPSEEK_BASE_URL": f"http://127.0.0.1:{port_file.read_text()}"}
        beta = v4code(tmp_path, "run", "-o", "json", "do beta", base_url=env["DEEPSEEK_BASE_URL"])
        alpha = v4code(tmp_path, "run", "-o", "json", "do alpha", base_url=env["DEEPSEEK_BASE_URL"])
        assert json.loads(beta.stdout)["final_message"] == "for beta", beta.stderr
        assert json.loads(alpha.stdout)["final_message"] == "for alpha", alpha.stderr
    finally:
        os.kill(server.pid, signal.SIGTERM)
        server.wait(10)


def test_a_signature_in_the_map_leaves_out_comments(workspace: Path) -> None:
    code = "def total(lines,  # the invoice's\n          tax):  # computed below\n    return 0\n"
    (workspace / "invoice.py").write_text(code + "\n\nclass Invoice:  # one per order\n    pass\n")
    commit_all(workspace, "invoice")
    shown = v4code(workspace, "map", "--tokens", "2000")
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert "  1-3: def total(lines, tax)" in lines, shown.stdout
    assert "  6-7: class Invoice" in lines, shown.stdout


def test_the_chat_goes_on_when_its_history_folder_disappears(
    workspace: Path, tmp_path: Path, v4code_home: Path
) -> None:
    server = start_subprocess_server(
        [text("first answer"), text("second answer")], tmp_path / "server"
    )
    with chat_in_tmux("history", workspace, v4code_home, server, height=30) as session:
        shutil.rmtree(v4code_home / "history")  # a cleaner, a moved home: the chat goes on
        send(session, "hello", "Enter")
        screen = wait_for(session, "first answer")
        send(session, "again", "Enter")
        screen = wait_for(session, "second answer")
        assert "Press ENTER" not in screen and "Exception" not in screen, screen
        leave(session)


def test_review_with_nothing_staged_says_so_once(workspace: Path) -> None:
    done = v4code(workspace, "review", "--hook")
    assert done.returncode == 0, done.stderr
    assert "v4code review: nothing to review (nothing is staged)\n" in done.stdout + done.stderr


def test_probe_fix_keeps_the_profile_header_as_the_user_wrote_it(
    workspace: Path, fake_api: FakeDeepSeek, v4code_home: Path
) -> None:
    fake_api.configure(dialect="vllm", require_auth=False)
    answer = {"reasoning": "I think.", "thinking_only": True}
    fake_api.load(
        [
            text("It works.", **answer),
            text("It works.", **answer),
            tool_call("probe_echo", reasoning="call it", text="ok"),
            text("Done."),
            text("Any model."),
        ]
    )
    config = v4code_home / "config.toml"
    config.write_text(f'[profiles.local]\nbase_url = "{fake_api.base_url}"\ndialect = "deepseek"\n')
    fixed = v4code(workspace, "engine", "probe", "--profile", "local", "--fix")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    written = config.read_text()
    assert written.startswith("[profiles.local]\n") and 'dialect = "vllm"' in written, written


def test_a_focus_that_matches_nothing_still_gives_the_model_a_map(
    workspace: Path, fake_api: FakeDeepSeek
) -> None:
    """The repo_map tool, for words no file has: the most-used files (it says they are not
    matches), never an empty map of a repository with code. The session's first message
    carries no map then (it is the task's map, and the task matched nothing)."""
    for name in "abc":
        (workspace / f"{name}.py").write_text(f"def f_{name}():\n    return 1\n")
    commit_all(workspace, "code")
    fake_api.load([tool_call("repo_map", focus="quarterly zzyzx totals"), text("Nothing there.")])
    done = v4code(workspace, "run", "quarterly zzyzx totals", server=fake_api)
    assert done.returncode == 0, done.stderr
    first, second = fake_api.chat_requests
    assert first.messages[-1]["content"] == "quarterly zzyzx totals"
    result = second.messages[-1]
    assert result["role"] == "tool"
    assert result["content"].startswith("No file matches the focus; the most-used files instead:")
    assert "def f_c()" in result["content"]


def test_mcp_add_of_a_venv_python_in_the_repository_warns_in_words_that_fit(
    workspace: Path, v4code_home: Path
) -> None:
    """A gitignored venv is not "what the checkout holds": the warning stays (a session in
    that repository can rewrite it) but says the folder is ignored and why it matters."""
    venv = workspace / ".venv" / "bin"
    venv.mkdir(parents=True)
    (venv / "python").symlink_to(sys.executable)
    (workspace / ".gitignore").write_text(".venv/\n")
    (workspace / "serve.sh").write_text("#!/bin/sh\n")
    (workspace / "serve.sh").chmod(0o755)
    venv_python = workspace / ".venv" / "bin" / "python"
    added = v4code(workspace, "mcp", "add", "local", "--", ".venv/bin/python", "-m", "srv")
    assert added.returncode == 0, added.stderr
    assert (
        f"warning: {venv_python} is in a folder git ignores inside the repository {workspace}: "
        f"a v4code session working in {workspace} can change it"
    ) in added.stderr
    assert "checkout holds" not in added.stderr
    tracked = v4code(workspace, "mcp", "add", "script", "--", "./serve.sh")
    assert tracked.returncode == 0, tracked.stderr
    assert f"{workspace / 'serve.sh'} is inside the git repository {workspace}: " in tracked.stderr
