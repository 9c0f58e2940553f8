"""Dask arrays in, Dask arrays out: lazy featurisation and one-pass exact ridge fits.

Dask is the engine (threaded scheduler, or whatever ``distributed.Client`` is active): we only
build graphs. Featurisation is a ``map_blocks`` over row chunks with a known output width;
fitting reduces per-chunk :class:`~sklearn_ntk._ridge.RidgeStatistics` with a binary tree of
exact pairwise merges, so the result equals the in-memory fit up to float rounding.
"""

from contextlib import contextmanager
from contextvars import ContextVar

import numpy as np

# True while a dask task processes one block: blocks are plain arrays even when the estimator
# was fitted on a named DataFrame, so the feature-name check of ``validate_data`` is skipped
# there (the names were checked once, on the whole collection).
_IN_BLOCK = ContextVar("sklearn_ntk_in_dask_block", default=False)


def in_dask_block():
    return _IN_BLOCK.get()


@contextmanager
def dask_block():
    token = _IN_BLOCK.set(True)
    try:
        yield
    finally:
        _IN_BLOCK.reset(token)


def is_dask_array(array):
    """True for a ``dask.array.Array`` (checked without importing dask)."""
    return type(array).__module__.startswith("dask.array") and hasattr(array, "chunks")


def is_dask_collection(obj):
    """True for a dask array, DataFrame or Series (checked without importing dask)."""
    module = type(obj).__module__
    return is_dask_array(obj) or (module.startswith("dask") and hasattr(obj, "to_dask_array"))


def as_dask_array(obj, name):
    """A dask array from a dask array, DataFrame or Series, and its string column names.

    DataFrames become arrays lazily; their partition lengths are computed (one cheap pass
    over the index) so that rows line up with ``y`` and ``sample_weight``. The names are
    returned only when every column name is a string, as ``validate_data`` records them.
    """
    if is_dask_array(obj):
        return obj, None
    names = None
    columns = getattr(obj, "columns", None)
    if columns is not None and len(columns) and all(isinstance(c, str) for c in columns):
        names = np.asarray(list(columns), dtype=object)
    try:
        array = obj.to_dask_array(lengths=True)
    except Exception as error:  # non-numeric columns, ...
        raise ValueError(f"{name} could not be converted to a dask array: {error}") from None
    return array, names


def known_row_chunks(X):
    """``X`` with known row-chunk sizes (computing them, one pass, when they are unknown)."""
    if any(np.isnan(c) for c in X.chunks[0]):
        X = X.compute_chunk_sizes()
    return X


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

    def on_block(block):
        # empty partitions (common after filtering) give empty results, not a failed check
        if block.shape[0] == 0:
            shape = (0,) if n_columns is None else (0, n_columns)
            return np.empty(shape, dtype=dtype)
        with dask_block():
            return function(block)

    if n_columns is None:
        return X.map_blocks(on_block, dtype=dtype, drop_axis=1, chunks=(X.chunks[0],))
    return X.map_blocks(on_block, dtype=dtype, chunks=(X.chunks[0], (n_columns,)))


def _aligned_blocks(array, row_chunks, name):
    """Delayed blocks of a 1-D/2-D array (dask or NumPy) aligned with ``row_chunks``."""
    import dask.array as da

    if array is None:
        return [None] * len(row_chunks)
    if not is_dask_array(array):
        array = np.asarray(array)
        if array.shape[0] != sum(row_chunks):
            raise ValueError(f"{name} has {array.shape[0]} rows but X has {sum(row_chunks)}.")
        array = da.from_array(array, chunks=(row_chunks,) + array.shape[1:])
    else:
        array = known_row_chunks(array)
        if array.shape[0] != sum(row_chunks):
            raise ValueError(f"{name} has {array.shape[0]} rows but X has {sum(row_chunks)}.")
    array = array.rechunk((row_chunks,) + ((-1,) if array.ndim == 2 else ()))
    blocks = array.to_delayed()
    return [b[0] if array.ndim == 2 else b for b in blocks]


def _unknown(array):
    return any(np.isnan(c) for c in array.chunks[0])


def _blocks_of(array, n_blocks=None):
    if array is None:
        return [None] * n_blocks
    if array.ndim == 2:
        array = array.rechunk({1: -1})
        return [b[0] for b in array.to_delayed()]
    return list(array.to_delayed())


def reduce_statistics(chunk_statistics, X, y, sample_weight=None):
    """Exact sufficient statistics of all chunks: one pass, tree-reduced, computed by dask.

    ``chunk_statistics(X_block, y_block, w_block)`` returns a ``RidgeStatistics``.
    """
    import dask
    from dask import delayed

    from ._ridge import RidgeStatistics

    X = _row_chunked(X, "X")
    if _unknown(X) and all(a is None or (is_dask_array(a) and _unknown(a)
                                         and a.numblocks[0] == X.numblocks[0])
                           for a in (y, sample_weight)):
        # Masked by the same filter: the blocks correspond one to one; each chunk's task
        # checks that its lengths agree, so no pass is needed to learn the sizes.
        x_blocks = [b[0] for b in X.to_delayed()]
        y_blocks = _blocks_of(y)
        w_blocks = _blocks_of(sample_weight, len(x_blocks))
    else:
        X = known_row_chunks(X)
        row_chunks = X.chunks[0]
        x_blocks = [b[0] for b in X.to_delayed()]
        y_blocks = _aligned_blocks(y, row_chunks, "y")
        w_blocks = _aligned_blocks(sample_weight, row_chunks, "sample_weight")
    def in_block(*blocks):
        with dask_block():
            return chunk_statistics(*blocks)

    parts = [delayed(in_block)(xb, yb, wb)
             for xb, yb, wb in zip(x_blocks, y_blocks, w_blocks)]
    while len(parts) > 1:
        merged = [delayed(RidgeStatistics.merge)(parts[i], parts[i + 1])
                  for i in range(0, len(parts) - 1, 2)]
        if len(parts) % 2:
            merged.append(parts[-1])
        parts = merged
    (stats,) = dask.compute(parts[0])
    return stats


def lazy_rows(estimator, method, X, n_columns, dtype=None):
    """``method`` applied lazily to the row chunks of the dask collection ``X``.

    First the checks that ``transform`` / ``predict`` make on in-memory input: the column
    names of a DataFrame against those seen in ``fit``, and the number of features.
    ``dtype=None`` means the float dtype of the output for ``X``'s dtype.
    """
    X, names = as_dask_array(X, "X")
    fitted = getattr(estimator, "feature_names_in_", None)
    if names is not None and fitted is not None and list(names) != list(fitted):
        raise ValueError("The feature names should match those that were passed during fit.")
    if X.ndim != 2 or X.shape[1] != estimator.n_features_in_:
        raise ValueError(
            f"X has {X.shape[-1]} features, but {type(estimator).__name__} is expecting "
            f"{estimator.n_features_in_} features as input.")
    return map_rows(method, X, n_columns,
                    output_float_dtype(X.dtype) if dtype is None else dtype)
