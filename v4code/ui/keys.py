"""The chat's questions answered by one key: approvals, the plan's yes or no, attaching a
secret file, trusting a repository's `.v4code/`.

One rule for all of them, as in other terminal coding agents: the key is taken as it is pressed,
no Enter (`y`, `n`, and `a` where "always" is offered); Enter answers the default where the
question has one (`[y/N]`: no) and does nothing elsewhere, so a stray Enter is never an answer;
Ctrl-C or Esc is a no (the caller says what that means: an approval cancels the turn, a plan
waits); other keys do nothing. Nothing after the answering key is read by the question: what the
person typed next (a reason after `n`, their next message) reaches the prompt that follows, as
prompt-toolkit keeps unread keys for the next prompt on the same input. A question asked as a
line instead (`n and not now` taken whole, or refused as not y or n) would either swallow the
message typed after the answer or trap the person in `Answer y or n.`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from prompt_toolkit import PromptSession
    from prompt_toolkit.input import Input
    from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
    from prompt_toolkit.output import Output


class KeyQuestion:
    """`ask(question, default=None)`: the key pressed, lower case, echoed after the question.

    Ctrl-C and Esc raise KeyboardInterrupt, Ctrl-D EOFError, as at a line prompt; Enter returns
    `default` when one is given and is ignored otherwise."""

    def __init__(self, keys: str, input: Input | None = None, output: Output | None = None) -> None:
        from prompt_toolkit import PromptSession

        self.keys = keys.lower()
        self._default: str | None = None
        self._session: PromptSession[str] = PromptSession(
            input=input, output=output, key_bindings=self._bindings()
        )

    def __call__(self, question: str, default: str | None = None) -> str:
        self._default = default
        try:
            return str(self._session.prompt(question))
        finally:
            self._default = None

    def _bindings(self) -> KeyBindings:
        from prompt_toolkit.key_binding import KeyBindings

        bindings = KeyBindings()
        for key in self.keys:
            bindings.add(key)(_answer(key))
            bindings.add(key.upper())(_answer(key))

        @bindings.add("<any>")
        def _ignore(event: KeyPressEvent) -> None:
            """Anything but an answer: nothing happens."""

        @bindings.add("enter")
        def _enter(event: KeyPressEvent) -> None:
            if self._default is not None:
                _answer(self._default)(event)

        @bindings.add("c-c")
        @bindings.add("escape", eager=True)
        def _no(event: KeyPressEvent) -> None:
            event.app.exit(exception=KeyboardInterrupt())

        @bindings.add("c-d")
        def _eof(event: KeyPressEvent) -> None:
            event.app.exit(exception=EOFError())

        return bindings


def _answer(key: str) -> Callable[[KeyPressEvent], None]:
    def handler(event: KeyPressEvent) -> None:
        event.current_buffer.text = key  # echoed after the question
        event.app.exit(result=key)

    return handler
