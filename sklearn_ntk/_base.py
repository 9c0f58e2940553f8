"""Shared machinery of the feature-map transformers: validation, batching, array namespaces."""

import math
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn import get_config
from sklearn.utils import check_random_state
from sklearn.utils._array_api import check_same_namespace
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted, validate_data

from ._backend import namespace_of
from ._dask import is_dask_array, map_rows, output_float_dtype


def float_dtypes(xp):
    """float64 first (the default for other input), float32 kept as float32."""
    return [xp.float64, xp.float32]


DEFAULT_MAX_MEMORY = 256 * 2**20


def rows_per_batch(bytes_per_row, max_memory):
    """Rows that fit in ``max_memory`` bytes of intermediates.

    ``None`` means 256 MiB, or scikit-learn's ``working_memory`` if that is smaller: batches
    much larger than that run slower, not faster (the FFTs and products are memory-bound).
    """
    if max_memory is None:
        max_memory = min(DEFAULT_MAX_MEMORY, get_config()["working_memory"] * 2**20)
    return max(1, int(max_memory // max(bytes_per_row, 1)))


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
        """
        self._validate_params()
        if is_dask_array(X):  # only the width is needed: no pass over the data
            X = np.zeros((1, X.shape[1]), dtype=output_float_dtype(X.dtype))
        xp, _ = namespace_of(X)
        X = validate_data(self, X, dtype=float_dtypes(xp))
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
        if is_dask_array(X):
            if X.ndim != 2 or X.shape[1] != self.n_features_in_:
                raise ValueError(
                    f"X has {X.shape[-1]} features, but {type(self).__name__} is expecting "
                    f"{self.n_features_in_} features as input.")
            return map_rows(self.transform, X, self._n_features_out,
                            output_float_dtype(X.dtype))
        check_same_namespace(X, self, attribute=self._namespace_attribute, method="transform")
        xp, device = namespace_of(X)
        X = validate_data(self, X, dtype=float_dtypes(xp), reset=False)
        itemsize = 4 if X.dtype == xp.float32 else 8
        batch = rows_per_batch(self._bytes_per_row(itemsize), self.max_memory)
        n = X.shape[0]
        if n <= batch:
            return self._transform_batch(xp, X, device)
        parts = [self._transform_batch(xp, X[start:min(start + batch, n), ...], device)
                 for start in range(0, n, batch)]
        return xp.concat(parts, axis=0)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.array_api_support = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


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
