"""Ridge regression and classification on NTK feature maps (ALGORITHMS.md section 9)."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MultiOutputMixin, RegressorMixin, clone
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils._array_api import check_same_namespace, get_namespace
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    _check_y,
    check_consistent_length,
    check_is_fitted,
    validate_data,
)

from ._backend import namespace_of, to_numpy
from ._base import rows_per_batch
from ._dask import is_dask_array, output_float_dtype
from ._ridge import RidgeStatistics, solve_ridge
from .feature_maps import NTKRandomFeatures, NTKSketch


def any_to_numpy(array):
    """Host NumPy copy of an array of any namespace (``y``, ``sample_weight``); None stays."""
    if array is None or isinstance(array, np.ndarray) or not hasattr(array, "__array_namespace__"):
        return array
    return to_numpy(get_namespace(array)[0], array)


class _BaseFeatureRidge(BaseEstimator):
    """Feature map + ridge solved from float64 sufficient statistics.

    Subclasses define ``_make_feature_map()``; the regressor/classifier halves define how
    targets become the float64 matrix ``Y`` (``_init_targets``/``_targets``) and store the
    solution (``_set_solution``). ``fit`` transforms ``X`` in row batches (the feature map's
    memory budget), accumulates :class:`~sklearn_ntk._ridge.RidgeStatistics` and solves once;
    ``partial_fit`` merges the statistics of each batch (so one pass of ``partial_fit`` equals
    ``fit``); on Dask input the statistics of the chunks are tree-reduced by dask.
    With several ``alphas`` one eigendecomposition of the Gram matrix gives the generalised
    cross-validation score of each.
    """

    _parameter_constraints = {
        "alpha": [Interval(Real, 0, None, closed="left")],
        "alphas": ["array-like", None],
        "fit_intercept": ["boolean"],
        "random_state": ["random_state"],
        "max_memory": [Interval(Integral, 1, None, closed="left"), None],
    }

    def _check_alphas(self):
        if self.alphas is None:
            return np.array([float(self.alpha)])
        alphas = np.asarray(self.alphas, dtype=np.float64).ravel()
        if alphas.size == 0 or not np.all(np.isfinite(alphas)) or np.any(alphas < 0):
            raise ValueError(
                f"alphas must be a non-empty sequence of finite non-negative numbers, "
                f"got {self.alphas!r}.")
        return alphas

    def _chunk_statistics(self, X, y, sample_weight):
        """Statistics of validated rows, featurised batch by batch within ``max_memory``.

        Each batch's features (plus their float64 centred copy) fit in the budget, and the
        feature map computes them in transform batches whose intermediates fit in it too (so
        at most twice ``max_memory`` is live); the batch statistics are merged exactly, so
        the whole feature matrix is never held at once.
        """
        xp, device = namespace_of(X)
        Y = self._targets(any_to_numpy(y))
        if sample_weight is not None:
            sample_weight = _check_sample_weight(any_to_numpy(sample_weight), np.empty(
                (X.shape[0], 0)), dtype=np.float64)
        feature_map = self.feature_map_
        # The budget bounds the features (plus their float64 centred copy) held at once; the
        # map's own intermediates are bounded separately by its transform batches. Counting
        # both here made batches of a few images for CNTKSketch, and the cost of the
        # m x m Gram update and merge per batch then dominated the fit.
        batch = rows_per_batch(3 * 8 * feature_map._n_features_out, self.max_memory)
        stats = None
        for start in range(0, max(X.shape[0], 1), batch):
            stop = min(start + batch, X.shape[0])
            Z = feature_map.transform(X[start:stop, ...])
            part = RidgeStatistics.from_chunk(
                Z, Y[start:stop], None if sample_weight is None else sample_weight[start:stop],
                xp=xp, device=device)
            stats = part if stats is None else stats.merge(part)
        return stats

    def _solve(self, stats, X):
        """Solve, then store every fitted array in the namespace/device of ``X``."""
        solution = solve_ridge(stats, self._check_alphas(), fit_intercept=self.fit_intercept)
        xp, device = namespace_of(X) if not is_dask_array(X) else (np, None)

        def put(array):
            return xp.asarray(np.ascontiguousarray(array), device=device)

        self.alpha_ = solution.alpha
        if solution.gcv_scores.size:
            self.gcv_scores_ = put(solution.gcv_scores)
        self._coef_matrix = put(solution.coef)
        self._intercept_vector = put(solution.intercept)
        self._set_solution(solution, put)
        return self

    def _validate(self, X, y, reset):
        """Validate X in its own namespace and y (any namespace) on the host."""
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None.")
        xp, _ = namespace_of(X)
        X = validate_data(self, X, dtype=[xp.float64, xp.float32], reset=reset)
        y = _check_y(any_to_numpy(y), **self._validate_y_kwargs())
        check_consistent_length(X, y)
        return X, y

    def _fit_dask(self, X, y, sample_weight):
        from ._dask import reduce_statistics

        if y is None or X.ndim != 2:
            raise ValueError("X must be a 2-D dask array and y must be given.")
        self.n_features_in_ = X.shape[1]
        self._init_targets(y.compute() if self._needs_all_targets() else y[:1].compute()
                           if hasattr(y, "compute") else np.asarray(y))
        dtype = output_float_dtype(X.dtype)
        self.feature_map_ = clone(self._make_feature_map()).fit(
            np.zeros((1, X.shape[1]), dtype=dtype))
        self._check_alphas()

        def chunk_statistics(X_block, y_block, w_block):
            X_block, y_block = self._validate(X_block, y_block, reset=False)
            return self._chunk_statistics(X_block, y_block, w_block)

        return self._solve(reduce_statistics(chunk_statistics, X, y, sample_weight), X)

    def fit(self, X, y, sample_weight=None):
        """Fit the feature map and the ridge model (one pass over the data).

        Parameters
        ----------
        X : array-like or dask array of shape (n_samples, n_features)
            A dask array is processed chunk by chunk (out of core, on any dask scheduler);
            the result equals the in-memory fit up to float rounding.
        y : array-like or dask array of shape (n_samples,) or (n_samples, n_targets)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : object
        """
        self._validate_params()
        self._reset_partial_fit()
        if is_dask_array(X):
            return self._fit_dask(X, y, sample_weight)
        X, y = self._validate(X, y, reset=True)
        self._init_targets(y)
        self.feature_map_ = clone(self._make_feature_map()).fit(X)
        self._check_alphas()
        return self._solve(self._chunk_statistics(X, y, sample_weight), X)

    def partial_fit(self, X, y, sample_weight=None, **kwargs):
        """Add a batch of rows to the sufficient statistics and re-solve.

        The first call fits the feature map (same ``random_state`` => same features as
        ``fit``); one pass of ``partial_fit`` over the batches of a data set gives the same
        coefficients as ``fit`` on all of it, up to float rounding. Each call solves the
        ridge system again (cost O(n_components^3)), so prefer large batches.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
        sample_weight : array-like of shape (n_samples,), default=None
        **kwargs : dict
            ``classes`` for the classifier: all labels, required on the first call.

        Returns
        -------
        self : object
        """
        first = getattr(self, "_partial_statistics", None) is None
        if first:
            self._validate_params()
            X, y = self._validate(X, y, reset=True)
            self._init_targets(y, **kwargs)
            self.feature_map_ = clone(self._make_feature_map()).fit(X)
            self._check_alphas()
            stats = self._chunk_statistics(X, y, sample_weight)
        else:
            X, y = self._validate(X, y, reset=False)
            stats = self._partial_statistics.merge(self._chunk_statistics(X, y, sample_weight))
        self._partial_statistics = stats
        return self._solve(stats, X)

    def _reset_partial_fit(self):
        self._partial_statistics = None

    def _needs_all_targets(self):
        return False

    def _scores(self, X, method):
        check_is_fitted(self)
        check_same_namespace(X, self, attribute="_coef_matrix", method=method)
        xp, _ = namespace_of(X)
        X = validate_data(self, X, reset=False, dtype=[xp.float64, xp.float32])
        Z = self.feature_map_.transform(X)
        return Z @ xp.astype(self._coef_matrix, Z.dtype) + xp.astype(self._intercept_vector,
                                                                      Z.dtype)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.array_api_support = True
        return tags

    def _lazy(self, method, X, one_column, dtype):
        """``method`` applied lazily to the row chunks of a dask array."""
        from ._dask import map_rows

        check_is_fitted(self)
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[-1]} features, but {type(self).__name__} is expecting "
                f"{self.n_features_in_} features as input.")
        return map_rows(method, X, None if one_column else self._n_score_columns(), dtype)


class FeatureRidgeRegressor(MultiOutputMixin, RegressorMixin, _BaseFeatureRidge):
    """Regressor half of the estimators: fit/predict given ``_make_feature_map``."""

    def _validate_y_kwargs(self):
        return {"multi_output": True, "y_numeric": True}

    def _init_targets(self, y):
        self._single_target = np.ndim(y) == 1

    def _targets(self, y):
        Y = np.asarray(y, dtype=np.float64)
        return Y[:, None] if Y.ndim == 1 else Y

    def _n_score_columns(self):
        return self._coef_matrix.shape[1]

    def _set_solution(self, solution, put):
        single = self._single_target
        self.coef_ = put(solution.coef[:, 0] if single else solution.coef.T)
        self.intercept_ = float(solution.intercept[0]) if single else put(solution.intercept)

    def predict(self, X):
        """Predict with the fitted ridge model on the features of ``X``.

        Parameters
        ----------
        X : array-like or dask array of shape (n_samples, n_features)
            Dask input gives a lazy dask result.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_targets)
        """
        if is_dask_array(X):
            return self._lazy(self.predict, X, self._single_target,
                              output_float_dtype(X.dtype))
        scores = self._scores(X, "predict")
        return scores[:, 0] if self._single_target else scores


class FeatureRidgeClassifier(ClassifierMixin, _BaseFeatureRidge):
    """Classifier half of the estimators: centred one-hot ridge given ``_make_feature_map``.

    Targets are the class indicators minus ``1/k`` for ``k`` classes.
    """

    def _validate_y_kwargs(self):
        return {}

    def _needs_all_targets(self):
        return True

    def _init_targets(self, y, classes=None):
        check_classification_targets(y)
        labels = y if classes is None else classes
        self.classes_ = LabelBinarizer().fit(np.asarray(labels)).classes_

    def _targets(self, y):
        y = np.asarray(y)
        k = len(self.classes_)
        unknown = ~np.isin(y, self.classes_)
        if np.any(unknown):
            raise ValueError(
                f"y contains labels {np.unique(y[unknown]).tolist()} not in classes "
                f"{self.classes_.tolist()}; pass every label as `classes` to the first "
                "partial_fit call.")
        if k == 1:
            return np.zeros((y.shape[0], 1))
        return (y[:, None] == self.classes_[None, :]).astype(np.float64) - 1.0 / k

    def _n_score_columns(self):
        return len(self.classes_) if len(self.classes_) > 2 else None

    def _set_solution(self, solution, put):
        self.coef_ = put(solution.coef.T)
        self.intercept_ = put(solution.intercept)

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Add a batch of rows and re-solve; ``classes`` (all labels) is required first.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        classes : array-like of shape (n_classes,), default=None
            Every label that will appear; required on the first call.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : object
        """
        if getattr(self, "_partial_statistics", None) is None and classes is None:
            if not hasattr(self, "classes_"):
                raise ValueError("classes must be passed to the first call to partial_fit.")
            classes = self.classes_  # a new pass after fit keeps fit's classes
        kwargs = {} if getattr(self, "_partial_statistics", None) is not None else \
            {"classes": classes}
        return super().partial_fit(X, y, sample_weight=sample_weight, **kwargs)

    def decision_function(self, X):
        """Regression scores per class; for two classes, ``score[1] - score[0]``.

        Parameters
        ----------
        X : array-like or dask array of shape (n_samples, n_features)

        Returns
        -------
        scores : ndarray of shape (n_samples, n_classes) or (n_samples,)
        """
        if is_dask_array(X):
            return self._lazy(self.decision_function, X, len(self.classes_) <= 2,
                              output_float_dtype(X.dtype))
        scores = self._scores(X, "decision_function")
        if len(self.classes_) == 2:
            return scores[:, 1] - scores[:, 0]
        if len(self.classes_) == 1:
            return scores[:, 0]
        return scores

    def predict(self, X):
        """Class with the largest score (lazy on dask input)."""
        if is_dask_array(X):
            return self._lazy(self.predict, X, True, self.classes_.dtype)
        scores = self._scores(X, "predict")
        xp, device = namespace_of(scores)
        if len(self.classes_) == 1:
            index = xp.zeros(scores.shape[0], dtype=xp.int64, device=device)
        else:
            index = xp.argmax(scores, axis=1)
        if self.classes_.dtype.kind in "iufb":  # numeric labels stay in X's namespace
            return xp.take(xp.asarray(self.classes_, device=device), index, axis=0)
        return self.classes_[to_numpy(xp, index)]


_FEATURE_MAP_PARAMS = {
    "n_components": [Interval(Integral, 1, None, closed="left")],
    "depth": [Interval(Integral, 1, None, closed="left")],
    "feature_map": [StrOptions({"sketch", "random_features"})],
    "degree": [Interval(Integral, 1, None, closed="left")],
    "bias": [Interval(Real, 0, None, closed="left")],
    "leverage_sampling": ["boolean"],
}


class _NTKFeatureMixin:
    """Builds the fully-connected NTK feature map named by the estimator's parameters."""

    def _make_feature_map(self):
        if self.feature_map == "sketch":
            if self.bias != 0:
                raise ValueError(
                    f"bias={self.bias!r} is not supported by feature_map='sketch' (NTKSketch "
                    "approximates the bias-free NTK); use feature_map='random_features' for "
                    "bias > 0.")
            return NTKSketch(n_components=self.n_components, depth=self.depth,
                             degree=self.degree, random_state=self.random_state,
                             max_memory=self.max_memory)
        return NTKRandomFeatures(n_components=self.n_components, depth=self.depth,
                                 bias=self.bias, leverage_sampling=self.leverage_sampling,
                                 random_state=self.random_state, max_memory=self.max_memory)


_COMMON_DOC = """
    Parameters
    ----------
    n_components : int, default=1024
        Number of features.
    depth : int, default=1
        Number of hidden ReLU layers of the network whose NTK is approximated.
    feature_map : {"sketch", "random_features"}, default="sketch"
        :class:`~sklearn_ntk.NTKSketch` (bias-free NTK) or
        :class:`~sklearn_ntk.NTKRandomFeatures` (any bias).
    degree : int, default=8
        Polynomial degree of the sketch (``feature_map="sketch"`` only).
    bias : float, default=0.0
        Bias standard deviation of the network (``feature_map="random_features"`` only; the
        sketch rejects ``bias > 0`` rather than approximate another kernel).
    leverage_sampling : bool, default=False
        Leverage-score sampling of the random features (``"random_features"`` only).
    alpha : float, default=1.0
        Ridge penalty, used when ``alphas`` is None.
    alphas : array-like of float, default=None
        Grid of penalties; the one with the smallest generalised cross-validation error is
        chosen, all from one eigendecomposition of :math:`Z^T Z`.
    fit_intercept : bool, default=True
        Centre features and targets (weighted by ``sample_weight``) and fit an intercept.
    random_state : int, RandomState instance or None, default=None
        Seeds the feature map.
    max_memory : int, default=None
        Bytes of intermediates per featurisation batch (``None``: 256 MiB, or
        ``working_memory`` when smaller).
"""


class NTKSketchRegressor(_NTKFeatureMixin, FeatureRidgeRegressor):
    __doc__ = """Ridge regression on NTK sketch / random features: approximate NTK regression.

    Fits :math:`\\min_w \\|Zw - y\\|^2 + \\alpha\\|w\\|^2` on :math:`Z = \\varphi(X)` with
    :math:`ZZ^T \\approx` the NTK of a ReLU network, at cost linear in ``n_samples``.
    """ + _COMMON_DOC + """
    Attributes
    ----------
    feature_map_ : NTKSketch or NTKRandomFeatures
        The fitted feature map.
    coef_ : ndarray of shape (n_components,) or (n_targets, n_components)
    intercept_ : float or ndarray of shape (n_targets,)
    alpha_ : float
        Penalty used (chosen by GCV when ``alphas`` is given).
    gcv_scores_ : ndarray of shape (n_alphas,)
        Mean squared GCV error per alpha (only when ``alphas`` is given).
    n_features_in_ : int

    References
    ----------
    A. Zandieh et al. *Scaling Neural Tangent Kernels via Sketching and Random Features*,
    NeurIPS 2021. G. Golub, M. Heath, G. Wahba. *Generalized Cross-Validation as a Method for
    Choosing a Good Ridge Parameter*, Technometrics 1979.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_ntk import NTKSketchRegressor
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(200, 5); y = np.sin(X[:, 0]) + 0.1 * rng.randn(200)
    >>> model = NTKSketchRegressor(n_components=512, depth=2, random_state=0).fit(X, y)
    >>> model.predict(X[:3]).shape
    (3,)
    """

    _parameter_constraints = {**_BaseFeatureRidge._parameter_constraints, **_FEATURE_MAP_PARAMS}

    def __init__(self, n_components=1024, *, depth=1, feature_map="sketch", degree=8,
                 bias=0.0, leverage_sampling=False, alpha=1.0, alphas=None,
                 fit_intercept=True, random_state=None, max_memory=None):
        self.n_components = n_components
        self.depth = depth
        self.feature_map = feature_map
        self.degree = degree
        self.bias = bias
        self.leverage_sampling = leverage_sampling
        self.alpha = alpha
        self.alphas = alphas
        self.fit_intercept = fit_intercept
        self.random_state = random_state
        self.max_memory = max_memory

class NTKSketchClassifier(_NTKFeatureMixin, FeatureRidgeClassifier):
    __doc__ = """Classification by ridge regression of centred one-hot targets on NTK features.

    As in Zandieh et al. (2021): targets are the class indicators minus ``1/k`` (k classes),
    ``decision_function`` returns the regression scores and ``predict`` their argmax (for two
    classes, the sign of the score difference).
    """ + _COMMON_DOC + """
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    feature_map_ : NTKSketch or NTKRandomFeatures
    coef_ : ndarray of shape (n_classes, n_components)
    intercept_ : ndarray of shape (n_classes,)
    alpha_ : float
    gcv_scores_ : ndarray of shape (n_alphas,)
        Only when ``alphas`` is given.
    n_features_in_ : int

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn_ntk import NTKSketchClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = NTKSketchClassifier(n_components=512, random_state=0).fit(X, y)
    >>> clf.predict(X[:2])
    array([0, 0])
    """

    _parameter_constraints = {**_BaseFeatureRidge._parameter_constraints, **_FEATURE_MAP_PARAMS}

    def __init__(self, n_components=1024, *, depth=1, feature_map="sketch", degree=8,
                 bias=0.0, leverage_sampling=False, alpha=1.0, alphas=None,
                 fit_intercept=True, random_state=None, max_memory=None):
        self.n_components = n_components
        self.depth = depth
        self.feature_map = feature_map
        self.degree = degree
        self.bias = bias
        self.leverage_sampling = leverage_sampling
        self.alpha = alpha
        self.alphas = alphas
        self.fit_intercept = fit_intercept
        self.random_state = random_state
        self.max_memory = max_memory
