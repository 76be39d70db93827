"""The duplicate-id tracker agrees with a plain dict, batch after batch."""

from __future__ import annotations

import random

from arrears.ingest.seen import SeenIds


def test_first_rows_match_a_dict() -> None:
    rng = random.Random(7)
    seen, reference = SeenIds(), {}
    row = 2
    for _ in range(200):
        keys = [f"K{rng.randrange(30_000)}" for _ in range(rng.randrange(0, 700))]
        rows = list(range(row, row + len(keys)))
        row += len(keys)
        expected = []
        for key, number in zip(keys, rows, strict=True):
            first = reference.setdefault(key, number)
            expected.append(None if first == number else first)
        assert seen.add(keys, rows) == expected
    assert len(seen) == len(reference)
