from fastapi import APIRouter, Response

from app.deps import CurrentActor, IfMatch, PageDep, SessionDep, SettingsDep
from app.models.common import DbInt, Page
from app.models.notification import (
    Channel,
    DeliveryPublic,
    DeliveryStatus,
    SecretRotation,
    WebhookCreate,
    WebhookPublic,
    WebhookUpdate,
    WebhookWithSecret,
)
from app.services.common import expected_version
from app.services.notifications import webhooks

router = APIRouter(tags=["webhooks"])


@router.get("/webhooks", summary="The organisation's webhook endpoints (the commission and admin: all)")
def list_endpoints(session: SessionDep, actor: CurrentActor, page: PageDep) -> Page[WebhookPublic]:
    rows, total = webhooks.list_endpoints(session, actor, page)
    return Page(items=rows, total=total, limit=page.limit, offset=page.offset)


@router.post("/webhooks", status_code=201,
             summary="Add an endpoint; its signing secret (Standard Webhooks, whsec_…) is shown in this answer only")
def create_endpoint(session: SessionDep, actor: CurrentActor, settings: SettingsDep, body: WebhookCreate,
                    response: Response) -> WebhookWithSecret:
    ep = webhooks.create(session, actor, settings, body)
    response.headers["Location"] = f"/api/v1/webhooks/{ep.id}"
    return ep


@router.get("/webhooks/{endpoint_id}", summary="One endpoint (without its secret)")
def get_endpoint(session: SessionDep, actor: CurrentActor, endpoint_id: DbInt, response: Response) -> WebhookPublic:
    ep = webhooks.get(session, actor, endpoint_id)
    response.headers["ETag"] = f'"{ep.version}"'
    return ep


@router.patch("/webhooks/{endpoint_id}", summary="Change the URL or description, or disable / enable the endpoint")
def update_endpoint(session: SessionDep, actor: CurrentActor, settings: SettingsDep, endpoint_id: DbInt,
                    body: WebhookUpdate, response: Response, if_match: IfMatch = None) -> WebhookPublic:
    ep = webhooks.update(session, actor, settings, endpoint_id, body, expected_version(body.version, if_match))
    response.headers["ETag"] = f'"{ep.version}"'
    return ep


@router.post("/webhooks/{endpoint_id}/rotate-secret",
             summary="A new secret; the old one keeps signing beside it for the grace period")
def rotate_secret(session: SessionDep, actor: CurrentActor, endpoint_id: DbInt,
                  body: SecretRotation | None = None) -> WebhookWithSecret:
    return webhooks.rotate_secret(session, actor, endpoint_id, body or SecretRotation())


@router.post("/webhooks/{endpoint_id}/ping", status_code=202, summary="Queue a signed test message to the endpoint")
def ping(session: SessionDep, actor: CurrentActor, settings: SettingsDep, endpoint_id: DbInt) -> DeliveryPublic:
    return webhooks.ping(session, actor, settings, endpoint_id)


@router.get("/deliveries", summary="Messages on their way or delivered: status, tries, last error (dead-letter: "
                                   "status=dead)")
def list_deliveries(session: SessionDep, actor: CurrentActor, page: PageDep, status: DeliveryStatus | None = None,
                    channel: Channel | None = None, endpoint_id: DbInt | None = None,
                    notification_id: DbInt | None = None) -> Page[DeliveryPublic]:
    rows, total = webhooks.list_deliveries(session, actor, page, status, channel, endpoint_id, notification_id)
    return Page(items=rows, total=total, limit=page.limit, offset=page.offset)


@router.get("/deliveries/{delivery_id}", summary="One delivery")
def get_delivery(session: SessionDep, actor: CurrentActor, delivery_id: DbInt) -> DeliveryPublic:
    return webhooks.get_visible_delivery(session, actor, delivery_id)


@router.post("/deliveries/{delivery_id}/redeliver", status_code=202,
             summary="Send again with the same idempotency key (a dead message, or one the receiver lost)")
def redeliver(session: SessionDep, actor: CurrentActor, delivery_id: DbInt) -> DeliveryPublic:
    return webhooks.redeliver(session, actor, delivery_id)
