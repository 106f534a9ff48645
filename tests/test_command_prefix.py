"""An "always allow" remembers a meaningful prefix: the program and what it runs."""

from __future__ import annotations

import pytest

from v4code.safety.permissions import PermissionPolicy, Verdict, command_prefix

TABLE = [
    ("PYTHONPATH=src python -m pytest -x tests", "python -m pytest"),
    ("python -m pytest", "python -m pytest"),
    ("python3 -u -W ignore -m pytest -q", "python3 -m pytest"),
    ("python evil.py --flag", "python evil.py"),
    ("npm run test -- --watch", "npm run test"),
    ("npm test", "npm test"),
    ("cargo test --all", "cargo test"),
    ("cargo +nightly test", "cargo test"),
    ("git status --short", "git status"),
    ("git -C sub log -1", "git log"),
    ("uv run pytest -q", "uv run pytest"),
    ("uv run python -m pytest", "uv run python -m pytest"),
    ("poetry run pytest", "poetry run pytest"),
    ("npx prettier --check .", "npx prettier"),
    ("env CI=1 timeout 60 nice -n 5 python -m pytest", "python -m pytest"),
    ("timeout 30 cargo test", "cargo test"),
    ("sudo apt-get install ripgrep", "sudo apt-get install"),
    ("pytest -q tests", "pytest"),
    ("go test ./...", "go test"),
    ("make test", "make test"),
    ("bash scripts/build.sh", "bash scripts/build.sh"),
    ("./venv/bin/python -m pytest", "./venv/bin/python -m pytest"),
    # No meaningful prefix: inline code, stdin, loaders in the environment, compound lines.
    ('python -c "import os"', None),
    ("python", None),
    ('bash -c "make test"', None),
    ("node -e 1", None),
    ("LD_PRELOAD=/tmp/x.so python -m pytest", None),
    ("PATH=/tmp/evil:$PATH python -m pytest", None),
    ("ls | xargs rm", None),
    ("make test && rm -rf build", None),
]


@pytest.mark.parametrize(("command", "prefix"), TABLE)
def test_the_prefix_is_the_program_and_what_it_runs(command: str, prefix: str | None) -> None:
    assert command_prefix(command) == prefix


def _approved(command: str) -> PermissionPolicy:
    policy = PermissionPolicy("ask")
    policy.remember("run_command", "prefix", command)
    return policy


@pytest.mark.parametrize(
    "other",
    [
        "python -c \"import shutil; shutil.rmtree('.')\"",
        "python evil.py",
        "python -m pip install evil",
        "python",
        "PYTHONPATH=src python -m http.server",
        "sudo python -m pytest",
    ],
)
def test_an_approved_module_never_covers_another_python_command(other: str) -> None:
    policy = _approved("PYTHONPATH=src python -m pytest -x")
    assert policy.allowed_prefixes == {"python -m pytest"}  # the assignment is not remembered
    assert policy.check("run_command", "command", other) is Verdict.ASK
    assert policy.check("run_command", "command", "python -m pytest tests/a.py") is Verdict.ALLOW
    assert policy.check("run_command", "command", "PYTHONPATH=lib python -m pytest") is (
        Verdict.ALLOW
    )


def test_a_command_without_a_prefix_is_not_remembered() -> None:
    policy = _approved('python -c "print(1)"')
    assert policy.allowed_prefixes == set()
    assert policy.check("run_command", "command", 'python -c "print(2)"') is Verdict.ASK
