"""`arrears simulate`: run the workspace's book forward under a champion strategy and
challengers (a copy: nothing is written to the workspace). See docs/optimize.md."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer

from arrears.commands.common import WorkspaceOpt, console, err, open_workspace


def simulate_cmd(
    days: Annotated[int, typer.Option("--days", min=1, max=3650, help="Days to run forward.")],
    strategy_file: Annotated[
        Path | None,
        typer.Option("--strategy", help="The champion's strategy file (default: the workspace's)."),
    ] = None,
    challenger: Annotated[
        list[Path] | None,
        typer.Option("--challenger", help="A challenger's strategy file (repeat for more)."),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="The first seed.")] = 0,
    seeds: Annotated[
        int, typer.Option("--seeds", min=1, max=100, help="Runs (seeds seed..seed+N-1).")
    ] = 3,
    costs_file: Annotated[
        Path | None, typer.Option("--costs", help="COSTS.toml (default: the documented costs).")
    ] = None,
    calls_per_collector: Annotated[
        int, typer.Option("--calls-per-collector", min=0, help="Daily calls per collector.")
    ] = 80,
    pack: Annotated[
        str | None, typer.Option("--pack", help="Compliance pack (default: the workspace's).")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write the readout (JSON).")] = None,
    policy_dir: Annotated[
        Path | None,
        typer.Option("--policy", help="POLICY_DIR (optimize learn): an arm beside the champion."),
    ] = None,
    policy_budget: Annotated[
        str | None,
        typer.Option(
            "--policy-budget",
            help="The policy arm's budget a day (default: none; --costs' capacities a day).",
        ),
    ] = None,
    log: Annotated[
        Path | None,
        typer.Option(
            "--log",
            help="Write a simulated LOG.parquet: the decisions of a randomised logging arm.",
        ),
    ] = None,
    explore: Annotated[
        float,
        typer.Option(
            "--explore",
            min=0.01,
            max=1.0,
            help="The logging arm's share of decisions drawn at random (with --log).",
        ),
    ] = 0.5,
    accounts_out: Annotated[
        Path | None,
        typer.Option(
            "--accounts",
            help="With --log: write the start day's open cases as ACCOUNTS.parquet (the "
            "log's features), for optimize assign.",
        ),
    ] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Each day the strategies propose, the compliance gate decides, debtors respond from
    a response model fitted on the workspace's history (its quality is printed), payments
    settle and the batch close ages the book. Prints per arm: collected, cost, roll
    rates, cures, contacts per debtor, blocked by compliance, with 95% intervals over
    seeds, and each challenger's uplift over the champion. --policy adds an optimizer
    policy as an arm; --log writes a simulated log (see docs/optimize.md)."""
    from arrears.batch.handover import HandoverError
    from arrears.compliance.model import ComplianceError
    from arrears.files import replacing
    from arrears.optimize.learn import Policy
    from arrears.optimize.response import fit_from_workspace
    from arrears.optimize.schema import OptimizeInputError, parse_budget, parse_costs, read_costs
    from arrears.optimize.simulate_log import COSTS_TOML
    from arrears.optimize.twin import Arm, cleanup, prepare, readout, run_seed
    from arrears.optimize.twin_decide import log_summary
    from arrears.optimize.workspace_log import HORIZON_DAYS
    from arrears.strategy import load_strategy
    from arrears.strategy.loader import StrategyError

    if log is not None and days <= HORIZON_DAYS:
        raise typer.BadParameter(
            f"--log needs --days of more than {HORIZON_DAYS}: a row's paid_14d is the "
            f"{HORIZON_DAYS} days after it, so only days followed by {HORIZON_DAYS} "
            "simulated days are logged",
            param_hint="'--log'",
        )
    if accounts_out is not None and log is None:
        raise typer.BadParameter("--accounts needs --log", param_hint="'--accounts'")
    if policy_budget is not None and policy_dir is None:
        raise typer.BadParameter("--policy-budget needs --policy", param_hint="'--policy-budget'")
    budget = None
    if policy_budget is not None:
        try:
            budget = parse_budget(policy_budget)
        except OptimizeInputError as exc:
            raise typer.BadParameter(str(exc), param_hint="'--policy-budget'") from None
    ws = open_workspace(workspace)
    try:
        champion = load_strategy(strategy_file, ws.root)
    except StrategyError as exc:
        err.print(str(exc), style="red", markup=False, soft_wrap=True)
        raise typer.Exit(1) from None
    files: list[Path | str] = [
        strategy_file or f"(the workspace's strategy {champion.name})",
        *(challenger or []),
    ]
    log_arm = None
    try:
        costs = (
            read_costs(costs_file)
            if costs_file is not None
            else parse_costs(COSTS_TOML, Path("<default costs>"))
        )
        arms: list[Arm] = []
        names: set[str] = set()

        def named(stem: str) -> str:
            name = stem if stem not in names else f"{stem}-{len(arms)}"
            names.add(name)
            return name

        for i, path in enumerate(files):
            strategy = champion if i == 0 else load_strategy(path)
            stem = Path(path).stem if i or strategy_file is not None else champion.name
            arms.append(Arm(named(stem), strategy))
        if policy_dir is not None:
            arms.append(
                Arm(
                    named(f"policy:{policy_dir.name}"),
                    champion,
                    policy=Policy.load(policy_dir),
                    policy_costs=costs,
                    policy_budget=budget,
                )
            )
            files.append(policy_dir)
        if log is not None:
            log_arm = Arm(named(f"{arms[0].name}+explore"), champion, explore=explore, log=True)
            arms.append(log_arm)
            files.append(f"(the champion, {explore:g} of open cases' actions at random)")
        err.print("fitting the response model on the workspace's history …", markup=False)
        model = fit_from_workspace(ws)
        err.print("handing the book over into a temporary copy …", markup=False)
        twin = prepare(ws, model, pack)
    except (OptimizeInputError, StrategyError, HandoverError, ComplianceError, ValueError) as exc:
        err.print(str(exc), style="red", markup=False, soft_wrap=True)
        raise typer.Exit(1) from None
    try:
        results = []
        for s in range(seed, seed + seeds):
            result = run_seed(
                twin, arms, days, s, dict(costs.cost), calls_per_collector=calls_per_collector
            )
            err.print(
                f"seed {s}: {days} days in {result.seconds:.1f} s "
                f"({result.cpu_seconds:.1f} s of CPU)",
                markup=False,
            )
            results.append(result)
    finally:
        cleanup(twin)
    log_report = None
    if log_arm is not None and log is not None:
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        from arrears.optimize.schema import ACCOUNT_COLUMNS

        table = pa.concat_tables([r.logs[log_arm.name] for r in results])
        with replacing(log) as partial:
            pq.write_table(table, partial)
        log_report = {"file": str(log), "arm": log_arm.name, **log_summary(table, explore, days)}
        if accounts_out is not None:
            first = results[0].logs[log_arm.name]
            start = first.filter(pc.equal(first.column("day"), pa.scalar(twin.start)))
            with replacing(accounts_out) as partial:
                pq.write_table(start.select(list(ACCOUNT_COLUMNS)), partial)
            log_report["accounts"] = {"file": str(accounts_out), "rows": start.num_rows}
        err.print(
            f"simulated log: {table.num_rows} rows written to {log} (a simulated log, "
            "not the workspace's history)",
            markup=False,
        )
    report = {
        "start": twin.start.isoformat(),
        "days": days,
        "arms_files": {a.name: str(f) for a, f in zip(arms, files, strict=True)},
        "seconds_per_seed": [round(r.seconds, 1) for r in results],
        "cpu_seconds_per_seed": [round(r.cpu_seconds, 1) for r in results],
        "response_model": model.describe(),
        **readout(results, arms),
        "costs": {a: str(c) for a, c in costs.cost.items() if c != Decimal(0)},
    }
    if policy_dir is not None:
        report["policy"] = {
            "dir": str(policy_dir),
            "budget_per_day": None if budget is None else str(budget),
            "capacity_per_day": {
                a: c for a, c in costs.capacity.items() if c is not None and a != "none"
            },
        }
    if log_report is not None:
        report["log"] = log_report
    text = json.dumps(report)
    if out is not None:
        with replacing(out) as partial:
            partial.write_text(text, encoding="utf-8")
    console.print_json(text)


def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate_cmd)
