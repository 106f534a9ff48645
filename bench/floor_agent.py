"""The floor for the fix-a-bug task: the least one plain Python process can do and still do it.

Standard library only, no v4code import: it sends the same chat requests v4code sends (the
same model, system prompt, task and tool schemas, taken from a request v4code made on the same
task; the history grows from the answers as v4code's does), streams each answer over one
keep-alive connection, and runs the three tools the script calls, as plainly as they can be
run: read a file, replace a string in it, run the command. No sandbox, no snapshots, no
session log, no checks. `floor.py` times it beside v4code.

Run: `python bench/floor_agent.py BASE_URL PREFIX_JSON` from the task's repository; PREFIX_JSON
holds the first request's body (its `messages` are the system prompt and the task).
"""

from __future__ import annotations

import http.client
import json
import shlex
import subprocess
import sys
import urllib.parse
from pathlib import Path
from typing import Any


def stream(conn: http.client.HTTPConnection, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST one streamed chat request; the assistant message its deltas add up to."""
    data = json.dumps(body).encode()
    headers = {"Content-Type": "application/json", "Authorization": "Bearer sk-floor"}
    conn.request("POST", path, data, headers)
    resp = conn.getresponse()
    if resp.status != 200:
        raise SystemExit(f"HTTP {resp.status}: {resp.read()[:300]!r}")
    content, reasoning = "", ""
    calls: dict[int, dict[str, str]] = {}
    for line in resp:
        if not line.startswith(b"data: ") or line.startswith(b"data: [DONE]"):
            continue
        for choice in json.loads(line[6:]).get("choices") or []:
            delta = choice.get("delta") or {}
            content += delta.get("content") or ""
            reasoning += delta.get("reasoning_content") or ""
            for part in delta.get("tool_calls") or []:
                call = calls.setdefault(part["index"], {"id": "", "name": "", "arguments": ""})
                call["id"] = part.get("id") or call["id"]
                fn = part.get("function") or {}
                call["name"] += fn.get("name") or ""
                call["arguments"] += fn.get("arguments") or ""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    message["reasoning_content"] = reasoning
    if calls:
        message["tool_calls"] = [
            {"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}}
            for _, c in sorted(calls.items())
        ]  # fmt: skip
    return message


def run_tool(name: str, args: dict[str, Any]) -> str:
    """The script's three tools, done the plainest way."""
    if name == "read_file":
        return Path(args["path"]).read_text()
    if name == "edit_file":
        path = Path(args["path"])
        path.write_text(path.read_text().replace(args["old_string"], args["new_string"], 1))
        return f"Edited {args['path']}."
    if name == "run_command":
        done = subprocess.run(
            shlex.split(args["command"]), capture_output=True, text=True, stdin=subprocess.DEVNULL
        )
        return f"exit code: {done.returncode}\n{done.stdout}{done.stderr}"
    return f"unknown tool {name}"


def main() -> None:
    base_url, prefix_path = sys.argv[1:3]
    body = json.loads(Path(prefix_path).read_text())
    url = urllib.parse.urlsplit(base_url)
    conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port)
    path = url.path.rstrip("/") + "/chat/completions"
    while True:
        message = stream(conn, path, body)
        body["messages"].append(message)
        if not message.get("tool_calls"):
            break
        for call in message["tool_calls"]:
            fn = call["function"]
            result = run_tool(fn["name"], json.loads(fn["arguments"]))
            body["messages"].append({"role": "tool", "tool_call_id": call["id"], "content": result})
    print(message["content"])


if __name__ == "__main__":
    main()
