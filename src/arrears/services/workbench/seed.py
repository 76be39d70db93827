"""First-run content of the workbench: the disposition codes collectors pick from, and
an admin user when the store has no administrator."""

from __future__ import annotations

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from arrears.services.workbench.users import create_user, new_password
from arrears.store.unit_of_work import UnitOfWork
from arrears.store.workbench_models import DispositionCode, User

CONV = "connected_conversation"

# code, English, 中文, channel outcome, party, right-party contact, needs a promise
DISPOSITIONS: tuple[tuple[str, str, str, str, str, bool, bool], ...] = (
    ("PTP", "Promise to pay", "承诺还款", CONV, "debtor", True, True),
    ("RPC", "Right-party contact", "本人接通", CONV, "debtor", True, False),
    ("PAID", "Says already paid", "声称已还款", CONV, "debtor", True, False),
    ("CALLBACK", "Call back later", "约定回拨", CONV, "debtor", True, False),
    ("REFUSE", "Refuses to pay", "拒绝还款", CONV, "debtor", True, False),
    ("DISPUTE", "Disputes the debt", "对欠款有异议", CONV, "debtor", True, False),
    ("HARDSHIP", "Hardship claimed", "经济困难", CONV, "debtor", True, False),
    ("TPC", "Third party reached", "第三方接听", CONV, "third_party", False, False),
    ("WN", "Wrong number", "号码错误", "failed", "unknown", False, False),
    ("NA", "No answer", "无人接听", "no_answer", "unknown", False, False),
    ("BUSY", "Busy", "占线", "busy", "unknown", False, False),
    ("VM", "Voicemail", "语音信箱", "voicemail", "unknown", False, False),
    ("OFF", "Phone switched off", "关机", "failed", "unknown", False, False),
    ("DECEASED", "Reported deceased", "告知本人身故", CONV, "third_party", False, False),
)


def seed_dispositions(session: Session) -> int:
    """Insert the standard disposition codes that are missing; returns how many."""
    have = set(session.scalars(select(DispositionCode.code)))
    added = 0
    for sort, (code, en, zh, outcome, party, rpc, ptp) in enumerate(DISPOSITIONS):
        if code in have:
            continue
        session.add(
            DispositionCode(
                code=code,
                label_en=en,
                label_zh=zh,
                outcome=outcome,
                party=party,
                right_party=rpc,
                needs_promise=ptp,
                active=True,
                sort=sort,
            )
        )
        added += 1
    session.flush()
    return added


def seed_workbench(engine: Engine) -> str | None:
    """Make the store ready to log in to: the disposition codes, and an ``admin`` user
    when the store has no administrator and no user of that name (the demo staffs
    collectors but nobody who could sign in as admin). Returns the admin's generated
    password (to print once) or None when an administrator existed. An admin that was
    deactivated is not re-created: that would undo the deactivation."""
    with UnitOfWork(engine) as uow:
        seed_dispositions(uow.session)
        password = None
        admins = select(func.count()).where((User.role == "admin") | (User.username == "admin"))
        if not uow.session.scalar(admins):
            password = new_password("admin")
            create_user(
                uow.session,
                "admin",
                password,
                "admin",
                display_name="Administrator",
                language="zh_CN",
                actor="system",
            )
        uow.commit()
    return password
