"""What the ``servicenow`` source and sink share: the connection settings (SyGra's keys and
``SNOW_*`` variables), authentication, and one HTTP boundary to ServiceNow's Table API.

Plain ``httpx`` rather than ServiceNow's ``pysnc``: httpx is already a dependency, the Table
API is four plain requests (list, insert, update, OAuth token), and every failure is
translated in one place (:meth:`TableClient.request`), with the password and tokens
registered for redaction so that no log line or error shows them.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, model_validator

from grasp_core.errors import ConfigError, GraspError
from grasp_core.plugin import register_secret

__all__ = [
    "ServiceNowConnection",
    "TableClient",
    "as_text",
    "encode_filters",
    "instance_url",
]

_RETRIED = {429, 500, 502, 503, 504}
_RETRIES = 3
_BACKOFF_SECONDS = 0.5
_OPERATORS = {
    "=": "=",
    "!=": "!=",
    ">": ">",
    ">=": ">=",
    "<": "<",
    "<=": "<=",
    "IN": "IN",
    "NOT IN": "NOT IN",
    "LIKE": "LIKE",
    "STARTSWITH": "STARTSWITH",
    "ENDSWITH": "ENDSWITH",
}


class ServiceNowConnection(BaseModel):
    """Where and how to reach a ServiceNow instance (SyGra's keys). Every key may come from
    the environment instead: ``SNOW_INSTANCE``, ``SNOW_USERNAME``, ``SNOW_PASSWORD``,
    ``SNOW_OAUTH_CLIENT_ID``, ``SNOW_OAUTH_CLIENT_SECRET``."""

    model_config = ConfigDict(extra="forbid")

    instance: str | None = None
    """An instance name (`dev00000` → `https://dev00000.service-now.com`), a host name, or a
    full URL (`http://127.0.0.1:8080`, for a local server). Default: `$SNOW_INSTANCE`."""
    username: str | None = None
    """The user to sign in as. Default: `$SNOW_USERNAME`."""
    oauth_client_id: str | None = None
    """With `$SNOW_OAUTH_CLIENT_SECRET`: sign in with OAuth's password grant instead of basic
    authentication. Default: `$SNOW_OAUTH_CLIENT_ID`."""
    table: str
    """The table to read or write (`incident`, `u_my_table`)."""
    verify_ssl: bool = True
    """Verify the instance's TLS certificate."""
    timeout: float = Field(default=60.0, gt=0)
    """Seconds one request may take."""
    auto_retry: bool = True
    """Retry a request on 429 and 5xx answers and dropped connections (3 times, backing off)."""

    @model_validator(mode="before")
    @classmethod
    def _no_secrets(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            for key, variable in (
                ("password", "SNOW_PASSWORD"),
                ("oauth_client_secret", "SNOW_OAUTH_CLIENT_SECRET"),
            ):
                if key in data:
                    raise ValueError(
                        f"`{key}` never goes in a task file (tasks are shared); set {variable} "
                        "in the environment instead"
                    )
        return data


def instance_url(instance: str) -> str:
    """The base URL of ``instance``: a name, a host name, or a full URL kept as it is."""
    instance = instance.strip().rstrip("/")
    if "://" in instance:
        return instance
    return f"https://{instance}" if "." in instance else f"https://{instance}.service-now.com"


def encode_filters(filters: Mapping[str, Any]) -> str:
    """SyGra's ``filters`` as an encoded query: ``value`` is equality, a list is ``IN``, and
    ``{operator, value}`` uses that operator. ``^`` in a value is escaped as ``^^``."""
    parts: list[str] = []
    for field, spec in filters.items():
        if isinstance(spec, Mapping):
            operator = str(spec.get("operator", "=")).upper()
            if operator not in _OPERATORS:
                known = ", ".join(_OPERATORS)
                raise ConfigError(
                    f"filter on {field!r}: unknown operator {operator!r}; use one of {known}"
                )
            value = spec.get("value")
            parts.append(f"{field}{_OPERATORS[operator]}{_encode_value(value)}")
        elif isinstance(spec, list):
            parts.append(f"{field}IN{','.join(_encode_value(v) for v in spec)}")
        else:
            parts.append(f"{field}={_encode_value(spec)}")
    return "^".join(parts)


def _encode_value(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(_encode_value(v) for v in value)
    if isinstance(value, bool):
        return str(value).lower()
    return str(value).replace("^", "^^")


class TableClient:
    """A signed-in HTTP client for one table; errors are raised as ``error`` (the source's
    ``SourceError``, the sink's ``SinkError``), naming the table and what to do."""

    def __init__(self, connection: ServiceNowConnection, error: type[GraspError]) -> None:
        self.table = connection.table
        self._error = error
        instance = connection.instance or os.environ.get("SNOW_INSTANCE")
        if not instance:
            raise ConfigError(
                f"servicenow table {self.table!r}: no instance; set `instance` or SNOW_INSTANCE"
            )
        self.base = instance_url(instance)
        username = connection.username or os.environ.get("SNOW_USERNAME")
        password = os.environ.get("SNOW_PASSWORD")
        if not username or not password:
            raise ConfigError(
                f"servicenow table {self.table!r} at {self.base}: set SNOW_USERNAME (or "
                "`username`) and SNOW_PASSWORD"
            )
        register_secret(password)
        self._retries = _RETRIES if connection.auto_retry else 0
        self._http = httpx.Client(
            base_url=self.base,
            timeout=connection.timeout,
            verify=connection.verify_ssl,
            headers={"Accept": "application/json"},
        )
        client_id = connection.oauth_client_id or os.environ.get("SNOW_OAUTH_CLIENT_ID")
        secret = os.environ.get("SNOW_OAUTH_CLIENT_SECRET")
        self._oauth: dict[str, str] | None = None
        if client_id and secret:
            register_secret(secret)
            self._oauth = {
                "grant_type": "password",
                "client_id": client_id,
                "client_secret": secret,
                "username": username,
                "password": password,
            }
        else:
            self._http.auth = httpx.BasicAuth(username, password)

    def _sign_in(self) -> None:
        """OAuth's password grant, on the first request (building the client sends none)."""
        form, self._oauth = self._oauth, None
        reply = self.request("POST", "/oauth_token.do", data=form)
        token = reply.json().get("access_token") if _is_json(reply) else None
        if not isinstance(token, str) or not token:
            raise self._error(f"{self.base}/oauth_token.do gave no access_token; check the client")
        register_secret(token)
        self._http.headers["Authorization"] = f"Bearer {token}"

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request, retried on 429/5xx and dropped connections; failures are ``error``."""
        if self._oauth is not None:
            self._sign_in()
        for attempt in range(self._retries + 1):
            try:
                reply = self._http.request(method, path, **kwargs)
            except httpx.HTTPError as exc:
                if attempt < self._retries:
                    time.sleep(_BACKOFF_SECONDS * 2**attempt)
                    continue
                raise self._error(
                    f"servicenow {method} {self.base}{path}: {type(exc).__name__}: {exc}; check "
                    "that the instance is reachable"
                ) from exc
            if reply.status_code in _RETRIED and attempt < self._retries:
                time.sleep(_retry_after(reply) or _BACKOFF_SECONDS * 2**attempt)
                continue
            if reply.status_code >= 400:
                raise self._error(self._explain(method, path, reply))
            return reply
        raise AssertionError("unreachable")  # pragma: no cover

    def _explain(self, method: str, path: str, reply: httpx.Response) -> str:
        detail = ""
        if _is_json(reply):
            error = reply.json().get("error")
            if isinstance(error, Mapping):
                detail = str(error.get("message") or "")
        hint = {
            401: "check SNOW_USERNAME and SNOW_PASSWORD (or the OAuth pair)",
            403: "the user lacks the role to use this table",
            404: f"check the table name {self.table!r} and the instance URL",
            400: f"check the table name {self.table!r} and the query",
        }.get(reply.status_code, "try again later, or check the instance")
        said = f" ({detail})" if detail else ""
        return f"servicenow {method} {self.base}{path} answered {reply.status_code}{said}; {hint}"

    def list(self, params: Mapping[str, str]) -> tuple[list[dict[str, Any]], int | None]:
        """One page of the table: its rows and ``X-Total-Count`` (None when absent)."""
        reply = self.request("GET", f"/api/now/table/{self.table}", params=dict(params))
        rows = _result(reply, self._error)
        total = reply.headers.get("X-Total-Count")
        if not isinstance(rows, list):
            raise self._error(f"servicenow table {self.table!r}: a list answer had no rows")
        return rows, int(total) if total and total.isdigit() else None

    def insert(self, row: Mapping[str, Any]) -> dict[str, Any]:
        reply = self.request("POST", f"/api/now/table/{self.table}", json=dict(row))
        return dict(_result(reply, self._error))

    def update(self, sys_id: str, row: Mapping[str, Any]) -> dict[str, Any]:
        reply = self.request("PATCH", f"/api/now/table/{self.table}/{sys_id}", json=dict(row))
        return dict(_result(reply, self._error))

    def close(self) -> None:
        self._http.close()


def _is_json(reply: httpx.Response) -> bool:
    return str(reply.headers.get("content-type", "")).startswith("application/json")


def _result(reply: httpx.Response, error: type[GraspError]) -> Any:
    try:
        return reply.json()["result"]
    except (ValueError, KeyError, TypeError) as exc:
        raise error(
            f"servicenow {reply.request.method} {reply.request.url} answered without a "
            "`result`; is the instance URL a ServiceNow instance?"
        ) from exc


def _retry_after(reply: httpx.Response) -> float | None:
    value = reply.headers.get("Retry-After", "")
    return min(float(value), 30.0) if value.replace(".", "", 1).isdigit() else None


def as_text(value: Any) -> Any:
    """A value ServiceNow can store: lists and dicts as JSON text, the rest as it is."""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return value
