"""``grasp``, the command line: a thin shell over the Python API, one module per command
under ``commands/`` and the dispatch table in ``app``."""

from grasp_core.cli.app import main

__all__ = ["main"]
