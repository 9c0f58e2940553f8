"""Inputs at the edges of float64: scale-free results, or a ValueError naming the argument.

The maps without bias are positively homogeneous and the estimators' penalty grid follows the
kernel's scale, so rescaling X by a constant must not change a fit (a common factor on the
sample weights acts on the penalty, as in scikit-learn's Ridge); where a result cannot be
represented (a bias breaks homogeneity) the error names X or bias.
"""

import os

import numpy as np
import pytest

from sklearn_ntk import (CNTKSketch, NTKNystroem, NTKRandomFeatures, NTKSketch,
                         NTKSketchClassifier, NTKSketchRegressor, ZCAWhitening, cntk_kernel,
                         ntk_kernel)
from sklearn_ntk.layers import Conv, Dense, GlobalAvgPool, ReLU

RNG = np.random.RandomState(0)
X_SMALL = RNG.randn(60, 5)


# ------------------------------------------------------------------------------- NTKNystroem


@pytest.mark.parametrize("scale", [1e155, 1e-165, 1e300, 1e-300])
@pytest.mark.parametrize("landmarks", ["rpcholesky", "uniform"])
def test_nystroem_is_homogeneous_at_any_scale(scale, landmarks):
    reference = NTKNystroem(20, depth=2, landmarks=landmarks, random_state=0).fit(X_SMALL)
    Z = reference.transform(X_SMALL)
    model = NTKNystroem(20, depth=2, landmarks=landmarks, random_state=0).fit(X_SMALL * scale)
    np.testing.assert_array_equal(model.component_indices_, reference.component_indices_)
    scaled = model.transform(X_SMALL * scale)
    assert np.all(np.isfinite(scaled))
    np.testing.assert_allclose(scaled / scale, Z, rtol=1e-9, atol=1e-12 * np.abs(Z).max())
    # the same kernel on the same landmark rows: the same features for the unscaled rows
    np.testing.assert_allclose(model.transform(X_SMALL), Z, rtol=1e-9,
                               atol=1e-12 * np.abs(Z).max())


def test_nystroem_near_duplicate_landmarks_at_huge_scale():
    """Large entries of K_LL^{+1/2} times huge kernel values: the row factor comes last."""
    rng = np.random.RandomState(3)
    base = rng.randn(8, 5)
    X = np.vstack([base, base + 1e-7 * rng.randn(8, 5)])
    reference = NTKNystroem(16, landmarks="uniform", random_state=0).fit(X)
    Z = reference.transform(X)
    model = NTKNystroem(16, landmarks="uniform", random_state=0).fit(X * 1e306)
    scaled = model.transform(X * 1e306)
    assert np.all(np.isfinite(scaled))
    np.testing.assert_allclose(scaled / 1e306, Z, rtol=1e-6, atol=1e-9 * np.abs(Z).max())


@pytest.mark.skipif(os.environ.get("SCIPY_ARRAY_API") != "1",
                    reason="set SCIPY_ARRAY_API=1 to test array-API inputs")
@pytest.mark.parametrize("scale", [1e-306, 1e300])
def test_nystroem_array_api_at_extreme_scales(scale):
    xps = pytest.importorskip("array_api_strict")
    from sklearn import config_context

    reference = NTKNystroem(20, depth=2, random_state=0).fit(X_SMALL)
    Z = reference.transform(X_SMALL)
    with config_context(array_api_dispatch=True):
        model = NTKNystroem(20, depth=2, random_state=0).fit(xps.asarray(X_SMALL * scale))
        scaled = np.asarray(model.transform(xps.asarray(X_SMALL * scale)))
    assert np.all(np.isfinite(scaled))
    np.testing.assert_allclose(scaled / scale, Z, rtol=1e-9, atol=1e-12 * np.abs(Z).max())


def test_nystroem_float32_rows_beyond_float32_squares():
    model = NTKNystroem(20, random_state=0).fit(X_SMALL)
    Z = model.transform(X_SMALL)
    big = model.transform((X_SMALL * 1e30).astype(np.float32))
    assert big.dtype == np.float32 and np.all(np.isfinite(big))
    np.testing.assert_allclose(big / 1e30, Z, rtol=1e-4, atol=1e-4 * np.abs(Z).max())


def test_nystroem_with_bias_refuses_rows_whose_squares_overflow():
    with pytest.raises(ValueError, match="X has values up to"):
        NTKNystroem(20, bias=0.5, random_state=0).fit(X_SMALL * 1e155)
    model = NTKNystroem(20, bias=0.5, random_state=0).fit(X_SMALL)
    with pytest.raises(ValueError, match="X has values up to"):
        model.transform(X_SMALL * 1e155)


# ------------------------------------------------------------------------------- CNTKSketch


def test_cntk_sketch_with_bias_refuses_or_widens_huge_images():
    X = RNG.randn(4, 32)
    net = [Conv(3, bias=0.5), ReLU(), GlobalAvgPool()]
    model = CNTKSketch(64, architecture=net, image_shape=(4, 4, 2), random_state=0).fit(X)
    with pytest.raises(ValueError, match="X has values up to"):
        model.transform(X * 1e155)
    # float32 images whose squares overflow float32 are featurised in float64
    wide = model.transform((X * 1e19).astype(np.float32))
    assert wide.dtype == np.float32 and np.all(np.isfinite(wide))
    exact = model.transform((X * 1e19).astype(np.float32).astype(np.float64))
    np.testing.assert_allclose(wide, exact, rtol=1e-5, atol=1e-5 * np.abs(exact).max())


# ------------------------------------------------------------------------------- ZCA


@pytest.mark.parametrize("standardize_images", [True, False])
@pytest.mark.parametrize("scale", [1e200, 1e-200, 1e305])
def test_zca_output_does_not_depend_on_the_scale(standardize_images, scale):
    X = RNG.randn(40, 16)
    reference = ZCAWhitening(standardize_images=standardize_images).fit(X).transform(X)
    model = ZCAWhitening(standardize_images=standardize_images).fit(X * scale)
    np.testing.assert_allclose(model.transform(X * scale), reference, atol=1e-12)


@pytest.mark.parametrize("standardize_images", [True, False])
def test_zca_dask_output_does_not_depend_on_the_scale(standardize_images):
    da = pytest.importorskip("dask.array")
    X = RNG.randn(40, 16)
    reference = ZCAWhitening(standardize_images=standardize_images).fit(X).transform(X)
    for scale in (1e305, 1e-300):
        D = da.from_array(X * scale, chunks=(7, 16))
        model = ZCAWhitening(standardize_images=standardize_images).fit(D)
        np.testing.assert_allclose(np.asarray(model.transform(D)), reference, atol=1e-12)


def test_zca_dask_without_features():
    da = pytest.importorskip("dask.array")
    with pytest.raises(ValueError, match="0 feature"):
        ZCAWhitening().fit(da.zeros((10, 0), chunks=5))


def test_zca_float32_rows_whose_squares_overflow_float32():
    X = RNG.randn(20, 16)
    model = ZCAWhitening().fit(X)
    reference = model.transform(X)
    Z = model.transform((X * 1e20).astype(np.float32))
    assert Z.dtype == np.float32
    np.testing.assert_allclose(Z, reference, atol=1e-4)


# ------------------------------------------------------------------------------- ridge


def _problem(n=40, d=6):
    rng = np.random.RandomState(1)
    X = rng.randn(n, d)
    return X, X[:, 0] + 0.1 * rng.randn(n)


@pytest.mark.parametrize("weight", [1e-15, 1e3, 1e160])
def test_a_common_factor_on_the_weights_acts_on_the_penalty(weight):
    """Weights are frequencies (as in scikit-learn's Ridge): c w with penalty c alpha fits
    w with alpha; GCV scores every penalty without overflow even for huge weights."""
    X, y = _problem()
    reference = NTKSketchRegressor(20, alpha=0.3, random_state=0).fit(X, y)
    model = NTKSketchRegressor(20, alpha=0.3 * weight, random_state=0).fit(
        X, y, sample_weight=np.full(40, weight))
    np.testing.assert_allclose(model.predict(X), reference.predict(X), rtol=1e-7, atol=1e-9)
    # GCV over the same relative grid: finite scores, a finite model
    for alphas in (weight * np.logspace(-6, 2, 9), None):
        grid = NTKSketchRegressor(20, alphas=alphas, random_state=0).fit(
            X, y, sample_weight=np.full(40, weight))
        assert np.all(np.isfinite(grid.gcv_scores_)) or alphas is None
        assert np.isfinite(np.min(grid.gcv_scores_)) and np.all(np.isfinite(grid.predict(X)))
    if weight < 1:
        # weights below one never count as fewer rows than there are: the choice is the
        # unweighted one, scaled
        grid = NTKSketchRegressor(20, alphas=weight * np.logspace(-6, 2, 9),
                                  random_state=0).fit(X, y, sample_weight=np.full(40, weight))
        unweighted = NTKSketchRegressor(20, alphas=np.logspace(-6, 2, 9),
                                        random_state=0).fit(X, y)
        assert grid.alpha_ == pytest.approx(weight * unweighted.alpha_, rel=1e-12)


@pytest.mark.parametrize("feature_map", ["sketch", "random_features"])
@pytest.mark.parametrize("n_components", [16, 64])  # primal and dual paths (40 rows)
def test_gcv_zero_weights_remove_rows_and_integer_weights_repeat_them(feature_map,
                                                                       n_components):
    """GCV chooses the same penalty, and the model predicts the same, whether rows are
    removed or weighted 0, and repeated or weighted by their count; counting zero-weight
    rows once made GCV choose interpolation."""
    X, y = _problem()
    counts = np.random.RandomState(3).randint(0, 4, size=40)
    counts[:3] = 0
    params = dict(n_components=n_components, feature_map=feature_map, random_state=0,
                  alphas=np.logspace(-10, 2, 25))
    weighted = NTKSketchRegressor(**params).fit(X, y, sample_weight=counts)
    repeated = NTKSketchRegressor(**params).fit(np.repeat(X, counts, axis=0),
                                                np.repeat(y, counts))
    assert weighted.alpha_ == pytest.approx(repeated.alpha_, rel=1e-9)
    np.testing.assert_allclose(weighted.gcv_scores_, repeated.gcv_scores_, rtol=1e-6)
    np.testing.assert_allclose(weighted.predict(X), repeated.predict(X), rtol=1e-6,
                               atol=1e-8)
    # the reviewer's case: 40 extra rows of zero weight change nothing
    noise = np.random.RandomState(4).randn(40, X.shape[1])
    padded = NTKSketchRegressor(**params).fit(
        np.r_[X, noise], np.r_[y, np.zeros(40)], sample_weight=np.r_[np.ones(40), np.zeros(40)])
    alone = NTKSketchRegressor(**params).fit(X, y)
    assert padded.alpha_ == pytest.approx(alone.alpha_, rel=1e-9)
    np.testing.assert_allclose(padded.predict(X), alone.predict(X), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("feature_map", ["sketch", "random_features", "nystroem"])
@pytest.mark.parametrize("scale", [1e80, 1e-80])
def test_gcv_is_scale_free(feature_map, scale):
    """n_components < n_samples (primal path): the GCV scores of a rescaled X."""
    X, y = _problem()
    reference = NTKSketchRegressor(20, feature_map=feature_map, random_state=0).fit(X, y)
    model = NTKSketchRegressor(20, feature_map=feature_map, random_state=0).fit(X * scale, y)
    assert model.alpha_ == pytest.approx(scale**2 * reference.alpha_, rel=1e-6)
    np.testing.assert_allclose(model.predict(X * scale), reference.predict(X), rtol=1e-6,
                               atol=1e-8)


# ------------------------------------------------------------------------------- parameters


@pytest.mark.parametrize("make", [
    lambda b: NTKSketch(16, bias=b).fit(X_SMALL),
    lambda b: NTKRandomFeatures(16, bias=b).fit(X_SMALL),
    lambda b: NTKNystroem(8, bias=b).fit(X_SMALL),
    lambda b: NTKSketchRegressor(16, bias=b).fit(X_SMALL, X_SMALL[:, 0]),
    lambda b: ntk_kernel(X_SMALL, bias=b),
    lambda b: Conv(3, bias=b),
    lambda b: Dense(bias=b),
])
def test_bias_beyond_float64_squares_is_refused(make):
    make(1.0)  # an ordinary bias is fine
    with pytest.raises(ValueError, match="bias"):
        make(1e160)


@pytest.mark.parametrize("depth", [1, 3, 30])
def test_bias_limit_keeps_deep_kernels_and_features_finite(depth):
    from sklearn_ntk._validation import MAX_BIAS, max_bias

    X = RNG.randn(3, 16)
    limit = max_bias(depth)
    assert np.all(np.isfinite(ntk_kernel(X, depth=depth, bias=limit)))
    for make in (NTKSketch, NTKRandomFeatures):
        assert np.all(np.isfinite(make(64, depth=depth, bias=limit, random_state=0)
                                  .fit_transform(X)))
    assert np.all(np.isfinite(NTKNystroem(3, depth=depth, bias=limit).fit_transform(X)))
    if limit < MAX_BIAS:  # deep networks: the depth lowers the limit, and the error says so
        for call in (lambda: ntk_kernel(X, depth=depth, bias=MAX_BIAS),
                     lambda: NTKSketch(64, depth=depth, bias=MAX_BIAS).fit(X),
                     lambda: NTKNystroem(3, depth=depth, bias=MAX_BIAS).fit(X)):
            with pytest.raises(ValueError, match=f"bias must be at most .* at depth {depth}"):
                call()


def test_bias_limit_keeps_a_convolutional_kernel_finite():
    from sklearn_ntk._validation import MAX_BIAS

    X = RNG.randn(3, 16)
    net = [Conv(3, bias=MAX_BIAS), ReLU(), Conv(3, bias=MAX_BIAS), ReLU(), GlobalAvgPool()]
    assert np.all(np.isfinite(cntk_kernel(X, architecture=net, image_shape=(4, 4))))


@pytest.mark.parametrize("make", [
    lambda: NTKSketch(16, bias=True),
    lambda: NTKRandomFeatures(16, bias=True),
    lambda: NTKNystroem(8, bias=True),
    lambda: NTKSketchRegressor(16, alpha=True),
])
def test_bools_for_real_parameters_are_refused(make):
    with pytest.raises(TypeError, match="a bool"):
        est = make()
        est.fit(X_SMALL, X_SMALL[:, 0]) if hasattr(est, "predict") else est.fit(X_SMALL)


def test_order0_components_count_in_the_memory_check():
    with pytest.raises(ValueError, match="arccos_order0_components"):
        NTKRandomFeatures(8, arccos_order0_components=10**12).fit(np.ones((2, 16)))
