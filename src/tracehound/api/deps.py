"""Dependencies, named once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request

from tracehound.auth.principal import Principal
from tracehound.auth.service import authenticate
from tracehound.db.database import Database
from tracehound.sessions.service import Enqueue, Limits


@dataclass(frozen=True, slots=True)
class AppState:
    database: Database
    enqueue: Enqueue
    cancel: Callable[[str], Awaitable[None]]  # cancels a turn's workflow
    limits: Limits


def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.tracehound
    return state


StateDep = Annotated[AppState, Depends(app_state)]


async def current_principal(
    state: StateDep,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Principal:
    async with state.database.reader() as db:
        return await authenticate(db, authorization=authorization)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
