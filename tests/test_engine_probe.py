"""`v4code engine probe` against the project's fake server behaving like each engine."""

from __future__ import annotations

from typing import Any

from click.testing import CliRunner
from fake_api import dsml_leak, text, tool_call

from v4code.cli import main
from v4code.config import load_settings, user_config_path
from v4code.engines.probe import FAIL, PASS, WARN, probe


def script(tool: dict[str, Any] | None = None, **plain: Any) -> list[dict[str, Any]]:
    """The probe's requests in order: plain (thinking on), plain (thinking off), a tool call,
    the answer after the tool result, and a request for a model the server does not serve."""
    answer = dict(reasoning="I think.", thinking_only=True, **plain)
    return [
        text("It works.", **answer),
        text("It works.", **answer),
        tool or tool_call("probe_echo", reasoning="call it", text="ok"),
        text("Done."),
        text("Any model."),
    ]


def verdicts(report: Any) -> dict[str, str]:
    return {c.name: c.verdict for c in report.checks}


def test_deepseek_dialect_everything_passes(fake_api: Any) -> None:
    fake_api.configure(require_auth=False)
    fake_api.load(script()[:4])
    report = probe(fake_api.base_url, dialect="deepseek")
    assert set(verdicts(report).values()) == {PASS}, report.checks
    assert report.dialect == "deepseek" and report.ok
    assert "prompt_cache_hit_tokens" in report.check("usage").evidence
    assert "an unknown model name is refused" in report.check("model name").evidence
    assert fake_api.requests[-1].body["model"] == "v4code-probe-no-such-model"
    fake_api.violations.clear()  # the refused model name is what the check looked for
    off = fake_api.chat_requests[1].body
    assert off["thinking"] == {"type": "disabled"}


def test_vllm_is_recognised_by_its_reasoning_field_even_when_deepseek_is_tried(
    fake_api: Any,
) -> None:
    fake_api.configure(dialect="vllm", require_auth=False)
    fake_api.load(script())
    report = probe(fake_api.base_url, dialect="deepseek")
    assert report.dialect_tried == "deepseek" and report.dialect == "vllm"
    assert "delta.reasoning " in report.check("thinking").evidence
    assert verdicts(report)["thinking switch"] == PASS
    assert fake_api.chat_requests[1].body["chat_template_kwargs"] == {"thinking": False}
    replay = fake_api.chat_requests[3].body["messages"][1]
    assert "reasoning" in replay and "reasoning_content" not in replay
    assert "also answers a model it does not serve" in report.check("model name").evidence


def test_sglang_guessed_from_models_owner(fake_api: Any) -> None:
    fake_api.configure(dialect="sglang", owned_by="sglang", require_auth=False)
    fake_api.load(script())
    report = probe(fake_api.base_url)
    assert report.dialect_tried == "sglang" and report.dialect == "sglang"
    assert report.ok and set(verdicts(report).values()) == {PASS}


def test_llamacpp_without_parsers_or_usage_is_reported_truthfully(fake_api: Any) -> None:
    """What llama-cpp-python's server does: no tool-call parser, no usage in the stream."""
    fake_api.configure(dialect="llamacpp", owned_by="llamacpp", require_auth=False)
    leak = dsml_leak([("probe_echo", {"text": "ok"})])
    steps = script(tool={**leak, "no_usage": True}, no_usage=True)
    fake_api.load([{**s, "no_usage": True} for s in steps])
    report = probe(fake_api.base_url)
    v = verdicts(report)
    assert v["tool call"] == WARN
    assert "leaked as text and recovered" in report.check("tool call").evidence
    assert "--jinja" in report.check("tool call").fix
    assert v["usage"] == FAIL and "include_usage ignored" in report.check("usage").evidence
    assert v["thinking switch"] == PASS and report.dialect == "llamacpp"
    assert not report.ok


def test_a_switch_the_server_ignores_is_replaced_by_one_that_works(fake_api: Any) -> None:
    fake_api.configure(dialect="ollama", require_auth=False)
    answer = dict(reasoning="I think.", thinking_only=True)
    fake_api.load(
        [
            text("It works.", **answer),
            text("It works.", **answer),  # the vllm switch: ignored by this server
            text("It works.", **answer),  # the ollama switch: honoured
            tool_call("probe_echo", text="ok"),
            text("Done."),
            text("Any model."),
        ]
    )
    report = probe(fake_api.base_url, dialect="vllm")
    assert report.dialect == "ollama"
    assert (
        "the ollama dialect's switch turned thinking off"
        in report.check("thinking switch").evidence
    )
    assert fake_api.chat_requests[2].body["reasoning_effort"] == "none"
    assert verdicts(report)["usage"] == WARN  # Ollama has no cache fields


def test_no_thinking_at_all_fails_with_the_engine_flag(fake_api: Any) -> None:
    fake_api.configure(dialect="vllm", owned_by="vllm", require_auth=False)
    steps = script()
    steps[0] = text("It works.")
    steps[1] = text("It works.")
    fake_api.load(steps)
    report = probe(fake_api.base_url)
    assert verdicts(report)["thinking"] == FAIL
    assert report.check("thinking").fix == "start vLLM with --reasoning-parser deepseek_v4"
    assert verdicts(report)["thinking switch"] == WARN


def test_probe_cli_fix_writes_the_dialect_into_the_profile(fake_api: Any, workspace: Any) -> None:
    fake_api.configure(dialect="vllm", require_auth=False)
    fake_api.load(script())
    path = user_config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f'# keep me\n[profiles.gpu]\nbase_url = "{fake_api.base_url}"\ndialect = "deepseek"\n'
    )
    result = CliRunner().invoke(main, ["engine", "probe", "--profile", "gpu", "--fix"])
    assert result.exit_code == 0, result.output
    assert "PASS  tool call: structured call probe_echo" in result.output
    assert "dialect: vllm" in result.output
    assert path.read_text().startswith("# keep me\n")
    assert load_settings(workspace, {"profile": "gpu"}).settings.dialect == "vllm"


def test_probe_of_nothing_listening_fails_cleanly() -> None:
    result = CliRunner().invoke(
        main, ["engine", "probe", "http://127.0.0.1:9/v1", "--timeout", "2"]
    )
    assert result.exit_code == 1
    assert "FAIL  models" in result.output and "FAIL  streaming" in result.output


def test_the_probe_never_follows_a_models_redirect_with_the_key(
    redirecting_models: tuple[str, list[str | None]],
) -> None:
    """The probe asks /models with the key as the chat does: a redirect fails the check and
    the key reaches no other server."""
    from v4code.engines.probe import Prober

    base_url, seen = redirecting_models
    models, where = Prober(base_url, "sk-probe-0123456789", 5).models()
    assert models is None and where.endswith("/v1/models: HTTP 302")
    assert seen == []


def test_a_missing_tool_parser_is_fixed_on_the_engine_the_user_named(fake_api: Any) -> None:
    """A vLLM that still sends reasoning_content (what the sglang dialect reads) and leaks its
    tool calls: the advice is vLLM's flag, and the report says why the dialect differs."""
    fake_api.configure(dialect="sglang", require_auth=False)
    leak = dsml_leak([("probe_echo", {"text": "ok"})])
    fake_api.load(script(tool=leak))
    result = CliRunner().invoke(main, ["engine", "probe", fake_api.base_url, "--dialect", "vllm"])
    assert "WARN  tool call: leaked as text" in result.output, result.output
    fix = next(line for line in result.output.splitlines() if "fix:" in line)
    assert "--tool-call-parser deepseek_v4 --enable-auto-tool-choice" in fix
    assert "SGLang" not in fix and "model ID" not in fix
    assert "dialect: sglang (not vllm: the reasoning came in delta.reasoning_content" in (
        result.output
    )


def test_a_local_server_probed_as_deepseek_gets_each_engines_parser_flag(fake_api: Any) -> None:
    fake_api.configure(dialect="sglang", require_auth=False)
    fake_api.load(script(tool=dsml_leak([("probe_echo", {"text": "ok"})])))
    report = probe(fake_api.base_url, dialect="deepseek")
    fix = report.check("tool call").fix
    assert "model ID" not in fix
    for flag in ("--tool-call-parser deepseek_v4", "--tool-call-parser deepseekv4", "--jinja"):
        assert flag in fix


def test_fix_says_when_it_changes_the_dialect_the_user_chose(fake_api: Any, workspace: Any) -> None:
    fake_api.configure(dialect="sglang", require_auth=False)
    fake_api.load(script())
    path = user_config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'[profiles.gpu]\nbase_url = "{fake_api.base_url}"\ndialect = "vllm"\n')
    result = CliRunner().invoke(main, ["engine", "probe", "--profile", "gpu", "--fix"])
    assert result.exit_code == 0, result.output
    said = next(line for line in result.output.splitlines() if line.startswith("--fix:"))
    assert "dialect changed from 'vllm' to 'sglang' because the reasoning came in" in said
    assert "to keep 'vllm', set it back in" in said
    assert load_settings(workspace, {"profile": "gpu"}).settings.dialect == "sglang"
    fake_api.load(script())
    again = CliRunner().invoke(main, ["engine", "probe", "--profile", "gpu", "--fix"])
    assert "--fix: profile 'gpu' keeps dialect 'sglang': nothing changed" in again.output


def test_probe_fix_changes_the_dialect_line_only(fake_api: Any, workspace: Any) -> None:
    """The profile is the user's text: its quotes, comments, order and place stay as written."""
    fake_api.configure(dialect="vllm", require_auth=False)
    fake_api.load(script())
    path = user_config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    before = (
        "# keep me\n"
        "[profiles.gpu]\n"
        "# my box under the desk\n"
        f"base_url = '{fake_api.base_url}'  # port forwarded\n"
        "dialect = 'deepseek'   # a guess\n"
        "prices = {hit = 0, miss = 0, output = 0}\n"
        "\n"
        "[profiles.other]\n"
        "model = 'm2'\n"
    )
    path.write_text(before)
    result = CliRunner().invoke(main, ["engine", "probe", "--profile", "gpu", "--fix"])
    assert result.exit_code == 0, result.output
    assert path.read_text() == before.replace("'deepseek'", "'vllm'")
