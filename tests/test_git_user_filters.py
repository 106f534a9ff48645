"""The user's own filter drivers (git-lfs) work in v4code's git; the repository's stay off.

A filter driver named `up` stands in for git-lfs: its smudge program upper-cases what a
checkout writes, its clean program lower-cases what an add stores, and each touches a marker.
Defined in the user's global configuration (a temporary HOME, as `git lfs install` writes
~/.gitconfig) it runs in batch worktrees, commits and diffs. Defined by the repository (its
.git/config, a file that includes, config.worktree), or redefined there over the user's, it
runs nowhere. The user's own runs only while the repository's configuration holds what a
clone and git-lfs write (git-lfs starts programs that configuration names), remote URLs
included.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from cli_harness import plan_each, run_and_apply
from conftest import git as plain_git
from conftest import make_repo, program_on_path
from fake_api import FakeDeepSeek, text, tool_call

from v4code.repo import git, worktrees

STORED = "hello lfs\n"
SMUDGED = "HELLO LFS\n"


def driver(folder: Path) -> dict[str, Path]:
    """The `up` driver's clean and smudge scripts in `folder`, each touching its marker."""
    folder.mkdir(parents=True, exist_ok=True)
    scripts: dict[str, Path] = {}
    for part, conversion in (("smudge", "a-z A-Z"), ("clean", "A-Z a-z")):
        script = folder / part
        script.write_text(f'#!/bin/sh\ntouch "{folder / (part + ".ran")}"\ntr {conversion}\n')
        script.chmod(0o755)
        scripts[part] = script
    return scripts


def define(where: list[str], cwd: Path, scripts: dict[str, Path]) -> None:
    """`git config WHERE filter.up.{clean,smudge} SCRIPT` (WHERE: --global, --local, ...)."""
    for part, script in scripts.items():
        subprocess.run(["git", "config", *where, f"filter.up.{part}", str(script)], cwd=cwd, check=True)  # fmt: skip


def unit_worktree(repo: Path, tmp_path: Path) -> Path:
    """A batch unit's worktree of `repo`'s HEAD (branch `unit-a`), made by v4code's code."""
    unit = tmp_path / "unit"
    worktrees.add_worktree(repo, unit, "unit-a", worktrees.resolve_commit(repo))
    return unit


def committed(checkout: Path, name: str, content: str, repo: Path) -> str:
    """`name` written as `content` in `checkout` and committed there by v4code's code: the
    bytes `repo` stores for it in that commit."""
    (checkout / name).write_text(content)
    commit = worktrees.commit_all(checkout, "change the data")
    assert commit is not None
    return plain_git(repo, "show", f"{commit}:{name}")


@pytest.fixture
def lfs_like(workspace: Path, home: Path) -> Path:
    """The workspace with `data.dat` under the `up` filter, committed as STORED, and no
    filter defined anywhere yet."""
    make_repo(workspace, {".gitattributes": "*.dat filter=up\n", "data.dat": STORED})
    assert plain_git(workspace, "show", "HEAD:data.dat") == STORED
    return workspace


def test_the_users_filter_runs_in_a_batch_worktree_and_its_commit(
    lfs_like: Path, home: Path, tmp_path: Path
) -> None:
    scripts = driver(home / "filter")
    define(["--global"], lfs_like, scripts)
    unit = unit_worktree(lfs_like, tmp_path)
    assert (unit / "data.dat").read_text() == SMUDGED
    assert committed(unit, "data.dat", "GOODBYE LFS\n", lfs_like) == "goodbye lfs\n"  # cleaned


def test_a_diff_of_a_file_under_the_users_filter_shows_no_change(
    lfs_like: Path, home: Path
) -> None:
    """Checked out through the filter, the file differs from what is stored; git compares
    them through its clean program (without it every such file would look changed)."""
    define(["--global"], lfs_like, driver(home / "filter"))
    (lfs_like / "data.dat").unlink()
    plain_git(lfs_like, "checkout", "--", "data.dat")
    assert (lfs_like / "data.dat").read_text() == SMUDGED
    assert git.run_text(lfs_like, "diff", "--stat") == ""
    (lfs_like / "data.dat").write_text("HELLO AGAIN\n")
    assert "+hello again" in git.run_text(lfs_like, "diff")


@pytest.mark.parametrize("where", ["local", "included", "worktree", "over-the-users"])
def test_a_filter_the_repository_defines_runs_nowhere(
    lfs_like: Path, home: Path, tmp_path: Path, where: str
) -> None:
    scripts = driver(tmp_path / "repo-filter")
    if where == "local":
        define(["--local"], lfs_like, scripts)
    elif where == "included":
        included = lfs_like / ".git" / "more.config"
        define(["--file", str(included)], lfs_like, scripts)
        plain_git(lfs_like, "config", "include.path", "more.config")
    elif where == "worktree":
        plain_git(lfs_like, "config", "extensions.worktreeConfig", "true")
        define(["--worktree"], lfs_like, scripts)
    else:  # the user's driver, redefined by the repository
        define(["--global"], lfs_like, driver(home / "filter"))
        define(["--local"], lfs_like, scripts)
    markers = tmp_path / "repo-filter"
    (lfs_like / "data.dat").unlink()
    plain_git(lfs_like, "checkout", "--", "data.dat")
    assert (markers / "smudge.ran").exists()  # plain git runs it
    (markers / "smudge.ran").unlink()

    unit = unit_worktree(lfs_like, tmp_path)
    assert (unit / "data.dat").read_text() == STORED
    assert committed(unit, "data.dat", "Changed\n", lfs_like) == "Changed\n"
    (lfs_like / "data.dat").write_text("Changed\n")
    assert "+Changed" in git.run_text(lfs_like, "diff")  # the work tree as it is
    assert sorted(p.name for p in markers.glob("*.ran")) == []
    assert not (home / "filter" / "smudge.ran").exists()


def test_a_ray_workers_copy_from_a_bundle_runs_no_filter(
    lfs_like: Path, home: Path, tmp_path: Path
) -> None:
    """A copy cloned from a bundle lacks what the user's driver keeps beside the commits
    (git-lfs objects): files stay as committed, and what a unit adds is committed as it is."""
    define(["--global"], lfs_like, driver(home / "filter"))
    bundle = tmp_path / "in.bundle"
    worktrees.create_bundle(lfs_like, bundle, ["main"])
    copy = tmp_path / "worker" / "repo"
    copy.parent.mkdir()
    worktrees.clone_bundle(bundle, copy, "unit-a", worktrees.resolve_commit(lfs_like))
    assert (copy / "data.dat").read_text() == STORED
    assert committed(copy, "new.dat", "Added There\n", copy) == "Added There\n"
    assert sorted(p.name for p in (home / "filter").glob("*.ran")) == []


def test_a_filter_set_on_the_command_line_is_not_taken_for_the_users(
    lfs_like: Path, home: Path, tmp_path: Path
) -> None:
    """`git -c` and GIT_CONFIG_PARAMETERS (scope "command") are not the user's configuration:
    whoever passes them on purpose gets the driver switched off."""
    scripts = driver(tmp_path / "command-filter")
    env = git.git_env() | {"GIT_CONFIG_PARAMETERS": f"'filter.up.smudge'='{scripts['smudge']}'"}
    assert "filter.up.smudge=" in git.drivers_off(lfs_like, env)
    define(["--global"], lfs_like, driver(home / "filter"))
    assert "filter.up.smudge=" in git.drivers_off(lfs_like, env)
    assert git.drivers_off(lfs_like) == []


def test_a_git_without_show_scope_switches_every_filter_off(
    lfs_like: Path, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = git.find_git()
    program_on_path(
        monkeypatch,
        tmp_path / "old-git",
        "git",
        f'#!/bin/sh\nfor a; do [ "$a" = --show-scope ] && exit 129; done\nexec "{real}" "$@"\n',
    )
    define(["--global"], lfs_like, driver(home / "filter"))
    unit = unit_worktree(lfs_like, tmp_path)
    assert (unit / "data.dat").read_text() == STORED
    assert not (home / "filter" / "smudge.ran").exists()


def test_batch_edits_the_content_the_users_filter_checks_out(
    lfs_like: Path, home: Path, tmp_path: Path, fake_api: FakeDeepSeek
) -> None:
    """The unit's agent sees (and edits) the smudged content; the applied branch stores what
    the user's clean program makes of it."""
    define(["--global"], lfs_like, driver(home / "filter"))
    manifest = plan_each(lfs_like, fake_api, "data.dat", tmp_path / "jobs.jsonl")
    edit = tool_call("edit_file", path="data.dat", old_string="HELLO", new_string="GOODBYE")
    fake_api.route("data.dat", [edit, text("Done.")])
    run_and_apply(lfs_like, fake_api, manifest, tmp_path / "run", into="fixed")
    assert plain_git(lfs_like, "show", "fixed:data.dat") == "goodbye lfs\n"


def test_batch_in_a_repository_naming_programs_gives_them_no_way_in_through_the_users_filter(
    lfs_like: Path, home: Path, tmp_path: Path, fake_api: FakeDeepSeek
) -> None:
    """A copied repository whose .git/config names programs git-lfs would start (a credential
    helper, a custom transfer agent): through the real CLI, batch runs neither the user's
    driver (the way in) nor those programs; the unit edits and stores the bytes as committed."""
    trap = tmp_path / "trap"
    plain_git(lfs_like, "config", "credential.helper", f"!touch {trap}-credential")
    plain_git(lfs_like, "config", "lfs.customtransfer.evil.path", f"touch {trap}-transfer")
    plain_git(lfs_like, "config", "lfs.standalonetransferagent", "evil")
    define(["--global"], lfs_like, driver(home / "filter"))
    manifest = plan_each(lfs_like, fake_api, "data.dat", tmp_path / "jobs.jsonl")
    edit = tool_call("edit_file", path="data.dat", old_string="hello", new_string="goodbye")
    fake_api.route("data.dat", [edit, text("Done.")])
    run_and_apply(lfs_like, fake_api, manifest, tmp_path / "run", into="fixed")
    assert plain_git(lfs_like, "show", "fixed:data.dat") == "goodbye lfs\n"  # stored as edited
    assert sorted(p.name for p in (home / "filter").glob("*.ran")) == []
    assert sorted(p.name for p in tmp_path.glob("trap-*")) == []


def test_a_clone_like_configuration_keeps_the_users_filter(
    lfs_like: Path, home: Path, tmp_path: Path
) -> None:
    """What `git clone` (a remote, a tracking branch) and git-lfs itself write to .git/config
    names no program: the user's driver keeps working there."""
    define(["--global"], lfs_like, driver(home / "filter"))
    plain_git(lfs_like, "remote", "add", "origin", "https://example.com/project.git")
    plain_git(lfs_like, "remote", "set-url", "--push", "origin", "git@example.com:project.git")
    plain_git(lfs_like, "remote", "add", "mirror", "../mirror.git")
    plain_git(lfs_like, "config", "branch.main.remote", "origin")
    plain_git(lfs_like, "config", "branch.main.merge", "refs/heads/main")
    plain_git(lfs_like, "config", "lfs.repositoryformatversion", "0")
    plain_git(lfs_like, "config", "lfs.https://example.com/project.git/info/lfs.access", "basic")
    unit = unit_worktree(lfs_like, tmp_path)
    assert (unit / "data.dat").read_text() == SMUDGED
    assert (home / "filter" / "smudge.ran").exists()


def _helper(tmp_path: Path) -> str:
    """A program a hostile configuration names; it leaves a marker when started."""
    helper = tmp_path / "helper"
    helper.write_text(f'#!/bin/sh\ntouch "{tmp_path / "helper.ran"}"\n')
    helper.chmod(0o755)
    return str(helper)


@pytest.mark.parametrize(
    "setting",
    ["credential-helper", "custom-transfer", "ssh-command-in-worktree", "included", "ext-remote"],
)
def test_a_repository_config_naming_a_program_switches_the_users_filter_off(
    lfs_like: Path, home: Path, tmp_path: Path, setting: str
) -> None:
    """git-lfs, run as the user's filter, reads the repository's configuration and starts the
    programs it names: with anything there beyond what clone and git-lfs write, it never runs,
    and files stay as committed (LFS pointers)."""
    define(["--global"], lfs_like, driver(home / "filter"))
    helper = _helper(tmp_path)
    if setting == "credential-helper":
        plain_git(lfs_like, "config", "credential.helper", f"!{helper}")
    elif setting == "custom-transfer":
        plain_git(lfs_like, "config", "lfs.customtransfer.x.path", helper)
        plain_git(lfs_like, "config", "lfs.standalonetransferagent", "x")
    elif setting == "ssh-command-in-worktree":
        plain_git(lfs_like, "config", "extensions.worktreeConfig", "true")
        plain_git(lfs_like, "config", "--worktree", "core.sshCommand", helper)
    elif setting == "included":
        included = lfs_like / ".git" / "more.config"
        plain_git(lfs_like, "config", "--file", str(included), "credential.helper", f"!{helper}")
        plain_git(lfs_like, "config", "include.path", "more.config")
    else:
        plain_git(lfs_like, "remote", "add", "origin", f"ext::{helper} %S")
    assert "filter.up.smudge=" in git.drivers_off(lfs_like)
    unit = unit_worktree(lfs_like, tmp_path)
    assert (unit / "data.dat").read_text() == STORED
    (lfs_like / "data.dat").write_text("Changed\n")
    assert "+Changed" in git.run_text(lfs_like, "diff")  # not cleaned to lower case
    assert sorted(p.name for p in (home / "filter").glob("*.ran")) == []
    assert not (tmp_path / "helper.ran").exists()


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("https://example.com/project.git", True),
        ("ssh://git@example.com:2222/project.git", True),
        ("git://example.com/project.git", True),
        ("git@example.com:project.git", True),
        ("file:///srv/project.git", True),
        ("/srv/project.git", True),
        ("ext::sh -c touch% /tmp/x", False),
        ("fd::3", False),
        ("https::example.com/project.git", False),
        ("ftp://example.com/project.git", False),
        ("ssh://-oProxyCommand=touch%20x/project.git", False),
        ("ssh://git@-oProxyCommand=x/project.git", False),
        ("-oProxyCommand=x:project.git", False),
        ("", False),
    ],
)
def test_a_remote_url_other_than_a_plain_one_switches_the_users_filter_off(
    lfs_like: Path, home: Path, url: str, kept: bool
) -> None:
    """git-lfs finds its server from the remote's URL: a `<transport>::` URL (`ext::` runs a
    command), another scheme, or a host an ssh command line would take for an option turns
    the user's drivers off; https, http, ssh, git, file, scp-like and paths keep them."""
    define(["--global"], lfs_like, driver(home / "filter"))
    plain_git(lfs_like, "config", "remote.origin.url", url)
    assert (git.drivers_off(lfs_like) == []) is kept


@pytest.mark.parametrize("condition", ["onbranch:v4code/**", "gitdir:/nowhere/", "nested"])
def test_a_driver_in_a_file_the_repository_includes_is_off_whatever_the_condition(
    lfs_like: Path, home: Path, tmp_path: Path, condition: str
) -> None:
    """git reads a conditional include where its condition holds (batch's own branch, another
    worktree), not where v4code asked: every included file's filter and merge drivers are
    off, a merge driver replaced by git's own text merge."""
    git_dir = lfs_like / ".git"
    drivers = f'[filter "up"]\n\tsmudge = {_helper(tmp_path)}\n[merge "m"]\n\tdriver = x %A\n'
    if condition == "nested":
        (git_dir / "inner").mkdir()
        (git_dir / "inner" / "b.config").write_text(drivers)
        (git_dir / "a.config").write_text("[include]\n\tpath = inner/b.config\n")
        plain_git(lfs_like, "config", "includeIf.onbranch:elsewhere.path", "a.config")
    else:
        (git_dir / "a.config").write_text(drivers)
        plain_git(lfs_like, "config", f"includeIf.{condition}.path", "a.config")
    off = git.drivers_off(lfs_like)
    assert "filter.up.smudge=" in off
    (merge,) = [s for s in off if s.startswith("merge.m.driver=")]
    assert " merge-file --marker-size=%L %A %O %B" in merge
    unit = unit_worktree(lfs_like, tmp_path)
    assert (unit / "data.dat").read_text() == STORED
    assert not (tmp_path / "helper.ran").exists()
