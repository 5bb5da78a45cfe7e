"""Watching a run: metrics per model and node, live progress, budget caps, the monitor that
ties them to a run, the printed report, and structured logging."""

__all__: list[str] = []
