"""A Python client for tracehound and any Traversal-compatible V1 Sessions API.

    from tracehound.client import Client

    with Client("http://127.0.0.1:8000", "trv_ak_...") as th:
        session = th.create("Checkout is returning 500 errors", retry=True)
        for event in th.stream_events(session.id, until_idle=True):
            print(event.type, event.data.get("detail", ""))
        print(th.wait(session.id).answer)

Only ``httpx`` is needed: this package imports nothing else from tracehound, so it can be vendored as is.
"""

from tracehound.client.aio import AsyncClient
from tracehound.client.errors import (
    APIConnectionError,
    Conflict,
    Forbidden,
    InvalidRequest,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    ServiceUnavailable,
    TracehoundAPIError,
    TracehoundClientError,
    Unauthorized,
    WaitTimeout,
)
from tracehound.client.models import Event, EventPage, Message, Session, SessionPage
from tracehound.client.sync import Client

__all__ = [
    "APIConnectionError",
    "AsyncClient",
    "Client",
    "Conflict",
    "Event",
    "EventPage",
    "Forbidden",
    "InvalidRequest",
    "Message",
    "NotFound",
    "PayloadTooLarge",
    "RateLimited",
    "ServiceUnavailable",
    "Session",
    "SessionPage",
    "TracehoundAPIError",
    "TracehoundClientError",
    "Unauthorized",
    "WaitTimeout",
]
