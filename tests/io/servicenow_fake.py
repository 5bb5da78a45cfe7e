"""A small fake of ServiceNow's Table API over loopback HTTP, for the servicenow source and
sink tests: GET (encoded queries with `=`, `!=`, `IN`, `>=`..., `ORDERBY`, fields, limit and
offset, `X-Total-Count` and `Link` headers), POST and PATCH on /api/now/table/<table>, basic
authentication and OAuth's password grant (/oauth_token.do). Unknown tables answer 400, as
the real API does; ``fail_next`` makes the next requests answer with the given statuses."""

from __future__ import annotations

import base64
import json
import operator
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

USER, PASSWORD = "admin", "s3cret-pw"
CLIENT_ID, CLIENT_SECRET, TOKEN = "client-1", "client-s3cret", "tok-0123456789"


@dataclass
class FakeTableApi:
    """The fake's state: tables of rows (dicts of strings), and a log of requests."""

    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    log: list[tuple[str, str]] = field(default_factory=list)
    fail_next: list[int] = field(default_factory=list)
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def rows(self, table: str) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(row) for row in self.tables[table]]


_TESTS: dict[str, Callable[[str, str], bool]] = {
    "NOT IN": lambda cell, value: cell not in value.split(","),
    "STARTSWITH": str.startswith,
    "ENDSWITH": str.endswith,
    "LIKE": lambda cell, value: value in cell,
    "IN": lambda cell, value: cell in value.split(","),
    "!=": operator.ne,
    ">=": operator.ge,
    "<=": operator.le,
    "=": operator.eq,
    ">": operator.gt,
    "<": operator.lt,
}
"""Encoded-query operators, longest spelling first (``>=`` before ``=``)."""


def _matches(row: dict[str, Any], condition: str) -> bool:
    for op, test in _TESTS.items():
        name, found, value = condition.partition(op)
        if found and name and name.isidentifier():
            return test(str(row.get(name, "")), value.replace("^^", "^"))
    raise ValueError(f"fake cannot parse condition {condition!r}")


def _query(rows: list[dict[str, Any]], query: str) -> list[dict[str, Any]]:
    order: tuple[str, bool] | None = None
    placeholder = "\x00"
    for part in query.replace("^^", placeholder).split("^"):
        part = part.replace(placeholder, "^^")
        if not part:
            continue
        if part.startswith("ORDERBYDESC"):
            order = (part[len("ORDERBYDESC") :], True)
        elif part.startswith("ORDERBY"):
            order = (part[len("ORDERBY") :], False)
        else:
            rows = [row for row in rows if _matches(row, part)]
    if order is not None:
        rows = sorted(rows, key=lambda row: str(row.get(order[0], "")), reverse=order[1])
    return rows


def _handler(api: FakeTableApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json;charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _authorized(self) -> bool:
            auth = self.headers.get("Authorization", "")
            basic = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
            return auth in (f"Basic {basic}", f"Bearer {TOKEN}")

        def _table(self) -> tuple[str, str | None] | None:
            parts = urlsplit(self.path).path.strip("/").split("/")
            if len(parts) < 4 or parts[:3] != ["api", "now", "table"]:
                return None
            return parts[3], parts[4] if len(parts) > 4 else None

        def _start(self, method: str) -> tuple[str, str | None] | None:
            api.log.append((method, self.path))
            if api.fail_next:
                self._send(api.fail_next.pop(0), {"error": {"message": "injected"}})
                return None
            if not self._authorized():
                self._send(401, {"error": {"message": "User Not Authenticated"}})
                return None
            target = self._table()
            if target is None or target[0] not in api.tables:
                name = target[0] if target else self.path
                self._send(400, {"error": {"message": f"Invalid table {name}"}})
                return None
            return target

        def do_GET(self) -> None:
            target = self._start("GET")
            if target is None:
                return
            params = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
            with api.lock:
                rows = _query(list(api.tables[target[0]]), params.get("sysparm_query", ""))
            total = len(rows)
            offset = int(params.get("sysparm_offset", 0))
            limit = int(params.get("sysparm_limit", 10000))
            page = rows[offset : offset + limit]
            if "sysparm_fields" in params:
                wanted = params["sysparm_fields"].split(",")
                page = [{k: row[k] for k in wanted if k in row} for row in page]
            headers = {"X-Total-Count": str(total)}
            if offset + limit < total:
                query = urlencode({**params, "sysparm_offset": offset + limit})
                headers["Link"] = f'<{api.url}/api/now/table/{target[0]}?{query}>;rel="next"'
            self._send(200, {"result": page}, headers)

        def do_POST(self) -> None:
            if urlsplit(self.path).path == "/oauth_token.do":
                api.log.append(("POST", self.path))
                form = {k: v[0] for k, v in parse_qs(self._body().decode()).items()}
                good = (form.get("client_id"), form.get("client_secret")) == (
                    CLIENT_ID,
                    CLIENT_SECRET,
                ) and (form.get("username"), form.get("password")) == (USER, PASSWORD)
                if good and form.get("grant_type") == "password":
                    self._send(200, {"access_token": TOKEN, "token_type": "Bearer"})
                else:
                    self._send(401, {"error": "access_denied"})
                return
            target = self._start("POST")
            if target is None:
                return
            row = {k: v for k, v in json.loads(self._body()).items()}
            with api.lock:
                row["sys_id"] = uuid.uuid4().hex
                api.tables[target[0]].append(row)
            self._send(201, {"result": row})

        def do_PATCH(self) -> None:
            target = self._start("PATCH")
            if target is None:
                return
            changes = json.loads(self._body())
            with api.lock:
                for row in api.tables[target[0]]:
                    if row.get("sys_id") == target[1]:
                        row.update({k: v for k, v in changes.items() if k != "sys_id"})
                        self._send(200, {"result": row})
                        return
            self._send(404, {"error": {"message": "No Record found"}})

    return Handler


@contextmanager
def fake_table_api(tables: dict[str, list[dict[str, Any]]] | None = None) -> Iterator[FakeTableApi]:
    """Serve a fake Table API on a free loopback port for the duration of the block."""
    api = FakeTableApi(tables=tables if tables is not None else {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(api))
    api.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
