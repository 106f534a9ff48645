"""The request rules the fake server enforces, with the real API's status codes and messages."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

__all__ = [
    "DEFAULT_MODELS",
    "DIALECTS",
    "EFFORTS",
    "REASONING_MISSING",
    "TOOL_NOT_RESPONSE",
    "TOOLS_UNANSWERED",
    "Rejection",
    "check_chat_request",
    "thinking_enabled",
]

DEFAULT_MODELS = frozenset(
    {"deepseek-v4-pro", "deepseek-v4-flash", "deepseek-flash", "deepseek-chat", "deepseek-reasoner"}
)
DIALECTS = ("deepseek", "vllm", "sglang", "llamacpp", "ollama")
EFFORTS = ("none", "low", "high", "max", "minimal", "medium", "xhigh", "ultra")
ROLES = ("system", "user", "assistant", "tool")
MAX_TOOLS = 128
NAME_RE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")

REASONING_MISSING = "The `reasoning_content` in the thinking mode must be passed back to the API."
TOOL_NOT_RESPONSE = (
    "Messages with role 'tool' must be a response to a preceding message with 'tool_calls'"
)
TOOLS_UNANSWERED = (
    "An assistant message with 'tool_calls' must be followed by tool messages responding to each "
    "'tool_call_id'. (insufficient tool messages following tool_calls message)"
)


@dataclass(frozen=True)
class Rejection:
    """Why a request is refused: the HTTP answer plus a detail for the violation log."""

    status: int
    message: str
    detail: str = ""
    type: str = "invalid_request_error"
    code: str = "invalid_request_error"

    def body(self) -> dict[str, Any]:
        return {
            "error": {"message": self.message, "type": self.type, "param": None, "code": self.code}
        }

    def describe(self) -> str:
        where = f" [{self.detail}]" if self.detail else ""
        return f"HTTP {self.status}: {self.message}{where}"


def _bad(message: str, detail: str = "", status: int = 400) -> Rejection:
    return Rejection(status=status, message=message, detail=detail)


def thinking_enabled(body: dict[str, Any], dialect: str = "deepseek") -> bool:
    """Whether this request runs in thinking mode, as the given engine decides it."""
    thinking = body.get("thinking")
    top_type = thinking.get("type") if isinstance(thinking, dict) else None
    effort = body.get("reasoning_effort")
    if top_type == "disabled" or effort == "none":
        return False
    if dialect in ("vllm", "sglang"):
        kwargs = body.get("chat_template_kwargs")
        if isinstance(kwargs, dict):
            flag = kwargs.get("thinking", kwargs.get("enable_thinking"))
            if flag is not None:
                return bool(flag)
        return top_type == "enabled"
    if dialect == "llamacpp":  # on by default; a template reading `thinking` can turn it off
        kwargs = body.get("chat_template_kwargs")
        if isinstance(kwargs, dict) and kwargs.get("thinking") is not None:
            return bool(kwargs["thinking"])
    if dialect == "ollama":
        reasoning = body.get("reasoning")
        if isinstance(reasoning, dict) and reasoning.get("effort") == "none":
            return False
    return True


def check_chat_request(
    body: Any, *, dialect: str = "deepseek", accepted_models: frozenset[str] | None = None
) -> Rejection | None:
    """The first rule this chat-completions body breaks, or None."""
    if not isinstance(body, dict):
        return _bad("Failed to deserialize the JSON body: expected a JSON object", status=422)
    deepseek = dialect == "deepseek"
    model = body.get("model")
    if not isinstance(model, str) or (accepted_models is not None and model not in accepted_models):
        return _bad("Model Not Exist", f"model={model!r}")
    effort = body.get("reasoning_effort")
    if deepseek and effort is not None and effort not in EFFORTS:
        return _bad(
            "Failed to deserialize the JSON body into the target type: reasoning_effort: unknown "
            f"variant `{effort}`, expected one of `none`, `low`, `high`, `max`",
            status=422,
        )
    thinking = thinking_enabled(body, dialect)
    return (
        _check_tools(body.get("tools"))
        or (_check_tool_choice(body.get("tool_choice")) if deepseek and thinking else None)
        or _check_messages(body.get("messages"))
        or _check_reasoning(body, dialect, thinking)
    )


def _check_tools(tools: Any) -> Rejection | None:
    if tools is None:
        return None
    if not isinstance(tools, list):
        return _bad("Invalid 'tools': expected an array of tool definitions")
    if len(tools) > MAX_TOOLS:
        return _bad(
            f"Invalid 'tools': array too long. Expected an array with maximum length {MAX_TOOLS}, "
            f"but got an array with length {len(tools)} instead."
        )
    seen: set[str] = set()
    for i, tool in enumerate(tools):
        fn = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(tool, dict) or tool.get("type") != "function" or not isinstance(fn, dict):
            return _bad(f"Invalid 'tools[{i}]': only tools of type 'function' are supported")
        name = fn.get("name")
        if not isinstance(name, str) or not NAME_RE.match(name):
            return _bad(
                f"Invalid 'tools[{i}].function.name': string does not match pattern. Expected a "
                "string that matches the pattern '^[a-zA-Z0-9_-]{1,64}$'.",
                f"name={name!r}",
            )
        if name in seen:
            return _bad(f"Invalid 'tools': duplicate function name '{name}'")
        seen.add(name)
    return None


def _check_tool_choice(choice: Any) -> Rejection | None:
    if choice == "required" or isinstance(choice, dict):
        return _bad(
            "The `tool_choice` parameter does not support `required` or a named function in "
            "thinking mode; disable thinking to force a tool call.",
            f"tool_choice={choice!r}",
        )
    return None


def _check_messages(messages: Any) -> Rejection | None:
    if not isinstance(messages, list) or not messages:
        return _bad("Invalid 'messages': the messages must be a non-empty array")
    open_ids: list[str] | None = None  # call ids of the closest assistant tool_calls message
    answered: set[str] = set()
    owner = -1
    for i, msg in enumerate(messages):
        role = msg.get("role") if isinstance(msg, dict) else None
        if role not in ROLES:
            return _bad(
                f"Invalid 'messages[{i}].role': unknown variant `{role}`, expected one of "
                "`system`, `user`, `assistant`, `tool`",
            )
        if role == "tool":
            call_id = msg.get("tool_call_id")
            if open_ids is None or call_id not in open_ids or call_id in answered:
                return _bad(TOOL_NOT_RESPONSE, f"messages[{i}] tool_call_id={call_id!r}")
            answered.add(call_id)
            continue
        if open_ids is not None and set(open_ids) - answered:
            missing = sorted(set(open_ids) - answered)
            return _bad(TOOLS_UNANSWERED, f"messages[{owner}] unanswered ids {missing}")
        open_ids, answered = None, set()
        if role == "assistant" and msg.get("tool_calls"):
            bad = _check_assistant_calls(msg["tool_calls"], i)
            if bad:
                return bad
            open_ids = [c["id"] for c in msg["tool_calls"]]
            owner = i
    if open_ids is not None and set(open_ids) - answered:
        missing = sorted(set(open_ids) - answered)
        return _bad(TOOLS_UNANSWERED, f"messages[{owner}] unanswered ids {missing}")
    return None


def _check_assistant_calls(calls: Any, i: int) -> Rejection | None:
    if not isinstance(calls, list):
        return _bad(f"Invalid 'messages[{i}].tool_calls': expected an array")
    for j, call in enumerate(calls):
        fn = call.get("function") if isinstance(call, dict) else None
        where = f"messages[{i}].tool_calls[{j}]"
        if not isinstance(call, dict) or not isinstance(call.get("id"), str):
            return _bad(f"Invalid '{where}': missing 'id'")
        if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
            return _bad(f"Invalid '{where}.function': missing 'name'")
        if not isinstance(fn.get("arguments"), str):
            return _bad(
                f"Invalid '{where}.function.arguments': expected a string (JSON text)",
                status=422,
            )
    return None


def _check_reasoning(body: dict[str, Any], dialect: str, thinking: bool) -> Rejection | None:
    if not thinking or not body.get("tools"):
        return None
    aliases = (
        ("reasoning_content", "reasoning")
        if dialect in ("vllm", "ollama")
        else ("reasoning_content",)
    )
    for i, msg in enumerate(body["messages"]):
        if msg.get("role") != "assistant":
            continue
        if not any(isinstance(msg.get(key), str) for key in aliases):
            return _bad(REASONING_MISSING, f"messages[{i}] has no {' / '.join(aliases)} string")
    return None
