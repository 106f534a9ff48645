"""Profiles: [profiles.NAME] in the user's config, --profile on every command, never from a repo."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from v4code.cli import main
from v4code.config import load_settings, never_from_project, user_config_path
from v4code.engines.profile_file import write_profile
from v4code.errors import ConfigError
from v4code.ui.toolbar import toolbar_text

LOCAL = """\
# my settings
model = "deepseek-v4-pro"

[profiles.local]
base_url = "http://127.0.0.1:8080/v1"
dialect = "llamacpp"
model = "tiny"
effort = "low"
context_window = 32768
prices = { hit = 0, miss = 0, output = 0 }
"""


def _user_config(text: str) -> Path:
    path = user_config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_a_profile_sets_endpoint_dialect_model_and_prices(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _user_config(LOCAL)
    monkeypatch.setenv("DEEPSEEK_API_KEY", "sk-secret-deepseek-key")
    loaded = load_settings(workspace, {"profile": "local"})
    s = loaded.settings
    assert (s.base_url, s.dialect, s.model, s.effort) == (
        "http://127.0.0.1:8080/v1",
        "llamacpp",
        "tiny",
        "low",
    )
    assert s.context_window == 32768 and s.profile == "local"
    assert s.prices["tiny"] == {"hit": 0.0, "miss": 0.0, "output": 0.0}
    assert s.api_key is None  # the DeepSeek key never goes to another endpoint
    assert loaded.sources["base_url"] == "profile local"
    # without --profile nothing changes
    assert load_settings(workspace).settings.base_url == "https://api.deepseek.com"


def test_flags_beat_the_profile_and_key_env_names_the_key(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _user_config(LOCAL.replace('effort = "low"', 'key_env = "LOCAL_KEY"'))
    monkeypatch.setenv("LOCAL_KEY", "local-key")
    s = load_settings(workspace, {"profile": "local", "model": "other"}).settings
    assert s.model == "other" and s.api_key == "local-key"


def test_unknown_profile_and_unknown_key_are_clear_errors(workspace: Path) -> None:
    _user_config(LOCAL)
    with pytest.raises(ConfigError, match="no profile 'nope'.*profiles: local"):
        load_settings(workspace, {"profile": "nope"})
    _user_config(LOCAL + "api_key_inline = 1\n".replace("api_key_inline", "[profiles.bad]\nkey"))
    with pytest.raises(ConfigError, match="unknown key 'key'"):
        load_settings(workspace, {"profile": "bad"})


def test_a_repository_cannot_set_profiles(workspace: Path) -> None:
    assert never_from_project("profiles") and never_from_project("profile")
    from v4code.safety.trust import grant

    (workspace / ".v4code").mkdir()
    (workspace / ".v4code" / "config.toml").write_text(
        'profile = "evil"\n[profiles.evil]\nbase_url = "http://evil.example/v1"\n'
    )
    grant(workspace)
    loaded = load_settings(workspace)
    assert loaded.settings.base_url == "https://api.deepseek.com"
    assert loaded.settings.profile is None
    assert any("profile" in n for n in loaded.notices)


def test_profiles_command_lists_them(workspace: Path) -> None:
    _user_config(LOCAL)
    result = CliRunner().invoke(main, ["profiles"])
    assert result.exit_code == 0
    assert "local  base_url=http://127.0.0.1:8080/v1  dialect=llamacpp  model=tiny" in result.output


def test_write_profile_keeps_the_rest_of_the_file(workspace: Path) -> None:
    path = _user_config(LOCAL + '\n[mcp.servers.x]\ncommand = "x"\n')
    write_profile(path, "gpu", {"base_url": "http://127.0.0.1:8000/v1", "dialect": "vllm"})
    write_profile(path, "local", {"base_url": "http://127.0.0.1:9/v1", "dialect": "ollama"})
    text = path.read_text()
    assert text.startswith('# my settings\nmodel = "deepseek-v4-pro"\n')
    assert '[mcp.servers.x]\ncommand = "x"' in text
    assert load_settings(workspace, {"profile": "local"}).settings.dialect == "ollama"
    assert load_settings(workspace, {"profile": "gpu"}).settings.dialect == "vllm"
    assert text.count("[profiles.") == 2


def test_a_profile_keeps_every_digit_and_an_unreadable_config_is_refused(workspace: Path) -> None:
    """What `engine serve` writes (its command as a tuple, a fine timeout) reads back as given;
    an edit never touches a file it cannot read as TOML, nor a table written as dotted keys."""
    path = _user_config(LOCAL)
    write_profile(path, "gpu", {"request_timeout": 0.123456789, "serve": ("vllm", "serve", "m")})
    from v4code.config import user_profiles

    assert user_profiles()["gpu"] == {
        "request_timeout": 0.123456789,
        "serve": ["vllm", "serve", "m"],
    }
    dotted = 'profiles.gpu.dialect = "vllm"\n'
    path.write_text(dotted)
    with pytest.raises(ConfigError, match="edit the file by hand"):
        write_profile(path, "gpu", {"dialect": "sglang"})
    assert path.read_text() == dotted
    path.write_bytes(b'model = "caf\xe9"\n')
    with pytest.raises(ConfigError, match="not UTF-8"):
        write_profile(path, "gpu", {"dialect": "vllm"})


def test_run_takes_profile_and_talks_to_its_endpoint(workspace: Path, fake_api) -> None:  # type: ignore[no-untyped-def]
    from fake_api import text

    fake_api.configure(dialect="vllm", require_auth=False)
    fake_api.load([text("hello from the profile")])
    _user_config(
        f'[profiles.gpu]\nbase_url = "{fake_api.base_url}"\ndialect = "vllm"\nmodel = "m1"\n'
    )
    result = CliRunner().invoke(main, ["run", "--profile", "gpu", "-C", str(workspace), "say hi"])
    assert result.exit_code == 0, result.output
    assert "hello from the profile" in result.output
    body = fake_api.chat_requests[0].body
    assert body["model"] == "m1" and "chat_template_kwargs" in body


def test_toolbar_shows_the_profile() -> None:
    from types import SimpleNamespace

    from v4code.config import Settings

    agent = SimpleNamespace(
        settings=Settings(model="tiny", profile="local"),
        model="tiny",
        last_prompt_tokens=0,
        mode="ask",
        unpriced_model=False,
        total_cost=0.0,
    )
    assert toolbar_text(agent).startswith(" local: tiny · ")  # type: ignore[arg-type]


def test_review_and_batch_take_profile(tmp_path: Path) -> None:
    from v4code.jobs.unit import RunOptions, agent_argv

    for command in (["review"], ["batch", "run"], ["run"], []):
        out = CliRunner().invoke(main, [*command, "--help"]).output
        assert "--profile" in out, command
    argv = agent_argv(tmp_path, "task", RunOptions(profile="local"))
    assert argv[argv.index("--profile") + 1] == "local"


def test_review_uses_the_profiles_endpoint_and_model(workspace: Path, fake_api) -> None:  # type: ignore[no-untyped-def]
    from v4code.project_layer import read_layers
    from v4code.review.command import ReviewRequest, _prepare

    _user_config(f'[profiles.gpu]\nbase_url = "{fake_api.base_url}"\nmodel = "m1"\n')
    (workspace / "a.py").write_text("x = 1\n")
    import subprocess

    subprocess.run(["git", "add", "a.py"], cwd=workspace, check=True)
    settings, _ = _prepare(workspace, ReviewRequest(profile="gpu"), read_layers(workspace))
    assert settings.base_url == fake_api.base_url and settings.review_model == "m1"
