"""The chat's one question on start in a repository whose `.v4code/` is not trusted yet."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prompt_toolkit.input import Input
    from prompt_toolkit.output import Output
    from rich.console import Console

    from v4code.safety.trust import TrustState


APPEARED = (
    ".v4code/ appeared while v4code ran a command here, so it is not offered for trust; "
    "read it, then run `v4code trust` if it is yours."
)


def ask_to_trust(
    root: Path, console: Console, *, input: Input | None = None, output: Output | None = None
) -> TrustState:
    """Show what `.v4code/` would change and ask once; the trust the session opens with (the
    state computed to ask, or the one recorded when the user trusts it now).

    A `.v4code/` that appeared during a command v4code ran (the model's, maybe) is never
    offered: one line says so, and only the user's own `v4code trust` can trust it.

    One key answers (v4code.ui.keys): `y`; `n`, Enter, Ctrl-C, Esc or Ctrl-D keep the chat going
    on the user's own settings only; nothing is recorded, so the next start asks again. What
    is typed after the key is the chat's first message, not part of the answer.
    """
    from v4code.safety.trust import appeared, describe, forget_appeared, grant, trust_state
    from v4code.textio import shown_lines
    from v4code.ui.keys import KeyQuestion

    state = trust_state(root)
    if state.status == "nothing":
        forget_appeared(root)
    if state.status not in ("untrusted", "changed") or not state.digest:
        return state
    if appeared(root):
        console.print(APPEARED, markup=False)
        return state
    for line in describe(state):
        console.print(shown_lines(line), markup=False)  # hook and server commands
    console.print(
        "Trust this .v4code/ and use it? y trusts it as it is now; n uses your settings only."
    )
    try:
        answer = KeyQuestion("yn", input, output)("trust? [y/N] ", default="n")
    except (EOFError, KeyboardInterrupt):
        answer = "n"
    if answer != "y":
        return state  # the settings notice that follows says what this means
    granted = grant(root)
    console.print("Trusted: v4code uses this repository's .v4code/ from now on.")
    return granted
