"""The run's board keeps the budget cap over every shard (a plain object here; under Ray it
is an actor), and shards post a share of the remaining budget apart."""

from __future__ import annotations

from grasp_core.executors.ray.board import STEPS_PER_SHARD, ProgressBoard, ReportStep
from grasp_core.observe.budget import BudgetCap, Spending

COUNTS = {"done": 1, "failed": 0, "filtered": 0, "earlier": 0}


def test_the_cap_holds_for_the_sum_of_every_shard_and_attempt() -> None:
    """Spending adds up over shards and over a crashed attempt and its retry; a shard's
    later post replaces its earlier one; the post that reaches the cap gets the reason."""
    board = ProgressBoard(BudgetCap(max_tokens=100), Spending(tokens=10))
    assert board.update(0, COUNTS, Spending(tokens=20)) is None
    assert board.update(0, COUNTS, Spending(tokens=30)) is None
    assert board.update(1, COUNTS, Spending(tokens=30), attempt=1) is None
    assert board.update(1, COUNTS, Spending(tokens=29), attempt=2) is None
    assert board.spent() == Spending(tokens=89)
    reason = board.update(2, COUNTS, Spending(tokens=1))
    assert reason == "100 tokens reached --max-tokens 100"
    assert board.update(0, COUNTS) == reason
    assert board.poll() == ({0: COUNTS, 1: COUNTS, 2: COUNTS}, reason)
    budget = board.budget()
    assert budget["spent_earlier"] == {"cost_usd": 0.0, "tokens": 10}
    assert budget["spent_this_run"] == {"cost_usd": 0.0, "tokens": 90}
    assert budget["spent_total"] == {"cost_usd": 0.0, "tokens": 100}
    assert budget["stopped_by_budget"] is True


def test_a_budget_spent_by_earlier_runs_stops_the_first_post() -> None:
    """Resuming with the cap that stopped the last run: every shard is told to stop at once."""
    board = ProgressBoard(BudgetCap(max_cost=2.0), Spending(cost_usd=2.5))
    assert board.update(0, COUNTS, Spending()) == "cost $2.5000 reached --max-cost $2"


def test_without_a_cap_the_board_only_counts() -> None:
    """No cap: no post is ever answered with a reason, and the spending is still recorded."""
    board = ProgressBoard()
    assert board.update(0, COUNTS, Spending(3.0, 10**9)) is None
    assert board.budget()["spent_total"] == {"cost_usd": 3.0, "tokens": 10**9}
    assert board.budget()["stopped_by_budget"] is False


def test_a_shard_posts_after_a_share_of_the_remaining_budget() -> None:
    """The step is what the cap leaves after earlier runs, split 16 ways per shard, per
    capped kind; an uncapped kind never makes a shard post early."""
    step = ReportStep.of(BudgetCap(max_tokens=3300), Spending(tokens=100), shards=2)
    assert step == ReportStep(cost_usd=None, tokens=3200 // (2 * STEPS_PER_SHARD))
    assert not step.due(Spending(99.0, 1099), posted=Spending(0.0, 1000))
    assert step.due(Spending(0.0, 1100), posted=Spending(0.0, 1000))
    cost = ReportStep.of(BudgetCap(max_cost=4.0), Spending(), shards=1)
    assert cost.due(Spending(0.25, 0), posted=Spending())
    assert not cost.due(Spending(0.2, 10**9), posted=Spending())
    assert not ReportStep().due(Spending(10**6, 10**9), posted=Spending())
