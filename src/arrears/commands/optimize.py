"""`arrears optimize learn | assign | evaluate`: learn each action's uplift from a log of
randomised contacts, assign actions under budget and capacity, estimate a policy's value
off-policy. The command contract (files, options, columns) is stable: issue 28 and
docs/optimize.md.

A file that cannot be used is reported on standard error naming the file, the column
(or key) and the reason, exit 1; a bad option value is a usage error (exit 2).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer

from arrears.commands.common import WorkspaceOpt, console, err, open_workspace

optimize_app = typer.Typer(
    help="Learn what each action is worth from a log, assign actions under budget and "
    "capacity, estimate a policy's value off-policy.",
    no_args_is_help=True,
)


def _fail(message: str) -> typer.Exit:
    err.print(message, style="red", markup=False, soft_wrap=True)
    return typer.Exit(1)


@contextmanager
def _input_errors() -> Iterator[None]:
    from arrears.optimize.schema import OptimizeInputError

    try:
        yield
    except OptimizeInputError as exc:
        raise _fail(str(exc)) from None


def _budget(text: str | None) -> Decimal | None:
    from arrears.optimize.schema import OptimizeInputError, parse_budget

    if text is None:
        return None
    try:
        return parse_budget(text)
    except OptimizeInputError as exc:
        raise typer.BadParameter(str(exc), param_hint="'--budget'") from None


def _print_json(data: dict[str, Any]) -> None:
    console.print_json(json.dumps(data))


@optimize_app.command("learn")
def learn_cmd(
    log: Annotated[Path, typer.Option("--log", help="LOG.parquet: logged actions and outcomes.")],
    out: Annotated[Path, typer.Option("--out", help="POLICY_DIR to write the models into.")],
    seed: Annotated[int, typer.Option("--seed", help="Folds and models' seed.")] = 0,
) -> None:
    """Learn each action's uplift over `none` (cross-fitted T- and DR-learners), print
    their cross-validated quality and write it to POLICY_DIR/quality.json."""
    from arrears.optimize.learn import learn
    from arrears.optimize.schema import read_log

    with _input_errors():
        policy = learn(read_log(log), seed=seed)
    out.mkdir(parents=True, exist_ok=True)
    policy.save(out)
    _print_json(policy.quality)
    err.print(f"policy written to {out} (quality in {out / 'quality.json'})", markup=False)


def _chosen(policy: Any, accounts: Any, costs: Any, budget: Decimal | None) -> tuple[Any, Any, Any]:
    """The policy's action per account: the assignment under ``budget`` (with its
    summary), or, without a budget, each account's best available action net of cost."""
    import numpy as np

    from arrears.optimize.assign import assign

    uplift = policy.uplift_money(accounts)
    available = accounts.available()
    if budget is not None:
        result = assign(uplift, available, costs, budget)
        return result.action, result.expected_uplift, result
    cost = costs.cost_vector()
    net = np.where(available, uplift - cost[None, :], -np.inf)
    net[:, 0] = 0.0
    chosen = net.argmax(axis=1)
    return chosen, net[np.arange(len(chosen)), chosen], None


@optimize_app.command("assign")
def assign_cmd(
    policy_dir: Annotated[Path, typer.Option("--policy", help="POLICY_DIR from learn.")],
    accounts_file: Annotated[Path, typer.Option("--accounts", help="ACCOUNTS.parquet.")],
    costs_file: Annotated[
        Path, typer.Option("--costs", help="COSTS.toml: a cost per action, capacities (optional).")
    ],
    budget: Annotated[str, typer.Option("--budget", help="Total cost allowed (an amount).")],
    out: Annotated[Path, typer.Option("--out", help="ACTIONS.parquet to write.")],
) -> None:
    """At most one action per account, maximising expected collections net of cost under
    the budget, each action's capacity and availability (a MIP solved by HiGHS). Prints
    the objective, the solver's bound and the gap."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from arrears.files import replacing
    from arrears.optimize.assign import check
    from arrears.optimize.learn import Policy
    from arrears.optimize.schema import ACTIONS, read_accounts, read_costs

    amount = _budget(budget)
    assert amount is not None
    with _input_errors():
        costs = read_costs(costs_file)
        accounts = read_accounts(accounts_file)
        policy = Policy.load(policy_dir)
    chosen, expected, result = _chosen(policy, accounts, costs, amount)
    problems = check(chosen, accounts.available(), costs, amount)
    if problems:  # never expected: the solver's answer is checked before it is written
        raise _fail("the assignment breaks a constraint: " + "; ".join(problems))
    table = pa.table(
        {
            "account_id": pa.array(accounts.account_id.astype(str), pa.string()),
            "action": pa.array([ACTIONS[j] for j in chosen], pa.string()),
            "expected_uplift": pa.array(expected, pa.float64()),
        }
    )
    with replacing(out) as partial:
        pq.write_table(table, partial)
    _print_json({"budget": str(amount), **result.summary(), "out": str(out)})


@optimize_app.command("evaluate")
def evaluate_cmd(
    log: Annotated[Path, typer.Option("--log", help="LOG.parquet (not the one learned on).")],
    policy_dir: Annotated[Path, typer.Option("--policy", help="POLICY_DIR from learn.")],
    costs_file: Annotated[
        Path | None,
        typer.Option("--costs", help="COSTS.toml (default: the log's mean cost per action)."),
    ] = None,
    budget: Annotated[
        str | None,
        typer.Option(
            "--budget", help="Assign under this budget over the log's rows (needs --costs)."
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Bootstrap seed.")] = 0,
    bootstraps: Annotated[int, typer.Option("--bootstraps", min=50)] = 500,
) -> None:
    """IPS, self-normalised IPS and doubly robust estimates of the policy's value per
    account net of cost, with bootstrap intervals, against the logging policy."""
    import numpy as np

    from arrears.optimize.evaluate import off_policy
    from arrears.optimize.learn import Policy
    from arrears.optimize.schema import ACTIONS, Costs, read_costs, read_log

    amount = _budget(budget)
    if amount is not None and costs_file is None:
        raise typer.BadParameter("--budget needs --costs", param_hint="'--budget'")
    with _input_errors():
        data = read_log(log)
        policy = Policy.load(policy_dir)
        if costs_file is not None:
            costs = read_costs(costs_file)
        else:
            mean = {
                a: Decimal(str(round(float(data.cost[data.action == j].mean()), 6)))
                if (data.action == j).any()
                else Decimal(str(policy.log_cost[a]))
                for j, a in enumerate(ACTIONS)
            }
            costs = Costs(mean, {a: None for a in ACTIONS})
    chosen, _, result = _chosen(policy, data.accounts, costs, amount)
    mu = policy.outcome_money(data.accounts)
    report = off_policy(data, chosen, costs.cost_vector(), mu, seed=seed, boots=bootstraps)
    report["costs"] = {a: str(c) for a, c in costs.cost.items()}
    if result is not None:
        report["assignment"] = {"budget": str(amount), **result.summary()}
    _print_json(report)
    total = np.asarray(report["dr"]["vs_logging_95"])
    err.print(
        f"doubly robust: {report['dr']['value']:.2f} per account vs the logging policy's "
        f"{report['logging']['value']:.2f} (difference 95% interval {total[0]:.2f} .. "
        f"{total[1]:.2f})",
        markup=False,
    )


@optimize_app.command("log")
def log_cmd(
    out: Annotated[Path, typer.Option("--out", help="LOG.parquet to write.")],
    workspace: WorkspaceOpt = None,
    costs_file: Annotated[
        Path | None,
        typer.Option("--costs", help="COSTS.toml (default: the documented demo costs)."),
    ] = None,
    strategy_file: Annotated[
        Path | None, typer.Option("--strategy", help="Strategy file (default: the workspace's).")
    ] = None,
) -> None:
    """LOG.parquet from the workspace's own history: each day's strategy decision per
    open case, its propensity from the champion/challenger arms' shares, the snapshot's
    features and the 14 days' payments. Prints a summary (actions, how many rows were
    randomised at all: positivity)."""
    import pyarrow.parquet as pq

    from arrears.files import replacing
    from arrears.optimize.schema import parse_costs, read_costs
    from arrears.optimize.simulate_log import COSTS_TOML
    from arrears.optimize.workspace_log import build_log

    ws = open_workspace(workspace)
    with _input_errors():
        if costs_file is not None:
            costs = read_costs(costs_file)
        else:
            costs = parse_costs(COSTS_TOML, Path("<default costs>"))
        built = build_log(ws, costs, strategy_file)
    with replacing(out) as partial:
        pq.write_table(built.table, partial)
    _print_json({**built.summary, "out": str(out)})


def register(app: typer.Typer) -> None:
    app.add_typer(optimize_app, name="optimize")
