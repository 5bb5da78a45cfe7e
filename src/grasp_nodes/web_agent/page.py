"""What the agent sees of a page (numbered interactive elements, text, pruned HTML, a
screenshot) and the actions it takes on it. Runs in the worker thread owning the page."""

from __future__ import annotations

import base64
import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit
from urllib.request import url2pathname

from grasp_nodes.web_agent.actions import Action
from grasp_nodes.web_agent.browser import first_line
from grasp_nodes.web_agent.hosts import HostPolicy

if TYPE_CHECKING:
    from playwright.sync_api import Page

__all__ = ["Observation", "PageActionError", "UrlGuard", "act", "check_url", "observe"]

MARK: Final = "data-grasp-mark"
"""The attribute numbering an interactive element for this observation."""

_MARK_ELEMENTS: Final = """([attr, limit]) => {
  document.querySelectorAll('[' + attr + ']').forEach(e => e.removeAttribute(attr));
  const chosen = 'a[href], button, input:not([type=hidden]), textarea, select, summary, '
    + '[role=button], [role=link], [role=checkbox], [role=tab], [role=menuitem], [onclick]';
  const found = [];
  for (const el of document.querySelectorAll(chosen)) {
    if (found.length >= limit) break;
    const box = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    if (box.width === 0 || box.height === 0 || style.visibility === 'hidden'
        || style.display === 'none' || el.disabled) continue;
    const mark = found.length + 1;
    el.setAttribute(attr, String(mark));
    const text = (el.innerText || el.value || el.getAttribute('aria-label')
      || el.getAttribute('title') || el.getAttribute('alt') || '').trim().replace(/\\s+/g, ' ');
    found.push({mark, tag: el.tagName.toLowerCase(), type: el.getAttribute('type') || '',
      role: el.getAttribute('role') || '', text: text.slice(0, 100),
      name: el.getAttribute('name') || '', href: el.getAttribute('href') || '',
      placeholder: el.getAttribute('placeholder') || '',
      value: (el.tagName === 'INPUT' || el.tagName === 'TEXTAREA') ? String(el.value) : '',
      box: [box.x, box.y, box.width, box.height]});
  }
  return found;
}"""

_PRUNED_HTML: Final = """(limit) => {
  const keep = new Set(['href', 'name', 'type', 'value', 'placeholder', 'aria-label', 'role',
    'id', 'alt', 'title', 'data-grasp-mark']);
  const copy = document.body ? document.body.cloneNode(true) : document.createElement('body');
  copy.querySelectorAll('script, style, noscript, svg, template, iframe').forEach(e => e.remove());
  copy.querySelectorAll('*').forEach(e => {
    for (const a of Array.from(e.attributes)) if (!keep.has(a.name)) e.removeAttribute(a.name);
  });
  return copy.innerHTML.replace(/\\s+/g, ' ').slice(0, limit);
}"""

_DRAW_MARKS: Final = """(items) => {
  const layer = document.createElement('div');
  layer.id = '__grasp_marks';
  layer.style.cssText = 'position:fixed;inset:0;pointer-events:none;z-index:2147483647';
  for (const item of items) {
    const [x, y, w, h] = item.box;
    const frame = document.createElement('div');
    frame.style.cssText = `position:fixed;left:${x}px;top:${y}px;width:${w}px;height:${h}px;`
      + 'outline:2px solid #d00;box-sizing:border-box';
    const label = document.createElement('div');
    label.textContent = String(item.mark);
    label.style.cssText = `position:fixed;left:${x}px;top:${Math.max(0, y - 14)}px;`
      + 'background:#d00;color:#fff;font:bold 11px sans-serif;padding:0 3px';
    layer.append(frame, label);
  }
  document.documentElement.append(layer);
}"""

_REMOVE_MARKS: Final = "() => document.getElementById('__grasp_marks')?.remove()"


class PageActionError(Exception):
    """An action the page did not take; its message is the reason (the step fails)."""


@dataclass(slots=True)
class Observation:
    """One look at the page."""

    url: str
    title: str
    elements: list[dict[str, Any]]
    text: str
    html: str | None = None
    screenshot: str | None = None
    """A ``data:image/png;base64,...`` URL of the viewport."""
    marks: set[int] = field(default_factory=set)

    def describe(self) -> str:
        """The observation as text for the model (without the screenshot)."""
        lines = [f"URL: {self.url}", f"Title: {self.title}", "Interactive elements:"]
        lines.extend(_element_line(element) for element in self.elements)
        if not self.elements:
            lines.append("(none)")
        lines.extend(["Page text:", self.text or "(empty)"])
        if self.html is not None:
            lines.extend(["Page HTML (pruned):", self.html])
        return "\n".join(lines)


def _element_line(element: dict[str, Any]) -> str:
    kind = element["role"] or element["tag"]
    if element["tag"] == "input":
        kind = f"input type={element['type'] or 'text'}"
    parts = [f"[{element['mark']}] {kind}"]
    if element["text"]:
        parts.append(repr(element["text"]))
    for key in ("name", "placeholder", "href"):
        if element[key]:
            parts.append(f"{key}={element[key]!r}")
    if element["value"]:
        parts.append(f"value={element['value']!r}")
    return " ".join(parts)


def observe(
    page: Page,
    *,
    max_elements: int,
    max_text: int,
    max_html: int | None,
    screenshot: bool,
    som: bool,
) -> Observation:
    """Number the page's visible interactive elements and read what the model sees."""
    _settle(page)
    elements: list[dict[str, Any]] = page.evaluate(_MARK_ELEMENTS, [MARK, max_elements])
    text = str(page.evaluate("() => document.body ? document.body.innerText : ''"))
    html = str(page.evaluate(_PRUNED_HTML, max_html)) if max_html is not None else None
    image = None
    if screenshot:
        if som:
            page.evaluate(_DRAW_MARKS, elements)
        try:
            png = page.screenshot(type="png")
        finally:
            if som:
                page.evaluate(_REMOVE_MARKS)
        image = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    return Observation(
        url=page.url,
        title=page.title(),
        elements=elements,
        text=" ".join(text.split())[:max_text],
        html=html,
        screenshot=image,
        marks={int(e["mark"]) for e in elements},
    )


class UrlGuard:
    """Refuses, in the browser, every request for a URL :func:`check_url` refuses: a click,
    a form, a redirect, a script or a frame would otherwise open what ``goto`` may not (a
    local page linking to ``../../secret.txt``, a page sending the browser to a service on
    this machine). Playwright routes ``file:`` requests too."""

    def __init__(self, hosts: HostPolicy) -> None:
        self.hosts = hosts
        self.refused: str | None = None
        """Why the page's last refused navigation was refused, until :meth:`check`."""

    def install(self, page: Page) -> None:
        """Route every request of ``page``'s browser context through the guard, when some
        URL may be refused: Chromium itself keeps a web page from ``file:`` URLs, and a
        route holds each request until the worker thread next calls Playwright."""
        hosts = self.hosts
        local = urlsplit(hosts.start_url).scheme.lower() == "file"
        if local or hosts.allowed or not hosts.allow_private:
            page.context.route(self._refuses, self._abort)

    def _reason(self, url: str) -> str | None:
        try:
            check_url(url, self.hosts)
        except PageActionError as exc:
            return str(exc)
        return None

    def _refuses(self, url: str) -> bool:
        return self._reason(url) is not None

    def _abort(self, route: Any) -> None:
        request = route.request
        if request.is_navigation_request() and request.frame.parent_frame is None:
            self.refused = self._reason(request.url)
        route.abort("blockedbyclient")

    def check(self, page: Page) -> None:
        """Raise :class:`PageActionError` if the page tried to leave for a refused URL
        since the last check, after going back from the error page that left it on."""
        reason, self.refused = self.refused, None
        if reason is None:
            return
        if page.url.startswith("chrome-error:"):
            page.go_back()
        raise PageActionError(reason)


def act(page: Page, action: Action, seen: Observation, guard: UrlGuard) -> None:
    """Take ``action`` on ``page``; raise :class:`PageActionError` with the reason when it
    cannot be taken (or it led to a URL the guard refused). ``done`` and ``fail`` do
    nothing here: they end the run."""
    from playwright.sync_api import Error

    guard.refused = None
    try:
        if action.name in ("click", "type"):
            element = _element(page, action, seen)
            if action.name == "click":
                element.click()
                _settle(page)
            else:
                element.fill(str(action.arguments["text"]))
                if action.arguments.get("submit"):
                    element.press("Enter")
                    _settle(page)
        elif action.name == "scroll":
            height = page.viewport_size["height"] if page.viewport_size else 600
            sign = -1 if action.arguments["direction"] == "up" else 1
            page.mouse.wheel(0, sign * height * 0.8)
        elif action.name == "goto":
            url = str(action.arguments["url"])
            check_url(url, guard.hosts)
            page.goto(url)
        elif action.name == "back" and page.go_back() is None:
            raise PageActionError("there is no earlier page to go back to")
        guard.check(page)
    except Error as exc:
        if guard.refused is not None:  # the page failed because it tried to leave
            guard.check(page)
        raise PageActionError(first_line(exc)) from exc


def _element(page: Page, action: Action, seen: Observation) -> Any:
    mark = action.arguments["element"]
    if mark not in seen.marks:
        shown = f"1-{max(seen.marks)}" if seen.marks else "none"
        raise PageActionError(f"there is no element [{mark}] on the page (elements: {shown})")
    return page.locator(f"[{MARK}='{mark}']").first


def _settle(page: Page) -> None:
    """Wait for a page load the action started, if any (a load that does not finish in
    time is observed as it is)."""
    from playwright.sync_api import Error

    with contextlib.suppress(Error):
        page.wait_for_load_state("domcontentloaded")


def check_url(url: str, hosts: HostPolicy) -> None:
    """Refuse a URL the agent may not open: an http(s) URL whose host ``hosts`` refuses; a
    ``file:`` URL unless the record's start page is a local file too (a stand-in site) and
    the URL is inside its folder, so a model cannot read the machine's other files."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        refusal = hosts.refusal(url)
        if refusal is not None:
            raise PageActionError(refusal)
        return
    start = urlsplit(hosts.start_url)
    if scheme == "file" and start.scheme.lower() == "file":
        start_path = Path(url2pathname(start.path)).resolve()
        folder = start_path if start.path.endswith("/") else start_path.parent  # a listing
        if Path(url2pathname(parts.path)).resolve().is_relative_to(folder):
            return
        raise PageActionError(
            f"cannot open {url!r}: a file: URL must be inside the start page's folder "
            f"{str(folder)!r}"
        )
    raise PageActionError(f"cannot open {url!r}: only http(s) URLs may be opened")
