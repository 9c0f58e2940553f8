"""Tests of the NTK feature maps NTKSketch and NTKRandomFeatures (doc/mathematics.rst).

The acceptance tests compare Z Z^T with the exact kernel of :func:`sklearn_ntk.ntk_kernel`
(relative Frobenius error, mean over three seeds, fresh standard-normal data); the rest checks
unbiasedness with very few columns, the exactness of the batching and dtype handling, and the
parameter and input validation.
"""

import zlib

import numpy as np
import pytest

from sklearn_ntk import (
    NTKRandomFeatures,
    NTKSketch,
    NTKSketchClassifier,
    NTKSketchRegressor,
    ntk_kernel,
)
from sklearn_ntk._arccos import ntk_on_sphere


@pytest.fixture
def rng(request):
    """A generator seeded differently (and reproducibly) for every test."""
    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))


def _relative_error(Z, K):
    return np.linalg.norm(Z @ Z.T - K) / np.linalg.norm(K)


def _mean_error(make, X, K, seeds=(0, 1, 2)):
    return float(np.mean([_relative_error(make(seed).fit_transform(X), K) for seed in seeds]))


# --------------------------------------------------------------------- acceptance


@pytest.mark.parametrize("depth", [1, 2, 3])
@pytest.mark.parametrize("feature_map", ["sketch", "random_features"])
@pytest.mark.slow
def test_acceptance_error_against_exact_ntk(feature_map, depth, rng):
    X = rng.standard_normal((300, 16))
    K = ntk_kernel(X, depth=depth)
    cls = NTKSketch if feature_map == "sketch" else NTKRandomFeatures
    error_4096 = _mean_error(lambda s: cls(4096, depth=depth, random_state=s), X, K)
    error_256 = _mean_error(lambda s: cls(256, depth=depth, random_state=s), X, K)
    assert error_4096 <= 0.10, (error_4096, error_256)
    assert 2.5 * error_4096 <= error_256, (error_4096, error_256)


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_nngp_features_against_exact_nngp(depth, rng):
    X = rng.standard_normal((300, 16))
    K = ntk_kernel(X, depth=depth, kind="nngp")
    error = _mean_error(
        lambda s: NTKRandomFeatures(2048, depth=depth, kind="nngp", random_state=s), X, K)
    assert error <= 0.10
    # the NTK features do not approximate the NNGP kernel (the test can tell them apart)
    ntk_error = _relative_error(
        NTKRandomFeatures(2048, depth=depth, random_state=0).fit_transform(X), K)
    assert ntk_error > 3 * error


@pytest.mark.parametrize("depth, bias", [(1, 0.5), (2, 0.5), (2, 2.0), (3, 0.5)])
@pytest.mark.slow
def test_random_features_with_bias(depth, bias, rng):
    X = rng.standard_normal((300, 16))
    K = ntk_kernel(X, depth=depth, bias=bias)
    grams = [(lambda Z: Z @ Z.T)(NTKRandomFeatures(4096, depth=depth, bias=bias,
                                                   random_state=s).fit_transform(X))
             for s in (0, 1, 2)]
    error = np.mean([np.linalg.norm(G - K) / np.linalg.norm(K) for G in grams])
    assert error <= 0.10
    # the bias matters: the average of the estimates is clearly closer to the kernel with
    # this bias than to the bias-free one
    mean_gram = np.mean(grams, axis=0)
    K0 = ntk_kernel(X, depth=depth)
    assert (np.linalg.norm(mean_gram - K0) / np.linalg.norm(K0)
            > 1.5 * np.linalg.norm(mean_gram - K) / np.linalg.norm(K))


def test_random_features_nngp_with_bias(rng):
    X = rng.standard_normal((300, 16))
    K = ntk_kernel(X, depth=2, bias=0.5, kind="nngp")
    error = _mean_error(lambda s: NTKRandomFeatures(2048, depth=2, bias=0.5, kind="nngp",
                                                    random_state=s), X, K)
    assert error <= 0.10


def test_leverage_sampling_accuracy(rng):
    X = rng.standard_normal((300, 16))
    K = ntk_kernel(X, depth=1)
    error = _mean_error(lambda s: NTKRandomFeatures(4096, leverage_sampling=True,
                                                    random_state=s), X, K)
    assert error <= 0.12
    small = _mean_error(lambda s: NTKRandomFeatures(256, leverage_sampling=True,
                                                    random_state=s), X, K)
    assert 2.5 * error <= small
    # leverage sampling draws other directions than plain Gaussian sampling
    Z1 = NTKRandomFeatures(64, leverage_sampling=True, random_state=0).fit_transform(X)
    Z2 = NTKRandomFeatures(64, leverage_sampling=False, random_state=0).fit_transform(X)
    assert not np.allclose(Z1, Z2)


def test_leverage_sampling_distribution():
    """Order-1 directions: radius ~ chi_{d+2} (mean sqrt(2) Gamma((d+3)/2)/Gamma((d+2)/2))."""
    d = 6
    fm = NTKRandomFeatures(4003, leverage_sampling=True, random_state=0).fit(np.ones((2, d)))
    radii = np.linalg.norm(np.asarray(fm.input_weights_), axis=0)
    assert radii.shape == (fm.n_arccos_components_,)
    # E r^2 = d + 2 under p(w) ~ |w|^2 N(w; 0, I), against d for plain Gaussian directions
    assert abs(np.mean(radii ** 2) - (d + 2)) < 0.25
    plain = NTKRandomFeatures(4003, random_state=0).fit(np.ones((2, d)))
    assert abs(np.mean(np.linalg.norm(np.asarray(plain.input_weights_), axis=0) ** 2) - d) < 0.25


# --------------------------------------------------------------------- unbiasedness, few columns


def _average_gram(make, X, n_draws):
    estimates = []
    for seed in range(n_draws):
        Z = make(seed).fit_transform(X)
        estimates.append(Z @ Z.T)
    estimates = np.asarray(estimates)
    return estimates.mean(axis=0), estimates.std(axis=0, ddof=1) / np.sqrt(n_draws)


@pytest.mark.parametrize("n_components", [1, 2, 3, 4])
def test_sketch_unbiased_with_few_columns(n_components, rng):
    X = rng.standard_normal((3, 5))
    X[1] = X[0] + 0.5 * X[1]
    degree = 4
    mean, se = _average_gram(lambda s: NTKSketch(n_components, degree=degree, random_state=s),
                             X, 1000)
    fm = NTKSketch(n_components, degree=degree, random_state=0).fit(X)
    norms = np.linalg.norm(X, axis=1)
    t = np.clip(X @ X.T / np.outer(norms, norms), -1, 1)
    # the exact expectation: |x||y| sum_j c_j t^j
    coef = np.asarray(fm.polynomial_coef_)
    expected = np.outer(norms, norms) * np.polynomial.polynomial.polyval(t, coef)
    scale = np.abs(expected).max()
    assert se.max() <= 0.1 * scale
    np.testing.assert_array_less(np.abs(mean - expected), 5 * se + 1e-12)
    # ... which is within the fit error of the NTK
    K = ntk_kernel(X, depth=1)
    assert np.all(np.abs(expected - K) <= fm.fit_error_ * np.outer(norms, norms) + 1e-12)


@pytest.mark.parametrize("n_components", [1, 2, 3])
@pytest.mark.parametrize("bias", [0.0, 0.5])
def test_random_features_unbiased_with_few_columns(n_components, bias, rng):
    """At depth 1 the random features are exactly unbiased for the NTK."""
    X = rng.standard_normal((3, 5))
    X[1] = X[0] + 0.5 * X[1]
    mean, se = _average_gram(lambda s: NTKRandomFeatures(n_components, bias=bias,
                                                         exact_norms=False,
                                                         random_state=s), X, 1000)
    K = ntk_kernel(X, depth=1, bias=bias)
    assert se.max() <= 0.1 * np.abs(K).max()
    np.testing.assert_array_less(np.abs(mean - K), 5 * se + 1e-12)


@pytest.mark.parametrize("bias", [0.0, 0.5])
def test_leverage_sampling_unbiased(bias, rng):
    """Leverage-score directions with their importance weights, no norm rescaling: exactly
    unbiased at depth 1 (dropping the weights biases every entry up by about (d + 2) / d)."""
    X = rng.standard_normal((3, 5))
    X[1] = X[0] + 0.5 * X[1]
    mean, se = _average_gram(lambda s: NTKRandomFeatures(
        64, bias=bias, leverage_sampling=True, exact_norms=False, random_state=s), X, 400)
    K = ntk_kernel(X, depth=1, bias=bias)
    assert se.max() <= 0.02 * np.abs(K).max()
    np.testing.assert_array_less(np.abs(mean - K), 5 * se + 1e-12)


@pytest.mark.parametrize("depth", [2, 3])
def test_random_features_without_exact_norms(depth, rng):
    """Without the per-layer norm rescaling, which would hide a wrong scale at any layer, the
    features still estimate the deep NTK: error at 4096 <= 0.10 at depth 2 (the issue's
    bound), and decreasing with width at depth 3 (where the unrescaled noise of three layers
    adds up to about 0.10)."""
    X = rng.standard_normal((300, 16))
    K = ntk_kernel(X, depth=depth, bias=0.5)

    def error(m):
        return _mean_error(lambda s: NTKRandomFeatures(m, depth=depth, bias=0.5,
                                                       exact_norms=False, random_state=s),
                           X, K)

    wide, narrow = error(4096), error(256)
    if depth == 2:
        assert wide <= 0.10
    assert 2.5 * wide <= narrow


@pytest.mark.parametrize("bias", [0.0, 0.5])
def test_exact_norms_give_the_exact_diagonal(bias, rng):
    X = rng.standard_normal((6, 7))
    for depth in (1, 3):
        for kind in ("ntk", "nngp"):
            Z = NTKRandomFeatures(300, depth=depth, bias=bias, kind=kind,
                                  random_state=0).fit_transform(X)
            K = ntk_kernel(X, depth=depth, bias=bias, kind=kind)
            np.testing.assert_allclose(np.einsum("ij,ij->i", Z, Z), np.diag(K), rtol=1e-12)


@pytest.mark.slow
def test_exact_norms_ratio_bias_shrinks_with_width(rng):
    """Rescaling to exact norms is a ratio estimator: at a small width its mean over draws
    misses the kernel by many standard errors; at 16x the width the miss is clearly smaller.
    Without the rescaling (exact_norms=False) the same test finds no bias at the small width."""
    X = rng.standard_normal((4, 5))
    X[1] = X[0] + 0.3 * X[1]
    K = ntk_kernel(X, depth=1)  # depth 1: without the rescaling every entry is unbiased
    off = ~np.eye(len(X), dtype=bool)

    def bias_and_se(n_components, exact_norms, draws):
        mean, se = _average_gram(lambda s: NTKRandomFeatures(
            n_components, depth=1, exact_norms=exact_norms, random_state=s), X, draws)
        return np.abs(mean - K)[off].max() / np.abs(K).max(), se[off].max() / np.abs(K).max()

    small, small_se = bias_and_se(8, True, 4000)
    wide, wide_se = bias_and_se(128, True, 4000)
    assert small > 5 * small_se, (small, small_se)
    assert small - wide > 5 * np.hypot(small_se, wide_se), (small, wide, small_se, wide_se)
    plain, plain_se = bias_and_se(8, False, 4000)
    assert plain < 5 * plain_se, (plain, plain_se)


@pytest.mark.parametrize("n_components", [1, 5])
def test_nngp_random_features_unbiased_with_few_columns(n_components, rng):
    X = rng.standard_normal((3, 5))
    mean, se = _average_gram(lambda s: NTKRandomFeatures(n_components, kind="nngp",
                                                         exact_norms=False,
                                                         random_state=s), X, 1000)
    K = ntk_kernel(X, depth=1, kind="nngp")
    assert se.max() <= 0.1 * np.abs(K).max()
    np.testing.assert_array_less(np.abs(mean - K), 5 * se + 1e-12)


# --------------------------------------------------------------------- output width


_WIDTHS = [1, 2, 3, 4, 5, 16, 17, 100, 101]


@pytest.mark.parametrize("make", [
    lambda m: NTKSketch(m, random_state=0),
    lambda m: NTKSketch(m, depth=2, degree=3, exact_linear=False, random_state=0),
    lambda m: NTKSketch(m, exact_linear=True, random_state=0) if m >= 9 else None,
    lambda m: NTKSketch(m, sketch_dim=8, random_state=0),
    lambda m: NTKRandomFeatures(m, random_state=0),
    lambda m: NTKRandomFeatures(m, depth=2, bias=0.5, random_state=0),
    lambda m: NTKRandomFeatures(m, kind="nngp", random_state=0),
], ids=["sketch", "sketch-no-linear", "sketch-linear", "sketch-dim8", "rf", "rf-bias", "nngp"])
def test_output_width_is_exactly_n_components(make, rng):
    X = rng.standard_normal((7, 6))
    for m in _WIDTHS:
        fm = make(m)
        if fm is None:
            continue
        Z = fm.fit_transform(X)
        assert Z.shape == (7, m), (m, Z.shape)
        assert np.all(np.isfinite(Z))
        assert np.linalg.norm(Z) > 0
        names = fm.get_feature_names_out()
        assert len(names) == m and len(set(names)) == m


def test_random_features_component_split(rng):
    X = rng.standard_normal((5, 4))
    for bias in (0.0, 0.3):
        for m in (16, 101):
            fm = NTKRandomFeatures(m, bias=bias, random_state=0).fit(X)
            assert fm.n_arccos_components_ + 2 * fm.n_sketch_components_ + (bias > 0) == m
            fm = NTKRandomFeatures(m, bias=bias, sketch_components=5, random_state=0).fit(X)
            assert fm.n_sketch_components_ == 5
            assert fm.n_arccos_components_ == m - 10 - (bias > 0)
            assert fm.transform(X).shape == (5, m)
    fm = NTKRandomFeatures(10, kind="nngp", random_state=0).fit(X)
    assert fm.n_sketch_components_ == 0 and fm.n_arccos_components_ == 10


# --------------------------------------------------------------------- determinism, batching


@pytest.mark.parametrize("cls", [NTKSketch, NTKRandomFeatures])
def test_same_random_state_same_features(cls, rng):
    X = rng.standard_normal((20, 6))
    Z1 = cls(128, depth=2, random_state=7).fit_transform(X)
    Z2 = cls(128, depth=2, random_state=7).fit(X).transform(X)
    np.testing.assert_array_equal(Z1, Z2)
    # fitting on other data with the same width does not change the random draws
    Z3 = cls(128, depth=2, random_state=7).fit(rng.standard_normal((3, 6))).transform(X)
    np.testing.assert_array_equal(Z1, Z3)
    Z4 = cls(128, depth=2, random_state=np.random.RandomState(7)).fit_transform(X)
    np.testing.assert_array_equal(Z1, Z4)
    Z5 = cls(128, depth=2, random_state=8).fit_transform(X)
    assert not np.allclose(Z1, Z5)


@pytest.mark.parametrize("make", [
    lambda **kw: NTKSketch(200, depth=2, random_state=0, **kw),
    lambda **kw: NTKSketch(201, depth=1, exact_linear=False, random_state=0, **kw),
    lambda **kw: NTKRandomFeatures(201, depth=3, bias=0.4, random_state=0, **kw),
    lambda **kw: NTKRandomFeatures(200, depth=2, kind="nngp", random_state=0, **kw),
    # batches written into the output in place (NumPy): the mixed-column and layered paths
    lambda **kw: NTKSketch(5, depth=2, random_state=0, **kw),
    lambda **kw: NTKSketch(64, depth=2, bias=0.3, random_state=0, **kw),
], ids=["sketch", "sketch-odd", "rf-bias", "nngp", "sketch-mixed", "sketch-bias"])
def test_batch_invariance(make, rng):
    X = rng.standard_normal((61, 9))
    fm = make().fit(X)
    Z = fm.transform(X)
    scale = np.abs(Z).max()
    for splits in ([1, 2, 30], [17], [60], list(range(1, 61, 7))):
        parts = np.split(X, splits)
        Zs = np.concatenate([fm.transform(p) for p in parts], axis=0)
        np.testing.assert_allclose(Zs, Z, rtol=0, atol=1e-12 * scale)
    for max_memory in (1, 50_000, 400_000, 3_000_000):
        Zm = make(max_memory=max_memory).fit(X).transform(X)
        np.testing.assert_allclose(Zm, Z, rtol=0, atol=1e-12 * scale)
    # one row at a time
    Z1 = np.concatenate([fm.transform(X[i:i + 1]) for i in range(len(X))])
    np.testing.assert_allclose(Z1, Z, rtol=0, atol=1e-12 * scale)


@pytest.mark.parametrize("make", [
    lambda: NTKSketch(256, depth=2, random_state=0),
    lambda: NTKSketch(255, depth=3, exact_linear=False, random_state=0),
    lambda: NTKRandomFeatures(256, depth=3, bias=0.5, random_state=0),
    lambda: NTKRandomFeatures(256, kind="nngp", random_state=0),
], ids=["sketch", "sketch-odd", "rf-bias", "nngp"])
def test_float32_in_float32_out(make, rng):
    X = rng.standard_normal((40, 10))
    Z64 = make().fit(X).transform(X)
    assert Z64.dtype == np.float64
    X32 = X.astype(np.float32)
    for fm in (make().fit(X32), make().fit(X)):
        Z32 = fm.transform(X32)
        assert Z32.dtype == np.float32
        assert np.linalg.norm(Z32 - Z64) <= 1e-5 * np.linalg.norm(Z64)
    # other input types are computed in float64
    assert make().fit(X).transform(X.astype(np.int64) * 1).dtype == np.float64


# --------------------------------------------------------------------- NTKSketch specifics


def test_exact_linear_auto_and_explicit(rng):
    X = rng.standard_normal((30, 16))
    # auto: exact when n_features <= n_components // 4
    for m, expected in ((64, True), (63, False), (256, True), (40, False)):
        auto = NTKSketch(m, random_state=3).fit(X)
        assert auto.exact_linear_ is expected
        explicit = NTKSketch(m, exact_linear=expected, random_state=3).fit(X)
        np.testing.assert_array_equal(auto.transform(X), explicit.transform(X))
    for flag in (True, False):
        assert NTKSketch(40, exact_linear=flag, random_state=0).fit(X).exact_linear_ is flag


def test_exact_linear_outputs_the_linear_term(rng):
    X = rng.standard_normal((30, 16))
    fm = NTKSketch(64, exact_linear=True, random_state=0).fit(X)
    Z = fm.transform(X)
    c = np.asarray(fm.polynomial_coef_)
    assert c[1] > 0
    # sqrt(c1) x appears verbatim among the columns, and so does sqrt(c0)|x|
    for k in range(X.shape[1]):
        target = np.sqrt(c[1]) * X[:, k]
        assert any(np.allclose(Z[:, j], target, rtol=1e-12, atol=1e-14) for j in range(64))
    target = np.sqrt(c[0]) * np.linalg.norm(X, axis=1)
    assert any(np.allclose(Z[:, j], target, rtol=1e-12) for j in range(64))
    without = NTKSketch(64, exact_linear=False, random_state=0).fit(X).transform(X)
    target = np.sqrt(c[1]) * X[:, 0]
    assert not any(np.allclose(without[:, j], target, rtol=1e-6) for j in range(64))


def test_exact_linear_reduces_error(rng):
    X = rng.standard_normal((300, 16))
    K = ntk_kernel(X, depth=1)
    seeds = range(4)
    with_linear = _mean_error(lambda s: NTKSketch(256, exact_linear=True, random_state=s),
                              X, K, seeds)
    without = _mean_error(lambda s: NTKSketch(256, exact_linear=False, random_state=s),
                          X, K, seeds)
    assert with_linear < 0.8 * without


@pytest.mark.parametrize("m", [1, 16, 18])
def test_exact_linear_that_does_not_fit(m, rng):
    X = rng.standard_normal((10, 16))
    with pytest.raises(ValueError, match="exact_linear"):
        NTKSketch(m, exact_linear=True).fit(X)
    # auto silently falls back
    assert NTKSketch(m, exact_linear="auto").fit(X).exact_linear_ is False
    assert NTKSketch(19, exact_linear=True).fit(X).transform(X).shape == (10, 19)


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_sketch_fitted_attributes(depth, rng):
    X = rng.standard_normal((10, 4))
    fm = NTKSketch(128, depth=depth, degree=6, random_state=0).fit(X)
    coef = np.asarray(fm.polynomial_coef_)
    assert coef.shape == (7,)
    assert np.all(coef >= 0)
    assert coef.sum() == pytest.approx(depth + 1, rel=1e-12)  # K_L(1) = L + 1
    t = np.linspace(-1, 1, 20001)
    actual = np.max(np.abs(np.polynomial.polynomial.polyval(t, coef) - ntk_on_sphere(t, depth)))
    assert isinstance(fm.fit_error_, float)
    assert fm.fit_error_ == pytest.approx(actual, rel=1e-3)
    assert fm.n_features_in_ == 4
    names = fm.get_feature_names_out()
    assert len(names) == 128
    # diagonal: |phi(x)|^2 estimates (L+1)|x|^2
    Z = NTKSketch(4096, depth=depth, random_state=0).fit_transform(X)
    np.testing.assert_allclose(np.sum(Z * Z, axis=1) / np.sum(X * X, axis=1), depth + 1,
                               rtol=0.15)


def test_sketch_scales_with_input_norm(rng):
    """phi(c x) = c phi(x) for c > 0 (the bias-free NTK is homogeneous); zero rows map to 0."""
    X = rng.standard_normal((12, 5))
    fm = NTKSketch(100, depth=2, random_state=0).fit(X)
    np.testing.assert_allclose(fm.transform(3.5 * X), 3.5 * fm.transform(X), rtol=1e-10,
                               atol=1e-12)
    X[4] = 0.0
    for est in (fm, NTKRandomFeatures(100, depth=2, random_state=0).fit(X)):
        Z = est.transform(X)
        assert np.all(np.isfinite(Z))
        np.testing.assert_array_equal(Z[4], 0.0)


def test_feature_names_out(rng):
    X = rng.standard_normal((5, 3))
    for fm in (NTKSketch(10, random_state=0), NTKRandomFeatures(11, random_state=0)):
        names = fm.fit(X).get_feature_names_out()
        assert len(names) == fm.n_components
        prefix = type(fm).__name__.lower()
        assert list(names) == [f"{prefix}{i}" for i in range(fm.n_components)]


# --------------------------------------------------------------------- validation


@pytest.mark.parametrize("value", [0, -1, 2.5])
@pytest.mark.parametrize("cls", [NTKSketch, NTKRandomFeatures, NTKSketchRegressor])
def test_invalid_n_components(cls, value, rng):
    X, y = rng.standard_normal((10, 3)), rng.standard_normal(10)
    with pytest.raises(ValueError, match="n_components"):
        cls(value).fit(X, y)


@pytest.mark.parametrize("params, name", [
    ({"depth": 0}, "depth"),
    ({"depth": 1.5}, "depth"),
    ({"degree": 0}, "degree"),
    ({"sketch_dim": 0}, "sketch_dim"),
    ({"exact_linear": "yes"}, "exact_linear"),
    ({"max_memory": 0}, "max_memory"),
])
def test_invalid_sketch_parameters(params, name, rng):
    with pytest.raises(ValueError, match=name):
        NTKSketch(16, **params).fit(rng.standard_normal((10, 3)))


@pytest.mark.parametrize("params, name", [
    ({"depth": 0}, "depth"),
    ({"bias": -1.0}, "bias"),
    ({"kind": "x"}, "kind"),
    ({"sketch_components": 0}, "sketch_components"),
    ({"arccos_order0_components": 0}, "arccos_order0_components"),
])
def test_invalid_random_features_parameters(params, name, rng):
    with pytest.raises(ValueError, match=name):
        NTKRandomFeatures(16, **params).fit(rng.standard_normal((10, 3)))


@pytest.mark.parametrize("params, name", [
    ({"depth": 0}, "depth"),
    ({"degree": 0}, "degree"),
    ({"feature_map": "exact"}, "feature_map"),
    ({"alpha": -1.0}, "alpha"),
])
@pytest.mark.parametrize("cls", [NTKSketchRegressor, NTKSketchClassifier])
def test_invalid_estimator_parameters(cls, params, name, rng):
    X, y = rng.standard_normal((10, 3)), np.arange(10) % 2
    with pytest.raises(ValueError, match=name):
        cls(16, **params).fit(X, y)


@pytest.mark.parametrize("m, ms", [(16, 8), (16, 100), (3, 2), (2, 1)])
def test_sketch_components_too_large(m, ms, rng):
    with pytest.raises(ValueError, match="sketch_components"):
        NTKRandomFeatures(m, sketch_components=ms).fit(rng.standard_normal((4, 3)))
    # the largest value that fits is accepted
    assert NTKRandomFeatures(16, sketch_components=7).fit_transform(
        rng.standard_normal((4, 3))).shape == (4, 16)


@pytest.mark.parametrize("cls", [NTKSketchRegressor, NTKSketchClassifier])
def test_bias_reaches_the_sketch_feature_map(cls, rng):
    X, y = rng.standard_normal((20, 3)), np.arange(20) % 2
    model = cls(32, feature_map="sketch", bias=0.5, random_state=0).fit(X, y)
    assert model.feature_map_.bias == 0.5
    expected = NTKSketch(32, bias=0.5, random_state=0).fit(X).transform(X)
    np.testing.assert_allclose(model.feature_map_.transform(X), expected, rtol=1e-12)
    assert not np.allclose(expected, NTKSketch(32, random_state=0).fit(X).transform(X))


@pytest.mark.parametrize("cls", [NTKSketch, NTKRandomFeatures])
def test_invalid_input(cls, rng):
    X = rng.standard_normal((10, 4))
    for bad in (np.nan, np.inf, -np.inf):
        X_bad = X.copy()
        X_bad[3, 1] = bad
        with pytest.raises(ValueError):
            cls(16).fit(X_bad)
        fitted = cls(16, random_state=0).fit(X)
        with pytest.raises(ValueError):
            fitted.transform(X_bad)
    fitted = cls(16, random_state=0).fit(X)
    with pytest.raises(ValueError):
        cls(16).fit(X[:0])
    with pytest.raises(ValueError):
        fitted.transform(X[:0])
    with pytest.raises(ValueError):
        cls(16).fit(X[0])
    with pytest.raises(ValueError):
        fitted.transform(X[0])
    with pytest.raises(ValueError, match="features"):
        fitted.transform(X[:, :3])
    with pytest.raises(ValueError, match="features"):
        fitted.transform(np.hstack([X, X]))


# --------------------------------------------------------------------- NTKSketch with a bias


@pytest.mark.parametrize("depth", [1, 2, 3])
@pytest.mark.slow
def test_sketch_with_bias_against_exact_ntk(depth, rng):
    """The layer-wise path approximates ntk_kernel(bias=...) within the acceptance bound."""
    X = rng.standard_normal((300, 16))
    K = ntk_kernel(X, depth=depth, bias=0.5)
    grams = [(lambda Z: Z @ Z.T)(NTKSketch(4096, depth=depth, bias=0.5,
                                           random_state=s).fit_transform(X)) for s in (0, 1, 2)]
    error_4096 = np.mean([np.linalg.norm(G - K) / np.linalg.norm(K) for G in grams])
    error_256 = _mean_error(lambda s: NTKSketch(256, depth=depth, bias=0.5, random_state=s),
                            X, K)
    assert error_4096 <= 0.10, (error_4096, error_256)
    assert 2.5 * error_4096 <= error_256, (error_4096, error_256)
    # the bias reaches the features: with a large bias the estimate is close to that
    # kernel and far from the bias-free one
    Z = NTKSketch(4096, depth=depth, bias=2.0, random_state=0).fit_transform(X)
    assert (_relative_error(Z, ntk_kernel(X, depth=depth))
            > 5 * _relative_error(Z, ntk_kernel(X, depth=depth, bias=2.0)))


def test_sketch_with_bias_is_deterministic_and_batch_invariant(rng):
    X = rng.standard_normal((40, 5))
    a = NTKSketch(65, depth=2, bias=0.3, random_state=0).fit(X)
    b = NTKSketch(65, depth=2, bias=0.3, random_state=0, max_memory=2**14).fit(X)
    Z = a.transform(X)
    assert Z.shape == (40, 65) and np.all(np.isfinite(Z))
    np.testing.assert_allclose(b.transform(X), Z, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.vstack([a.transform(X[:7]), a.transform(X[7:])]), Z,
                               rtol=1e-12, atol=1e-12)
