"""Cases: queues, next case, the case view, reassignment, transfer, reveal, notes,
documents."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import Depends, File, Form, Query, Request, Response, UploadFile
from starlette.concurrency import run_in_threadpool

from arrears.services.clock import DEFAULT_TIME_ZONE
from arrears.services.workbench import case_view, notes, queues, reveal
from arrears.services.workbench import search as search_service
from arrears.services.workbench.access import Actor, hide_staff_in
from arrears.services.workbench.errors import Invalid
from arrears.store.unit_of_work import UnitOfWork
from arrears.store.workbench_models import CaseDocument
from arrears.web.api.schemas import (
    AssignmentOut,
    CaseOut,
    CollectorLoadOut,
    DocumentOut,
    InboundOut,
    NoteIn,
    NoteOut,
    QueueItemOut,
    ReassignIn,
    RevealIn,
    RevealOut,
    SearchHitOut,
    TransferIn,
)
from arrears.web.app import settings_of
from arrears.web.deps import RowId, get_uow, require_user, workbench_router

router = workbench_router(tags=["cases"])


def worklist(request: Request) -> queues.Worklist:
    """The ranking of the app's workspace (``[queue]`` of its arrears.toml), its rule
    pack and its loans' latest risk scores."""
    settings = settings_of(request)
    return queues.Worklist.of_workspace(request.app.state.workspace_root, settings.compliance_pack)


Assignee = Annotated[str | None, Query(max_length=64)]
Limit = Annotated[int, Query(ge=1, le=200)]
ListOffset = Annotated[int, Query(ge=0, le=1_000_000)]


@router.get("/queue", response_model=list[QueueItemOut])
def get_queue(
    request: Request,
    assignee: Assignee = None,
    bucket: Annotated[str | None, Query(max_length=8)] = None,
    limit: Limit = 50,
    offset: ListOffset = 0,
    actor: Actor = Depends(require_user),
    uow: UnitOfWork = Depends(get_uow),
) -> list[QueueItemOut]:
    """The open cases the user may see, ranked: promises due today, promises broken
    yesterday, callbacks due, contactable now, then risk × amount (the workspace's
    ``[queue]`` settings); assignee "" = the pool. Each row says why it is where it is
    (``tier``, ``score``), its last contact and outcome, and its next action."""
    settings = settings_of(request)
    items = queues.queue(
        uow.session,
        actor,
        assignee=assignee,
        bucket=bucket,
        limit=limit,
        offset=offset,
        now=settings.now(),
        today=settings.today(),
        work=worklist(request),
    )
    return [QueueItemOut.model_validate(i) for i in items]


@router.get("/worklists/promises", response_model=list[QueueItemOut])
def get_promise_list(
    request: Request,
    assignee: Assignee = None,
    limit: Limit = 50,
    offset: ListOffset = 0,
    actor: Actor = Depends(require_user),
    uow: UnitOfWork = Depends(get_uow),
) -> list[QueueItemOut]:
    """ "My promises": open cases in the user's scope with a pending promise (or one
    broken in the last 7 days), earliest due first; a team lead sees the team's."""
    settings = settings_of(request)
    items = queues.promise_list(
        uow.session, actor, assignee=assignee, limit=limit, offset=offset,
        now=settings.now(), today=settings.today(), work=worklist(request),
    )  # fmt: skip
    return [QueueItemOut.model_validate(i) for i in items]


@router.get("/worklists/callbacks", response_model=list[QueueItemOut])
def get_callback_list(
    request: Request,
    assignee: Assignee = None,
    limit: Limit = 50,
    offset: ListOffset = 0,
    actor: Actor = Depends(require_user),
    uow: UnitOfWork = Depends(get_uow),
) -> list[QueueItemOut]:
    """ "My callbacks": open cases in the user's scope whose debtor asked to be called
    back and was not called since, earliest first."""
    settings = settings_of(request)
    items = queues.callback_list(
        uow.session, actor, assignee=assignee, limit=limit, offset=offset,
        now=settings.now(), today=settings.today(), work=worklist(request),
    )  # fmt: skip
    return [QueueItemOut.model_validate(i) for i in items]


@router.get("/worklists/load", response_model=list[CollectorLoadOut])
def get_load(
    request: Request, actor: Actor = Depends(require_user), uow: UnitOfWork = Depends(get_uow)
) -> list[CollectorLoadOut]:
    """The load per collector (team leads: their team; managers and admins: all)."""
    settings = settings_of(request)
    rows = queues.collector_load(
        uow.session, actor, now=settings.now(), today=settings.today(),
        time_zone=getattr(settings, "time_zone", "") or DEFAULT_TIME_ZONE,
    )  # fmt: skip
    return [CollectorLoadOut.model_validate(r) for r in rows]


@router.get("/search", response_model=list[SearchHitOut])
def get_search(
    q: Annotated[str, Query(min_length=1, max_length=search_service.MAX_QUERY)],
    by: Literal["any", "name", "phone", "id_number", "loan_id", "customer_id"] = "any",
    limit: Annotated[int, Query(ge=1, le=search_service.MAX_HITS)] = 20,
    actor: Actor = Depends(require_user),
    uow: UnitOfWork = Depends(get_uow),
) -> list[SearchHitOut]:
    """Cases by name (prefix), phone, 身份证 (last digits), loan or customer id
    (``by``: any, name, phone, id_number, loan_id, customer_id), in the user's scope,
    masked for the role (a full value only through a logged reveal)."""
    hits = search_service.search(uow.session, actor, q, key=by, limit=limit)
    return [SearchHitOut.model_validate(h) for h in hits]


@router.get("/inbound", response_model=InboundOut)
def get_inbound(
    phone: Annotated[str, Query(min_length=1, max_length=search_service.MAX_QUERY)],
    actor: Actor = Depends(require_user),
    uow: UnitOfWork = Depends(get_uow),
) -> InboundOut:
    """An inbound call: the case the caller's number opens (``case_id``), or null and
    the cases to pick from when none or several match."""
    match = search_service.inbound(uow.session, actor, phone)
    return InboundOut(
        case_id=match.case_id, hits=[SearchHitOut.model_validate(h) for h in match.hits]
    )


@router.get("/queue/sizes", response_model=dict[str, int])
def get_queue_sizes(
    actor: Actor = Depends(require_user), uow: UnitOfWork = Depends(get_uow)
) -> dict[str, int]:
    """Open cases per assignee in the user's scope ("" = unassigned)."""
    return queues.queue_sizes(uow.session, actor)


@router.post("/queue/next", response_model=CaseOut | None)
def post_next(
    request: Request, actor: Actor = Depends(require_user), uow: UnitOfWork = Depends(get_uow)
) -> CaseOut | None:
    """Take the top-ranked case to work (the queue's ranking), under a lease (null when
    nothing is free)."""
    settings = settings_of(request)
    case = queues.next_case(
        uow.session,
        actor,
        lease=settings.lease,
        now=settings.now(),
        today=settings.today(),
        work=worklist(request),
    )
    uow.commit()
    return CaseOut.model_validate(case) if case else None


@router.get("/cases/{case_id}")
def get_case(
    case_id: RowId,
    request: Request,
    actor: Actor = Depends(require_user),
    uow: UnitOfWork = Depends(get_uow),
) -> dict[str, Any]:
    """The case page's data: customer (masked), loans with schedule, ledger and
    balances, bucket history, the loan's latest model scores, contacts, promises,
    arrangements, notes, documents, holds, visits, placements, legal stages, strategy step
    and compliance status."""
    return case_view.case_view(
        uow.session,
        actor,
        case_id,
        workspace_root=request.app.state.workspace_root,
        now=settings_of(request).now(),
        today=settings_of(request).today(),
        pack_name=settings_of(request).compliance_pack,
    )


@router.post("/cases/{case_id}/release", status_code=204)
def post_release(
    case_id: RowId, actor: Actor = Depends(require_user), uow: UnitOfWork = Depends(get_uow)
) -> Response:
    """Give back the user's lease on the case."""
    queues.release_case(uow.session, actor, case_id)
    uow.commit()
    return Response(status_code=204)


@router.post("/cases/{case_id}/assign", response_model=CaseOut)
def post_assign(
    case_id: RowId,
    body: ReassignIn,
    actor: Actor = Depends(require_user),
    uow: UnitOfWork = Depends(get_uow),
) -> CaseOut:
    """Reassign the case to a collector (null: back to the pool); team leads, managers."""
    case = queues.reassign(uow.session, actor, case_id, body.to_user, body.reason)
    uow.commit()
    return CaseOut.model_validate(case)


@router.get("/cases/{case_id}/assignments", response_model=list[AssignmentOut])
def get_assignments(
    case_id: RowId, actor: Actor = Depends(require_user), uow: UnitOfWork = Depends(get_uow)
) -> list[AssignmentOut]:
    """The case's assignment history."""
    rows = queues.assignment_history(uow.session, actor, case_id)
    return hide_staff_in(uow.session, actor, [AssignmentOut.model_validate(r) for r in rows])


@router.post("/transfers", response_model=dict[str, int])
def post_transfer(
    body: TransferIn, actor: Actor = Depends(require_user), uow: UnitOfWork = Depends(get_uow)
) -> dict[str, int]:
    """Move all open cases of a collector who leaves or changes team."""
    moved = queues.bulk_transfer(
        uow.session,
        actor,
        body.from_user,
        body.to_users,
        body.reason,
        new_team_id=body.new_team_id,
        deactivate=body.deactivate,
    )
    uow.commit()
    return moved


@router.post(
    "/cases/{case_id}/reveal",
    response_model=RevealOut,
    responses={429: {"description": "too many reveals for now: wait Retry-After seconds"}},
)
def post_reveal(
    case_id: RowId,
    body: RevealIn,
    request: Request,
    actor: Actor = Depends(require_user),
    uow: UnitOfWork = Depends(get_uow),
) -> RevealOut:
    """The full value of a masked field, for a reason (a code; ``other`` needs words
    too), written with it to the audit chain; 429 past the user's allowance."""
    settings = settings_of(request)
    value = reveal.reveal(
        uow.session,
        actor,
        case_id,
        body.field,
        contact_point_id=body.contact_point_id,
        reason=reveal.RevealReason(body.reason_code, body.reason_text),
        limits=settings.reveals,
        now=settings.now(),
    )
    uow.commit()
    return RevealOut(field=body.field, value=value)


@router.get("/cases/{case_id}/notes", response_model=list[NoteOut])
def get_notes(
    case_id: RowId, actor: Actor = Depends(require_user), uow: UnitOfWork = Depends(get_uow)
) -> list[NoteOut]:
    """The case's notes."""
    return hide_staff_in(
        uow.session,
        actor,
        [NoteOut.model_validate(n) for n in notes.notes_of(uow.session, actor, case_id)],
    )


@router.post("/cases/{case_id}/notes", response_model=NoteOut, status_code=201)
def post_note(
    case_id: RowId,
    body: NoteIn,
    actor: Actor = Depends(require_user),
    uow: UnitOfWork = Depends(get_uow),
) -> NoteOut:
    """Add a note."""
    note = notes.add_note(uow.session, actor, case_id, body.body)
    uow.commit()
    return NoteOut.model_validate(note)


@router.get("/cases/{case_id}/documents", response_model=list[DocumentOut])
def get_documents(
    case_id: RowId, actor: Actor = Depends(require_user), uow: UnitOfWork = Depends(get_uow)
) -> list[DocumentOut]:
    """The case's documents (metadata)."""
    return hide_staff_in(
        uow.session,
        actor,
        [DocumentOut(**d) for d in notes.documents_of(uow.session, actor, case_id)],
    )


@router.post("/cases/{case_id}/documents", response_model=DocumentOut, status_code=201)
async def post_document(
    case_id: RowId,
    file: UploadFile = File(...),
    legal_action_id: Annotated[int | None, Form(ge=1, le=2_147_483_647)] = None,
    actor: Actor = Depends(require_user),
    uow: UnitOfWork = Depends(get_uow),
) -> DocumentOut:
    """Upload a document (multipart field ``file``; CSRF token in the header or the
    ``csrf_token`` field)."""
    content = await file.read(notes.MAX_DOCUMENT + 1)
    if len(content) > notes.MAX_DOCUMENT:
        raise Invalid("file: larger than 10 MiB", "file_size", high=10)

    def store() -> CaseDocument:
        row = notes.add_document(
            uow.session,
            actor,
            case_id,
            file.filename or "document",
            file.content_type or "application/octet-stream",
            content,
            legal_action_id=legal_action_id,
        )
        uow.commit()
        return row

    # database work off the event loop
    row = await run_in_threadpool(store)
    return DocumentOut(
        id=row.id,
        file_name=row.file_name,
        content_type=row.content_type,
        size=row.size,
        sha256=row.sha256,
        legal_action_id=row.legal_action_id,
        uploaded_by=row.uploaded_by,
        uploaded_at=row.uploaded_at,
    )


@router.get("/documents/{document_id}", response_class=Response)
def get_document(
    document_id: RowId, actor: Actor = Depends(require_user), uow: UnitOfWork = Depends(get_uow)
) -> Response:
    """Download a document: always as an attachment, as the type its content was
    checked to be (anything else stored before that check as octet-stream), never
    sniffed, and sandboxed should a browser render it all the same."""
    row = notes.document(uow.session, actor, document_id)
    media_type = row.content_type if row.content_type in notes.ALLOWED_TYPES else OCTETS
    return Response(
        row.content,
        media_type=media_type,
        headers={
            "Content-Disposition": attachment(row.file_name),
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox; default-src 'none'",
        },
    )


OCTETS = "application/octet-stream"


def attachment(file_name: str) -> str:
    """A Content-Disposition that saves the file as ``file_name``: an ASCII fallback
    and the UTF-8 name (RFC 6266), no quote or control character from the name."""
    plain = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\' else "_" for ch in file_name)
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(file_name, safe='')}"
