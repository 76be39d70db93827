"""Learning is reproducible by seed and survives a save and load; the off-policy
estimates are unbiased on logs whose truth is known."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from arrears.optimize.evaluate import off_policy
from arrears.optimize.learn import Policy, learn
from arrears.optimize.schema import ACTIONS, OptimizeInputError, log_from_table
from arrears.optimize.simulate_log import (
    COSTS,
    expected_paid,
    logging_propensities,
    simulate_log,
)

SIMULATED = Path("<simulated>")
COST = np.array([COSTS[a] for a in ACTIONS])


def test_same_seed_same_policy_and_a_saved_policy_predicts_the_same(
    tmp_path, small_log, small_policy
):
    again = learn(small_log, seed=3)
    uplift = small_policy.uplift_money(small_log.accounts)
    np.testing.assert_array_equal(uplift, again.uplift_money(small_log.accounts))
    assert again.quality == small_policy.quality
    small_policy.save(tmp_path / "policy")
    loaded = Policy.load(tmp_path / "policy")
    np.testing.assert_allclose(loaded.uplift_money(small_log.accounts), uplift, rtol=1e-12)


def test_quality_reports_each_learner_per_action(small_policy):
    quality = small_policy.quality
    assert quality["rows"] == 2500 and quality["folds"] == 3
    for action in ACTIONS[1:]:
        entry = quality["actions"][action]
        assert entry["uplift_method"] in ("s", "t", "dr")
        assert {"uplift_r2_s", "uplift_r2_t", "uplift_r2_dr", "uplift_mean_95"} <= set(entry)
        low, high = entry["uplift_mean_95"]
        assert low <= entry["uplift_mean"] <= high


def test_learned_uplift_follows_the_truth(small_log, small_policy):
    # segment truth: a visit is worth most to SME accounts, far less to card holders
    fresh = log_from_table(simulate_log(2000, 12, "segment"), SIMULATED).accounts
    truth = expected_paid(fresh, "segment")
    learned = small_policy.uplift_money(fresh)
    visit = ACTIONS.index("visit")
    corr = np.corrcoef(learned[:, visit], truth[:, visit] - truth[:, 0])[0, 1]
    assert corr > 0.5


def test_an_action_never_tried_cannot_be_learned(small_log):
    never_visit = np.flatnonzero(small_log.action != ACTIONS.index("visit"))
    with pytest.raises(OptimizeInputError, match=r"visit \(0 rows\)"):
        learn(small_log.take(never_visit))


def rule(log) -> np.ndarray:
    """A fixed policy: call from DPD 10 where there is a phone, else a letter where
    there is an address, else nothing."""
    available = log.accounts.available()
    dpd = log.accounts.numeric["dpd"]
    call, letter = ACTIONS.index("call"), ACTIONS.index("letter")
    return np.where(
        (dpd >= 10) & available[:, call], call, np.where(available[:, letter], letter, 0)
    )


def true_value(log, chosen: np.ndarray, truth: str) -> float:
    paid = expected_paid(log.accounts, truth)
    return float(np.mean(paid[np.arange(len(log)), chosen] - COST[chosen]))


def test_off_policy_estimates_are_unbiased_over_seeds(small_policy):
    """Over 16 independent logs, the mean error of IPS and DR (its outcome model learned
    on another log) is within three standard errors of zero, and each 95% interval
    covers the truth in most logs."""
    truth_model = "segment"
    errors: dict[str, list[float]] = {"ips": [], "dr": [], "snips": []}
    covered = {"ips": 0, "dr": 0}
    runs = 16
    for seed in range(runs):
        log = log_from_table(simulate_log(2000, 600 + seed, truth_model), SIMULATED)
        chosen = rule(log)
        truth = true_value(log, chosen, truth_model)
        mu = small_policy.outcome_money(log.accounts)
        report = off_policy(log, chosen, COST, mu, seed=seed, boots=50)
        for name in errors:
            errors[name].append(report[name]["value"] - truth)
        for name in covered:
            low, high = report[name]["95"]
            covered[name] += low <= truth <= high
    for name in ("ips", "dr"):
        e = np.array(errors[name])
        assert abs(e.mean()) < 3 * e.std(ddof=1) / np.sqrt(runs), (name, e.mean())
        assert covered[name] >= 0.8 * runs, (name, covered[name])
    # the outcome model makes DR the less variable of the two
    assert np.std(errors["dr"]) < np.std(errors["ips"])


def test_logging_value_and_matched_rows(small_log):
    chosen = small_log.action.copy()  # the policy that did what was logged
    report = off_policy(small_log, chosen, COST, None, seed=0, boots=50)
    assert report["matched_rows"] == len(small_log)
    assert report["logging"]["value"] == pytest.approx(
        float(np.mean(small_log.paid - small_log.cost)), abs=1e-3
    )


def test_logged_propensities_are_the_logging_policys(small_log):
    probs = logging_propensities(small_log.accounts)
    logged = probs[np.arange(len(small_log)), small_log.action]
    np.testing.assert_allclose(small_log.propensity, logged)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    assert (probs[~small_log.accounts.available()] == 0).all()
