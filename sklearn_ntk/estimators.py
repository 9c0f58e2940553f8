"""Ridge regression and classification on NTK feature maps."""

import contextlib
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MultiOutputMixin, RegressorMixin, clone
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils._array_api import get_namespace
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_y,
    check_consistent_length,
    check_is_fitted,
    validate_data,
)

from ._backend import check_same_namespace, namespace_of, to_numpy
from ._base import check_fits_in_memory, reject_bool_params, rows_per_batch, store_params, \
    validate_rows
from ._dask import as_dask_array, in_dask_block, is_dask_array, is_dask_collection, \
    lazy_rows, output_float_dtype
from ._progress import progress
from ._backend import _is_numpy
from ._ridge import RidgeStatistics, automatic_alphas, check_alphas, ridge_memory_bytes, \
    solve_ridge, solve_ridge_dual
from ._validation import MAX_BIAS
from .feature_maps import NTKRandomFeatures, NTKSketch
from .nystroem import NTKNystroem


def any_to_numpy(array):
    """Host NumPy copy of an array of any namespace (``y``, ``sample_weight``); None stays."""
    if array is None or isinstance(array, np.ndarray) or not hasattr(array, "__array_namespace__"):
        return array
    return to_numpy(get_namespace(array)[0], array)


def _check_weights(sample_weight, n_samples):
    """Host float64 sample weights: finite, non-negative, of length ``n_samples``."""
    if sample_weight is None:
        return None
    w = any_to_numpy(sample_weight)
    try:
        w = np.asarray(w, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"sample_weight must be numeric, got {sample_weight!r}.") from None
    if w.ndim == 0 and n_samples is not None:
        w = np.full(n_samples, float(w))
    if w.ndim != 1:
        raise ValueError(f"sample_weight must be 1-D, got shape {w.shape}.")
    if n_samples is not None and w.shape[0] != n_samples:
        raise ValueError(
            f"sample_weight has {w.shape[0]} entries, but X has {n_samples} samples.")
    if not np.all(np.isfinite(w)):
        raise ValueError("sample_weight must be finite (no NaN or inf).")
    if np.any(w < 0):
        raise ValueError("Negative values in data passed to sample_weight: weights must be "
                         "non-negative.")
    return w


def _same_value(a, b):
    try:
        return bool(np.all(a == b)) if not isinstance(a, str) else a == b
    except Exception:  # pragma: no cover - incomparable values
        return a is b


def _set_feature_names(estimator, names):
    """Record (or forget) ``feature_names_in_`` as ``validate_data`` would."""
    if names is not None:
        estimator.feature_names_in_ = names
    elif hasattr(estimator, "feature_names_in_"):
        del estimator.feature_names_in_


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
        "alpha": [Interval(Real, 0, None, closed="left"), None],
        "alphas": ["array-like", None],
        "fit_intercept": ["boolean"],
        "random_state": ["random_state"],
        "max_memory": [Interval(Integral, 1, None, closed="left"), None],
    }

    def _validate_params(self):
        super()._validate_params()
        reject_bool_params(self)

    def _check_alphas(self):
        """The penalties to try: ``alphas``, else ``[alpha]``, else None (the automatic grid)."""
        if self.alphas is None:
            return None if self.alpha is None else np.array([float(self.alpha)])
        return check_alphas(self.alphas)

    def _chunk_statistics(self, X, y, sample_weight):
        """Statistics of validated rows, featurised batch by batch within ``max_memory``.

        Each batch's features (plus their float64 copy) fit in the budget, and the feature
        map computes them in transform batches whose intermediates fit in it too; the batch
        statistics are merged exactly and in place, so the whole feature matrix is never
        held at once. Peak memory: the map's intermediates (at most ``max_memory``), one
        batch of features (at most half of it) and :func:`ridge_memory_bytes` (two m x m
        Gram matrices while accumulating, three while solving).
        """
        xp, device = namespace_of(X)
        Y = self._targets(any_to_numpy(y))
        sample_weight = _check_weights(sample_weight, X.shape[0])
        feature_map = self.feature_map_
        # The budget bounds the features (plus their float64 copy) held at once; the map's
        # own intermediates are bounded separately by its transform batches. Counting both
        # here made batches of a few images for CNTKSketch, and the cost of the m x m Gram
        # update and merge per batch then dominated the fit.
        batch = rows_per_batch(2 * 8 * feature_map._n_features_out, self.max_memory,
                               feature_map._batch_multiple(xp))
        stats = RidgeStatistics.empty(feature_map._n_features_out, Y.shape[1])
        with progress(-(-X.shape[0] // batch), self._verbosity(),
                      f"{type(self).__name__}.fit") as bar:
            for start in range(0, X.shape[0], batch):
                stop = min(start + batch, X.shape[0])
                Z = feature_map.transform(X[start:stop, ...])
                part = RidgeStatistics.from_chunk(
                    Z, Y[start:stop],
                    None if sample_weight is None else sample_weight[start:stop],
                    xp=xp, device=device)
                del Z
                stats.merge_into(part)
                del part
                bar.update()
        return stats

    def _verbosity(self):
        # inside a dask task the scheduler's own progress bar is the right report
        return 0 if in_dask_block() else getattr(self, "verbose", 0)

    def _check_memory(self, n_features):
        """Refuse before allocating when the ridge state cannot fit in this machine."""
        m = self.n_components
        check_fits_in_memory(
            ridge_memory_bytes(m, 1),
            f"the ridge statistics of {type(self).__name__}(n_components={m}) (three "
            f"{m} x {m} float64 matrices)")

    def _dual_statistics(self, X, y, sample_weight):
        """Statistics and the centred features of all rows, for the n x n (dual) solve.

        Used by ``fit`` when there are fewer rows than features (then the features, n x m,
        take less memory than the m x m Gram matrix the statistics hold anyway).
        """
        Y = self._targets(any_to_numpy(y))
        w = _check_weights(sample_weight, X.shape[0])
        Z = np.asarray(self.feature_map_.transform(X), dtype=np.float64)
        stats = RidgeStatistics.from_chunk(Z if self.fit_intercept else Z.copy(), Y, w)
        root_w = None if w is None else np.sqrt(w)[:, None]
        if self.fit_intercept:  # from_chunk centred and weighted Z in place
            Zc, Yc = Z, Y - stats.target_mean
        else:
            Zc, Yc = Z, Y.copy()
            if root_w is not None:
                Zc *= root_w
        if root_w is not None:
            Yc = Yc * root_w
        return stats, (Zc, Yc)

    def _use_dual(self, X):
        """The n x n solve pays when there are fewer rows than features (NumPy input)."""
        xp, _ = namespace_of(X)
        return _is_numpy(xp) and X.shape[0] < self.feature_map_._n_features_out

    def _solve(self, stats, X, dual=None):
        """Solve, then store every fitted array in the namespace/device of ``X``.

        ``dual``: the centred features and targets, to solve in the n x n sample space.
        """
        if stats.weight_sum <= 0:
            raise ValueError("sample_weight must contain at least one positive weight: "
                             "every weight is zero.")
        alphas = self._check_alphas()
        if alphas is None:
            alphas = automatic_alphas(stats)
        if dual is not None:
            solution = solve_ridge_dual(stats, *dual, alphas, fit_intercept=self.fit_intercept)
        else:
            solution = solve_ridge(stats, alphas, fit_intercept=self.fit_intercept)
        xp, device = namespace_of(X) if not is_dask_array(X) else (np, None)

        def put(array):
            return xp.asarray(np.ascontiguousarray(array), device=device)

        self.alpha_ = solution.alpha
        if solution.gcv_scores.size:
            self.gcv_scores_ = put(solution.gcv_scores)
            self.gcv_alphas_ = put(solution.gcv_alphas)
        else:  # a single penalty: no scores, and none left from an earlier grid fit
            for name in ("gcv_scores_", "gcv_alphas_"):
                self.__dict__.pop(name, None)
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
        dtype = [xp.float64, xp.float32]
        X = (validate_data(self, X, dtype=dtype, reset=True) if reset
             else validate_rows(self, X, dtype=dtype))
        y = self._check_targets(any_to_numpy(y))
        check_consistent_length(X, y)
        return X, y

    def _check_targets(self, y):
        return _check_y(y, **self._validate_y_kwargs())

    def _fit_dask(self, X, y, sample_weight):
        from ._dask import reduce_statistics

        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None.")
        X, feature_names = as_dask_array(X, "X")
        if X.ndim != 2:
            raise ValueError(f"X must be a 2-D dask array, got {X.ndim} dimension(s).")
        self.n_features_in_ = X.shape[1]
        _set_feature_names(self, feature_names)
        if is_dask_collection(y):
            y, _ = as_dask_array(y, "y")
        else:
            y = self._check_targets(any_to_numpy(y))
        if sample_weight is not None:
            if is_dask_collection(sample_weight):
                sample_weight, _ = as_dask_array(sample_weight, "sample_weight")
            else:
                sample_weight = _check_weights(sample_weight, None)
        # the classifier needs every label up front; the regressor only the target width
        if is_dask_array(y) and self._needs_all_targets():
            self._init_targets(self._check_targets(y.compute()))
        elif is_dask_array(y):  # the regressor needs only the target width
            self._init_targets(np.zeros((0,) + tuple(y.shape[1:])))
        else:
            self._init_targets(y)
        dtype = output_float_dtype(X.dtype)
        self._check_memory(X.shape[1])
        feature_map = clone(self._make_feature_map())
        # data-dependent maps (Nystroem landmarks) read a sample of X; the others its width
        self.feature_map_ = feature_map.fit(
            X if feature_map._fit_reads_data else np.zeros((1, X.shape[1]), dtype=dtype))
        self._check_alphas()
        n_targets = self._n_target_columns(y)

        def chunk_statistics(X_block, y_block, w_block):
            if X_block.shape[0] == 0:
                if y_block is not None and len(y_block) != 0:
                    raise ValueError("X and y have inconsistent numbers of samples in a chunk.")
                return RidgeStatistics.empty(self.feature_map_._n_features_out, n_targets)
            X_block, y_block = self._validate(X_block, y_block, reset=False)
            return self._chunk_statistics(X_block, y_block, w_block)

        stats = reduce_statistics(chunk_statistics, X, y, sample_weight)
        self._solve(stats, X)
        self._partial_statistics = stats
        return self

    def _n_target_columns(self, y):
        """Columns of the float64 target matrix (from the shape alone for the regressor)."""
        if self._needs_all_targets():
            return self._targets(np.asarray(self.classes_[:1])).shape[1]
        return 1 if len(y.shape) == 1 else int(y.shape[1])

    def fit(self, X, y, sample_weight=None):
        """Fit the feature map and the ridge model (one pass over the data).

        Parameters
        ----------
        X : array-like, dask array or dask DataFrame of shape (n_samples, n_features)
            Dask input is processed chunk by chunk (out of core, on any dask scheduler);
            the result equals the in-memory fit up to float rounding.
        y : array-like or dask array of shape (n_samples,) or (n_samples, n_targets)
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights, at least one of them positive: frequencies, so a row of
            weight 0 is a row left out (Nyström landmarks included, except in a Dask fit,
            which draws them from a sample of all rows) and weight 2 a row counted twice.

        Returns
        -------
        self : object
        """
        self._validate_params()
        self._reset_partial_fit()
        with self._unfitted_on_error():
            if is_dask_collection(X):
                return self._fit_dask(X, y, sample_weight)
            return self._fit_in_memory(X, y, sample_weight)

    def _fit_in_memory(self, X, y, sample_weight):
        X, y = self._validate(X, y, reset=True)
        self._init_targets(y)
        self._check_memory(X.shape[1])
        self.feature_map_ = self._fit_feature_map(X, sample_weight)
        self._check_alphas()
        if self._use_dual(X):
            stats, dual = self._dual_statistics(X, y, sample_weight)
            self._solve(stats, X, dual)
        else:
            stats = self._chunk_statistics(X, y, sample_weight)
            self._solve(stats, X)
        self._partial_statistics = stats
        return self

    def _fit_feature_map(self, X, sample_weight):
        """The feature map fitted on the rows of positive weight.

        Only data-dependent maps (Nyström landmarks) read the rows; leaving the zero-weight
        rows out keeps "weight 0" the same as "row removed" for them too.
        """
        feature_map = clone(self._make_feature_map())
        if sample_weight is not None and feature_map._fit_reads_data:
            w = _check_weights(sample_weight, X.shape[0])
            keep = np.flatnonzero(w > 0)
            if 0 < keep.size < X.shape[0]:
                xp, device = namespace_of(X)
                X = xp.take(X, xp.asarray(keep, device=device), axis=0)
        return feature_map.fit(X)

    @contextlib.contextmanager
    def _unfitted_on_error(self):
        """A fit that raises leaves the estimator unfitted, not half refitted.

        Without this a failed refit kept the old coefficients next to a newly drawn
        feature map, and predicted garbage instead of raising ``NotFittedError``.
        """
        try:
            yield
        except BaseException:
            for name in [k for k in vars(self) if k.endswith("_") and not k.startswith("__")]:
                delattr(self, name)
            for name in ("_coef_matrix", "_intercept_vector"):
                self.__dict__.pop(name, None)
            self._reset_partial_fit()
            raise

    def partial_fit(self, X, y, sample_weight=None, **kwargs):
        """Add a batch of rows to the sufficient statistics and re-solve.

        The first call (on an unfitted model) fits the feature map (same ``random_state`` =>
        same features as ``fit``); later calls, including calls after :meth:`fit`, continue
        from the current statistics, as scikit-learn's ``SGDRegressor.partial_fit`` continues
        from the current coefficients. One pass of ``partial_fit`` over the batches of a
        data set gives the same coefficients as ``fit`` on all of it, up to float rounding.
        Each call solves the ridge system again (cost O(n_components^3)), so prefer large
        batches. ``alpha`` and ``alphas`` may change between calls; the parameters of the
        feature map may not (that would mix features of different maps).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            The same number of targets in every call.
        sample_weight : array-like of shape (n_samples,), default=None
        **kwargs : dict
            ``classes`` for the classifier: all labels, required on the first call.

        Returns
        -------
        self : object
        """
        self._validate_params()
        if getattr(self, "_partial_statistics", None) is None:
            with self._unfitted_on_error():
                X, y = self._validate(X, y, reset=True)
                self._init_targets(y, **kwargs)
                self._check_memory(X.shape[1])
                self.feature_map_ = self._fit_feature_map(X, sample_weight)
                self._check_alphas()
                stats = self._chunk_statistics(X, y, sample_weight)
                self._solve(stats, X)
        else:
            # a batch that fails leaves the model as it was before the call
            self._check_same_feature_map()
            self._check_alphas()
            X, y = self._validate(X, y, reset=False)
            self._check_target_shape(y)
            stats = self._partial_statistics.merge(self._chunk_statistics(X, y, sample_weight))
            self._solve(stats, X)
        self._partial_statistics = stats
        return self

    def _check_same_feature_map(self):
        current_map = self._make_feature_map()
        if type(current_map) is not type(self.feature_map_):
            raise ValueError(
                f"partial_fit cannot continue: the feature map is now "
                f"{type(current_map).__name__} but the model was fitted with "
                f"{type(self.feature_map_).__name__}, so new features would not match the "
                "stored statistics. Call fit to start again.")
        fitted = self.feature_map_.get_params()
        current = current_map.get_params()
        # random_state is the map's own (drawn at the first fit); batching and reporting
        # do not change the features
        changed = sorted(k for k in current if k not in ("random_state", "max_memory", "verbose")
                         and not _same_value(current[k], fitted[k]))
        if changed:
            raise ValueError(
                f"partial_fit cannot continue: the feature-map parameter(s) {changed} changed "
                "since the model was fitted, so new features would not match the stored "
                "statistics. Call fit to start again.")
        # the new budget and verbosity apply to the batches from now on
        self.feature_map_.set_params(**{k: current[k] for k in ("max_memory", "verbose")
                                        if k in current})

    def _check_target_shape(self, y):
        expected = self._partial_statistics.cross.shape[1]
        width = self._targets(y[:1] if len(y) else y).shape[1]
        single = np.ndim(y) == 1
        if width != expected or (single != getattr(self, "_single_target", single)):
            raise ValueError(
                f"y has shape {np.shape(y)[1:] or '(n_samples,)'} per batch here but the model "
                f"was fitted with {'a 1-D y' if self._single_target else f'{expected} target columns'}; "
                "every partial_fit call must pass y of the same width.")

    def _reset_partial_fit(self):
        self._partial_statistics = None

    def _needs_all_targets(self):
        return False

    def _scores(self, X, method):
        """``Z W + b`` computed in row batches: the full feature matrix is never held."""
        check_is_fitted(self)
        check_same_namespace(X, self, attribute="_coef_matrix", method=method)
        xp, device = namespace_of(X)
        X = validate_rows(self, X, dtype=[xp.float64, xp.float32])
        feature_map = self.feature_map_
        itemsize = 4 if X.dtype == xp.float32 else 8
        batch = rows_per_batch(feature_map._bytes_per_row(itemsize)
                               + itemsize * feature_map._n_features_out, self.max_memory,
                               feature_map._batch_multiple(xp))
        coef = xp.astype(self._coef_matrix, X.dtype)
        intercept = xp.astype(self._intercept_vector, X.dtype)
        n = X.shape[0]
        if n <= batch:
            return feature_map.transform(X) @ coef + intercept
        out = xp.empty((n, coef.shape[1]), dtype=X.dtype, device=device)
        with progress(-(-n // batch), self._verbosity(), f"{type(self).__name__}.{method}") as bar:
            for start in range(0, n, batch):
                stop = min(start + batch, n)
                out[start:stop, ...] = (feature_map.transform(X[start:stop, ...]) @ coef
                                        + intercept)
                bar.update()
        return out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.array_api_support = True
        return tags

    def _lazy(self, method, X, one_column, dtype):
        """``method`` applied lazily to the row chunks of a dask array."""
        check_is_fitted(self)
        return lazy_rows(self, method, X, None if one_column else self._n_score_columns(),
                         dtype)


class FeatureRidgeRegressor(MultiOutputMixin, RegressorMixin, _BaseFeatureRidge):
    """Regressor half of the estimators: fit/predict given ``_make_feature_map``."""

    def _validate_y_kwargs(self):
        return {"multi_output": True, "y_numeric": True}

    def _check_targets(self, y):
        y = _check_y(y, **self._validate_y_kwargs())
        # array-API arrays (torch, CuPy) have numeric dtypes without NumPy's ``kind``
        if getattr(y.dtype, "kind", "f") not in "biuf":
            try:
                y = y.astype(np.float64)
            except (TypeError, ValueError):
                raise ValueError(
                    f"y must be numeric for {type(self).__name__} (a regressor); got values "
                    f"of dtype {y.dtype} such as {y.ravel()[:3].tolist()}. For class labels "
                    "use a classifier.") from None
        return y

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
        if is_dask_collection(X):
            return self._lazy(self.predict, X, self._single_target, None)
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
        labels = y if classes is None else classes
        try:
            check_classification_targets(y)
            self.classes_ = LabelBinarizer().fit(np.asarray(labels)).classes_
        except TypeError:
            kinds = sorted({type(v).__name__ for v in np.asarray(labels, dtype=object).ravel()})
            raise ValueError(
                f"{'classes' if classes is not None else 'y'} mixes label types {kinds}; "
                "labels must be all strings or all numbers.") from None

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
        elif classes is not None and getattr(self, "_partial_statistics", None) is not None:
            try:
                given = np.unique(np.asarray(classes))
                same = given.shape == self.classes_.shape and bool(np.all(given == self.classes_))
            except TypeError:  # labels of mixed types cannot be sorted: not the same set
                same = False
            if not same:
                raise ValueError(
                    f"classes={np.asarray(classes).tolist()!r} differs from the classes "
                    f"{self.classes_.tolist()!r} of the earlier partial_fit calls; the "
                    "labels cannot change between calls. Call fit to start again.")
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
        if is_dask_collection(X):
            return self._lazy(self.decision_function, X, len(self.classes_) <= 2, None)
        scores = self._scores(X, "decision_function")
        if len(self.classes_) == 2:
            return scores[:, 1] - scores[:, 0]
        if len(self.classes_) == 1:
            return scores[:, 0]
        return scores

    def predict(self, X):
        """Class with the largest score (lazy on dask input)."""
        if is_dask_collection(X):
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
    "verbose": ["verbose"],
    "n_components": [Interval(Integral, 1, None, closed="left")],
    "depth": [Interval(Integral, 1, None, closed="left")],
    "feature_map": [StrOptions({"sketch", "random_features", "nystroem"})],
    "degree": [Interval(Integral, 1, None, closed="left")],
    "bias": [Interval(Real, 0, MAX_BIAS, closed="both")],
    "leverage_sampling": ["boolean"],
}


def attributes_doc(feature_map, classifier=False):
    """The Attributes section of a ridge estimator on ``feature_map`` (a type's name)."""
    if classifier:
        head = ("    classes_ : ndarray of shape (n_classes,)\n"
                "        Class labels.\n")
        shapes = "(n_classes, n_components)", "ndarray of shape (n_classes,)"
    else:
        head = ""
        shapes = ("(n_components,) or (n_targets, n_components)",
                  "float or ndarray of shape (n_targets,)")
    return f"""
    Attributes
    ----------
{head}    feature_map_ : {feature_map}
        The fitted feature map.
    coef_ : ndarray of shape {shapes[0]}
        Ridge weights on the features.
    intercept_ : {shapes[1]}
    alpha_ : float
        Penalty used (chosen by GCV unless a single ``alpha`` is given).
    gcv_scores_ : ndarray of shape (n_alphas,)
        GCV score per alpha of the grid (only when a grid was searched):
        :math:`(\mathrm{{RSS}}/n) / (1 - \mathrm{{df}}/n)^2`, averaged over the target
        columns, with the weighted residual sum of squares :math:`\sum_i w_i r_i^2` and
        the row count :math:`n` of the ``alpha`` entry above (without weights, the mean
        squared GCV error).
    gcv_alphas_ : ndarray of shape (n_alphas,)
        The penalties ``gcv_scores_`` belongs to: ``alphas`` as given, or the automatic
        grid.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features seen during ``fit``, when ``X`` had string column names.
"""


# The ridge parameters, shared by every estimator's docstring.
RIDGE_PARAMS_DOC = r"""    alpha : float, default=None
        Ridge penalty, used when ``alphas`` is None. With both left at None (the default)
        the penalty is chosen by GCV over the automatic grid: the powers of ten
        :math:`\bar k \cdot 10^{-12}, \dots, \bar k \cdot 10^{4 + \lceil \log_{10}
        \max(1, \sum_i w_i) \rceil}` (``1e4`` times the number of rows, rounded up to a
        power of ten), with
        :math:`\bar k` the mean (weighted, centred) squared norm of the features, the scale
        of the kernel matrix, so the grid follows the data as ``RidgeCV`` users expect of a
        default. At the bottom a penalty acts as the pseudo-inverse; at the top it shrinks
        every direction of the features ten-thousandfold (the intercept alone); every score
        comes from the same eigendecomposition. Sample weights are frequencies, as in
        ``Ridge``: for a fixed penalty, multiplying every weight by ``c`` acts as dividing
        the penalty by ``c``; GCV counts :math:`\max(\sum_i w_i, \#\{w_i > 0\})` rows, so
        integer weights choose what repeated rows would, and zero weights what removed
        rows would (so, like repeated rows, weights above 1 can make GCV choose a penalty
        near zero when the features interpolate every row: see the user guide).
    alphas : array-like of float, default=None
        Grid of penalties; the one with the smallest generalised cross-validation error is
        chosen (``alphas`` wins over ``alpha`` when both are given), all from one eigendecomposition of :math:`Z^T Z` (or, when ``fit`` sees fewer
        samples than ``n_components``, of the smaller :math:`Z Z^T`: the same coefficients
        and scores, chosen automatically as ``RidgeCV(gcv_mode="auto")`` does).
    fit_intercept : bool, default=True
        Centre features and targets (weighted by ``sample_weight``) and fit an intercept.
    random_state : int, RandomState instance or None, default=None
        Seeds the feature map.
    max_memory : int, default=None
        Memory budget in bytes (``None``: 256 MiB, or scikit-learn's ``working_memory`` when
        smaller). ``predict``, ``decision_function`` and ``score`` featurise and multiply in
        batches and hold at most this much beyond their input and result. ``fit`` holds at
        most 1.5 times it (the feature map's intermediates plus a batch of features) plus
        the ridge state, three ``n_components`` x ``n_components`` float64 matrices
        (``24 * n_components**2`` bytes); a model whose ridge state cannot fit in this
        machine's memory is refused before any work. Results do not depend on it.
    verbose : int, default=0
        Report progress of long ``fit`` and ``predict`` loops (batches done / total, rate,
        time left): a ``tqdm`` bar when ``tqdm`` is installed, plain lines otherwise. On dask
        input use dask's own progress bar (``dask.diagnostics.ProgressBar``) instead.
"""


class _NTKFeatureMixin:
    """The NTK estimators' parameters, and the fully-connected feature map they name."""

    def __init__(self, n_components=1024, *, depth=1, feature_map="sketch", degree=8,
                 bias=0.0, leverage_sampling=False, alpha=None, alphas=None,
                 fit_intercept=True, random_state=None, max_memory=None, verbose=0):
        store_params(self, locals())

    def _make_feature_map(self):
        if self.feature_map == "nystroem":
            return NTKNystroem(n_components=self.n_components, depth=self.depth,
                               bias=self.bias, random_state=self.random_state,
                               max_memory=self.max_memory)
        if self.feature_map == "sketch":
            return NTKSketch(n_components=self.n_components, depth=self.depth,
                             degree=self.degree, bias=self.bias,
                             random_state=self.random_state, max_memory=self.max_memory)
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
    feature_map : {"sketch", "random_features", "nystroem"}, default="sketch"
        :class:`~sklearn_ntk.NTKSketch` (bias-free NTK), :class:`~sklearn_ntk.NTKRandomFeatures`
        (any bias) or :class:`~sklearn_ntk.NTKNystroem` (the exact NTK at ``n_components``
        landmarks chosen by randomly pivoted Cholesky; any bias). Nyström landmarks are rows
        of the data seen by ``fit`` (a sample of it for dask input); with ``partial_fit``
        they come from the first batch, so ``n_components`` is at most its size.
    degree : int, default=8
        Polynomial degree of the sketch (``feature_map="sketch"`` only).
    bias : float, default=0.0
        Bias standard deviation of the network. With ``feature_map="sketch"`` a bias switches
        :class:`~sklearn_ntk.NTKSketch` to its layer-wise path, which is much slower per row;
        ``"random_features"`` is the fast choice with a bias.
    leverage_sampling : bool, default=False
        Leverage-score sampling of the random features (``"random_features"`` only).
""" + RIDGE_PARAMS_DOC


class NTKSketchRegressor(_NTKFeatureMixin, FeatureRidgeRegressor):
    __doc__ = """Ridge regression on NTK sketch / random features: approximate NTK regression.

    Fits :math:`\\min_w \\|Zw - y\\|^2 + \\alpha\\|w\\|^2` on :math:`Z = \\varphi(X)` with
    :math:`ZZ^T \\approx` the NTK of a ReLU network, at cost linear in ``n_samples``.
    """ + _COMMON_DOC + attributes_doc("NTKSketch, NTKRandomFeatures or NTKNystroem") + """
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


class NTKSketchClassifier(_NTKFeatureMixin, FeatureRidgeClassifier):
    __doc__ = """Classification by ridge regression of centred one-hot targets on NTK features.

    As in Zandieh et al. (2021): targets are the class indicators minus ``1/k`` (k classes),
    ``decision_function`` returns the regression scores and ``predict`` their argmax (for two
    classes, the sign of the score difference).
    """ + _COMMON_DOC + attributes_doc("NTKSketch, NTKRandomFeatures or NTKNystroem",
                                       classifier=True) + """
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

