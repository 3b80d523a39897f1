"""Table models and API schemas (SQLModel: XBase / X(table=True) / XCreate / XUpdate / XPublic)."""

from app.models.audit import AuditEvent
from app.models.capability import Capability
from app.models.engagement import Document, Engagement, EngagementParticipant, EngagementTransition, Milestone
from app.models.event import DomainEvent
from app.models.introduction import Introduction
from app.models.matching import Embedding, MatchFeedback, MatchRecord
from app.models.message import Message, Thread
from app.models.need import Need
from app.models.note import Note
from app.models.notification import (
                                     Delivery,
                                     MatchNotice,
                                     Notification,
                                     NotificationItem,
                                     NotificationPreference,
                                     UserNotificationPreference,
                                     WebhookEndpoint,
)
from app.models.organisation import Organisation
from app.models.user import ApiToken, User, WebSession

__all__ = ["ApiToken", "AuditEvent", "Capability", "Document", "DomainEvent", "Engagement", "EngagementParticipant",
           "EngagementTransition", "Introduction", "Message", "Milestone", "Embedding", "MatchFeedback", "MatchRecord", "Need", "Note", "Organisation", "User",
           "Delivery", "MatchNotice", "Notification", "NotificationItem", "NotificationPreference",
           "UserNotificationPreference", "Thread", "WebhookEndpoint", "WebSession"]
