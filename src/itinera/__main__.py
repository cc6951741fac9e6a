"""``python -m itinera``: the ``itinera`` command."""

from itinera.cli.main import app

__all__: list[str] = []

if __name__ == "__main__":
    app()
