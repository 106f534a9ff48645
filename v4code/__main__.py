"""`python -m v4code` and the `v4code` script: the same command line.

The secret variables leave the original environment block first (safety.key_handoff), before
anything else is imported, so no program v4code starts can read them from /proc. Under
GitHub Actions, what it prints can then never be read as a workflow command (workflow_commands).
The methods of the dataclasses defined from then on are compiled once and kept between runs
(dataclass_code): a good part of the start-up's import time.
"""


def main() -> None:
    from v4code.safety.key_handoff import hand_over

    hand_over()
    from v4code.dataclass_code import install
    from v4code.home import user_home

    install(user_home() / "cache")
    from v4code.workflow_commands import guard_streams

    guard_streams()
    from v4code.cli import main as cli

    cli()


if __name__ == "__main__":
    main()
