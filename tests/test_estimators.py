"""Tests of the ridge estimators on NTK features (doc/mathematics.rst, "Ridge regression").

The ridge solution, its GCV scores and its handling of ``sample_weight`` are checked against
independent computations (``sklearn.linear_model.Ridge`` on the transformed features, an
explicit hat matrix, row repetition); the approximate NTK regression against exact kernel ridge
with :func:`sklearn_ntk.ntk_kernel`.
"""

import pickle
import zlib

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_iris
from sklearn.kernel_ridge import KernelRidge
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_ntk import (
    NTKRandomFeatures,
    NTKSketch,
    NTKSketchClassifier,
    NTKSketchRegressor,
    ntk_kernel,
)


@pytest.fixture
def rng(request):
    """A generator seeded differently (and reproducibly) for every test."""
    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))


def _smooth_problem(rng, n, d=5, noise=0.05):
    X = rng.standard_normal((n, d))
    y = np.sin(X[:, 0]) + 0.5 * X[:, 1] * X[:, 2] + 0.3 * X[:, 3] + noise * rng.standard_normal(n)
    return X, y


# --------------------------------------------------------------------- scikit-learn API checks


@parametrize_with_checks([
    NTKSketch(n_components=64, random_state=0),
    NTKRandomFeatures(64, random_state=0),
    NTKSketchRegressor(64, random_state=0),
    NTKSketchRegressor(64, feature_map="random_features", bias=0.5, random_state=0),
    NTKSketchClassifier(64, random_state=0),
    NTKSketchClassifier(64, alphas=[0.1, 1, 10], random_state=0),
])
def test_sklearn_compatible(estimator, check):
    check(estimator)


# --------------------------------------------------------------------- model selection


def test_grid_search_in_pipeline(rng):
    X, y = _smooth_problem(rng, 400)
    # badly scaled, shifted inputs: the StandardScaler step matters
    scale, shift = rng.uniform(0.5, 20.0, size=X.shape[1]), rng.uniform(-5, 5, size=X.shape[1])
    X = X * scale + shift
    X_train, X_test, y_train, y_test = X[:300], X[300:], y[:300], y[300:]
    pipe = Pipeline([("scale", StandardScaler()),
                     ("ntk", NTKSketchRegressor(random_state=0))])
    grid = GridSearchCV(pipe, {"ntk__n_components": [64, 256], "ntk__depth": [1, 2],
                               "ntk__alpha": [0.1, 1.0]}, cv=3)
    grid.fit(X_train, y_train)
    scores = grid.cv_results_["mean_test_score"]
    assert np.all(np.isfinite(scores))
    # every parameter reaches the model: no two candidates score the same
    assert len(np.unique(np.round(scores, 12))) == len(scores)
    # the search's score of the winner is what a plain cross-validation of it gives
    assert grid.best_score_ == pytest.approx(cross_val_score(
        clone(pipe).set_params(**grid.best_params_), X_train, y_train, cv=3).mean(), abs=1e-12)
    assert grid.best_score_ == np.max(grid.cv_results_["mean_test_score"])
    assert grid.best_score_ > 0.5
    best = grid.best_estimator_.named_steps["ntk"]
    assert best.get_params()["n_components"] == grid.best_params_["ntk__n_components"]
    assert grid.score(X_test, y_test) > 0.5


@pytest.mark.parametrize("make", [
    lambda: NTKSketchRegressor(128, depth=2, random_state=3),
    lambda: NTKSketchRegressor(128, feature_map="random_features", bias=0.3, random_state=3),
    lambda: NTKSketchClassifier(128, random_state=3),
])
def test_clone_and_pickle_round_trip(make, rng):
    est = make()
    X, y = _smooth_problem(rng, 150)
    if isinstance(est, NTKSketchClassifier):
        y = np.digitize(y, np.quantile(y, [1 / 3, 2 / 3]))
    X_test = rng.standard_normal((40, X.shape[1]))
    est.fit(X, y)
    expected = est.predict(X_test)
    cloned = clone(est)
    assert not hasattr(cloned, "coef_")
    np.testing.assert_array_equal(cloned.fit(X, y).predict(X_test), expected)
    restored = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(restored.predict(X_test), expected)
    if isinstance(est, NTKSketchClassifier):
        np.testing.assert_array_equal(restored.decision_function(X_test),
                                      est.decision_function(X_test))


# --------------------------------------------------------------------- GCV over alphas


def _brute_force_gcv(Z, Y, alpha, fit_intercept):
    """GCV = (RSS/n) / (1 - df/n)^2 per target, averaged, from the explicit hat matrix."""
    n = Z.shape[0]
    Y = Y.reshape(n, -1)
    if fit_intercept:
        Zc, Yc = Z - Z.mean(axis=0), Y - Y.mean(axis=0)
    else:
        Zc, Yc = Z, Y
    H = Zc @ np.linalg.solve(Zc.T @ Zc + alpha * np.eye(Z.shape[1]), Zc.T)
    residual = Yc - H @ Yc
    df = np.trace(H) + (1.0 if fit_intercept else 0.0)
    return np.sum(residual ** 2) / n / (1.0 - df / n) ** 2 / Y.shape[1]


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("kind", ["regressor", "multi_target", "classifier"])
def test_gcv_scores_match_hat_matrix(kind, fit_intercept, rng):
    alphas = [1e-3, 1e-2, 0.1, 1.0, 10.0, 100.0]
    X, y = _smooth_problem(rng, 120, noise=0.3)
    if kind == "multi_target":
        y = np.column_stack([y, np.cos(X[:, 1]) + 0.1 * rng.standard_normal(len(y))])
    if kind == "classifier":
        y = np.digitize(y, np.quantile(y, [0.3, 0.7]))
        est = NTKSketchClassifier(64, alphas=alphas, fit_intercept=fit_intercept,
                                  random_state=1)
        k = 3
        Y = (y[:, None] == np.arange(k)[None, :]).astype(float) - 1.0 / k
    else:
        est = NTKSketchRegressor(64, alphas=alphas, fit_intercept=fit_intercept,
                                 random_state=1)
        Y = y
    est.fit(X, y)
    Z = est.feature_map_.transform(X)
    brute = np.array([_brute_force_gcv(Z, Y, a, fit_intercept) for a in alphas])
    assert est.gcv_scores_.shape == (len(alphas),)
    np.testing.assert_allclose(est.gcv_scores_, brute, rtol=1e-8)
    # the chosen alpha minimises GCV
    assert est.alpha_ == alphas[int(np.argmin(brute))]
    assert est.alpha_ == alphas[int(np.argmin(est.gcv_scores_))]
    # and the coefficients are those of that alpha
    single = clone(est).set_params(alphas=None, alpha=est.alpha_).fit(X, y)
    np.testing.assert_allclose(est.coef_, single.coef_, rtol=1e-8,
                               atol=1e-10 * np.abs(single.coef_).max())


def test_gcv_selects_interior_alpha_on_noisy_data(rng):
    """With strong noise and n close to n_components, neither tiny nor huge alpha wins."""
    X, y = _smooth_problem(rng, 150, noise=1.0)
    alphas = np.logspace(-6, 6, 13)
    est = NTKSketchRegressor(128, alphas=alphas, random_state=0).fit(X, y)
    Z = est.feature_map_.transform(X)
    brute = np.array([_brute_force_gcv(Z, y, a, True) for a in alphas])
    assert est.alpha_ == alphas[np.argmin(brute)]
    assert alphas[0] < est.alpha_ < alphas[-1]


# --------------------------------------------------------------------- ridge solution


@pytest.mark.parametrize("feature_map", ["sketch", "random_features"])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
def test_coefficients_equal_sklearn_ridge(feature_map, fit_intercept, weighted, rng):
    X, y = _smooth_problem(rng, 200)
    y = y + 3.0  # a non-zero mean, so the intercept matters
    alpha = 0.7
    sample_weight = rng.uniform(0.1, 3.0, size=len(y)) if weighted else None
    est = NTKSketchRegressor(96, feature_map=feature_map, alpha=alpha,
                             fit_intercept=fit_intercept, random_state=2)
    est.fit(X, y, sample_weight=sample_weight)
    Z = est.feature_map_.transform(X)
    ref = Ridge(alpha=alpha, fit_intercept=fit_intercept, solver="cholesky")
    ref.fit(Z, y, sample_weight=sample_weight)
    scale = np.abs(ref.coef_).max()
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-8, atol=1e-8 * scale)
    np.testing.assert_allclose(est.intercept_, ref.intercept_, rtol=1e-8, atol=1e-8)
    X_test = rng.standard_normal((30, X.shape[1]))
    np.testing.assert_allclose(est.predict(X_test),
                               ref.predict(est.feature_map_.transform(X_test)),
                               rtol=1e-8, atol=1e-8)


def test_multi_target_coefficients_equal_sklearn_ridge(rng):
    X, y = _smooth_problem(rng, 150)
    Y = np.column_stack([y, -2 * y + 1, rng.standard_normal(len(y))])
    est = NTKSketchRegressor(64, alpha=2.0, random_state=0).fit(X, Y)
    ref = Ridge(alpha=2.0, solver="cholesky").fit(est.feature_map_.transform(X), Y)
    assert est.coef_.shape == (3, 64)
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-8,
                               atol=1e-8 * np.abs(ref.coef_).max())
    np.testing.assert_allclose(est.intercept_, ref.intercept_, rtol=1e-8, atol=1e-8)
    assert est.predict(X[:7]).shape == (7, 3)


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("estimator", ["regressor", "classifier"])
def test_integer_sample_weight_equals_row_repetition(estimator, fit_intercept, rng):
    X, y = _smooth_problem(rng, 120)
    if estimator == "classifier":
        y = np.digitize(y, np.quantile(y, [0.3, 0.7]))
        make = NTKSketchClassifier
    else:
        make = NTKSketchRegressor
    weights = rng.integers(0, 4, size=len(y))
    weights[:3] = [0, 2, 3]  # make sure zeros and repeats are both present
    est = make(64, alpha=0.5, fit_intercept=fit_intercept, random_state=4)
    weighted = clone(est).fit(X, y, sample_weight=weights)
    repeated = clone(est).fit(np.repeat(X, weights, axis=0), np.repeat(y, weights))
    scale = np.abs(repeated.coef_).max()
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, rtol=1e-8, atol=1e-9 * scale)
    np.testing.assert_allclose(weighted.intercept_, repeated.intercept_, rtol=1e-8, atol=1e-9)
    # and weights do matter (the test would not notice an ignored sample_weight otherwise)
    unweighted = clone(est).fit(X, y)
    assert not np.allclose(unweighted.coef_, weighted.coef_, rtol=1e-3)


# --------------------------------------------------------------------- classifier


@pytest.mark.parametrize("feature_map", ["sketch", "random_features"])
def test_classifier_on_iris(feature_map):
    X, y = load_iris(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0,
                                                        stratify=y)
    scaler = StandardScaler().fit(X_train)
    clf = NTKSketchClassifier(512, feature_map=feature_map, alpha=0.1, random_state=0)
    clf.fit(scaler.transform(X_train), y_train)
    X_test = scaler.transform(X_test)
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    scores = clf.decision_function(X_test)
    assert scores.shape == (len(X_test), 3)
    pred = clf.predict(X_test)
    np.testing.assert_array_equal(pred, clf.classes_[np.argmax(scores, axis=1)])
    assert np.mean(pred == y_test) > 0.9
    assert clf.score(X_test, y_test) > 0.9


def test_classifier_string_labels_and_binary(rng):
    X = rng.standard_normal((200, 4))
    y = np.where(X[:, 0] + 0.5 * X[:, 1] ** 2 > 0.5, "yes", "no")
    clf = NTKSketchClassifier(256, alpha=0.1, random_state=0).fit(X, y)
    np.testing.assert_array_equal(clf.classes_, ["no", "yes"])
    scores = clf.decision_function(X)
    assert scores.shape == (len(X),)
    pred = clf.predict(X)
    np.testing.assert_array_equal(pred, np.where(scores > 0, "yes", "no"))
    assert np.mean(pred == y) > 0.9
    # the binary score is the difference of the two centred one-hot regressions
    Z = clf.feature_map_.transform(X)
    two = Z @ clf.coef_.T + clf.intercept_
    np.testing.assert_allclose(scores, two[:, 1] - two[:, 0], rtol=1e-10, atol=1e-10)


def test_classifier_many_classes_decision_shape(rng):
    k = 5
    centres = 3 * rng.standard_normal((k, 6))
    y = rng.integers(0, k, size=250)
    X = centres[y] + 0.5 * rng.standard_normal((250, 6))
    labels = np.array([10, 20, 30, 40, 50])[y]
    clf = NTKSketchClassifier(256, alpha=0.1, random_state=0).fit(X, labels)
    np.testing.assert_array_equal(clf.classes_, [10, 20, 30, 40, 50])
    scores = clf.decision_function(X)
    assert scores.shape == (250, k)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[np.argmax(scores, axis=1)])
    assert np.mean(clf.predict(X) == labels) > 0.9
    # regression on centred one-hot targets: coefficients equal Ridge on those targets
    Y = (labels[:, None] == clf.classes_[None, :]).astype(float) - 1.0 / k
    ref = Ridge(alpha=0.1, solver="cholesky").fit(clf.feature_map_.transform(X), Y)
    np.testing.assert_allclose(clf.coef_, ref.coef_, rtol=1e-8,
                               atol=1e-8 * np.abs(ref.coef_).max())
    np.testing.assert_allclose(clf.intercept_, ref.intercept_, rtol=1e-8, atol=1e-8)


# --------------------------------------------------------------------- approximation of KRR


@pytest.mark.parametrize("depth", [1, 2])
@pytest.mark.slow
def test_sketch_regression_approximates_exact_kernel_ridge(depth, rng):
    X, y = _smooth_problem(rng, 400, d=5, noise=0.1)
    X_train, X_test, y_train = X[:300], X[300:], y[:300]
    alpha = 1.0
    K_train = ntk_kernel(X_train, depth=depth)
    K_test = ntk_kernel(X_test, X_train, depth=depth)
    exact = KernelRidge(alpha=alpha, kernel="precomputed").fit(K_train, y_train)
    exact_pred = exact.predict(K_test)
    sketch = NTKSketchRegressor(2048, depth=depth, alpha=alpha, fit_intercept=False,
                                random_state=0).fit(X_train, y_train)
    approx_pred = sketch.predict(X_test)
    assert np.corrcoef(exact_pred, approx_pred)[0, 1] > 0.95
    # the approximation error is small compared with the spread of the predictions
    assert np.linalg.norm(approx_pred - exact_pred) < 0.3 * np.linalg.norm(exact_pred)


# --------------------------------------------------------------------- dtypes


@pytest.mark.parametrize("feature_map", ["sketch", "random_features"])
def test_float32_input_gives_float32_predictions(feature_map, rng):
    X, y = _smooth_problem(rng, 150)
    reg = NTKSketchRegressor(128, feature_map=feature_map, random_state=0)
    reg.fit(X.astype(np.float32), y.astype(np.float32))
    pred32 = reg.predict(X.astype(np.float32))
    assert pred32.dtype == np.float32
    pred64 = reg.predict(X)
    assert pred64.dtype == np.float64
    np.testing.assert_allclose(pred32, pred64, rtol=0,
                               atol=1e-4 * np.abs(pred64).max())
    labels = (y > np.median(y)).astype(int)
    clf = NTKSketchClassifier(128, feature_map=feature_map, random_state=0)
    clf.fit(X.astype(np.float32), labels)
    assert clf.decision_function(X.astype(np.float32)).dtype == np.float32
