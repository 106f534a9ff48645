"""The editor's view of the workspace's files for `v4code acp` (ACP's `fs/read_text_file` and
`fs/write_text_file`), when the editor offers them.

A read tool and the edit tools then see a file as the person does in the editor, unsaved
changes included, and an approved edit is written through the editor, so its buffer, its
undo and its record of what the agent changed follow. Only the last step crosses: v4code has
already resolved the path (inside the workspace, not protected), asked about a secret file,
taken the approval and recorded the checkpoint (`edits/apply.py`), and it makes the disk hold
what was approved afterwards.

What is never shared: a secret file (by name, the user's `secret_files` globs, or content, on
disk or in the editor's text): it is read and written by v4code itself, so its content goes
neither to the editor in a write nor from an unsaved buffer to the model past the question
v4code asked about the file on disk; nor a file that is not plain UTF-8 text with `\\n`
endings (the editor's text could not give back its bytes: a BOM, CRLF, Latin-1 or binary
file stays v4code's own). An editor that fails or does not answer in time is a fallback to
v4code's own read or write, never a failed edit.
"""

from __future__ import annotations

import asyncio
import codecs
from collections.abc import Coroutine, Iterable
from pathlib import Path
from typing import Any

from v4code.safety.secret_files import SecretFiles, secret_in_text
from v4code.textio import SNIFF_BYTES, binary_kind

TIMEOUT = 30.0  # seconds an editor has to answer one read or write


class EditorFiles:
    """`tool_context.EditorFiles` over the SDK's connection to the editor; called from the
    turn's thread, answered on the protocol's event loop."""

    def __init__(
        self,
        client: Any,
        loop: asyncio.AbstractEventLoop,
        session_id: str,
        root: Path,
        globs: Iterable[str] = (),
        *,
        can_read: bool,
        can_write: bool,
    ) -> None:
        self.client = client
        self.loop = loop
        self.session_id = session_id
        self.root = root
        self.secrets = SecretFiles(root, tuple(globs))
        self.can_read = can_read
        self.can_write = can_write

    def read(self, path: Path, disk: bytes) -> bytes | None:
        if not self.can_read or not self._shareable(path, disk):
            return None
        asked = self.client.read_text_file(session_id=self.session_id, path=str(path))
        response = self._call(asked)
        text = getattr(response, "content", None)
        if not isinstance(text, str) or "\r" in text or secret_in_text(text):
            return None  # what v4code asked about is the file on disk
        return text.encode("utf-8")

    def write(self, path: Path, before: bytes | None, after: bytes) -> bool:
        """Through the editor only when it offers reads too: an edit computed on the disk's
        text, written into a buffer with unsaved changes, would throw those away."""
        if not (self.can_read and self.can_write) or not self._shareable(path, after):
            return False
        if before is not None and not self._shareable(path, before):
            return False
        content = after.decode("utf-8")
        asked = self.client.write_text_file(
            session_id=self.session_id, path=str(path), content=content
        )
        return self._call(asked) is not False

    def _shareable(self, path: Path, data: bytes) -> bool:
        """Plain UTF-8 text with `\\n` endings in a file that is not a secret one."""
        if b"\r" in data or data.startswith(codecs.BOM_UTF8):
            return False
        if binary_kind(data[:SNIFF_BYTES]) is not None or secret_in_text(data):
            return False
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return False
        inside = Path(path).is_relative_to(self.secrets.root)
        return inside and self.secrets.check(str(path)) is None

    def _call(self, asked: Coroutine[Any, Any, Any]) -> Any:
        """The editor's answer, or False when it failed or took too long (the caller then
        does the read or write itself). Never waits on the loop's own thread."""
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            asked.close()
            return False
        future = asyncio.run_coroutine_threadsafe(asked, self.loop)
        try:
            return future.result(TIMEOUT)
        except Exception:  # an error answer, a closed connection, no answer in time
            future.cancel()
            return False
