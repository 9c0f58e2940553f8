"""feature_map="nystroem" in the estimators: scikit-learn checks, Dask, accuracy."""

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.kernel_ridge import KernelRidge
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_ntk import NTKNystroem, NTKSketchClassifier, NTKSketchRegressor, ntk_kernel


@parametrize_with_checks([
    NTKSketchRegressor(n_components=16, feature_map="nystroem", random_state=0),
    NTKSketchClassifier(n_components=16, feature_map="nystroem", random_state=0),
])
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_nystroem_with_all_rows_equals_exact_kernel_ridge():
    rng = np.random.RandomState(0)
    X = rng.randn(80, 5)
    y = np.sin(X[:, 0]) + 0.1 * rng.randn(80)
    model = NTKSketchRegressor(80, feature_map="nystroem", depth=2, bias=0.3, alpha=0.1,
                               fit_intercept=False, random_state=0).fit(X, y)
    exact = KernelRidge(alpha=0.1, kernel="precomputed").fit(
        ntk_kernel(X, depth=2, bias=0.3), y)
    X_test = rng.randn(20, 5)
    np.testing.assert_allclose(model.predict(X_test),
                               exact.predict(ntk_kernel(X_test, X, depth=2, bias=0.3)),
                               atol=1e-6)
    assert isinstance(model.feature_map_, NTKNystroem)


def test_nystroem_classifier_close_to_exact_on_digits():
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    clf = NTKSketchClassifier(512, feature_map="nystroem", depth=2,
                              alphas=np.logspace(-4, 1, 6), random_state=0).fit(X[:1200], y[:1200])
    assert clf.score(X[1200:], y[1200:]) >= 0.93


def test_nystroem_dask_fit_reads_a_sample_of_the_rows():
    da = pytest.importorskip("dask.array")
    rng = np.random.RandomState(1)
    X = rng.randn(300, 4)
    y = X[:, 0] ** 2 + 0.1 * rng.randn(300)
    Xd, yd = da.from_array(X, chunks=(75, -1)), da.from_array(y, chunks=75)
    model = NTKSketchRegressor(40, feature_map="nystroem", alpha=0.1, random_state=0).fit(Xd, yd)
    assert model.feature_map_.components_.shape == (40, 4)  # real landmarks, not a zero row
    ref = NTKSketchRegressor(40, feature_map="nystroem", alpha=0.1, random_state=0).fit(X, y)
    # 300 rows are below the dask sample bound: the same landmarks and coefficients
    np.testing.assert_allclose(model.coef_, ref.coef_, atol=1e-8)


def test_zero_weight_rows_are_never_landmarks():
    """A zero weight is the row removed, for the landmarks too: the model equals the one
    fitted without those rows (same landmarks, penalty and predictions)."""
    rng = np.random.RandomState(0)
    X = rng.randn(60, 4)
    y = X[:, 0] + 0.1 * rng.randn(60)
    w = np.ones(60)
    w[rng.choice(60, 20, replace=False)] = 0.0
    weighted = NTKSketchRegressor(16, feature_map="nystroem", random_state=0).fit(
        X, y, sample_weight=w)
    removed = NTKSketchRegressor(16, feature_map="nystroem", random_state=0).fit(
        X[w > 0], y[w > 0])
    np.testing.assert_array_equal(weighted.feature_map_.components_,
                                  removed.feature_map_.components_)
    assert weighted.alpha_ == pytest.approx(removed.alpha_, rel=1e-9)
    np.testing.assert_allclose(weighted.predict(X), removed.predict(X), rtol=1e-9, atol=1e-12)
