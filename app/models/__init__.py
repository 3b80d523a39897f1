"""Table models and API schemas (SQLModel: XBase / X(table=True) / XCreate / XUpdate / XPublic)."""

from app.models.audit import AuditEvent
from app.models.capability import Capability
from app.models.matching import Embedding, MatchFeedback, MatchRecord
from app.models.need import Need
from app.models.note import Note
from app.models.organisation import Organisation
from app.models.user import ApiToken, User

__all__ = ["ApiToken", "AuditEvent", "Capability", "Embedding", "MatchFeedback", "MatchRecord", "Need", "Note", "Organisation", "User"]
