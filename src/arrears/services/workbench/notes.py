"""Notes and documents on a case. Documents (lawyer letters, court papers, receipts)
are stored in the database with their sha256; at most ``MAX_DOCUMENT`` bytes each."""

from __future__ import annotations

import hashlib
import unicodedata

from sqlalchemy import select
from sqlalchemy.orm import Session

from arrears.services import audit
from arrears.services.workbench.access import (
    Actor,
    case_of_object,
    visible_case,
    workable_case,
)
from arrears.services.workbench.document_types import ACCEPTED, document_type
from arrears.services.workbench.errors import Invalid, NotFound
from arrears.store.workbench_models import CaseDocument, CaseNote, LegalAction

MAX_NOTE = 4000
MAX_DOCUMENT = 10 * 1024 * 1024
# what a case accepts (PDF, PNG, JPEG, TIFF, GIF, plain text), checked by content
ALLOWED_TYPES = ACCEPTED


def add_note(session: Session, actor: Actor, case_id: int, body: str) -> CaseNote:
    """A note on the case by the actor."""
    audit.begin_write(session)
    workable_case(session, actor, case_id)
    text = body.strip()
    if not text or len(text) > MAX_NOTE:
        raise Invalid(
            f"body: 1 to {MAX_NOTE} characters", "length", field="body", low=1, high=MAX_NOTE
        )
    note = CaseNote(case_id=case_id, body=text, author=actor.username)
    session.add(note)
    session.flush()
    audit.append(session, actor.username, "note.add", "case", case_id, {"note_id": note.id})
    return note


def notes_of(session: Session, actor: Actor, case_id: int) -> list[CaseNote]:
    """The case's notes, newest first."""
    visible_case(session, actor, case_id)
    return list(
        session.scalars(
            select(CaseNote)
            .where(CaseNote.case_id == case_id)
            .order_by(CaseNote.created_at.desc(), CaseNote.id.desc())
        )
    )


def add_document(
    session: Session,
    actor: Actor,
    case_id: int,
    file_name: str,
    content_type: str,
    content: bytes,
    *,
    legal_action_id: int | None = None,
) -> CaseDocument:
    """Attach a document to the case (and optionally one of its legal stages). Its
    content must be an accepted kind by its first bytes, and agree with the declared
    type and the name's extension (``document_types``); that kind is stored."""
    audit.begin_write(session)
    workable_case(session, actor, case_id)
    # no folders, and no control or format characters (a right-to-left override makes
    # "x\u202efdp.exe" read as "xexe.pdf" on the case page)
    name = "".join(
        "_" if ch in "/\\" or unicodedata.category(ch) in ("Cc", "Cf") else ch
        for ch in file_name.strip()
    )
    if not name or len(name) > 200:
        raise Invalid(
            "file_name: 1 to 200 characters", "length", field="file_name", low=1, high=200
        )
    if not content or len(content) > MAX_DOCUMENT:
        raise Invalid(
            f"content: 1 byte to {MAX_DOCUMENT // (1024 * 1024)} MiB",
            "file_size",
            high=MAX_DOCUMENT // (1024 * 1024),
        )
    # the type stored (and served) is what the bytes are, never what the client said
    content_type = document_type(name, content_type, content)
    if legal_action_id is not None:
        action = session.get(LegalAction, legal_action_id)
        if action is None or action.case_id != case_id:
            raise Invalid(
                f"legal_action_id: no legal stage {legal_action_id} on this case", "not_found"
            )
    document = CaseDocument(
        case_id=case_id,
        legal_action_id=legal_action_id,
        file_name=name,
        content_type=content_type,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        content=content,
        uploaded_by=actor.username,
    )
    session.add(document)
    session.flush()
    audit.append(
        session,
        actor.username,
        "document.add",
        "case",
        case_id,
        {"document_id": document.id, "sha256": document.sha256, "file_name": name},
    )
    return document


def documents_of(session: Session, actor: Actor, case_id: int) -> list[dict[str, object]]:
    """The case's documents (without their content), newest first."""
    visible_case(session, actor, case_id)
    rows = session.execute(
        select(
            CaseDocument.id,
            CaseDocument.file_name,
            CaseDocument.content_type,
            CaseDocument.size,
            CaseDocument.sha256,
            CaseDocument.legal_action_id,
            CaseDocument.uploaded_by,
            CaseDocument.uploaded_at,
        )
        .where(CaseDocument.case_id == case_id)
        .order_by(CaseDocument.id.desc())
    ).mappings()
    return [dict(r) for r in rows]


def document(session: Session, actor: Actor, document_id: int) -> CaseDocument:
    """One document with its content, if the actor may see its case."""
    row = session.get(CaseDocument, document_id)
    if row is None:
        raise NotFound(f"no document {document_id}", "not_found")
    case_of_object(session, actor, row.case_id, f"document {document_id}")
    return row
