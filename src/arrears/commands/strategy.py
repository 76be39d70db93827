"""Strategy commands: validate, show, init, preview (dry run), readout of champion/challenger.

The commands load the day's inputs from the store (``arrears.services.strategy_inputs``:
customers, open cases, promises, next due dates, step history, scores files) and hand
Ibis tables to ``arrears.strategy``; they write nothing except ``init``'s copy of the default file.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from arrears.commands.common import (
    AsOfOpt,
    LangOpt,
    WorkspaceOpt,
    console,
    err,
    open_workspace,
    parse_date,
    translator,
)

if TYPE_CHECKING:
    import pyarrow as pa

    from arrears.strategy import Strategy
    from arrears.workspace import Workspace

FileOpt = Annotated[
    Path | None,
    typer.Option("--file", "-f", help="Strategy file (default: the workspace's, else built in)."),
]

LABELS = {
    "valid": (
        "{source}: strategy {name} v{version} is valid",
        "{source}：策略 {name} v{version} 校验通过",
    ),
    "fingerprint": ("fingerprint {fp}", "指纹 {fp}"),
    "warning": ("warning: {w}", "警告：{w}"),
    "segment": ("Segment", "分段"),
    "when": ("Conditions", "条件"),
    "ladder": ("Ladder", "催收阶梯"),
    "arm": ("Arm", "实验组"),
    "share": ("Share", "流量占比"),
    "step": ("Step", "步骤"),
    "offset": ("Offset", "偏移天数"),
    "channel": ("Channel", "渠道"),
    "template": ("Template", "模板"),
    "priority": ("Priority", "优先级"),
    "hour": ("Hour", "发送时点"),
    "loans": ("Loans", "笔数"),
    "actions": ("Actions", "动作数"),
    "catch_all": ("(all others)", "（其余全部）"),
    "holdout": ("holdout: no treatment", "对照组：不施加催收动作"),
    "assigned_title": (
        "Strategy {name} v{version}: loans by segment and arm on {as_of}",
        "策略 {name} v{version}：{as_of} 各分段与实验组的贷款",
    ),
    "actions_title": (
        "What {day} would send (dry run, nothing written)",
        "{day} 将发送的动作（演练，未写入任何数据）",
    ),
    "channel_title": ("Actions by channel", "按渠道汇总"),
    "total": ("Total", "合计"),
    "no_actions": ("No actions for {day}", "{day} 无催收动作"),
    "initialised": ("Wrote {path}", "已写入 {path}"),
    "exists": ("{path} exists; use --force to overwrite it", "{path} 已存在；用 --force 覆盖"),
    "readout_title": (
        "Readout of {name}, cases assigned {start} – {end}",
        "{name} 实验结果，{start} 至 {end} 分配的案件",
    ),
    "cases": ("Cases", "案件数"),
    "cure_rate": ("Cure rate (95% CI)", "回正率 (95% 置信区间)"),
    "recovered": ("Recovered", "回收金额"),
    "mean": ("Mean per case (95% CI)", "案均回收 (95% 置信区间)"),
    "diff_title": ("Challenger − champion ({champion})", "挑战者 − 冠军（{champion}）"),
    "cure_diff": ("Cure rate diff (95% CI)", "回正率差 (95% 置信区间)"),
    "mean_diff": ("Mean recovered diff (95% CI)", "案均回收差 (95% 置信区间)"),
    "no_assignments": (
        "No strategy assignments of {name} between {start} and {end}",
        "{start} 至 {end} 没有策略 {name} 的分配记录",
    ),
    "missing_snapshot": ("No snapshot for {day}", "没有 {day} 的快照"),
    "rule": ("Rule", "规则"),
    "blocked_title": (
        "What the compliance pack {pack} would block",
        "合规规则包 {pack} 将拦截的动作",
    ),
    "blocked_total": ("Blocked contacts", "被拦截的联系"),
}


def assignments_between(ws: Workspace, strategy: str, first: date, last: date) -> pa.Table:
    """The ``strategy_assignments`` rows of ``strategy`` dated ``first`` .. ``last``."""
    import pyarrow as pa
    from sqlalchemy import select

    from arrears.store.models import TABLES

    sa = TABLES["strategy_assignments"]
    with ws.engine.connect() as conn:
        rows = conn.execute(
            select(sa.c.as_of, sa.c.case_id, sa.c.loan_id, sa.c.strategy, sa.c.arm)
            .where(sa.c.strategy == strategy, sa.c.as_of >= first, sa.c.as_of <= last)
        ).all()  # fmt: skip
    return pa.table(
        {
            "as_of": pa.array([r.as_of for r in rows], pa.date32()),
            "case_id": pa.array([r.case_id for r in rows], pa.int64()),
            "loan_id": pa.array([r.loan_id for r in rows], pa.string()),
            "strategy": pa.array([r.strategy for r in rows], pa.string()),
            "arm": pa.array([r.arm for r in rows], pa.string()),
        }
    )


def blocked_by_rule(ws: Workspace, day: date, actions: pa.Table, pack: str) -> dict[str, int]:
    """How many of the proposed contacts the compliance gate (``pack``) would block,
    per rule id ("*": blocked in all): the very gate the day's treatments use
    (``services.treatments.gate_actions``: holds, blacklist, recent contacts, a missing
    contact point, each contact at its send time in send order). Nothing is written."""
    from arrears.compliance import load_pack
    from arrears.services.treatments import gate_actions
    from arrears.store.unit_of_work import UnitOfWork

    rule_pack = load_pack(pack)
    counts: dict[str, int] = {}
    with UnitOfWork(ws.engine) as uow:
        for gated in gate_actions(uow.session, actions.to_pylist(), day, rule_pack):
            for rule in gated.verdict.rules:
                counts[rule] = counts.get(rule, 0) + 1
            if not gated.verdict.allowed:
                counts["*"] = counts.get("*", 0) + 1
    return counts


def _label(lang: str | None):
    index = 0 if translator(lang).lang == "en" else 1

    def label(key: str, **values: object) -> str:
        return LABELS[key][index].format(**values)

    return label


def _load(file: Path | None, ws: Workspace) -> Strategy:
    from arrears.strategy import StrategyError, load_strategy

    try:
        return load_strategy(file, ws.root)
    except StrategyError as exc:
        err.print(str(exc), markup=False, soft_wrap=True)
        raise typer.Exit(1) from None
    except OSError as exc:
        err.print(f"{file}: {exc.strerror}", markup=False)
        raise typer.Exit(1) from None


def validate(file: Annotated[Path | None, typer.Argument()] = None, workspace: WorkspaceOpt = None,
             lang: LangOpt = None) -> None:  # fmt: skip
    """Check a strategy file: every problem is printed with its path and reason."""
    label = _label(lang)
    strategy = _load(file, open_workspace(workspace))
    console.print(
        label("valid", source=strategy.source, name=strategy.name, version=strategy.version),
        markup=False,
    )
    console.print(label("fingerprint", fp=strategy.fingerprint), markup=False)
    for warning in strategy.warnings:
        console.print(label("warning", w=warning), markup=False, style="yellow")


def _when(conditions: tuple, label) -> str:
    if not conditions:
        return label("catch_all")
    parts = []
    for c in conditions:
        if c.is_null is not None:
            parts.append(f"{c.column} {'is' if c.is_null else 'is not'} null")
        elif c.values is not None:
            parts.append(f"{c.column} ∈ {{{', '.join(map(str, c.values))}}}")
        else:
            low = "" if c.low is None else f"{c.low} ≤ "
            high = "" if c.high is None else f" ≤ {c.high}"
            parts.append(f"{low}{c.column}{high}")
    return "; ".join(parts)


def show(file: FileOpt = None, workspace: WorkspaceOpt = None, lang: LangOpt = None) -> None:
    """Print the strategy's segments, arms and ladders."""
    label = _label(lang)
    s = _load(file, open_workspace(workspace))
    console.print(f"{s.name} v{s.version} ({s.source})", markup=False)
    seg = Table(label("segment"), label("when"), label("ladder"))
    for segment in s.segments:
        seg.add_row(segment.name, _when(segment.when, label), segment.ladder)
    console.print(seg)
    arms = Table(label("arm"), label("share"), label("ladder"))
    for arm in s.arms:
        note = (
            label("holdout")
            if arm.holdout
            else ", ".join(f"{a} → {b}" for a, b in arm.ladders.items())
        )
        arms.add_row(arm.name, str(arm.share), note)
    console.print(arms)
    for ladder in s.ladders.values():
        steps = Table(label("step"), label("offset"), label("channel"), label("template"),
                      label("priority"), label("hour"), title=ladder.name)  # fmt: skip
        for st in ladder.steps:
            template = st.template + (f" / {st.script}" if st.script else "")
            steps.add_row(st.name, f"{st.offset:+d}", st.channel, template, str(st.priority),
                          f"{st.send_hour:02d}:00")  # fmt: skip
        console.print(steps)


def init(workspace: WorkspaceOpt = None, force: bool = False, lang: LangOpt = None) -> None:
    """Copy the built-in strategy into the workspace as strategies.toml."""
    import shutil

    from arrears.strategy import WORKSPACE_FILE, default_strategy_path

    label = _label(lang)
    target = open_workspace(workspace).root / WORKSPACE_FILE
    if target.exists() and not force:
        err.print(label("exists", path=target), markup=False)
        raise typer.Exit(1)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(default_strategy_path(), target)
    console.print(label("initialised", path=target), markup=False)


PackOpt = Annotated[
    str | None,
    typer.Option("--pack", help="Also count what this compliance pack would block (cn, us-regf)."),
]


def preview(as_of: AsOfOpt = None, file: FileOpt = None, workspace: WorkspaceOpt = None,
            pack: PackOpt = None, lang: LangOpt = None) -> None:  # fmt: skip
    """Dry run: what the day after --as-of would send, by segment, step and channel."""
    from datetime import timedelta

    import ibis

    from arrears.services.strategy_inputs import day_inputs, step_history, strategy_snapshot
    from arrears.strategy import preview_tables

    label = _label(lang)
    day = parse_date(as_of)
    ws = open_workspace(workspace)
    strategy = _load(file, ws)
    path = ws.snapshot_path(day)
    if not path.exists():
        err.print(label("missing_snapshot", day=day), markup=False)
        raise typer.Exit(1)
    con = ibis.duckdb.connect()
    snapshot = strategy_snapshot(con, ws, day)  # with the loans in recovery
    inputs = con.create_table("strategy_inputs", day_inputs(ws, day))
    history = con.create_table("strategy_history", step_history(ws, day))
    result, actions = preview_tables(snapshot, inputs, strategy, day, history)
    title = label("assigned_title", name=strategy.name, version=strategy.version, as_of=day)
    seg = Table(label("segment"), label("arm"), label("loans"), title=title)
    for row in result.assigned:
        seg.add_row(row.segment, row.arm, f"{row.loans:,}")
    console.print(seg)
    send_day = day + timedelta(days=1)
    if not result.actions:
        console.print(label("no_actions", day=send_day), markup=False)
        return
    acts = Table(label("segment"), label("arm"), label("step"), label("channel"),
                 label("actions"), title=label("actions_title", day=send_day))  # fmt: skip
    for row in result.actions:
        acts.add_row(row.segment, row.arm, str(row.step), str(row.channel), f"{row.loans:,}")
    console.print(acts)
    chan = Table(label("channel"), label("actions"), title=label("channel_title"))
    for name, count in result.by_channel().items():
        chan.add_row(name, f"{count:,}")
    chan.add_row(label("total"), f"{result.total_actions:,}")
    console.print(chan)
    if pack:
        from arrears.compliance import ComplianceError

        try:
            counts = blocked_by_rule(ws, day, actions, pack)
        except ComplianceError as exc:
            err.print(str(exc), markup=False, soft_wrap=True)
            raise typer.Exit(1) from None
        blocked = Table(label("rule"), label("actions"), title=label("blocked_title", pack=pack))
        for rule, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
            if rule != "*":
                blocked.add_row(rule, f"{n:,}")
        blocked.add_row(label("blocked_total"), f"{counts.get('*', 0):,}")
        console.print(blocked)


def _ci(pair: tuple[Any, Any], fmt) -> str:
    return f"[{fmt(pair[0])}, {fmt(pair[1])}]"


def readout(
    start: Annotated[str, typer.Option("--from", help="First assignment day YYYY-MM-DD.")],
    end: Annotated[str, typer.Option("--to", help="Outcome day YYYY-MM-DD (a closed day).")],
    file: FileOpt = None,
    workspace: WorkspaceOpt = None,
    lang: LangOpt = None,
) -> None:
    """Compare the arms on cure rate and amount recovered, with 95% intervals."""
    import ibis

    from arrears.snapshots import scan_snapshots
    from arrears.strategy.readout import readout as compute

    label = _label(lang)
    first, last = parse_date(start, "--from"), parse_date(end, "--to")
    ws = open_workspace(workspace)
    strategy = _load(file, ws)
    days = [d for d in ws.snapshot_dates() if first <= d <= last]
    if last not in days:
        err.print(label("missing_snapshot", day=last), markup=False)
        raise typer.Exit(1)
    assigned = assignments_between(ws, strategy.name, first, last)
    if assigned.num_rows == 0:
        err.print(label("no_assignments", name=strategy.name, start=first, end=last), markup=False)
        raise typer.Exit(1)
    con = ibis.duckdb.connect()
    snapshots = scan_snapshots(con, ws.snapshots_dir, days)
    result = compute(con.create_table("assignments", assigned), snapshots, strategy.name,
                     first, last, strategy.champion)  # fmt: skip
    pct = lambda v: f"{v * 100:.2f}%"  # noqa: E731
    money = lambda v: f"{v:,.2f}"  # noqa: E731
    title = label("readout_title", name=strategy.name, start=first, end=last)
    arms = Table(label("arm"), label("cases"), label("cure_rate"), label("recovered"),
                 label("mean"), title=title)  # fmt: skip
    for a in result.arms:
        arms.add_row(a.arm, f"{a.cases:,}", f"{pct(a.cure_rate)} {_ci(a.cure_ci, pct)}",
                     money(a.recovered_total),
                     f"{money(a.recovered_mean)} {_ci(a.recovered_ci, money)}")  # fmt: skip
    console.print(arms)
    if result.comparisons:
        diff = Table(label("arm"), label("cure_diff"), label("mean_diff"),
                     title=label("diff_title", champion=result.champion))  # fmt: skip
        for c in result.comparisons:
            cure = f"{pct(c.cure_diff)} {_ci(c.cure_diff_ci, pct)}"
            mean = f"{money(c.recovered_diff)} {_ci(c.recovered_diff_ci, money)}"
            diff.add_row(c.arm, cure, mean)
        console.print(diff)


def register(app: typer.Typer) -> None:
    """Add the ``strategy`` command group to the main app."""
    group = typer.Typer(help="Collection strategies: validate, show, init, preview, readout.")
    group.command("validate")(validate)
    group.command("show")(show)
    group.command("init")(init)
    group.command("preview")(preview)
    group.command("readout")(readout)
    app.add_typer(group, name="strategy")
