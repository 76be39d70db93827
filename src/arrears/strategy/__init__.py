"""The strategy engine: declarative strategies (TOML/YAML), segmentation (分段催收),
treatment ladders, champion/challenger arms, the day's proposed actions, the dry run
and the arms' readout. Evaluation is Ibis: the same code runs on DuckDB and Spark.

Public API::

    load_strategy(path=None, workspace_root=None) -> Strategy
    assign(snapshot, inputs, strategy, as_of) -> ibis.Table            # per loan
    proposed_actions(snapshot, inputs, strategy, as_of, history=None) -> ibis.Table
    daily_assignments(snapshot, inputs, strategy, as_of, history=None) -> ibis.Table
    preview(snapshot, inputs, strategy, as_of, history=None) -> Preview
    readout(assignments, snapshots, strategy_name, start, end, champion) -> Readout

See docs/strategies.md for the document format and the columns.
"""

from arrears.strategy.actions import (
    ACTION_COLUMNS,
    ASSIGNMENT_COLUMNS,
    Preview,
    PreviewRow,
    daily_assignments,
    preview,
    preview_tables,
    proposed_actions,
)
from arrears.strategy.assignment import arm_of_customer, assign, customer_point, with_arm
from arrears.strategy.ladder import due_steps
from arrears.strategy.loader import (
    WORKSPACE_FILE,
    StrategyError,
    default_strategy_path,
    load_strategy,
    parse_strategy,
)
from arrears.strategy.model import CHANNELS, Arm, Ladder, Segment, Step, Strategy
from arrears.strategy.readout import Readout, case_outcomes, readout
from arrears.strategy.segments import INPUT_COLUMNS, prepare, segment_of

__all__ = [
    "ACTION_COLUMNS",
    "ASSIGNMENT_COLUMNS",
    "CHANNELS",
    "INPUT_COLUMNS",
    "WORKSPACE_FILE",
    "Arm",
    "Ladder",
    "Preview",
    "PreviewRow",
    "Readout",
    "Segment",
    "Step",
    "Strategy",
    "StrategyError",
    "arm_of_customer",
    "assign",
    "case_outcomes",
    "customer_point",
    "daily_assignments",
    "default_strategy_path",
    "due_steps",
    "load_strategy",
    "parse_strategy",
    "prepare",
    "preview",
    "preview_tables",
    "proposed_actions",
    "readout",
    "segment_of",
    "with_arm",
]
