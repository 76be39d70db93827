"""The smallest bin on a large table: as many rows as the configured share of 5,000
rows (at least 1%), so a small group with a much higher event rate (loans delinquent
in the last six months, 2–4% of a book) keeps a bin of its own instead of being merged
away by a 5% floor. Tables of up to 5,000 rows (German credit's) bin as before."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from arrears.models.binning import MIN_BIN_SHARE, SIZE_ROWS, BinningConfig, WoeBinner


@pytest.mark.parametrize(
    ("rows", "configured", "share"),
    [
        (800, 0.05, 0.05),
        (SIZE_ROWS, 0.10, 0.10),
        (10_000, 0.05, 0.025),
        (28_800, 0.10, 0.10 * SIZE_ROWS / 28_800),
        (100_000, 0.05, MIN_BIN_SHARE),
    ],
)
def test_bin_share_keeps_the_rows_of_a_bin_not_its_share(rows, configured, share):
    assert BinningConfig(min_bin_size=configured).bin_share(rows) == pytest.approx(share)


def _book(n: int, seed: int = 3) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    delinquent = rng.random(n) < 0.03  # 3% were late in the last six months
    max_dpd = np.where(delinquent, rng.integers(1, 60, n), 0)
    y = (rng.random(n) < np.where(delinquent, 0.22, 0.024)).astype(int)
    return pd.DataFrame({"max_dpd_6m": max_dpd, "noise": rng.normal(size=n)}), y


def test_a_rare_high_risk_group_keeps_its_own_bin_on_a_large_table():
    features, y = _book(30_000)
    big = WoeBinner(BinningConfig()).fit(features, y, [])
    table = big.table("max_dpd_6m")
    assert len(table) >= 2
    assert big.iv()["max_dpd_6m"] > 0.3  # the strongest feature, not thrown away
    assert big.binnings["max_dpd_6m"].min_bin_size == pytest.approx(MIN_BIN_SHARE)


def test_a_small_table_bins_with_the_configured_share_as_before():
    features, y = _book(4_000)
    small = WoeBinner(BinningConfig()).fit(features, y, [])
    fitted = small.binnings["max_dpd_6m"]
    assert (fitted.min_bin_size, fitted.min_prebin_size) == (0.05, 0.05)
    # 3% of rows cannot make a bin of >= 5%: one bin, no information
    assert small.iv()["max_dpd_6m"] == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("inner_rows", [SIZE_ROWS, None])  # on a sample / on every row
def test_the_scorecards_inner_choice_bins_as_finely_as_its_final_fit(monkeypatch, inner_rows):
    from arrears.models.learners import Scorecard

    features, y = _book(12_000)
    shares: list[tuple[int, float]] = []
    original = WoeBinner.fit

    def recording(self, x, target, cats, **options):
        fitted = original(self, x, target, cats, **options)
        shares.append((len(x), fitted.binnings["max_dpd_6m"].min_bin_size))
        return fitted

    monkeypatch.setattr(WoeBinner, "fit", recording)
    card = Scorecard(
        seed=0,
        binning=BinningConfig(),
        min_iv=0.0,
        chi_alpha=None,
        c=(0.1, 1.0),
        inner_rows=inner_rows,
    )
    card.fit(features, y, [])
    *inner, final = shares
    assert final == (12_000, pytest.approx(0.05 * SIZE_ROWS / 12_000))
    # the inner folds (of the 5,000-row sample, or of all 12,000 rows: 9,600 each, more
    # than SIZE_ROWS themselves) bin with that same smallest share
    assert len(inner) == 5
    assert all(rows == (4_000 if inner_rows else 9_600) for rows, _ in inner)
    assert all(share == pytest.approx(final[1]) for _, share in inner)
    assert "max_dpd_6m" in card.selection.kept
