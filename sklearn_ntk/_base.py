"""Shared machinery of the feature-map transformers: validation, batching, array namespaces."""

import math
import os
import warnings
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn import get_config
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, InvalidParameterError
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from ._backend import _is_numpy, check_same_namespace, namespace_of
from ._progress import progress
from ._dask import as_dask_array, in_dask_block, is_dask_collection, lazy_rows, \
    output_float_dtype


def float_dtypes(xp):
    """float64 first (the default for other input), float32 kept as float32."""
    return [xp.float64, xp.float32]


DEFAULT_MAX_MEMORY = 256 * 2**20


def rows_per_batch(bytes_per_row, max_memory, multiple=1):
    """Rows that fit in ``max_memory`` bytes of intermediates.

    ``None`` means 256 MiB, or scikit-learn's ``working_memory`` if that is smaller: batches
    much larger than that run slower, not faster (the FFTs and products are memory-bound).
    A batch of more than ``multiple`` rows is rounded down to a multiple of it, so a batch
    split over ``multiple`` threads gives every thread the same number of rows (3 rows on 2
    threads take as long as 4).
    """
    if max_memory is None:
        max_memory = min(DEFAULT_MAX_MEMORY, get_config()["working_memory"] * 2**20)
    rows = max(1, int(max_memory // max(bytes_per_row, 1)))
    return rows - rows % multiple if rows > multiple else rows


def store_params(estimator, arguments):
    """Store every ``__init__`` argument unchanged, as an attribute of the same name.

    scikit-learn's convention: ``__init__`` only records its arguments (all validation
    happens in ``fit``) and ``get_params`` reads them back by name. Called as
    ``store_params(self, locals())`` first thing in ``__init__``, when ``locals()`` holds
    the arguments and nothing else.
    """
    for name, value in arguments.items():
        if name not in ("self", "__class__"):
            setattr(estimator, name, value)


def validate_rows(estimator, X, *, dtype):
    """``validate_data(..., reset=False)``, without the feature-name check inside a dask task.

    The names of a dask DataFrame are checked once on the collection; its blocks are plain
    arrays and would otherwise warn about missing names.
    """
    if not in_dask_block():
        return validate_data(estimator, X, dtype=dtype, reset=False)
    X = check_array(X, dtype=dtype, input_name="X")
    if X.shape[1] != estimator.n_features_in_:
        raise ValueError(
            f"X has {X.shape[1]} features, but {type(estimator).__name__} is expecting "
            f"{estimator.n_features_in_} features as input.")
    return X


def validate_fit_input(estimator, X, from_dask):
    """``validate_data(estimator, X, reset=True)`` that also takes a dask array or DataFrame.

    A dask collection is checked to be 2-D and turned into an in-memory array by
    ``from_dask(dask_array)`` (a zero row when only the width matters, a sample of rows for
    a data-dependent map); the column names of a DataFrame become ``feature_names_in_``.
    """
    feature_names = None
    if is_dask_collection(X):
        X, feature_names = as_dask_array(X, "X")
        if X.ndim != 2:
            raise ValueError(
                f"Expected a 2-D dask array for X, got {X.ndim} dimension(s); reshape "
                "1-D data with X.reshape(-1, 1) (one feature) or X.reshape(1, -1) (one "
                "sample).")
        X = from_dask(X)
    xp, _ = namespace_of(X)
    X = validate_data(estimator, X, dtype=float_dtypes(xp))
    if feature_names is not None:
        estimator.feature_names_in_ = feature_names
    return X


def physical_memory_bytes():
    """Total physical memory of this machine, or None where the OS does not say."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # pragma: no cover - non-POSIX
        return None


def _format_bytes(n):
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.1f} {unit}" if unit != "bytes" else f"{int(n)} bytes"
        n /= 1024


def check_fits_in_memory(n_bytes, what, advice="Use a smaller n_components."):
    """Raise a MemoryError-like ValueError before allocating more than this machine has."""
    total = physical_memory_bytes()
    if total is not None and n_bytes > total:
        raise ValueError(
            f"{what} would take {_format_bytes(n_bytes)}, more than this machine's "
            f"{_format_bytes(total)} of memory. {advice}")


def reject_bool_params(estimator):
    """``True``/``False`` passed for a numeric parameter is a mistake, not 1/0.

    scikit-learn's ``Interval`` constraints accept bools (``bool`` subclasses ``int``);
    parameters that also list ``"boolean"`` take them as meant.
    """
    for name, constraints in estimator._parameter_constraints.items():
        value = getattr(estimator, name, None)
        if (isinstance(value, (bool, np.bool_)) and "boolean" not in constraints
                and any(isinstance(c, Interval) for c in constraints)):
            kind = ("an int" if all(c.type is Integral for c in constraints
                                    if isinstance(c, Interval)) else "a number")
            raise InvalidParameterError(
                f"The {name!r} parameter of {type(estimator).__name__} must be {kind}, "
                f"got {value!r} (a bool).")


def max_abs_rows(xp, X):
    r"""Per-row scale ``s = max_j |x_j|`` (1 for zero rows), shape (n, 1).

    Every feature map of a bias-free network is positively homogeneous,
    :math:`\varphi(c x) = c\,\varphi(x)` for :math:`c > 0`, so it can featurise
    :math:`x / s` (entries in [-1, 1]: no squared norm overflows or underflows) and multiply
    by ``s``: the features stay finite wherever they are representable.
    """
    scale = xp.max(xp.abs(X), axis=1, keepdims=True)
    return xp.where(scale > 0, scale, xp.ones_like(scale))


def _bias_row_limit(xp, dtype, n_features):
    """Largest magnitude of a row entry whose squared norm stays finite, with a margin."""
    return math.sqrt(float(xp.finfo(dtype).max)) / (16.0 * math.sqrt(max(n_features, 1)))


def max_abs(xp, X):
    """Largest magnitude of the entries of ``X`` as a Python float (0.0 when empty)."""
    return float(xp.max(xp.abs(X))) if X.shape[0] and X.shape[1] else 0.0


def common_scale(peak):
    """``peak`` as the factor ``c`` that data are divided by: 1.0 for all-zero data."""
    peak = float(peak)
    return peak if peak > 0 else 1.0


def check_bias_rows(xp, X):
    """ValueError naming ``X`` when a row's squared norm could overflow ``X``'s dtype.

    For networks with a bias, which cannot rescale the rows (see :func:`featurise_with_bias`).
    """
    peak, limit = max_abs(xp, X), _bias_row_limit(xp, X.dtype, X.shape[1])
    if peak > limit:
        raise ValueError(
            f"X has values up to {peak:.3g}: with bias > 0 the features need squared norms of "
            f"the rows, which overflow {X.dtype} above {limit:.3g} at "
            f"{X.shape[1]} features. Rescale X (and the bias with it: the network with bias "
            "beta on X / s is the original one divided by s, with bias beta / s).")


def featurise_with_bias(xp, X, features):
    r"""``features(X)`` for a network with a bias, whose squared norms must stay finite.

    A bias breaks the homogeneity that :func:`max_abs_rows` relies on, so rows cannot be
    rescaled. Squared norms stay finite (with a margin for the layers' factors) while
    :math:`\max|x_j| \le \sqrt{\mathrm{max\_float}} / (16\sqrt d)`; float32 rows above that
    are featurised in float64 (the features themselves, of the order of the rows, are
    representable in float32), and float64 rows above it raise a ValueError naming ``X``
    instead of returning inf or nan.
    """
    if X.dtype == xp.float32 and max_abs(xp, X) > _bias_row_limit(xp, X.dtype, X.shape[1]):
        X64 = xp.astype(X, xp.float64)
        check_bias_rows(xp, X64)
        return xp.astype(features(X64), xp.float32)
    check_bias_rows(xp, X)
    return features(X)


class BaseFeatureMap(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Base class: ``fit`` draws every random parameter on the host from ``random_state``;
    ``transform`` applies them row-batch by row-batch in the input's array namespace.

    Subclasses implement ``_fit_params(rng, n_features)``, returning the number of output
    columns, ``_bytes_per_row(itemsize)``, ``_transform_batch(xp, X, device)`` and
    ``_namespace_array()``: the host value of the public fitted array named by
    ``_namespace_attribute``, which is stored in the namespace/device of the fitted data (so
    ``transform`` can refuse data from another namespace, as scikit-learn's array-API
    estimators do).
    """

    _parameter_constraints = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "max_memory": [Interval(Integral, 1, None, closed="left"), None],
    }
    # Whether ``fit`` needs the rows themselves (data-dependent maps) or only their width.
    _fit_reads_data = False
    # what to say when the parameters would not fit in memory
    _memory_advice = "Use a smaller n_components."
    # Whether ``_transform_batch`` takes ``out=`` (a NumPy view of the output rows) and
    # writes the features into it.
    _fills_output = False

    def fit(self, X, y=None):
        """Draw the random parameters of the feature map.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Only the number of features (and, for validation, the values) are used.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The map, with every random parameter drawn.
        """
        self._validate_params()
        reject_bool_params(self)
        # only the width of a dask array is needed: no pass over the data
        X = validate_fit_input(self, X, lambda D: np.zeros(
            (1, D.shape[1]), dtype=output_float_dtype(D.dtype)))
        # one row's output and its complex intermediates come on top of the parameters
        check_fits_in_memory(
            self._param_bytes(X.shape[1]) + 3 * 8 * self.n_components,
            f"{type(self).__name__}(n_components={self.n_components}): its random "
            "parameters plus the features of one row", self._memory_advice)
        rng = check_random_state(self.random_state)
        self._n_features_out = self._fit_params(rng, X.shape[1])
        xp, device = namespace_of(X)
        host = self._namespace_array()
        setattr(self, self._namespace_attribute, xp.asarray(host, device=device))
        return self

    def transform(self, X):
        """Features :math:`\\varphi(X)` with :math:`\\varphi(X)\\varphi(Y)^T \\approx K(X, Y)`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            NumPy or any array-API array (CuPy, torch, ...) when scikit-learn's
            ``array_api_dispatch`` is enabled; float32 input gives float32 features. A dask
            array gives a lazy dask array (``map_blocks`` over row chunks).

        Returns
        -------
        Z : array of shape (n_samples, n_components)
            Same namespace and device as ``X``.
        """
        check_is_fitted(self)
        if is_dask_collection(X):
            return lazy_rows(self, self.transform, X, self._n_features_out)
        check_same_namespace(X, self, attribute=self._namespace_attribute, method="transform")
        xp, device = namespace_of(X)
        X = validate_rows(self, X, dtype=float_dtypes(xp))
        itemsize = 4 if X.dtype == xp.float32 else 8
        batch = rows_per_batch(self._bytes_per_row(itemsize), self.max_memory,
                               self._batch_multiple(xp))
        n = X.shape[0]
        if n <= batch:
            return self._transform_batch(xp, X, device)
        # Batches are written into the preallocated output: peak memory is the output plus
        # one batch's intermediates, never two copies of the output.
        out = xp.empty((n, self._n_features_out), dtype=X.dtype, device=device)
        verbose = 0 if in_dask_block() else getattr(self, "verbose", 0)
        with progress(-(-n // batch), verbose, f"{type(self).__name__}.transform") as bar:
            for start in range(0, n, batch):
                stop = min(start + batch, n)
                if self._fills_output and _is_numpy(xp):
                    # written in place: no batch-sized temporary (and its page faults), no copy
                    self._transform_batch(xp, X[start:stop, ...], device, out=out[start:stop])
                else:
                    out[start:stop, ...] = self._transform_batch(xp, X[start:stop, ...], device)
                bar.update()
        return out

    def _batch_multiple(self, xp):
        """Batches are rounded to a multiple of this (the threads ``_transform_batch`` uses)."""
        return 1

    def _param_bytes(self, n_features):
        """Estimated bytes of the random parameters ``fit`` would draw (checked first)."""
        return 0

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.array_api_support = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


def renamed_attribute(old, new, version="0.3"):
    """Read-only property ``old`` that warns (FutureWarning) and returns attribute ``new``.

    The scikit-learn way of renaming a fitted attribute: the old name keeps working for a
    deprecation cycle. Unfitted, it raises AttributeError like the new name, without warning,
    so ``hasattr`` stays quiet.
    """

    def getter(self):
        if new not in vars(self):
            raise AttributeError(
                f"{type(self).__name__!r} object has no attribute {old!r} (fit it first; "
                f"{old!r} is the deprecated name of {new!r}).")
        warnings.warn(
            f"{old} was renamed to {new} and will be removed in {version}.", FutureWarning,
            stacklevel=2)
        return getattr(self, new)

    return property(getter, doc=f"Deprecated alias of ``{new}``; removed in {version}.")


def srht_bytes(n_in, n_out):
    """Bytes of one SRHT's parameters (signs and sampled frequencies)."""
    return 8 * (n_in + n_out)


def polysketch_bytes(n_in, n_out, degree):
    """Bytes of a PolySketch tree's parameters (two SRHTs per internal node)."""
    leaves = max(2, 1 << max(0, math.ceil(math.log2(max(degree, 1)))))
    return leaves * (srht_bytes(n_in, n_out) + srht_bytes(n_out, n_out))


def lone_column_weight(n_complex):
    """Weight of the complex block when one extra real column completes an odd width.

    Each complex coordinate contributes two real columns; giving every real column the same
    share ``1 / (2k + 1)`` keeps the combined estimate unbiased.
    """
    return 2 * n_complex / (2 * n_complex + 1)


def sqrt_float(value):
    return float(math.sqrt(value))


def rademacher(rng, size):
    return rng.choice(np.array([-1.0, 1.0]), size=size)
