"""A small async client of the Prometheus HTTP API (``/api/v1``): range queries, series and label discovery."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import httpx

from tracehound.connectors.prometheus.config import PrometheusConfig


class PrometheusError(RuntimeError):
    """Prometheus could not be reached or answered with an error; the message names the server."""


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


_REGEX_SPECIAL = re.compile(r"([\\.^$|?*+()\[\]{}])")


def alternatives(values: Sequence[str]) -> str:
    """A regex (quoted for a PromQL string) that matches exactly one of ``values``."""
    return _escape("|".join(_REGEX_SPECIAL.sub(r"\\\1", v) for v in sorted(set(values))))


def filter_matchers(config: PrometheusConfig) -> list[str]:
    """The configured ``label_filters`` as equality matchers (``env="prod"``), added to every selector."""
    return [f'{k}="{_escape(v)}"' for k, v in sorted(config.label_filters.items())]


def selector(config: PrometheusConfig, metric: str | None = None, services: Sequence[str] | None = None) -> str:
    """``metric{service!="", env="prod"}``: every series of ``metric`` that names a service (one of ``services``
    when given: ``service=~"a|b"``)."""
    label = config.service_label
    matchers = [f'{label}=~"{alternatives(services)}"' if services else f'{label}!=""']
    matchers += filter_matchers(config)
    return f"{metric or ''}{{{', '.join(matchers)}}}"


class PrometheusClient:
    def __init__(self, config: PrometheusConfig, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.config = config
        self.transport = transport

    def http(self) -> httpx.AsyncClient:
        """A client for one batch of requests (use it as ``async with``)."""
        c = self.config
        headers = {"Accept": "application/json", "User-Agent": "tracehound"}
        if c.auth_header_value is not None:
            headers[c.auth_header_name] = c.auth_header_value
        auth = None
        if c.basic_auth_username is not None and c.basic_auth_password is not None:
            auth = httpx.BasicAuth(c.basic_auth_username, c.basic_auth_password)
        return httpx.AsyncClient(
            base_url=c.url,
            headers=headers,
            auth=auth,
            timeout=c.timeout_seconds,
            transport=self.transport,
            limits=httpx.Limits(max_connections=c.concurrency),
        )

    async def _get(self, client: httpx.AsyncClient, path: str, params: Sequence[tuple[str, str]]) -> Any:
        where = f"Prometheus at {self.config.url}"
        try:
            response = await client.get(path, params=list(params))
        except httpx.TimeoutException:
            raise PrometheusError(f"{where} did not answer within {self.config.timeout_seconds:g}s") from None
        except httpx.HTTPError as exc:
            raise PrometheusError(f"{where} is unreachable: {type(exc).__name__}: {exc}") from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code != 200 or not isinstance(body, dict) or body.get("status") != "success":
            detail = body.get("error") if isinstance(body, dict) else " ".join(response.text[:200].split())
            query = dict(params).get("query")
            asked = f" for {query[:300]!r}" if query else ""
            raise PrometheusError(f"{where} answered HTTP {response.status_code} on {path}{asked}: {detail}")
        return body.get("data")

    async def label_values(
        self,
        client: httpx.AsyncClient,
        label: str,
        match: str,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[str]:
        params = [("match[]", match), *_range(start, end)]
        data = await self._get(client, f"/api/v1/label/{label}/values", params)
        return sorted(str(v) for v in data or [])

    async def series(
        self, client: httpx.AsyncClient, matches: Sequence[str], start: datetime, end: datetime
    ) -> list[dict[str, str]]:
        """The label sets of every series matching any of ``matches`` over [start, end]."""
        params = [*(("match[]", m) for m in matches), *_range(start, end)]
        data = await self._get(client, "/api/v1/series", params)
        return [dict(x) for x in data or []]

    async def query_range(
        self, client: httpx.AsyncClient, query: str, start: datetime, end: datetime, step: float
    ) -> list[dict[str, Any]]:
        params = [
            ("query", query),
            ("start", f"{start.timestamp():.3f}"),
            ("end", f"{end.timestamp():.3f}"),
            ("step", f"{step:g}"),
        ]
        data = await self._get(client, "/api/v1/query_range", params)
        if not isinstance(data, dict) or data.get("resultType") != "matrix":
            raise PrometheusError(f"Prometheus at {self.config.url} returned no matrix for {query!r}")
        return list(data.get("result") or [])


def _range(start: datetime | None, end: datetime | None) -> list[tuple[str, str]]:
    out = []
    if start is not None:
        out.append(("start", f"{start.timestamp():.3f}"))
    if end is not None:
        out.append(("end", f"{end.timestamp():.3f}"))
    return out
