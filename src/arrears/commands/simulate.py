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
    strategy_file: Annotated[
        Path, typer.Option("--strategy", help="The champion's strategy file (TOML).")
    ],
    days: Annotated[int, typer.Option("--days", min=1, max=3650, help="Days to run forward.")],
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
    workspace: WorkspaceOpt = None,
) -> None:
    """Each day the strategies propose, the compliance gate decides, debtors respond from
    a response model fitted on the workspace's history (its quality is printed), payments
    settle and the batch close ages the book. Prints per arm: collected, cost, roll
    rates, cures, contacts per debtor, blocked by compliance, with 95% intervals over
    seeds, and each challenger's uplift over the champion."""
    from arrears.batch.handover import HandoverError
    from arrears.compliance.model import ComplianceError
    from arrears.files import replacing
    from arrears.optimize.response import fit_from_workspace
    from arrears.optimize.schema import OptimizeInputError, parse_costs, read_costs
    from arrears.optimize.simulate_log import COSTS_TOML
    from arrears.optimize.twin import Arm, cleanup, prepare, readout, run_seed
    from arrears.strategy import load_strategy
    from arrears.strategy.loader import StrategyError

    ws = open_workspace(workspace)
    files = [strategy_file, *(challenger or [])]
    try:
        costs = (
            read_costs(costs_file)
            if costs_file is not None
            else parse_costs(COSTS_TOML, Path("<default costs>"))
        )
        arms, names = [], set()
        for i, path in enumerate(files):
            name = path.stem if path.stem not in names else f"{path.stem}-{i}"
            names.add(name)
            arms.append(Arm(name, load_strategy(path)))
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
    text = json.dumps(report)
    if out is not None:
        with replacing(out) as partial:
            partial.write_text(text, encoding="utf-8")
    console.print_json(text)


def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate_cmd)
