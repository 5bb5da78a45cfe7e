"""Models: the models file and its catalog, backends with their limits and circuit
breakers, rate-limit handling and prices."""

__all__: list[str] = []
