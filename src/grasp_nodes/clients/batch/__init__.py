"""Batch mode: a batched model's requests gathered across records into provider batches
(``requests`` the JSONL lines and custom ids, ``ledger`` the run's batch journal,
``submitter`` the Files and Batch API calls, ``settling`` each file's batch made exactly
once, ``batcher`` the gathering and polling (``waiters`` what it keeps of each request
and batch), ``answers`` the ended batches' output files, ``client`` the model client whose
calls park in a batch)."""

from grasp_nodes.clients.batch.client import BatchClient

__all__ = ["BatchClient"]
