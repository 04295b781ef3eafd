"""Dependencies, named once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from sqlalchemy import Connection

from tracehound.auth.principal import Principal
from tracehound.auth.service import authenticate, bearer_token
from tracehound.db.database import Database
from tracehound.sessions.service import Enqueue, Limits

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class AppState:
    database: Database
    enqueue: Enqueue
    cancel: Callable[[str], Awaitable[None]]  # cancels a turn's workflow
    limits: Limits


async def app_state(request: Request) -> AppState:  # async: a sync dependency would cost a thread hop
    state: AppState = request.app.state.tracehound
    return state


StateDep = Annotated[AppState, Depends(app_state)]


async def read_as_caller(request: Request, work: Callable[[Connection, Principal], T]) -> T:
    """Authenticates the caller and runs ``work(conn, principal)`` in the same read (one connection, one
    transaction): for the hottest read endpoints."""
    authorization = request.headers.get("authorization")
    bearer_token(authorization)  # a missing or malformed header is a 401 without touching the database
    state: AppState = request.app.state.tracehound

    def both(conn: Connection) -> T:
        return work(conn, authenticate(conn, authorization=authorization))

    return await state.database.read(both)


async def current_principal(request: Request) -> Principal:
    # the header is read here, not declared as a parameter: it runs on every request, and FastAPI's parameter
    # machinery costs more than the lookup
    authorization = request.headers.get("authorization")
    bearer_token(authorization)  # a missing or malformed header is a 401 without touching the database
    state: AppState = request.app.state.tracehound
    return await state.database.read(partial(authenticate, authorization=authorization))


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
