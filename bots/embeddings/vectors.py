"""An in-memory matrix of unit vectors keyed by id: exact cosine top-k with one matrix-vector product."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from threadpoolctl import threadpool_limits

from bots.embeddings.model import DIMENSIONS

# A matrix-vector product over a few thousand rows is bound by memory, not arithmetic: a second BLAS thread
# barely helps, and on a busy machine its spinning costs more than it saves (measured: 0.7 ms with one
# thread, 1.2 ms with two, up to 4 ms under load, at 10,000 x 384). numpy's OpenBLAS gets one thread; torch
# keeps its own pool (ENGAGE_EMBEDDING_THREADS).
threadpool_limits(limits=1, user_api="blas")


@dataclass(frozen=True)
class Snapshot:
    ids: np.ndarray
    matrix: np.ndarray
    row_of: dict[int, int] = field(default_factory=dict)

    @classmethod
    def of(cls, ids: np.ndarray, matrix: np.ndarray) -> Snapshot:
        return cls(ids, matrix, {int(key): row for row, key in enumerate(ids.tolist())})


class VectorIndex:
    """Rows are unit vectors, so a dot product is the cosine.

    Updates build a new snapshot (ids, matrix, row of each id) and swap it in one assignment: readers never
    lock and always see a consistent one.
    """

    def __init__(self, dimensions: int = DIMENSIONS) -> None:
        self._dims = dimensions
        self._data = Snapshot.of(np.zeros(0, dtype=np.int64), np.zeros((0, dimensions), dtype=np.float32))
        self._write = threading.Lock()

    def __len__(self) -> int:
        return len(self._data.ids)

    @property
    def ids(self) -> np.ndarray:
        return self._data.ids

    def snapshot(self) -> Snapshot:
        return self._data

    def replace_all(self, ids: Iterable[int], vectors: np.ndarray) -> None:
        ids_array = np.fromiter(ids, dtype=np.int64)
        matrix = np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(ids_array), self._dims)
        with self._write:
            self._data = Snapshot.of(ids_array, matrix)

    def upsert(self, ids: Iterable[int], vectors: np.ndarray) -> None:
        new_ids = np.fromiter(ids, dtype=np.int64)
        if not len(new_ids):
            return
        new_rows = np.asarray(vectors, dtype=np.float32).reshape(len(new_ids), self._dims)
        with self._write:
            old = self._data
            keep = ~np.isin(old.ids, new_ids)
            self._data = Snapshot.of(
                np.concatenate([old.ids[keep], new_ids]),
                np.ascontiguousarray(np.vstack([old.matrix[keep], new_rows])),
            )

    def remove(self, ids: Iterable[int]) -> None:
        gone = np.fromiter(ids, dtype=np.int64)
        with self._write:
            old = self._data
            keep = ~np.isin(old.ids, gone)
            self._data = Snapshot.of(old.ids[keep], old.matrix[keep])

    def vector_of(self, key: int) -> np.ndarray | None:
        data = self._data
        row = data.row_of.get(key)
        return data.matrix[row] if row is not None else None

    def scores(self, query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(ids, cosine of every row with `query`)."""
        data = self._data
        return data.ids, data.matrix @ np.asarray(query, dtype=np.float32)

    def top(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        ids, sims = self.scores(query)
        return [(int(ids[i]), float(sims[i])) for i in best_rows(sims, k)]


def best_rows(sims: np.ndarray, k: int) -> np.ndarray:
    """Row numbers of the `k` highest scores, best first (ties: lower row first)."""
    k = min(k, len(sims))
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    part = np.argpartition(-sims, k - 1)[:k] if k < len(sims) else np.arange(len(sims))
    return part[np.lexsort((part, -sims[part]))]
