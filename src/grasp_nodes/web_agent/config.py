"""The ``web_agent`` node's configuration: every option checked before the first call."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from grasp_core.plugin import NodeConfig
from grasp_nodes._model_call import ModelRef
from grasp_nodes._sygra_keys import in_sygra_file, web_agent_keys
from grasp_nodes.web_agent.hosts import check_host_pattern

__all__ = ["WebAgentConfig"]


class WebAgentConfig(NodeConfig):
    """A `web_agent` node."""

    node_type: Literal["web_agent"] = "web_agent"
    model: ModelRef
    """The model choosing the actions; it must support tool calling (and images, with
    `use_screenshot` or `eval_use_vision`)."""
    goal_key: str = "goal"
    """The record key holding the goal, in words."""
    url_key: str = "url"
    """The record key holding the page to start from (`http://`, `https://` or `file://`)."""
    max_steps: int = Field(default=15, ge=1, le=1000)
    """Most actions in one run (each is one model call, whether its action worked or not);
    a run that has not finished by then ends with `completion_reason: max_steps`."""
    headless: bool = True
    """`false` shows the browser window (needs a display: without one, the run warns and
    stays headless)."""
    slow_mo: int = Field(default=0, ge=0, le=10_000)
    """Milliseconds Playwright waits after each browser operation, to watch a shown window;
    ignored when headless."""
    use_screenshot: bool = True
    """Send a screenshot of the viewport with each observation (as an image part)."""
    use_som: bool = True
    """Draw each interactive element's number on the screenshot ("set of marks")."""
    use_html: bool = False
    """Add the page's pruned HTML (no scripts or styles, few attributes) to each observation."""
    viewport_width: int = Field(default=1280, ge=200, le=8000)
    """Browser viewport width, in CSS pixels."""
    viewport_height: int = Field(default=720, ge=200, le=8000)
    """Browser viewport height, in CSS pixels."""
    enable_chat: bool = True
    """Offer the `done(answer)` action, by which the model ends the run with its answer.
    Without it, a run ends by goal evaluation, `fail(reason)` or `max_steps`."""
    enable_goal_eval: bool = False
    """Ask the model now and then whether the goal is reached; a yes with at least
    `eval_min_confidence` ends the run (`completion_reason: goal_eval`)."""
    eval_frequency: int = Field(default=2, ge=1)
    """With `enable_goal_eval`: evaluate every this many steps..."""
    eval_start_step: int = Field(default=3, ge=1)
    """...starting after this step (1: after the first action)."""
    eval_use_vision: bool = False
    """With `enable_goal_eval`: send the screenshot with the evaluation question."""
    eval_min_confidence: float = Field(default=0.8, ge=0, le=1)
    """The confidence (0-1) a "goal reached" evaluation needs to end the run."""
    max_text_chars: int = Field(default=4000, ge=0)
    """Most characters of the page's visible text in one observation."""
    max_html_chars: int = Field(default=8000, ge=0)
    """Most characters of pruned HTML in one observation (with `use_html`)."""
    max_elements: int = Field(default=150, ge=1)
    """Most numbered interactive elements in one observation (the first ones in the page)."""
    action_timeout: float = Field(default=10, gt=0, le=600)
    """Seconds one click, typing or scroll may take before it counts as a failed step."""
    navigation_timeout: float = Field(default=30, gt=0, le=600)
    """Seconds a page load may take (the start page, `goto`, `back`, a click that loads)."""
    browser_executable: str | None = None
    """The Chromium (or Chrome) executable. Unset: `$GRASP_BROWSER`, then the system's
    (`/usr/bin/chromium`, `chromium-browser`, `google-chrome`), then Playwright's own."""
    browser_args: list[str] = Field(default_factory=list)
    """Extra Chromium command-line flags, after GraSP's own."""
    allowed_hosts: list[str] | None = None
    """The only hosts the agent may open (`example.com`; `*.example.com` for its
    subdomains), the start page's included. Unset: any host, except that a loopback,
    private-network or link-local address (`localhost`, `10.x`, `192.168.x`, the cloud
    metadata address `169.254.169.254`...) other than the start page's own host is refused
    unless `allow_private_hosts` is set."""
    allow_private_hosts: bool = False
    """Let the agent (a link, a redirect, a script, or the model's `goto`) open loopback,
    private-network and link-local addresses besides the start page's host."""
    max_browsers: int = Field(default=2, ge=1, le=64)
    """Browsers this node runs at once (one per record being processed); more records
    wait. Each Chromium takes some 100-300 MB."""

    @model_validator(mode="before")
    @classmethod
    def _sygra_spelling(cls, data: Any, info: ValidationInfo) -> Any:
        return web_agent_keys(data, sygra=in_sygra_file(info))

    @field_validator("allowed_hosts")
    @classmethod
    def _host_patterns(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else [check_host_pattern(host) for host in value]

    @model_validator(mode="after")
    def _check(self) -> WebAgentConfig:
        if self.enable_goal_eval and self.eval_start_step > self.max_steps:
            raise ValueError(
                f"eval_start_step={self.eval_start_step} is after max_steps={self.max_steps}: "
                "the goal would never be evaluated; lower eval_start_step or raise max_steps"
            )
        if "tools" in self.model.parameters:
            raise ValueError(
                "model.parameters.tools is set by the web agent (its browser actions); "
                "remove it from the parameters (`tool_choice: required` may stay)"
            )
        keys = self.output_key_list()
        if keys and len(keys) != 2:
            raise ValueError(
                f"output_keys {keys!r}: a web_agent writes two keys, the result and the "
                "trajectory (default: [agent_result, trajectory]); give two names or none"
            )
        if self.goal_key == self.url_key:
            raise ValueError(f"goal_key and url_key are both {self.goal_key!r}; give two keys")
        return self

    def result_keys(self) -> tuple[str, str]:
        """The state keys of the result and of the trajectory."""
        keys = self.output_key_list()
        return (keys[0], keys[1]) if keys else ("agent_result", "trajectory")
