"""The ``web_agent`` node type: a model drives Chromium (through Playwright, the ``web``
extra) one action at a time toward a goal: its config (``config``), finding and starting
the browser (``browser``), what the model sees of a page and the actions taken on it
(``page``, ``actions``), stopping a session from outside its thread (``stopper``), the run
as data (``trajectory``) and the loop (``node``)."""

from grasp_nodes.web_agent.config import WebAgentConfig
from grasp_nodes.web_agent.node import WebAgentNode

__all__ = ["WebAgentConfig", "WebAgentNode"]
