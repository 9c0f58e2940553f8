"""The n x n (dual) ridge solve gives the primal's coefficients and GCV scores."""

import numpy as np
import pytest

from sklearn_ntk import NTKSketchClassifier, NTKSketchRegressor
from sklearn_ntk._ridge import KernelRidgePath, RidgeStatistics, solve_ridge, solve_ridge_dual

ALPHAS = [0.0, 1e-4, 1e-2, 1.0, 100.0]
# Near interpolation (alpha -> 0 with n < m) GCV is 0/0: the primal residual sum of squares
# is the difference of two nearly equal numbers and 1 - df/n is tiny, so scores there are
# rounding-dominated in both paths; they are compared above it.
WELL_POSED = slice(2, None)


def _centred(Z, Y, w, fit_intercept):
    stats = RidgeStatistics.from_chunk(Z.copy(), Y, w)
    root_w = np.sqrt(w)[:, None]
    if fit_intercept:
        Zc = (Z - stats.feature_mean) * root_w
        Yc = (Y - stats.target_mean) * root_w
    else:
        Zc, Yc = Z * root_w, Y * root_w
    return stats, Zc, Yc


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("n_targets", [1, 3])
def test_dual_equals_primal(fit_intercept, n_targets):
    rng = np.random.RandomState(0)
    n, m = 40, 120  # fewer samples than features: the primal Gram matrix is singular
    Z = rng.randn(n, m) + 0.5
    Y = Z[:, :5] @ rng.randn(5, n_targets) + 0.1 * rng.randn(n, n_targets)
    w = rng.uniform(0.5, 2.0, n)
    stats, Zc, Yc = _centred(Z, Y, w, fit_intercept)
    primal = solve_ridge(stats, ALPHAS, fit_intercept=fit_intercept)
    dual = solve_ridge_dual(stats, Zc, Yc, ALPHAS, fit_intercept=fit_intercept)
    np.testing.assert_allclose(dual.gcv_scores[WELL_POSED], primal.gcv_scores[WELL_POSED],
                               rtol=1e-6)
    # the dual's scores are those of its actual residuals
    n_samples = max(stats.weight_sum, stats.n_samples)  # frequency weights (w > 1 here)
    assert n_samples == pytest.approx(np.sum(w))
    for k, alpha in enumerate(ALPHAS[WELL_POSED], start=WELL_POSED.start):
        W = solve_ridge_dual(stats, Zc, Yc, [alpha], fit_intercept=fit_intercept).coef
        residual = Yc - Zc @ W
        eigvals = np.linalg.eigvalsh(Zc @ Zc.T)
        df = np.sum(eigvals / (eigvals + alpha)) + fit_intercept
        expected = np.sum(residual**2) / n_samples / (1 - df / n_samples) ** 2 / n_targets
        assert dual.gcv_scores[k] == pytest.approx(expected, rel=1e-6)
    np.testing.assert_allclose(dual.coef, primal.coef, atol=1e-8 * np.abs(primal.coef).max())
    np.testing.assert_allclose(dual.intercept, primal.intercept, atol=1e-8)
    for alpha in (0.0, 1.0):  # single alphas, including the minimum-norm interpolant
        single_primal = solve_ridge(stats, [alpha], fit_intercept=fit_intercept)
        single_dual = solve_ridge_dual(stats, Zc, Yc, [alpha], fit_intercept=fit_intercept)
        np.testing.assert_allclose(single_dual.coef, single_primal.coef,
                                   atol=1e-8 * np.abs(single_primal.coef).max())


def test_estimator_takes_the_dual_path_and_matches_the_primal(monkeypatch):
    rng = np.random.RandomState(1)
    X = rng.randn(60, 6)
    y = np.sin(X[:, 0]) + 0.05 * rng.randn(60)
    calls = []
    import sklearn_ntk.estimators as estimators

    original = estimators.solve_ridge_dual

    def spy(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(estimators, "solve_ridge_dual", spy)
    dual = NTKSketchRegressor(256, alphas=ALPHAS, random_state=0).fit(X, y)
    assert calls, "fewer samples than components: fit should solve in the sample space"
    # partial_fit on the same rows goes through the primal statistics
    primal = NTKSketchRegressor(256, alphas=ALPHAS, random_state=0).partial_fit(X, y)
    assert len(calls) == 1
    np.testing.assert_allclose(dual.gcv_scores_[WELL_POSED], primal.gcv_scores_[WELL_POSED],
                               rtol=1e-6)
    np.testing.assert_allclose(dual.coef_, primal.coef_, atol=1e-7 * np.abs(primal.coef_).max())
    np.testing.assert_allclose(dual.predict(X), primal.predict(X), atol=1e-7)
    # and fit followed by partial_fit continues from the statistics fit stored
    dual.partial_fit(X[:10], y[:10])
    both = NTKSketchRegressor(256, alphas=ALPHAS, random_state=0).partial_fit(
        np.vstack([X, X[:10]]), np.concatenate([y, y[:10]]))
    np.testing.assert_allclose(dual.coef_, both.coef_, atol=1e-7 * np.abs(both.coef_).max())


def test_dual_classifier_with_weights_matches_primal():
    rng = np.random.RandomState(2)
    X = rng.randn(50, 4)
    y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1)
    w = rng.uniform(0.2, 3.0, 50)
    dual = NTKSketchClassifier(128, alphas=ALPHAS, random_state=0).fit(X, y, sample_weight=w)
    primal = NTKSketchClassifier(128, alphas=ALPHAS, random_state=0).partial_fit(
        X, y, classes=np.unique(y), sample_weight=w)
    np.testing.assert_allclose(dual.coef_, primal.coef_, atol=1e-7 * np.abs(primal.coef_).max())
    np.testing.assert_array_equal(dual.predict(X), primal.predict(X))


def test_primal_gcv_near_interpolation_is_not_zero():
    # fewer rows than features: small penalties nearly interpolate; the textbook residual
    # formula cancelled to 0 there and GCV chose the smallest alpha for pure noise
    rng = np.random.RandomState(0)
    Z, Y = rng.randn(200, 400), rng.randn(200, 3)
    alphas = np.logspace(-6, 2, 9)
    stats = RidgeStatistics.from_chunk(Z.copy(), Y)
    primal = solve_ridge(stats, alphas)
    dual = solve_ridge_dual(stats, Z - stats.feature_mean, Y - stats.target_mean, alphas)
    assert np.all(primal.gcv_scores > 0.5 * np.var(Y))
    np.testing.assert_allclose(primal.gcv_scores, dual.gcv_scores, rtol=1e-6)
    assert primal.alpha == dual.alpha == alphas[-1]  # noise: the largest penalty wins


@pytest.mark.parametrize("n_targets", [1, 3])
def test_kernel_ridge_path_equals_feature_ridge_on_the_same_kernel(n_targets):
    """KernelRidgePath(Z Z^T) (what the benchmarks' exact kernel ridge uses) gives the
    feature-space solver's GCV scores, alpha and predictions; and at a fixed alpha the
    textbook centred kernel ridge solution."""

    rng = np.random.RandomState(3)
    n, m = 50, 20
    Z = rng.randn(n, m) + 0.3
    Z_new = rng.randn(7, m) + 0.3
    Y = Z[:, :4] @ rng.randn(4, n_targets) + 0.2 * rng.randn(n, n_targets) + 2.0
    alphas = [1e-3, 1e-1, 1.0, 10.0]
    stats = RidgeStatistics.from_chunk(Z.copy(), Y, np.ones(n))
    primal = solve_ridge(stats, alphas)
    path = KernelRidgePath(Z @ Z.T, Y[:, 0] if n_targets == 1 else Y, alphas)
    np.testing.assert_allclose(path.gcv_scores, primal.gcv_scores, rtol=1e-8)
    assert path.alpha == primal.alpha
    expected = Z_new @ primal.coef + primal.intercept
    got = path.decision_function(Z_new @ Z.T)
    np.testing.assert_allclose(got.reshape(expected.shape), expected, rtol=1e-8, atol=1e-10)
    # fixed alpha, against (Kc + alpha I)^{-1} Yc with the centring written out
    C = np.eye(n) - 1.0 / n
    Kc = C @ (Z @ Z.T) @ C
    dual = np.linalg.solve(Kc + 0.1 * np.eye(n), Y - Y.mean(axis=0))
    np.testing.assert_allclose(path.dual_coef(0.1), dual, rtol=1e-8, atol=1e-10)
    with pytest.raises(ValueError, match="finite"):
        KernelRidgePath(np.full((3, 3), np.nan), np.ones(3), alphas)
    with pytest.raises(ValueError, match="square"):
        KernelRidgePath(np.ones((3, 4)), np.ones(3), alphas)


def test_dual_gcv_keeps_the_residual_of_repeated_rows():
    """n < m but rank-deficient features (repeated rows with different targets): the part of
    the targets in the kernel's null space is residual for every alpha, and the dual GCV
    scores must count it as the primal ones do (dropping it scored near-zero errors)."""
    rng = np.random.RandomState(4)
    base = rng.randn(15, 60)
    Z = np.concatenate([base, base])  # 30 rows, rank 15, 60 features
    Y = rng.randn(30, 2)
    w = np.ones(30)
    stats, Zc, Yc = _centred(Z, Y, w, True)
    primal = solve_ridge(stats, ALPHAS[1:])
    dual = solve_ridge_dual(stats, Zc, Yc, ALPHAS[1:])
    np.testing.assert_allclose(dual.gcv_scores, primal.gcv_scores, rtol=1e-6)
    # the residual of the repeated rows alone: half their target differences, squared
    floor = np.sum((Y[:15] - Y[15:]) ** 2) / 2
    assert dual.gcv_scores.min() * 30 >= floor / 2  # RSS / n scaled back, per target
    np.testing.assert_allclose(dual.coef, primal.coef, atol=1e-8 * np.abs(primal.coef).max())


@pytest.mark.parametrize("alpha", [1e-3, 1.0, 10.0])
@pytest.mark.parametrize("n_targets", [1, 2])
def test_kernel_ridge_leave_one_out_equals_refitting_without_the_row(alpha, n_targets):
    """The closed-form leave-one-out predictions are those of 30 refits, each without one
    row (intercept refitted too)."""
    rng = np.random.RandomState(5)
    X = rng.randn(30, 5)
    K = (X @ X.T + 1.0) ** 2
    Y = rng.randn(30, n_targets)[:, 0] if n_targets == 1 else rng.randn(30, n_targets)
    loo = KernelRidgePath(K, Y, [alpha]).leave_one_out(alpha)
    assert loo.shape == Y.shape
    refits = []
    for i in range(30):
        keep = np.arange(30) != i
        path = KernelRidgePath(K[np.ix_(keep, keep)], Y[keep], [alpha])
        refits.append(path.decision_function(K[i:i + 1, keep], alpha)[0])
    np.testing.assert_allclose(loo, np.array(refits), rtol=1e-6,
                               atol=1e-8 * np.abs(Y).max())


@pytest.mark.parametrize("shape, block", [((7, 10), 3), ((5, 9), 9), ((4, 8), 4), ((6, 3), 1)])
def test_gram_matrix_in_blocks(shape, block):
    """The blocked Gram matrix (which avoids NumPy's single large SYRK call, a segfault in
    OpenBLAS for outputs of about 16,000 columns) equals A.T @ A and is exactly symmetric."""
    from sklearn_ntk._ridge import gram_matrix

    A = np.random.default_rng(0).standard_normal(shape)
    G = gram_matrix(A, block=block)
    np.testing.assert_allclose(G, A.T @ A, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(G, G.T)


def test_statistics_and_dual_solve_use_blocks(monkeypatch):
    """Ridge statistics (NumPy and array-API paths) and the dual solve are the same with
    Gram blocks of 3 columns as in one piece."""
    import sklearn_ntk._ridge as ridge

    rng = np.random.default_rng(1)
    Z, Y = rng.standard_normal((20, 11)), rng.standard_normal((20, 2))
    whole = RidgeStatistics.from_chunk(Z.copy(), Y)  # (a NumPy Z is centred in place)
    Zd, Yd = Z[:8], Y[:8]  # fewer rows than features: the dual path
    few = RidgeStatistics.from_chunk(Zd.copy(), Yd)
    Zc, Yc = Zd - Zd.mean(0), Yd - Yd.mean(0)
    dual_whole = solve_ridge_dual(few, Zc, Yc, [0.1, 1.0])
    monkeypatch.setattr(ridge, "GRAM_BLOCK", 3)
    blocked = RidgeStatistics.from_chunk(Z.copy(), Y)
    np.testing.assert_allclose(blocked.gram, whole.gram, rtol=1e-12, atol=1e-12)
    dual = solve_ridge_dual(few, Zc, Yc, [0.1, 1.0])
    np.testing.assert_allclose(dual.coef, dual_whole.coef, rtol=1e-10, atol=1e-12)
    xp = pytest.importorskip("array_api_strict")
    Zx = xp.asarray(Z)
    strict = RidgeStatistics.from_chunk(Zx, Y, xp=xp, device=Zx.device)
    np.testing.assert_allclose(strict.gram, whole.gram, rtol=1e-12, atol=1e-12)
