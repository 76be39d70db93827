"""Which ids a file has already shown, and on which row, in little memory.

A dict of a million id strings costs about 120 MB; this keeps 12 bytes per id. The
current batch is checked exactly (a dict); earlier batches are kept as sorted runs of
64-bit hashes with their row numbers, merged like a binary counter so there are never
more than about log2(batches) runs to search. Two different ids with the same 64-bit
hash would be taken for a duplicate: for a file of a million ids the chance of that
is about 3 in 100 million, and the message names both rows, so it can be checked.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np


class SeenIds:
    """The first row of every id seen so far."""

    def __init__(self) -> None:
        self._runs: list[tuple[np.ndarray, np.ndarray]] = []

    def __len__(self) -> int:
        return sum(len(hashes) for hashes, _ in self._runs)

    def add(self, keys: Sequence[Hashable], rows: Sequence[int]) -> list[int | None]:
        """For each of ``keys`` (seen on ``rows``, in file order) the row it was first
        seen on, or None for a first sighting; then remember the first sightings."""
        firsts: list[int | None] = [None] * len(keys)
        if not keys:
            return firsts
        hashes = np.fromiter(map(hash, keys), dtype=np.int64, count=len(keys))
        for run_hashes, run_rows in self._runs:
            positions = np.minimum(np.searchsorted(run_hashes, hashes), len(run_hashes) - 1)
            for i in np.flatnonzero(run_hashes[positions] == hashes):
                if firsts[i] is None:
                    firsts[i] = int(run_rows[positions[i]])
        in_batch: dict[Hashable, int] = {}
        for i, (key, row) in enumerate(zip(keys, rows, strict=True)):
            first = in_batch.setdefault(key, row)
            if first != row and firsts[i] is None:
                firsts[i] = first
        new = [i for i, first in enumerate(firsts) if first is None]
        if new:
            new_hashes = hashes[new]
            new_rows = np.asarray([rows[i] for i in new], dtype=np.int32)
            order = np.argsort(new_hashes, kind="stable")
            self._runs.append((new_hashes[order], new_rows[order]))
            self._merge()
        return firsts

    def _merge(self) -> None:
        while len(self._runs) > 1 and 2 * len(self._runs[-1][0]) >= len(self._runs[-2][0]):
            newer_hashes, newer_rows = self._runs.pop()
            older_hashes, older_rows = self._runs.pop()
            hashes = np.concatenate([older_hashes, newer_hashes])
            rows = np.concatenate([older_rows, newer_rows])
            order = np.argsort(hashes, kind="stable")
            self._runs.append((hashes[order], rows[order]))
