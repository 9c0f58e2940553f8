"""The automatic penalty grid spans every penalty that can matter."""

import numpy as np
import pytest

from sklearn_ntk import NTKSketchClassifier, NTKSketchRegressor
from sklearn_ntk._ridge import automatic_alpha_factors

# nine powers of ten around the kernel's scale: GCV's minimum can fall on their ends
NARROW = np.logspace(-7, 1, 9)


def _scale(Z):
    """The automatic grid's scale: the mean centred squared norm of the features."""
    return np.sum((Z - Z.mean(axis=0)) ** 2) / len(Z)


def _noiseless(n, n_components, seed=0):
    """Targets an exact linear function of the model's own features: GCV wants alpha -> 0."""
    rng = np.random.RandomState(seed)
    X = rng.randn(n, 5)
    probe = NTKSketchRegressor(n_components, random_state=0).fit(X, rng.randn(n))
    Z = probe.feature_map_.transform(X)
    return X, Z @ rng.randn(Z.shape[1]), Z


def test_grid_is_powers_of_ten_of_the_kernel_scale():
    X, y, Z = _noiseless(200, 64)
    model = NTKSketchRegressor(64, random_state=0).fit(X, y)
    # from 1e-12 to 1e4 * n (n = 200: 1e7) times the scale
    np.testing.assert_allclose(model.gcv_alphas_, _scale(Z) * np.logspace(-12, 7, 20),
                               rtol=1e-10)
    assert model.gcv_scores_.shape == model.gcv_alphas_.shape == automatic_alpha_factors(200).shape
    assert model.alpha_ == model.gcv_alphas_[np.argmin(model.gcv_scores_)]


@pytest.mark.parametrize("n", [50, 20_000])
def test_top_of_the_grid_shrinks_every_direction(n):
    """The largest penalty is at least 1e4 times the Gram matrix's largest eigenvalue."""
    rng = np.random.RandomState(5)
    X = rng.randn(n, 5)
    y = rng.randn(n)  # independent of X: GCV wants the largest penalty
    model = NTKSketchRegressor(64, random_state=0).fit(X, y)
    Z = model.feature_map_.transform(X)
    Zc = Z - Z.mean(axis=0)
    largest = np.linalg.eigvalsh(Zc.T @ Zc)[-1]
    assert model.gcv_alphas_[-1] >= 1e4 * largest
    if n > 1000:  # GCV is reliable here: the intercept alone, to about four digits
        assert model.alpha_ == model.gcv_alphas_[-1]
        np.testing.assert_allclose(model.predict(X), y.mean(), atol=1e-3 * np.std(y))


def test_minimum_below_the_narrow_grid_is_found():
    X, y, Z = _noiseless(400, 64)
    scale = _scale(Z)
    model = NTKSketchRegressor(64, random_state=0).fit(X, y)
    narrow = NTKSketchRegressor(64, alphas=scale * NARROW, random_state=0).fit(X, y)
    assert narrow.alpha_ == pytest.approx(scale * NARROW[0])  # stuck on the narrow edge
    assert model.alpha_ < 0.5 * scale * NARROW[0]
    assert np.min(model.gcv_scores_) < np.min(narrow.gcv_scores_)
    # the wider grid scores the narrow one's penalties identically
    common = np.isin(np.round(np.log10(model.gcv_alphas_ / scale)), np.log10(NARROW))
    np.testing.assert_allclose(model.gcv_scores_[common], narrow.gcv_scores_, rtol=1e-9)
    # and the fit at its penalty is closer to the noiseless targets
    assert np.mean((model.predict(X) - y) ** 2) < np.mean((narrow.predict(X) - y) ** 2)


def test_minimum_above_the_narrow_grid_is_found():
    rng = np.random.RandomState(1)
    X = rng.randn(300, 5)
    y = rng.randn(300)  # independent of X: the best fit is (nearly) the intercept alone
    model = NTKSketchRegressor(64, random_state=0).fit(X, y)
    scale = _scale(model.feature_map_.transform(X))
    assert model.alpha_ > 2 * scale * NARROW[-1]
    np.testing.assert_allclose(model.predict(X), y.mean(), atol=0.05 * np.std(y))


def test_dual_and_primal_score_the_same_grid(monkeypatch):
    """Fewer rows than features: the dual path scores and chooses as the primal does."""
    rng = np.random.RandomState(3)
    X = rng.randn(50, 4)
    y = (X[:, 0] > 0).astype(int)
    dual = NTKSketchClassifier(256, random_state=0).fit(X, y)
    monkeypatch.setattr(NTKSketchClassifier, "_use_dual", lambda self, X: False)
    primal = NTKSketchClassifier(256, random_state=0).fit(X, y)
    np.testing.assert_allclose(dual.gcv_alphas_, primal.gcv_alphas_, rtol=1e-12)
    well_posed = dual.gcv_alphas_ > 1e-6 * _scale(dual.feature_map_.transform(X))
    np.testing.assert_allclose(dual.gcv_scores_[well_posed], primal.gcv_scores_[well_posed],
                               rtol=1e-6)
    assert dual.alpha_ == pytest.approx(primal.alpha_, rel=1e-12)


def test_given_alphas_are_scored_as_given():
    X, y, _ = _noiseless(200, 32)
    model = NTKSketchRegressor(32, alphas=[1e-2, 1e-1, 1.0], random_state=0).fit(X, y)
    np.testing.assert_array_equal(model.gcv_alphas_, [1e-2, 1e-1, 1.0])


def test_single_alpha_refit_drops_the_scores_of_an_earlier_grid():
    rng = np.random.RandomState(4)
    X, y = rng.randn(100, 3), rng.randn(100)
    model = NTKSketchRegressor(32, random_state=0).fit(X, y)
    assert hasattr(model, "gcv_scores_") and hasattr(model, "gcv_alphas_")
    model.set_params(alpha=1.0).fit(X, y)
    assert not hasattr(model, "gcv_scores_") and not hasattr(model, "gcv_alphas_")
