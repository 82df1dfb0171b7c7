"""The ``vicinity`` command installed with the package: the same command
as the Rust binary (``vicinity serve``, ``vicinity bench ...``)."""

import sys

from . import _native


def main() -> None:
    """Runs ``vicinity`` with this process's arguments."""
    try:
        _native.cli(["vicinity", *sys.argv[1:]])
    except _native.VicinityError as e:
        print(f"Error: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
