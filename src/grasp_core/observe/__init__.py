"""Watching a run: metrics per model and node (``metrics``), live progress (``progress``),
budget caps (``budget``) and the printed tables (``report``). ``grasp_core.runs.monitor``
ties them to one run; logging sits lower, in ``grasp_core.logs``, since every layer logs."""

__all__: list[str] = []
