"""Decide who gets what: learn each action's uplift from a log of randomised contacts,
assign at most one action per account under budget, capacity and availability, and
estimate a policy's value off-policy (docs/optimize.md).

Domain-free math on Arrow tables and NumPy arrays: no store, no workspace. The command
module ``arrears/commands/optimize.py`` reads and writes the files of the contract.
"""

from arrears.optimize.schema import ACTIONS, OptimizeInputError

__all__ = ["ACTIONS", "OptimizeInputError"]
