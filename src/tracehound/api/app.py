"""The FastAPI application factory. Everything it needs is handed in; nothing happens at import time."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from tracehound import __version__
from tracehound.api import contract
from tracehound.api.deps import AppState
from tracehound.api.errors import install_database_error_handler, install_error_handlers
from tracehound.api.observability import Metrics, ObservabilityMiddleware
from tracehound.api.routes import agents, events, ops, sessions
from tracehound.api.routes import connectors as connectors_routes
from tracehound.api.routes import integrations as integrations_routes
from tracehound.web import routes as web
from tracehound.web.security import WebOptions

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def create_app(
    state: AppState,
    *,
    metrics: Metrics | None = None,
    lifespan: Lifespan | None = None,
    max_body_bytes: int = 1_048_576,
    web_options: WebOptions | None = None,
) -> FastAPI:
    @asynccontextmanager
    async def _noop(_app: FastAPI) -> AsyncIterator[None]:
        yield

    app = FastAPI(
        title="tracehound",
        version=__version__,
        lifespan=lifespan or _noop,
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.tracehound = state
    app.state.metrics = metrics or Metrics()
    install_error_handlers(app)
    install_database_error_handler(app)
    app.include_router(sessions.router)
    app.include_router(events.router)
    app.include_router(agents.router)
    app.include_router(ops.router)
    app.include_router(connectors_routes.router)
    app.include_router(integrations_routes.router)
    web.install(app, web_options or WebOptions(secret=secrets.token_bytes(32)))
    app.add_middleware(ObservabilityMiddleware, metrics=app.state.metrics, max_body_bytes=max_body_bytes)

    def _openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            generated = get_openapi(title=app.title, version=app.version, routes=app.routes)
            app.openapi_schema = contract.apply(generated)
        return app.openapi_schema

    app.openapi = _openapi  # type: ignore[method-assign]
    return app
