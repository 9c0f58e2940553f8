"""Image preprocessing for convolutional kernels: per-image standardisation, regularised ZCA."""

from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted, validate_data

from ._base import check_fits_in_memory, common_scale, max_abs, max_abs_rows, store_params, \
    validate_rows
from ._dask import is_dask_collection, lazy_rows
from ._ridge import gram_matrix


def standardize_rows(X):
    """Each row minus its mean, divided by its standard deviation (constant rows become 0).

    The result does not depend on the row's scale, so each row is first divided by its
    largest magnitude: no square overflows or underflows, whatever the input's magnitude.
    """
    if X.shape[1]:
        X = X / max_abs_rows(np, X)
    X = X - X.mean(axis=1, keepdims=True)
    std = np.sqrt(np.mean(X * X, axis=1, keepdims=True))
    return X / np.where(std > 0, std, 1.0)


class ZCAWhitening(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    r"""Regularised ZCA whitening of flattened images (any rows), optionally per image first.

    With the training rows' mean :math:`\mu` and covariance
    :math:`C = U \Lambda U^T` (:math:`d \times d`, :math:`\bar\lambda = \mathrm{tr}(C)/d`),

    .. math::

        x \mapsto W (x - \mu),\qquad
        W = U\,(\Lambda + \varepsilon\bar\lambda I)^{-1/2}\,U^T .

    Among all linear maps that whiten the data, ZCA (:math:`\varepsilon = 0`) is the one
    that changes the rows least (:math:`E\|W(x-\mu) - (x-\mu)\|^2` is minimal for a
    symmetric :math:`W`), so whitened images still look like images: the flat, high-variance
    directions (overall brightness, broad shapes) are damped and edges and textures, the
    low-variance directions, are amplified. Convolutional kernels compare local patches, so
    this changes which patches count as similar; the regulariser :math:`\varepsilon` keeps
    the directions of very small variance (noise) from being blown up: directions with
    eigenvalue well below :math:`\varepsilon\bar\lambda` are scaled by about
    :math:`(\varepsilon\bar\lambda)^{-1/2}` only. The whitened training rows have covariance
    :math:`U\,\Lambda(\Lambda + \varepsilon\bar\lambda I)^{-1}U^T` (eigenvalues in
    :math:`[0, 1]`, all 1 or 0 for :math:`\varepsilon = 0`).

    With ``standardize_images=True`` every row is first centred and scaled to unit standard
    deviation on its own (per-image standardisation), which removes brightness and contrast
    differences between images before the shared statistics are estimated.

    Parameters
    ----------
    regularization : float, default=0.1
        :math:`\varepsilon \ge 0`, relative to the mean eigenvalue :math:`\bar\lambda`.
        ``0`` is exact ZCA whitening; directions of (numerically) zero variance, eigenvalues
        below :math:`10^{-12}` times the largest, are then left at zero instead of being
        inverted.
    standardize_images : bool, default=True
        Standardise each row on its own before (and in) the whitening.

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,)
        :math:`\mu`, of the (standardised) training rows.
    whitening_ : ndarray of shape (n_features, n_features)
        The symmetric matrix :math:`W`.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when the training data had string column names.

    Notes
    -----
    ``fit`` forms the :math:`d \times d` covariance and its eigendecomposition,
    :math:`O(n d^2 + d^3)` time; its memory is a few :math:`d \times d` matrices plus, for
    in-memory data, two float64 copies of ``X`` (a dask array is reduced block by block, in
    two passes: the mean, then the centred covariance). 784 pixels (28x28 grey-scale) or
    3,072 (32x32 colour) are cheap. ``transform``
    is one product with :math:`W` per row (lazy for dask input), with temporaries of about
    twice the input's size. NumPy and dask inputs only.

    References
    ----------
    A. J. Bell, T. J. Sejnowski. *The "independent components" of natural scenes are edge
    filters*. Vision Research, 1997 (ZCA whitening of images).
    V. Shankar et al. *Neural Kernels Without Tangents*. ICML 2020 (regularised ZCA before
    convolutional kernels).

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn_ntk import CNTKSketchClassifier
    >>> from sklearn_ntk.preprocessing import ZCAWhitening
    >>> model = make_pipeline(ZCAWhitening(),
    ...                       CNTKSketchClassifier(image_shape=(28, 28, 1)))
    """

    _parameter_constraints = {
        "regularization": [Interval(Real, 0, None, closed="left")],
        "standardize_images": ["boolean"],
    }

    def __init__(self, regularization=0.1, *, standardize_images=True):
        store_params(self, locals())

    def fit(self, X, y=None):
        """Estimate the mean and the whitening matrix from the rows of ``X``.

        Parameters
        ----------
        X : array-like or dask array of shape (n_samples, n_features)
        y : None
            Ignored.

        Returns
        -------
        self : object
        """
        self._validate_params()
        if isinstance(self.regularization, (bool, np.bool_)):
            raise TypeError("regularization must be a real number, got a bool.")
        if is_dask_collection(X):
            mean, covariance, scale = self._dask_statistics(X)
        else:
            X = validate_data(self, X, dtype=[np.float64, np.float32])
            n, d = X.shape
            check_fits_in_memory(8 * (3 * d * d + 2 * n * d), f"ZCAWhitening of {d} features")
            Xc = np.asarray(X, dtype=np.float64)
            if self.standardize_images:
                Xc = standardize_rows(Xc)
            scale = common_scale(max_abs(np, Xc))
            Xc = Xc / scale
            mean = Xc.mean(axis=0)
            Xc = Xc - mean
            covariance = gram_matrix(Xc) / n
        # The statistics are those of X / c (c its largest magnitude: no square overflows or
        # underflows); W of X is that of X / c divided by c, since C(X) = c^2 C(X / c) and
        # the regulariser is relative to the mean eigenvalue.
        eigenvalues, U = np.linalg.eigh(covariance)
        eigenvalues = np.maximum(eigenvalues, 0.0)  # rounding below zero
        floor = self.regularization * float(np.mean(eigenvalues))
        shifted = eigenvalues + floor
        inverse_root = np.zeros_like(shifted)
        # relative cutoff: directions of (numerically) zero variance stay zero when eps = 0
        keep = shifted > shifted.max(initial=0.0) * 1e-12
        inverse_root[keep] = 1.0 / np.sqrt(shifted[keep])
        self.mean_ = mean * scale
        self.whitening_ = (U * (inverse_root / scale)) @ U.T
        return self

    def _dask_statistics(self, X):
        import dask

        from ._dask import as_dask_array, known_row_chunks

        X, names = as_dask_array(X, "X")
        if X.ndim != 2:
            raise ValueError(f"Expected a 2-D dask array for X, got {X.ndim} dimension(s).")
        d = X.shape[1]
        if d == 0:
            raise ValueError(f"Found array with 0 feature(s) (shape={X.shape}) while a minimum "
                             "of 1 is required by ZCAWhitening.")
        check_fits_in_memory(3 * 8 * d * d, f"ZCAWhitening of {d} features")
        # whole rows in every block (per-image standardisation needs them), known row counts
        X = known_row_chunks(X.rechunk({1: -1}).astype(np.float64))
        n = int(X.shape[0])
        if n == 0:
            raise ValueError("Found array with 0 sample(s) while a minimum of 1 is required "
                             "by ZCAWhitening.")
        if self.standardize_images:
            X = X.map_blocks(standardize_rows, dtype=np.float64)
        # two passes (the scale and mean, then the centred scatter): gram/n - mean mean^T
        # would lose the covariance of data with a large offset to cancellation
        peak, mean = dask.compute(abs(X).max(), X.mean(axis=0))
        if not np.isfinite(peak):
            raise ValueError("Input X contains NaN or infinity.")
        scale = common_scale(peak)
        X = X / scale
        mean = mean / scale
        if not np.all(np.isfinite(mean)):  # the sums overflowed: once more, rescaled
            mean = dask.compute(X.mean(axis=0))[0]
        Xc = X - mean
        covariance = dask.compute(Xc.T @ Xc)[0] / n
        if not np.all(np.isfinite(covariance)):
            raise ValueError("Input X contains NaN or infinity.")
        self.n_features_in_ = d
        if names is not None:
            self.feature_names_in_ = names
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_  # as validate_data(reset=True) does
        return mean, covariance, scale

    def transform(self, X):
        """Whitened rows :math:`W(x - \\mu)` (each row standardised first if asked).

        Parameters
        ----------
        X : array-like or dask array of shape (n_samples, n_features)
            Flattened images, as in ``fit``.

        Returns
        -------
        X_white : ndarray or dask array of shape (n_samples, n_features)
            float32 for float32 input, float64 otherwise; lazy for dask input.
        """
        check_is_fitted(self)
        if is_dask_collection(X):
            return lazy_rows(self, self.transform, X, self.n_features_in_)
        X = validate_rows(self, X, dtype=[np.float64, np.float32])
        dtype = X.dtype
        if self.standardize_images:
            X = standardize_rows(X)
        return ((X - self.mean_.astype(dtype)) @ self.whitening_.astype(dtype)).astype(
            dtype, copy=False)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
