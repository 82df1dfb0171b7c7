"""``python -m vicinity_db ...`` is the ``vicinity`` command."""

from ._cli import main

main()
