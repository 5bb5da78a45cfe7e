"""One module per ``grasp`` command: each defines ``add_command`` (its argparse parser) and
``run_command`` (what it does); ``grasp_core.cli.app`` lists them in its dispatch table."""

__all__: list[str] = []
