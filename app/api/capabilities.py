from typing import Annotated

from fastapi import APIRouter, File, Query, Request, Response, UploadFile
from sqlmodel import Session, select

from app.api.responses import json_response
from app.deps import CurrentActor, IfMatch, MatchIndexDep, PageDep, SessionDep, SettingsDep
from app.errors import Invalid, PayloadTooLarge
from app.i18n import msg, negotiate
from app.models.capability import (
    CapabilityBatchCreate,
    CapabilityBatchPublic,
    CapabilityCreate,
    CapabilityImportReport,
    CapabilityPublic,
    CapabilityUpdate,
)
from app.models.common import DbInt, Page
from app.models.enums import CapabilityStatus, Language, PartnerType, Region, Specialty, Stage, Track
from app.models.notification import UserNotificationPreference
from app.policy import Actor
from app.services import capabilities, capability_import
from app.services.common import expected_version

router = APIRouter(prefix="/capabilities", tags=["capabilities"])


@router.get("", response_model=Page[CapabilityPublic], summary="List capabilities the caller may read")
def list_capabilities(session: SessionDep, actor: CurrentActor, page: PageDep,
                      track: Track | None = None, specialty: Specialty | None = None, region: Region | None = None,
                      status: CapabilityStatus | None = None, language: Language | None = None,
                      stage: Stage | None = None,
                      certification: Annotated[str | None, Query(max_length=40)] = None,
                      org_kind: PartnerType | None = None, organisation_id: DbInt | None = None,
                      q: Annotated[str | None, Query(max_length=200)] = None) -> Response:
    f = capabilities.CapabilityFilters(track=track, specialty=specialty, region=region, status=status, language=language, stage=stage,
                                       certification=certification, org_kind=org_kind,
                                       organisation_id=organisation_id, q=q)
    rows, total = capabilities.list_capabilities(session, actor, f, page)
    return json_response(Page(items=rows, total=total, limit=page.limit, offset=page.offset))


@router.post("", status_code=201, summary="Register a capability of the caller's organisation (company staff)")
def create_capability(session: SessionDep, actor: CurrentActor, index: MatchIndexDep, body: CapabilityCreate,
                      response: Response) -> CapabilityPublic:
    cap = capabilities.create_capability(session, actor, body, index)
    response.headers["ETag"] = f'"{cap.version}"'
    response.headers["Location"] = f"/api/v1/capabilities/{cap.id}"
    return capabilities.to_public(session, cap)


@router.post("/batch", status_code=201,
             summary="Register up to 100 capabilities of the caller's organisation at once, all or none")
def create_capabilities(session: SessionDep, actor: CurrentActor, index: MatchIndexDep,
                        body: CapabilityBatchCreate) -> CapabilityBatchPublic:
    """A catalogue import: each item as ``POST /capabilities`` takes it, in one transaction (an invalid item —
    reported as ``items.<i>.<field>`` — registers none). Cheaper per capability than one request each: the model
    embeds the batch at once."""
    caps = capabilities.create_capabilities(session, actor, body.items, index)
    return CapabilityBatchPublic(items=capabilities.to_public_many(session, caps))


def _language(request: Request, session: Session, actor: Actor) -> str:
    """The caller's language, as the error handlers choose it (the person's preference, else Accept-Language)."""
    preferred = session.scalar(select(UserNotificationPreference.language)
                               .where(UserNotificationPreference.user_id == actor.user_id)) if actor.user_id else None
    return negotiate(request.headers.get("accept-language"), preferred)


@router.post("/import", summary="Import a catalogue from a CSV or XLSX file: every row checked first; dry_run "
                                "reports each row's errors and stores nothing")
def import_capabilities(request: Request, session: SessionDep, actor: CurrentActor, index: MatchIndexDep,
                        settings: SettingsDep, file: Annotated[UploadFile, File(description="CSV (UTF-8 or GB18030) "
                                                                                "or XLSX; header row first")],
                        dry_run: bool = True, skip_invalid: bool = False) -> CapabilityImportReport:
    """Columns by field name or in Chinese (``title``/标题, ``description``/描述, ``tracks``/赛道, ``stages``/阶段,
    ``certifications``/认证, ``kind``/类型, ``region``/地区, ``language``/语言, ``external_ref``/编号); lists separated
    by ``;`` ``,`` or ``、``. Without ``dry_run`` the rows are registered all or none (a row with errors answers 422
    naming ``rows.<row>.<field>``), or, with ``skip_invalid``, the valid rows only."""
    data = file.file.read(settings.max_attachment_bytes + 1)
    if len(data) > settings.max_attachment_bytes:
        raise PayloadTooLarge(msg("Attachments are limited to {max_bytes} bytes.",
                                  max_bytes=settings.max_attachment_bytes))
    rows, ignored = capability_import.read(file.filename or "", data)
    report = capability_import.check(session, actor, rows, ignored)
    lang = _language(request, session, actor)
    errors = report.errors(lang)
    if not dry_run and report.invalid and not skip_invalid:
        refused = Invalid("file", msg("{count} rows have errors; nothing was stored.", count=len(report.invalid)))
        refused.errors = errors  # each row's own field (rows.<row>.<field>), not the file's
        raise refused
    caps = [] if dry_run else capability_import.store(session, actor, report, index)
    return CapabilityImportReport(dry_run=dry_run, rows=len(report.rows), valid=len(report.valid),
                                  invalid=len(report.invalid), stored=len(caps), ignored_columns=report.ignored_columns,
                                  errors=errors, items=capabilities.to_public_many(session, caps) if caps else [])


@router.get("/{cap_id}", response_model=CapabilityPublic, summary="One capability")
def get_capability(session: SessionDep, actor: CurrentActor, cap_id: DbInt) -> Response:
    cap, public = capabilities.read_public(session, actor, cap_id)
    return json_response(public, headers={"ETag": f'"{cap.version}"'})


@router.patch("/{cap_id}", summary="Edit or archive a capability; needs the version read (body or If-Match)")
def update_capability(session: SessionDep, actor: CurrentActor, index: MatchIndexDep, cap_id: DbInt,
                      body: CapabilityUpdate, response: Response, if_match: IfMatch = None) -> CapabilityPublic:
    cap = capabilities.update_capability(session, actor, cap_id, body, expected_version(body.version, if_match),
                                         index)
    response.headers["ETag"] = f'"{cap.version}"'
    return capabilities.to_public(session, cap)
