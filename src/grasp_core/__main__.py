"""``python -m grasp_core`` runs the CLI."""

from grasp_core._console import run

run()
