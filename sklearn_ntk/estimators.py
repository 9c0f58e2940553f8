"""Ridge regression and classification on NTK feature maps (ALGORITHMS.md section 9)."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MultiOutputMixin, RegressorMixin, clone
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from ._ridge import RidgeStatistics, solve_ridge
from .feature_maps import NTKRandomFeatures, NTKSketch


class _BaseFeatureRidge(BaseEstimator):
    """Feature map + ridge solved from float64 sufficient statistics.

    Subclasses define ``_make_feature_map()``. Fitting transforms ``X`` in row batches (the
    feature map's memory budget), accumulates :class:`~sklearn_ntk._ridge.RidgeStatistics`
    and solves once; with several ``alphas`` one eigendecomposition of the Gram matrix gives
    the generalised cross-validation score of each.
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

    def _fit_targets(self, Y, sample_weight):
        """Fit the feature map on X and the ridge on float64 targets ``Y`` (n, t)."""
        alphas = self._check_alphas()
        X = self._X_fit
        del self._X_fit
        self.feature_map_ = clone(self._make_feature_map()).fit(X)
        Z = self.feature_map_.transform(X)
        stats = RidgeStatistics.from_chunk(Z, Y, sample_weight)
        solution = solve_ridge(stats, alphas, fit_intercept=self.fit_intercept)
        self.alpha_ = solution.alpha
        if solution.gcv_scores.size:
            self.gcv_scores_ = solution.gcv_scores
        return solution

    def _scores(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        Z = self.feature_map_.transform(X)
        coef = self._coef_matrix.astype(Z.dtype, copy=False)
        return Z @ coef + self._intercept_vector.astype(Z.dtype, copy=False)

    def _validate_X_y(self, X, y, **kwargs):
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32], **kwargs)
        self._X_fit = X
        return X, y


class FeatureRidgeRegressor(MultiOutputMixin, RegressorMixin, _BaseFeatureRidge):
    """Regressor half of the estimators: fit/predict given ``_make_feature_map``."""

    def fit(self, X, y, sample_weight=None):
        """Fit the feature map and the ridge model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : object
        """
        self._validate_params()
        X, y = self._validate_X_y(X, y, multi_output=True, y_numeric=True)
        sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
        Y = np.asarray(y, dtype=np.float64)
        single = Y.ndim == 1
        solution = self._fit_targets(Y[:, None] if single else Y, sample_weight)
        self._coef_matrix, self._intercept_vector = solution.coef, solution.intercept
        self.coef_ = solution.coef[:, 0] if single else solution.coef.T
        self.intercept_ = float(solution.intercept[0]) if single else solution.intercept
        return self

    def predict(self, X):
        """Predict with the fitted ridge model on the features of ``X``.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_targets)
        """
        scores = self._scores(X)
        return scores[:, 0] if np.ndim(self.coef_) == 1 else scores


class FeatureRidgeClassifier(ClassifierMixin, _BaseFeatureRidge):
    """Classifier half of the estimators: centred one-hot ridge given ``_make_feature_map``."""

    def fit(self, X, y, sample_weight=None):
        """Fit on centred one-hot targets.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : object
        """
        self._validate_params()
        X, y = self._validate_X_y(X, y)
        check_classification_targets(y)
        sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
        binarizer = LabelBinarizer().fit(y)
        self.classes_ = binarizer.classes_
        k = len(self.classes_)
        if k == 1:
            Y = np.zeros((X.shape[0], 1))
        else:
            onehot = (np.asarray(y)[:, None] == self.classes_[None, :]).astype(np.float64)
            Y = onehot - 1.0 / k
        solution = self._fit_targets(Y, sample_weight)
        self._coef_matrix, self._intercept_vector = solution.coef, solution.intercept
        self.coef_ = solution.coef.T
        self.intercept_ = solution.intercept
        return self

    def decision_function(self, X):
        """Regression scores per class; for two classes, ``score[1] - score[0]``.

        Returns
        -------
        scores : ndarray of shape (n_samples, n_classes) or (n_samples,)
        """
        scores = self._scores(X)
        if len(self.classes_) == 2:
            return scores[:, 1] - scores[:, 0]
        if len(self.classes_) == 1:
            return scores[:, 0]
        return scores

    def predict(self, X):
        """Class with the largest score."""
        scores = self._scores(X)
        if len(self.classes_) == 1:
            return np.repeat(self.classes_, scores.shape[0])
        return self.classes_[np.argmax(scores, axis=1)]


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
