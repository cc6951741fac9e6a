"""The ``itinera`` command line: a thin face over the engine and the simulator."""

__all__: list[str] = []
