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
from app.models.user import ApiToken, Invitation, User, WebSession

__all__ = [
                                     "ApiToken",
                                     "AuditEvent",
                                     "Capability",
                                     "Delivery",
                                     "Document",
                                     "DomainEvent",
                                     "Embedding",
                                     "Engagement",
                                     "EngagementParticipant",
                                     "EngagementTransition",
                                     "Introduction",
                                     "Invitation",
                                     "MatchFeedback",
                                     "MatchNotice",
                                     "MatchRecord",
                                     "Message",
                                     "Milestone",
                                     "Need",
                                     "Note",
                                     "Notification",
                                     "NotificationItem",
                                     "NotificationPreference",
                                     "Organisation",
                                     "Thread",
                                     "User",
                                     "UserNotificationPreference",
                                     "WebSession",
                                     "WebhookEndpoint",
]
