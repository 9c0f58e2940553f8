"""Dask arrays in, Dask arrays out: lazy featurisation and one-pass exact ridge fits.

Dask is the engine (threaded scheduler, or whatever ``distributed.Client`` is active): we only
build graphs. Featurisation is a ``map_blocks`` over row chunks with a known output width;
fitting reduces per-chunk :class:`~sklearn_ntk._ridge.RidgeStatistics` with a binary tree of
exact pairwise merges, so the result equals the in-memory fit up to float rounding.
"""

import numpy as np


def is_dask_array(array):
    """True for a ``dask.array.Array`` (checked without importing dask)."""
    return type(array).__module__.startswith("dask.array") and hasattr(array, "chunks")


def _row_chunked(X, name):
    if X.ndim != 2:
        raise ValueError(f"{name} must be a 2-D dask array, got {X.ndim} dimension(s).")
    return X.rechunk({1: -1}) if len(X.chunks[1]) > 1 else X


def output_float_dtype(dtype):
    return np.float32 if np.dtype(dtype) == np.float32 else np.float64


def map_rows(function, X, n_columns, dtype):
    """Apply ``function`` (rows -> rows) lazily to every row chunk of ``X``.

    ``n_columns=None`` means a 1-D result per chunk.
    """
    X = _row_chunked(X, "X")
    if n_columns is None:
        return X.map_blocks(function, dtype=dtype, drop_axis=1, chunks=(X.chunks[0],))
    return X.map_blocks(function, dtype=dtype, chunks=(X.chunks[0], (n_columns,)))


def _aligned_blocks(array, row_chunks):
    """Delayed blocks of a 1-D/2-D array (dask or NumPy) aligned with ``row_chunks``."""
    import dask.array as da

    if array is None:
        return [None] * len(row_chunks)
    if not is_dask_array(array):
        array = da.from_array(np.asarray(array), chunks=(row_chunks,) + array.shape[1:])
    array = array.rechunk((row_chunks,) + ((-1,) if array.ndim == 2 else ()))
    blocks = array.to_delayed()
    return [b[0] if array.ndim == 2 else b for b in blocks]


def reduce_statistics(chunk_statistics, X, y, sample_weight=None):
    """Exact sufficient statistics of all chunks: one pass, tree-reduced, computed by dask.

    ``chunk_statistics(X_block, y_block, w_block)`` returns a ``RidgeStatistics``.
    """
    import dask
    from dask import delayed

    from ._ridge import RidgeStatistics

    X = _row_chunked(X, "X")
    row_chunks = X.chunks[0]
    x_blocks = [b[0] for b in X.to_delayed()]
    y_blocks = _aligned_blocks(y, row_chunks)
    w_blocks = _aligned_blocks(sample_weight, row_chunks)
    parts = [delayed(chunk_statistics)(xb, yb, wb)
             for xb, yb, wb in zip(x_blocks, y_blocks, w_blocks)]
    while len(parts) > 1:
        merged = [delayed(RidgeStatistics.merge)(parts[i], parts[i + 1])
                  for i in range(0, len(parts) - 1, 2)]
        if len(parts) % 2:
            merged.append(parts[-1])
        parts = merged
    (stats,) = dask.compute(parts[0])
    return stats
