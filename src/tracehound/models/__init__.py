"""SQLAlchemy tables, one module per table."""

from tracehound.models.agent import Agent
from tracehound.models.alert_episode import AlertEpisode
from tracehound.models.alert_integration import AlertIntegration
from tracehound.models.api_key import ApiKey
from tracehound.models.base import Base
from tracehound.models.data_source import DataSource
from tracehound.models.executor_heartbeat import ExecutorHeartbeat
from tracehound.models.message import Message
from tracehound.models.organization import Organization
from tracehound.models.session import RUNNING_STATUSES, Session
from tracehound.models.session_event import SessionEvent
from tracehound.models.user import User
from tracehound.models.web_session import WebSession
from tracehound.models.webhook_delivery import WebhookDelivery
from tracehound.models.webhook_subscription import WebhookSubscription

__all__ = [
    "RUNNING_STATUSES",
    "Agent",
    "AlertEpisode",
    "AlertIntegration",
    "ApiKey",
    "Base",
    "DataSource",
    "ExecutorHeartbeat",
    "Message",
    "Organization",
    "Session",
    "SessionEvent",
    "User",
    "WebSession",
    "WebhookDelivery",
    "WebhookSubscription",
]
