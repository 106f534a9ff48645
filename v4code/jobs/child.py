"""A unit's agent process: `python -m v4code.jobs.child DRIVER_PID run ...` is `v4code run`
that dies with the process that started it.

The agent runs in a session of its own (so Ctrl-C and a crash stay contained), which also
means a driver killed with SIGKILL would leave it running, still talking to the model and
writing to a worktree that `--resume` is about to recreate. On Linux the kernel sends it
SIGKILL when its parent goes (PR_SET_PDEATHSIG); elsewhere `--resume` stops such strays
by their command line (runner.stop_strays).
"""

from __future__ import annotations

import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int) -> None:
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL))
        except (OSError, AttributeError):
            pass
    if parent and os.getppid() != parent:  # the parent went before the line above
        os._exit(137)


def main() -> None:
    try:
        parent = int(sys.argv[1])
    except (IndexError, ValueError):
        sys.stderr.write("usage: python -m v4code.jobs.child DRIVER_PID run ...\n")
        raise SystemExit(2) from None
    die_with_parent(parent)
    from v4code.safety.key_handoff import hand_over

    hand_over(sys.argv[2:])  # the key out of this process's environment block too
    from v4code.cli import main as cli

    cli(args=sys.argv[2:], prog_name="v4code")


if __name__ == "__main__":
    main()
