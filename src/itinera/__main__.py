"""``python -m itinera``: the ``itinera`` command."""

from itinera.cli.main import app

app()
