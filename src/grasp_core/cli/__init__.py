"""``grasp``, the command line: a thin shell over the Python API, one module per command
under ``commands/`` and a dispatch table in ``main``."""

from grasp_core.cli.main import main

__all__ = ["main"]
