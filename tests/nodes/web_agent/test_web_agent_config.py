"""The web_agent node's options, checked before the first call; its missing pieces
(Playwright, a browser) refused in one line; SyGra's spelling read and converted."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from grasp_core import ConfigError, RunOptions, Task, run_task
from grasp_core.cli.app import main
from grasp_core.mock_server import MockServer
from grasp_nodes.web_agent import WebAgentConfig
from grasp_nodes.web_agent import browser as browser_module
from grasp_nodes.web_agent.hosts import HostPolicy
from grasp_nodes.web_agent.page import PageActionError, check_url
from tests.nodes.web_agent.pages import MODELS, web_task

NODE = """\
data_config:
  source: {{type: disk, file_path: data.jsonl}}
graph_config:
  nodes:
    web:
      node_type: web_agent
      model: {{name: m}}
{extra}
  edges:
    - {{from: START, to: web}}
    - {{from: web, to: END}}
"""


def validate(tmp_path: Path, extra: str, capsys: pytest.CaptureFixture[str]) -> str:
    """What `grasp validate` says of a one-node task with ``extra`` keys on the node."""
    (tmp_path / "data.jsonl").write_text('{"id": "1", "goal": "g", "url": "http://x/"}\n')
    (tmp_path / "models.yaml").write_text(MODELS, encoding="utf-8")
    body = textwrap.indent(textwrap.dedent(extra), " " * 6)
    (tmp_path / "task.yaml").write_text(NODE.format(extra=body.rstrip()), encoding="utf-8")
    assert main(["validate", str(tmp_path / "task.yaml")]) == 2
    return capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "line", "where", "why"),
    [
        ("max_steps: 0", 8, "max_steps", "greater than or equal to 1"),
        ("viewport_width: 50", 8, "viewport_width", "greater than or equal to 200"),
        ("headless: maybe", 8, "headless", "valid boolean"),
        ("use_som: true\nslowmo: 5", 9, "slowmo", "slow_mo"),
        (
            "enable_goal_eval: true\nmax_steps: 2\neval_start_step: 3",
            5,
            "web",
            "eval_start_step=3 is after max_steps=2",
        ),
        ("output_keys: [a, b, c]", 5, "web", "a web_agent writes two keys"),
        ("retry: {max_retries: 1}\nmax_browsers: 0", 9, "max_browsers", "greater than"),
        ("goal_key: url", 5, "web", "goal_key and url_key are both 'url'"),
    ],
)
def test_bad_options_are_one_line_naming_the_yaml_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: str, line: int, where: str, why: str
) -> None:
    """Each bad option is refused before any call, in one line naming its file, line and
    YAML path."""
    message = validate(tmp_path, extra, capsys)
    assert message.count("\n") == 1, message
    path = "graph_config.nodes.web" + ("" if where == "web" else f".{where}")
    assert f"task.yaml:{line}: {path}" in message
    assert why in message


def test_missing_playwright_names_the_extra(
    tmp_path: Path, mock_server: MockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without Playwright the run stops before any call, naming the extra to install."""
    monkeypatch.setitem(sys.modules, "playwright.sync_api", None)  # import raises ImportError
    task = web_task(tmp_path, [{"id": "1", "goal": "g", "url": "http://127.0.0.1:9/"}])
    with pytest.raises(ConfigError) as caught:
        run_task(task, RunOptions(mock=mock_server.url, output_dir=tmp_path / "out"))
    assert "pip install 'grasp-sdg[web]'" in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("how", ["config", "env"])
def test_a_browser_path_that_is_not_executable_is_refused(
    tmp_path: Path, mock_server: MockServer, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """`browser_executable` (or $GRASP_BROWSER) naming no executable is refused, naming it."""
    pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")
    missing = str(tmp_path / "no-chromium")
    node: dict[str, Any] = {}
    if how == "config":
        node["browser_executable"] = missing
    else:
        monkeypatch.setenv("GRASP_BROWSER", missing)
    task = web_task(tmp_path, [{"id": "1", "goal": "g", "url": "http://127.0.0.1:9/"}], **node)
    with pytest.raises(ConfigError) as caught:
        run_task(task, RunOptions(mock=mock_server.url, output_dir=tmp_path / "out"))
    origin = "`browser_executable`" if how == "config" else "$GRASP_BROWSER"
    assert f"node 'web': {origin} is {missing!r}, which is not an executable file" in str(
        caught.value
    )


def test_no_browser_at_all_says_how_to_get_one(
    tmp_path: Path, mock_server: MockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no system browser and no Playwright browser, the run names the three ways out."""
    pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")
    monkeypatch.delenv("GRASP_BROWSER", raising=False)
    monkeypatch.setattr(browser_module, "_SYSTEM_BROWSERS", ())
    monkeypatch.setenv("PLAYWRIGHT_BROWSERS_PATH", str(tmp_path / "no-browsers"))
    task = web_task(tmp_path, [{"id": "1", "goal": "g", "url": "http://127.0.0.1:9/"}])
    with pytest.raises(ConfigError, match=r"no browser found: set `browser_executable`"):
        run_task(task, RunOptions(mock=mock_server.url, output_dir=tmp_path / "out"))


def test_sygras_spelling_is_read_in_its_own_file_only() -> None:
    """In SyGra's file, `model: NAME` and a node-level `temperature` mean GraSP's model
    block; in GraSP's file they are refused (a loose key is never sent as a parameter)."""
    keys = {"model": "gpt-4o", "temperature": 0.3, "max_steps": 5}
    config = WebAgentConfig.model_validate(keys, context={"dialect": "sygra"})
    assert (config.model.name, config.model.parameters) == ("gpt-4o", {"temperature": 0.3})
    with pytest.raises(ValidationError):
        WebAgentConfig.model_validate(keys)
    both = {"model": {"name": "m", "parameters": {"temperature": 1}}, "temperature": 0.3}
    with pytest.raises(ValidationError, match=r"keep one, under `model\.parameters`"):
        WebAgentConfig.model_validate(both, context={"dialect": "sygra"})


SYGRA_TASK = """\
data_config:
  source:
    type: "disk"
    file_path: "tasks/shop/tasks.jsonl"
graph_config:
  nodes:
    browse:
      node_type: web_agent
      model: m  # the shopping model
      temperature: 0.2
      max_steps: 4
      headless: false
      enable_goal_eval: true
      eval_start_step: 2
  edges:
    - from: START
      to: browse
    - from: browse
      to: END
output_config:
  output_map:
    id:
      from: "id"
    agent_result:
      from: "agent_result"
"""


def test_convert_sygra_rewrites_a_web_agent_node(tmp_path: Path) -> None:
    """`grasp convert sygra` writes the node in GraSP's spelling, keeping the comment, and
    the result loads as a GraSP task."""
    shop = tmp_path / "tasks" / "shop"
    shop.mkdir(parents=True)
    (shop / "graph_config.yaml").write_text(SYGRA_TASK, encoding="utf-8")
    (shop / "tasks.jsonl").write_text('{"id": "1", "goal": "g", "url": "http://x/"}\n')
    dest = tmp_path / "out"
    assert main(["convert", "sygra", str(tmp_path / "tasks"), str(dest)]) == 0
    text = (dest / "shop" / "task.yaml").read_text(encoding="utf-8")
    assert "# the shopping model" in text
    assert "\n      temperature:" not in text
    (dest / "shop" / "models.yaml").write_text(MODELS, encoding="utf-8")
    raw = Task.load(dest / "shop" / "task.yaml").config.graph_config.nodes["browse"]
    node = WebAgentConfig.model_validate(raw)
    assert (node.model.name, node.model.parameters) == ("m", {"temperature": 0.2})


def test_file_urls_stay_inside_the_start_pages_folder(tmp_path: Path) -> None:
    """`goto` takes http(s) anywhere, and a file: URL only inside the folder of a file:
    start page, so a model cannot read the machine's other files."""
    start = (tmp_path / "site" / "index.html").as_uri()
    check_url("https://93.184.215.14/a", HostPolicy(start))
    check_url((tmp_path / "site" / "docs" / "b.html").as_uri(), HostPolicy(start))
    with pytest.raises(PageActionError, match="must be inside the start page's folder"):
        check_url((tmp_path / "secret.txt").as_uri(), HostPolicy(start))
    with pytest.raises(PageActionError, match="must be inside the start page's folder"):
        check_url(start.replace("site/index.html", "site/../secret.txt"), HostPolicy(start))
    with pytest.raises(PageActionError, match="only http"):
        check_url(start, HostPolicy("http://127.0.0.1/"))
    with pytest.raises(PageActionError, match="only http"):
        check_url("javascript:alert(1)", HostPolicy(start))


def test_a_folder_start_page_keeps_the_agent_in_that_folder(tmp_path: Path) -> None:
    """A start URL naming a folder (its listing) allows that folder's files, not those of
    the folder around it."""
    start = (tmp_path / "site").as_uri() + "/"
    check_url((tmp_path / "site" / "a.html").as_uri(), HostPolicy(start))
    with pytest.raises(PageActionError, match="must be inside the start page's folder"):
        check_url((tmp_path / "secret.txt").as_uri(), HostPolicy(start))
