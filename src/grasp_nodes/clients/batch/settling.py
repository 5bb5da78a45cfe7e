"""Making the batch of an uploaded file exactly once, and recording it.

A file is "settled" once the ledger records the batch made of it, or that none was (the
create refused: a pseudo batch ``none:<file>`` ended ``failed``, so a resume does not try
again). Until then a create's outcome may be unknown (its answer lost, or the driver
cancelled while waiting for it): such a file is looked up by its input file before any new
create, in this run as in a resume.
"""

from __future__ import annotations

import collections
from typing import Any

from grasp_core.errors import ModelCallError, StopRunError
from grasp_core.plugin import BatchOptions, get_logger
from grasp_nodes.clients.batch.ledger import BatchLedger
from grasp_nodes.clients.batch.submitter import BatchSubmitter, UnknownOutcomeError

__all__ = ["Settler"]

_log = get_logger(__name__)

SETTLE_FAILURES = 5
"""Lookups in a row that failed (each after its retries) after which the run stops."""


class Settler:
    """Creates, finds or gives up the batches of one model's uploaded files."""

    def __init__(
        self, name: str, options: BatchOptions, submitter: BatchSubmitter, ledger: BatchLedger
    ) -> None:
        self.name = name
        self.options = options
        self.submitter = submitter
        self.ledger = ledger
        self._in_doubt: set[str] = set()
        """Files a create was sent for with no answer yet: looked up before a new one."""
        self._failures: collections.Counter[str] = collections.Counter()

    async def settle(self, file_id: str) -> dict[str, Any] | str | None:
        """The batch made of ``file_id`` (not recorded yet: the caller records it with
        what it reserved); or why none was made (recorded); or None when the outcome is
        still unknown (try again later). Stops the run when it stays unknown."""
        try:
            batch = await self._find_or_create(file_id)
        except UnknownOutcomeError as exc:
            _log.warning("batch create unknown", model=self.name, file=file_id, error=str(exc))
            self._failures[file_id] += 1
            if self._failures[file_id] >= SETTLE_FAILURES:
                raise StopRunError(
                    f"model {self.name!r}: {exc}; fix the cause, then run again with --resume: "
                    "it looks the batch up before making one"
                ) from exc
            return None
        except ModelCallError as exc:
            self._failures.pop(file_id, None)
            await self._abandon(file_id, str(exc))
            return str(exc)
        self._failures.pop(file_id, None)
        return batch

    async def recover(self) -> None:
        """Settle every file the ledger says was uploaded with no batch recorded (a crash in
        between): the batch the provider made of it, else one made now, else the refusal."""
        for file_id in self.ledger.model(self.name).unbatched_files():
            self._in_doubt.add(file_id)  # the crash may have come after its create
            batch = await self.settle(file_id)
            if batch is None:
                raise UnknownOutcomeError(
                    f"model {self.name!r}: cannot tell whether a batch was made of {file_id}"
                )
            if not isinstance(batch, str):
                event = {"event": "created", "file": file_id, "batch": str(batch["id"])}
                await self.ledger.write(self.name, event)

    async def _find_or_create(self, file_id: str) -> dict[str, Any]:
        """The batch made of ``file_id``: the one the provider has, else a new one."""
        if file_id in self._in_doubt:
            found = await self.submitter.find(file_id)
            if found is not None:
                self._in_doubt.discard(file_id)
                return found
        self._in_doubt.add(file_id)  # from here on, the create's outcome needs a lookup
        batch = await self.submitter.create(file_id, self.options.completion_window)
        self._in_doubt.discard(file_id)
        return batch

    async def _abandon(self, file_id: str, reason: str) -> None:
        """Record that no batch was made of ``file_id`` (so a resume does not make one)."""
        self._in_doubt.discard(file_id)
        pseudo = f"none:{file_id}"
        await self.ledger.write(self.name, {"event": "created", "file": file_id, "batch": pseudo})
        ended = {"event": "ended", "batch": pseudo, "status": "failed", "reason": reason}
        await self.ledger.write(self.name, ended)
