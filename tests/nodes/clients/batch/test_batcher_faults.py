"""The batcher against a fake provider's faults: exactly once (no request paid twice, no
record lost), and never a hang. A failed download is tried again and answers every member;
a 404 right after a create is polled again; a batch the provider has forgotten is
submitted again; a parked request starting a batch wakes a sleeping driver at ``max_wait``;
a stop while a create hangs is prompt, and the next driver looks the batch up first."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest

from grasp_core.errors import (
    ModelCallError,
    RejectedRequestError,
    RetryableModelError,
    StopRunError,
)
from grasp_nodes.clients.batch.ledger import BatchLedger
from tests.nodes.clients.batch.fakes import REPLY, FakeProvider, line_of, make_batcher

pytestmark = pytest.mark.anyio


async def _until(condition: Callable[[], bool]) -> None:
    """Wait for ``condition`` (checked at each of the batcher's steps); a hang fails."""
    with anyio.fail_after(10):  # a guard against a hang, not a timing assertion
        while not condition():  # noqa: ASYNC110 - the fake provider has no event for it
            await anyio.sleep(0.001)


async def test_a_failed_download_is_tried_again_and_answers_every_member(
    tmp_path: Path,
) -> None:
    """The output download fails (after its retries) twice: both parked requests of the
    batch are answered later from one batch, none waits forever."""
    down = [RetryableModelError("down", status=500) for _ in range(2)]
    provider = FakeProvider(download_errors=down)
    batcher = make_batcher(tmp_path, provider, max_requests=2, max_wait=3600)
    answers: dict[str, object] = {}

    async def ask(custom_id: str) -> None:
        answers[custom_id] = json.loads(await batcher.submit(custom_id, line_of(custom_id)))

    with anyio.fail_after(10):
        async with anyio.create_task_group() as group:
            group.start_soon(ask, "a")
            group.start_soon(ask, "b")
    assert answers == {"a": REPLY, "b": REPLY}
    assert list(provider.batches) == ["batch-1"]


async def test_a_refused_download_stops_the_run_instead_of_hanging(tmp_path: Path) -> None:
    """A download refused for good stops the run with the reason (the batch is paid: its
    records stay unfinished for a resume), instead of leaving the other member parked."""
    provider = FakeProvider(download_errors=[ModelCallError("gone", status=403)])
    batcher = make_batcher(tmp_path, provider, max_requests=2, max_wait=3600)
    with (
        anyio.fail_after(10),
        pytest.RaisesGroup(pytest.RaisesExc(StopRunError, match="gone")) as caught,
    ):
        async with anyio.create_task_group() as group:
            group.start_soon(batcher.submit, "a", line_of("a"))
            group.start_soon(batcher.submit, "b", line_of("b"))
    assert "cannot collect batch batch-1" in str(caught.value.exceptions[0])
    assert batcher.ledger.model("m").ended["batch-1"].status == "completed"


async def test_a_404_right_after_create_is_polled_again_not_resubmitted(tmp_path: Path) -> None:
    """One 404 on the first poll (a provider not knowing a new batch yet) is asked again;
    the request is answered from its one batch."""
    provider = FakeProvider([ModelCallError("no such batch", status=404)])
    batcher = make_batcher(tmp_path, provider)
    with anyio.fail_after(10):
        assert json.loads(await batcher.submit("cid", line_of("cid"))) == REPLY
    assert list(provider.batches) == ["batch-1"]
    assert "batch-1" not in batcher.ledger.model("m").ended or (
        batcher.ledger.model("m").ended["batch-1"].status == "completed"
    )


async def test_a_batch_the_provider_no_longer_knows_is_submitted_again(tmp_path: Path) -> None:
    """404 on every poll of a batch (a server that lost it: nothing to collect) ends it as
    failed after a few polls, and its request goes into a new batch."""
    provider = FakeProvider([ModelCallError("no such batch", status=404) for _ in range(4)])
    batcher = make_batcher(tmp_path, provider)
    with anyio.fail_after(10):
        assert json.loads(await batcher.submit("cid", line_of("cid"))) == REPLY
    assert list(provider.batches) == ["batch-1", "batch-2"]
    ended = batcher.ledger.model("m").ended["batch-1"]
    assert ended.status == "failed"
    assert ended.reason is not None
    assert "no longer knows" in ended.reason


async def test_a_request_starting_a_batch_wakes_the_sleeping_driver(tmp_path: Path) -> None:
    """While the driver sleeps until a poll an hour away, a request parked later is
    submitted after its ``max_wait`` (a hundredth of a second here: not due yet when it
    parks, so only a wake-up at ``max_wait`` submits it), not at that poll."""
    provider = FakeProvider()
    provider.running = True
    batcher = make_batcher(tmp_path, provider, poll_interval=3600, max_wait=0.01, max_requests=2)
    async with anyio.create_task_group() as group:
        group.start_soon(batcher.submit, "a", line_of("a"))
        await _until(lambda: provider.polls == 1)
        group.start_soon(batcher.submit, "b", line_of("b"))
        await _until(lambda: len(provider.batches) == 2)
        group.cancel_scope.cancel()


async def test_a_stop_during_a_hanging_create_is_prompt_and_the_batch_looked_up_first(
    tmp_path: Path,
) -> None:
    """Cancelling the driver while its create hangs returns at once (no shielded retries);
    the file is recorded as uploaded, and the next driver finds the batch the provider
    made of it instead of creating a second one."""
    provider = FakeProvider()
    provider.create_hangs = True
    batcher = make_batcher(tmp_path, provider)
    with anyio.fail_after(10):
        async with anyio.create_task_group() as group:
            group.start_soon(batcher.submit, "a", line_of("a"))
            await provider.entered_create.wait()
            group.cancel_scope.cancel()
    assert "file-1" in batcher.ledger.model("m").files
    provider.create_hangs = False
    provider.batches["batch-1"] = "file-1"  # the provider made it all the same
    with anyio.fail_after(10):
        assert json.loads(await batcher.submit("a", line_of("a"))) == REPLY
    assert list(provider.batches) == ["batch-1"]
    batcher.ledger.close()
    assert BatchLedger(tmp_path / "ledger.jsonl").model("m").batch_of("a") == "batch-1"


async def test_a_create_refused_on_resume_is_journaled_once(tmp_path: Path) -> None:
    """A resume whose create for an uploaded file is refused records the refusal (as a
    run's own refusal is recorded), so the next record does not try it again; the request
    then goes into a batch of its own."""
    first = FakeProvider()
    first.create_hangs = True
    batcher = make_batcher(tmp_path, first)
    with anyio.fail_after(10):
        async with anyio.create_task_group() as group:
            group.start_soon(batcher.submit, "a", line_of("a"))
            await first.entered_create.wait()
            group.cancel_scope.cancel()
    batcher.ledger.close()
    provider = FakeProvider()
    provider.create_error = RejectedRequestError("the file is invalid", status=400)
    resumed = make_batcher(tmp_path, provider, max_wait=3600)
    with anyio.fail_after(10), pytest.raises(ModelCallError):
        await resumed.submit("b", line_of("b"))
    book = resumed.ledger.model("m")
    assert book.unbatched_files() == []
    assert book.ended["none:file-1"].reason is not None
    events = [json.loads(line)["event"] for line in book_lines(tmp_path)]
    assert events == ["uploaded", "created", "ended", "uploaded", "created", "ended"]


def book_lines(tmp_path: Path) -> list[str]:
    return (tmp_path / "ledger.jsonl").read_text().splitlines()


async def test_a_batch_whose_output_is_gone_is_submitted_again(tmp_path: Path) -> None:
    """The output file answers 404 on every download (a server that lost it): after a few
    tries the request goes into a new batch instead of stopping or failing the run."""
    gone = [ModelCallError("no such file", status=404) for _ in range(4)]
    provider = FakeProvider(download_errors=gone)
    batcher = make_batcher(tmp_path, provider)
    with anyio.fail_after(10):
        assert json.loads(await batcher.submit("cid", line_of("cid"))) == REPLY
    assert list(provider.batches) == ["batch-1", "batch-2"]


async def test_a_request_joining_an_ended_batch_during_its_download_is_answered(
    tmp_path: Path,
) -> None:
    """On a resume, a request of a batch that ended meanwhile parks while another request
    of it is downloading the output: both are answered from that one download."""
    first = FakeProvider()
    earlier = make_batcher(tmp_path, first, max_requests=2, max_wait=3600)
    with anyio.fail_after(10):
        async with anyio.create_task_group() as group:
            for custom_id in ("a", "b"):
                group.start_soon(earlier.submit, custom_id, line_of(custom_id))
    earlier.ledger.close()
    provider = FakeProvider()
    provider.files, provider.batches = first.files, first.batches
    provider.download_gate = anyio.Event()
    resumed = make_batcher(tmp_path, provider, max_requests=2, max_wait=3600)
    answers: dict[str, object] = {}

    async def ask(custom_id: str) -> None:
        answers[custom_id] = json.loads(await resumed.submit(custom_id, line_of(custom_id)))

    with anyio.fail_after(10):
        async with anyio.create_task_group() as group:
            group.start_soon(ask, "a")
            await provider.downloading.wait()
            group.start_soon(ask, "b")
            await anyio.wait_all_tasks_blocked()
            provider.download_gate.set()
    assert answers == {"a": REPLY, "b": REPLY}
    assert list(provider.batches) == ["batch-1"]
