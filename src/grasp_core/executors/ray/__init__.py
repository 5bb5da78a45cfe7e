"""The Ray executor: a task's input split into shards, one ordinary engine per shard on Ray
workers, backend limits kept global by actors, and the shards' parts merged at the end.

Ray is an optional extra (``pip install "grasp-sdg[ray]"``), imported only when a run asks
for it; nothing here imports it at module level.
"""

from grasp_core.executors.ray.driver import MAX_ATTEMPTS, ShardFailedError, run_on_ray
from grasp_core.executors.ray.layout import ShardLayout
from grasp_core.executors.ray.leases import LeasedBackend, SlotLease
from grasp_core.executors.ray.limits import BackendLimits
from grasp_core.executors.ray.sharding import shard_items, shard_source

__all__ = [
    "MAX_ATTEMPTS",
    "BackendLimits",
    "LeasedBackend",
    "ShardFailedError",
    "ShardLayout",
    "SlotLease",
    "run_on_ray",
    "shard_items",
    "shard_source",
]
