"""A small simulated log and the policy learned from it, shared by the optimizer tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from arrears.optimize.learn import Policy, learn
from arrears.optimize.schema import Log, log_from_table
from arrears.optimize.simulate_log import simulate_log

SIMULATED = Path("<simulated>")


@pytest.fixture(scope="session")
def small_log() -> Log:
    return log_from_table(simulate_log(2500, 11, "segment"), SIMULATED)


@pytest.fixture(scope="session")
def small_policy(small_log: Log) -> Policy:
    return learn(small_log, seed=3)
