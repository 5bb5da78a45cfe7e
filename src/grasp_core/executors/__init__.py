"""Executors beyond the local one: ``ray/`` runs a task's shards on a Ray cluster. They
build on ``grasp_core.runs``; nothing in ``runs`` imports them (``grasp_core.api`` chooses)."""

__all__: list[str] = []
