"""Thin routers: parse, call a service, shape the response."""

from fastapi import APIRouter

from app.api import (
    analytics,
    audit,
    capabilities,
    engagements,
    health,
    introductions,
    matches,
    me,
    messages,
    needs,
    notes,
    notifications,
    organisations,
    user_invitations,
    users,
    webhooks,
)

api_router = APIRouter(prefix="/api/v1")
for module in (me, organisations, users, user_invitations, needs, capabilities, matches, engagements, introductions,
               messages, notes, audit, analytics, notifications, webhooks):
    api_router.include_router(module.router)
api_router.include_router(engagements.invitations)

__all__ = ["api_router", "health"]
