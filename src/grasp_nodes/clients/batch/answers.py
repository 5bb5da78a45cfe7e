"""The answers of ended batches, downloaded from their output and error files once."""

from __future__ import annotations

from grasp_nodes.clients.batch.ledger import EndedBatch
from grasp_nodes.clients.batch.requests import BatchAnswer, read_answers
from grasp_nodes.clients.batch.submitter import BatchSubmitter

__all__ = ["AnswerFiles", "why_unanswered"]

_FINAL_4XX = frozenset(range(400, 500)) - {408, 409, 425, 429}
"""Statuses a request answered inside a batch fails with for good (resubmitting it would
be refused the same way)."""


def why_unanswered(batch: str, ended: EndedBatch, answer: BatchAnswer | None) -> tuple[str, bool]:
    """Why a request of the ended ``batch`` has no reply body, and whether that is final
    (else it may be submitted again)."""
    if answer is not None:
        reason = f"request failed in batch {batch}: HTTP {answer.status}: {answer.error}"
        return reason, answer.status in _FINAL_4XX
    why = f": {ended.reason}" if ended.reason else ""
    return f"batch {batch} {ended.status}{why}", False


class AnswerFiles:
    """Each ended batch's answers by ``custom_id``, kept until :meth:`drop`: a batch ended
    in an earlier run is asked for by its records one by one, as they are resumed."""

    def __init__(self, submitter: BatchSubmitter) -> None:
        self.submitter = submitter
        self._answers: dict[str, dict[str, BatchAnswer]] = {}

    async def of(self, batch: str, ended: EndedBatch) -> dict[str, BatchAnswer]:
        """The answers in ``batch``'s files (downloaded on first use; a failed download
        raises, and is tried again on the next call)."""
        answers = self._answers.get(batch)
        if answers is None:
            answers = {}
            for file_id in (ended.error_file, ended.output_file):
                if file_id:
                    answers.update(read_answers(await self.submitter.content(file_id)))
            self._answers[batch] = answers
        return answers

    def gone(self, batch: str) -> None:
        """The provider no longer has ``batch``'s files: it answers nothing."""
        self._answers[batch] = {}

    def drop(self, batch: str) -> None:
        """Forget ``batch``'s answers (all handed out)."""
        self._answers.pop(batch, None)
