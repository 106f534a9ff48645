"""bench/diagnostics.py with the client asking for diagnostics instead of taking pushed ones.

A probe of a proposed client change, not the shipped path: the client declares pull
diagnostics (`textDocument.diagnostic`, which basedpyright honours with dynamic
registration) and each check asks `textDocument/diagnostic` for the synced text. A pushed
`publishDiagnostics` can speak of a version before its check is done (pyright publishes a
file's diagnostics for the new version once before checking it and once after), so the
push path sometimes reports the previous text's errors; the pulled answer is the checked
one. It patches private names of `v4code.lsp` and may break when they change.

Run by hand: `python bench/diagnostics_pull_probe.py --repo CLONE [--commits ...]` (the
same arguments as bench/diagnostics.py).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from lsprotocol import types as lsp
from lsprotocol.converters import get_converter

from v4code.lsp import client, manager

_converter = get_converter()
_initialize_params = client.LspClient._initialize_params


def _with_pull(self: client.LspClient) -> Any:
    params = _initialize_params(self)
    params["capabilities"]["textDocument"]["diagnostic"] = {"dynamicRegistration": True}
    return params


def _pulled(
    server: client.LspClient, path: Path, text: str, language: Any, deadline: float
) -> list[lsp.Diagnostic] | None:
    server.sync(path, text, language.language_id)
    asked = server._send_request(
        "textDocument/diagnostic", {"textDocument": {"uri": path.as_uri()}}
    )
    answer = server._wait_answer(asked, deadline)
    if not isinstance(answer, dict):
        return None
    found = [_converter.structure(d, lsp.Diagnostic) for d in answer.get("items", [])]
    return [d for d in found if manager._is_error(d)]


client.LspClient._initialize_params = _with_pull  # type: ignore[method-assign]
manager._errors = _pulled
sys.path.insert(0, str(Path(__file__).resolve().parent))
import diagnostics  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(diagnostics.main(sys.argv[1:]))
