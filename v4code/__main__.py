"""`python -m v4code` and the `v4code` script: the same command line.

The secret variables leave the original environment block first (safety.key_handoff), before
anything else is imported, so no program v4code starts can read them from /proc.
"""


def main() -> None:
    from v4code.safety.key_handoff import hand_over

    hand_over()
    from v4code.cli import main as cli

    cli()


if __name__ == "__main__":
    main()
