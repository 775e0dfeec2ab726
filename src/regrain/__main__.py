"""``python -m regrain``: the same as the ``regrain`` command."""

from regrain.cli import main

main()
