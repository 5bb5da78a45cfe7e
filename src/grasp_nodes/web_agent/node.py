"""The ``web_agent`` node: a model drives Chromium, one action a step, toward a goal."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any, ClassVar

import anyio
import anyio.from_thread
import anyio.lowlevel
import anyio.to_thread

from grasp_core.errors import RecordError
from grasp_core.plugin import BuildEnv, NodeContext, YamlPath, get_logger, redact
from grasp_nodes._model_call import refuse_batch, refuse_media_model
from grasp_nodes.clients import ModelClient, client_for
from grasp_nodes.web_agent.actions import ENDING, ActionError, action_tools, read_action
from grasp_nodes.web_agent.browser import (
    BrowserOptions,
    check_bundled_browser,
    find_browser,
    first_line,
    open_page,
    require_playwright,
)
from grasp_nodes.web_agent.config import WebAgentConfig
from grasp_nodes.web_agent.hosts import HostPolicy
from grasp_nodes.web_agent.page import (
    Observation,
    PageActionError,
    UrlGuard,
    act,
    check_url,
    observe,
)
from grasp_nodes.web_agent.stopper import Stopper, stop_when_cancelled
from grasp_nodes.web_agent.trajectory import GoalCheck, Trajectory

__all__ = ["WebAgentNode"]

_log = get_logger(__name__)

_INSTRUCTIONS = """You operate a web browser to reach a goal, one action at a time.
Each turn shows the page: its URL, title, numbered interactive elements ([N]), its text{extra}.
Call exactly one tool per turn: click, type, scroll, goto, back{done}, or fail(reason) when
the goal cannot be reached. Earlier steps and their outcomes are listed; do not repeat an
action that failed.

Goal: {goal}"""


class WebAgentNode:
    """Opens the record's start page in a fresh browser, then repeats: observe the page, ask
    the model for one action (a tool call), take it, record the step. Ends at ``done``,
    ``fail``, a goal evaluation that says the goal is reached, or ``max_steps``.

    Writes ``agent_result`` (success, completion reason, answer, step counts, final URL)
    and ``trajectory`` (one entry per step). A reply that is not one valid action is a
    failed step whose reason the model sees next turn. Text stored is passed through the
    run's secret masking.
    """

    config_model: ClassVar[type[WebAgentConfig]] = WebAgentConfig

    def __init__(
        self, name: str, config: WebAgentConfig, client: ModelClient, browser: BrowserOptions
    ) -> None:
        self.name = name
        self.config = config
        self.client = client
        self.browser = browser
        self.model_names = (config.model.name,)
        self._keys = config.result_keys()
        self._parameters = {
            **config.model.parameters,
            "tools": action_tools(chat=config.enable_chat),
        }
        self._browsers = anyio.CapacityLimiter(config.max_browsers)
        self._patience = config.navigation_timeout + config.action_timeout
        """Seconds one observation or action may take (a load, then the page's answers)."""

    @classmethod
    def build(cls, name: str, config: WebAgentConfig, env: BuildEnv) -> WebAgentNode:
        require_playwright(name)
        refuse_media_model(name, config.model, env)
        refuse_batch(name, config.model, "browser")
        executable = find_browser(name, config.browser_executable)
        if executable is None:
            check_bundled_browser(name)
        headless = config.headless
        if not headless and sys.platform.startswith("linux") and not _has_display():
            _log.warning(
                "headless: false needs a display and none is set ($DISPLAY, "
                "$WAYLAND_DISPLAY); running headless",
                node=name,
            )
            headless = True
        options = BrowserOptions(
            executable=executable,
            headless=headless,
            slow_mo=config.slow_mo,
            viewport=(config.viewport_width, config.viewport_height),
            extra_args=config.browser_args,
            navigation_timeout=config.navigation_timeout,
            action_timeout=config.action_timeout,
        )
        client = client_for(env, config.model.name, None, config.model.cache)
        return cls(name, config, client, options)

    @property
    def output_keys(self) -> tuple[str, ...]:
        return self._keys

    def input_keys(self) -> dict[str, YamlPath]:
        """The goal and the start page."""
        return {self.config.goal_key: ("goal_key",), self.config.url_key: ("url_key",)}

    async def run(self, state: Mapping[str, Any], ctx: NodeContext) -> Mapping[str, Any]:
        """One browser session for this record, in a worker thread of its own; a
        cancellation (a node timeout, a stop) stops it, whatever it is waiting for."""
        goal, url = self._task(state, ctx)
        stopper = Stopper()
        error: Exception | None = None
        async with anyio.create_task_group() as watch:
            watch.start_soon(stop_when_cancelled, stopper)
            try:
                trajectory = await anyio.to_thread.run_sync(
                    self._session, goal, url, ctx, stopper, limiter=self._browsers
                )
            except Exception as exc:  # kept out of the task group's exception group
                error = exc
            stopper.finish()
            watch.cancel_scope.cancel()
        if stopper.stopped:  # the record was cancelled: that, not how the session ended
            await anyio.lowlevel.checkpoint()
        if error is not None:
            raise error
        result_key, trajectory_key = self._keys
        return {result_key: trajectory.result(), trajectory_key: trajectory.steps}

    def _task(self, state: Mapping[str, Any], ctx: NodeContext) -> tuple[str, str]:
        where = f"record {ctx.record_id!r}, node {self.name!r}"
        goal, url = state.get(self.config.goal_key), state.get(self.config.url_key)
        if not isinstance(goal, str) or not goal.strip():
            raise RecordError(
                f"{where}: {self.config.goal_key!r} must be the goal as text, got {goal!r}",
                node=self.name,
            )
        try:
            check_url(str(url), self._hosts(str(url)))
        except PageActionError as exc:
            if str(url).lower().startswith(("http://", "https://")):  # a host refused
                raise RecordError(f"{where}: the start page: {exc}", node=self.name) from None
            raise RecordError(
                f"{where}: {self.config.url_key!r} must be an http(s) or file URL to start "
                f"from, got {url!r}",
                node=self.name,
            ) from None
        return goal, str(url)

    def _hosts(self, start_url: str) -> HostPolicy:
        """The hosts this record's session may open (see :mod:`.hosts`)."""
        allowed = self.config.allowed_hosts or ()
        return HostPolicy(start_url, allowed, self.config.allow_private_hosts)

    def _session(self, goal: str, url: str, ctx: NodeContext, stopper: Stopper) -> Trajectory:
        """The whole run, in the worker thread: the browser is closed however it ends
        (an answer, an error, or the record's cancellation)."""
        from playwright.sync_api import Error

        trajectory = Trajectory(self.config.max_steps)
        where = f"record {ctx.record_id!r}, node {self.name!r}"
        with open_page(self.browser, stopper, record_id=ctx.record_id, node=self.name) as page:
            guard = UrlGuard(self._hosts(url))
            guard.install(page)
            try:
                page.goto(url)
            except Error as exc:
                raise RecordError(
                    f"{where}: the start page {url!r} did not load: {first_line(exc)}",
                    node=self.name,
                ) from exc
            try:
                self._steps(page, goal, guard, stopper, trajectory)
                trajectory.final_url = redact(page.url)
            except Error as exc:  # the page or browser crashed, or was killed by the stopper
                why = first_line(exc)
                if stopper.expired is not None:
                    why = (
                        f"the page did not answer in {stopper.expired:g}s (a script that never "
                        "yields?), so its browser was stopped"
                    )
                raise RecordError(f"{where}: the browser failed: {why}", node=self.name) from exc
        return trajectory

    def _steps(
        self, page: Any, goal: str, guard: UrlGuard, stopper: Stopper, trajectory: Trajectory
    ) -> None:
        """Observe, ask, act, until the run ends."""
        for step in range(1, self.config.max_steps + 1):
            anyio.from_thread.check_cancelled()
            with stopper.deadline(self._patience):
                seen = self._observe(page, screenshot=self.config.use_screenshot)
            reply = anyio.from_thread.run(
                self._ask, stopper, self._messages(goal, seen, trajectory)
            )
            entry = trajectory.start(step, seen, reply.text)
            try:
                action = read_action(reply.text, reply.tool_calls, chat=self.config.enable_chat)
            except ActionError as exc:
                trajectory.failed(entry, str(exc))
                action = None
            if action is not None and action.name in ENDING:
                trajectory.end(entry, action)
                return
            if action is not None:
                try:
                    with stopper.deadline(self._patience):
                        act(page, action, seen, guard)
                    trajectory.done(entry, action)
                except PageActionError as exc:
                    trajectory.failed(entry, str(exc), action)
            if self._evaluates(step):
                check = self._evaluate(goal, page, stopper, trajectory)
                if trajectory.checked(entry, check, self.config.eval_min_confidence):
                    return

    def _observe(self, page: Any, *, screenshot: bool) -> Observation:
        config = self.config
        return observe(
            page,
            max_elements=config.max_elements,
            max_text=config.max_text_chars,
            max_html=config.max_html_chars if config.use_html else None,
            screenshot=screenshot,
            som=config.use_som,
        )

    async def _ask(
        self, stopper: Stopper, messages: list[dict[str, Any]], parameters: Any = None
    ) -> Any:
        """One model call, cancelled if the session is stopped (the worker thread's scope
        is shielded: the record's cancellation does not reach it)."""
        retries = self.config.retry.max_retries if self.config.retry is not None else None
        with anyio.CancelScope() as scope:
            stopper.on_stop(scope.cancel)
            try:
                return await self.client.chat(
                    messages, parameters or self._parameters, max_retries=retries
                )
            finally:
                stopper.on_stop(None)
        raise RecordError(f"node {self.name!r}: stopped during a model call", node=self.name)

    def _messages(
        self, goal: str, seen: Observation, trajectory: Trajectory
    ) -> list[dict[str, Any]]:
        extra = ", and a screenshot" if seen.screenshot else ""
        if seen.screenshot and self.config.use_som:
            extra += " with the numbers drawn on"
        done = ", done(answer) when the goal is reached" if self.config.enable_chat else ""
        system = _INSTRUCTIONS.format(extra=extra, done=done, goal=goal)
        text = f"{trajectory.history()}\n{seen.describe()}"
        return [{"role": "system", "content": system}, _user(text, seen.screenshot)]

    def _evaluates(self, step: int) -> bool:
        config = self.config
        return (
            config.enable_goal_eval
            and step >= config.eval_start_step
            and (step - config.eval_start_step) % config.eval_frequency == 0
        )

    def _evaluate(
        self, goal: str, page: Any, stopper: Stopper, trajectory: Trajectory
    ) -> GoalCheck:
        """Ask the model whether the goal is reached, from the page as it is now."""
        with stopper.deadline(self._patience):
            seen = self._observe(page, screenshot=self.config.eval_use_vision)
        question = GoalCheck.question(goal, trajectory.history(), seen.describe())
        messages = [
            {"role": "system", "content": GoalCheck.SYSTEM},
            _user(question, seen.screenshot),
        ]
        parameters = {**self.config.model.parameters, **GoalCheck.parameters()}
        reply = anyio.from_thread.run(self._ask, stopper, messages, parameters)
        return GoalCheck.read(reply.text, reply.tool_calls)


def _user(text: str, image: str | None) -> dict[str, Any]:
    if image is None:
        return {"role": "user", "content": text}
    parts = [{"type": "text", "text": text}, {"type": "image_url", "image_url": {"url": image}}]
    return {"role": "user", "content": parts}


def _has_display() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
