"""`python -m v4code` runs the same command line as the `v4code` script."""

from v4code.cli import main

if __name__ == "__main__":
    main()
