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
    ("git log -C -1", "git log"),
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

# Each runs a program or reads a configuration that the remembered prefix never named.
NAMES_A_PROGRAM = [
    "git -c core.fsmonitor=./x status",
    "git -c diff.external=./x diff",
    "git --config-env=core.pager=X log",
    "git --exec-path=/tmp/x status",
    "git -C ../other status",
    "git diff --ext-diff",
    "git fetch --upload-pack=./x origin",
    "git rebase -x ./x main",
    "git submodule foreach ./x",
    "git config core.fsmonitor ./x",
    "GIT_CONFIG_PARAMETERS=x git status",
    "GIT_PAGER=./x git log",
    "HOME=/tmp/x git status",
    "PYTEST_ADDOPTS='-p evil' pytest",
    "go test -exec=./x ./...",
    "go build -toolexec ./x",
    "GOFLAGS=-toolexec=./x go test",
    "cargo --config 'target.x.runner=\"./x\"' test",
    "cargo test --config x",
    "npm run --script-shell=./x test",
    "npx --package=evil prettier",
    "npx -p evil prettier",
    "uvx --from=evil ruff",
    "uv run --with evil pytest",
    "make -f other.mk test",
    "make -C ../other test",
    "make test SHELL=./x",
    "pytest -p evil",
    "python -m pytest -p evil",
    "env -S'sh -c ./x' git status",
    "env -C ../other make test",
    "sudo -s",
    "find . -exec ./x {} ;",
    "rg --pre ./x foo",
    "tar --to-command=./x -xf a.tar",
    "tar --use-compress-program=./x -xf a.tar",
    "ssh -o ProxyCommand=./x host",
    "bash --rcfile=./x build.sh",
    "node --loader ./x app.js",
    "watch ls",
    "mvn -Dexec.executable=./x test",
]


@pytest.mark.parametrize("command", NAMES_A_PROGRAM)
def test_a_command_that_can_name_a_program_is_never_covered(command: str) -> None:
    assert command_prefix(command) is None
    policy = PermissionPolicy("ask")
    for plain in ("git status", "git log", "git diff", "git fetch", "go test", "cargo test"):
        policy.remember("run_command", "prefix", plain)
    for plain in ("npm run test", "npx prettier", "uvx ruff", "make test", "pytest", "find"):
        policy.remember("run_command", "prefix", plain)
    assert policy.check("run_command", "command", command) is Verdict.ASK


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
