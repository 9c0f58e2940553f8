"""Layer-wise sketches: CNTKSketch(architecture=...) against the exact kernel of the layers."""

import os
import pickle
import zlib

import numpy as np
import pytest
from sklearn import config_context
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_ntk import CNTKSketch, CNTKSketchClassifier, CNTKSketchRegressor, cntk_kernel
from sklearn_ntk.layers import AvgPool, Conv, Dense, Flatten, GlobalAvgPool, ReLU, gap
from sklearn_ntk.layers._features import FeatureContext
from sklearn_ntk.layers._ops import _Params
from sklearn_ntk.layers._serial import FeatureNetwork

needs_array_api = pytest.mark.skipif(os.environ.get("SCIPY_ARRAY_API") != "1",
                                     reason="set SCIPY_ARRAY_API=1 to test array-API inputs")

SHAPE = (8, 8, 3)
# pooling, a flatten and biases (a convolution's, two dense layers' and the readout's)
MIXED = [Conv(3, bias=0.3), ReLU(), AvgPool(2), Conv(3), ReLU(), Flatten(), Dense(0.2), ReLU(),
         Dense(0.1)]


@pytest.fixture
def rng(request):
    """A generator seeded differently (and reproducibly) for every test."""
    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))


def relative_error(Z, K):
    return np.linalg.norm(Z @ Z.T - K) / np.linalg.norm(K)


def _rel(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return np.max(np.abs(a - b)) / np.max(np.abs(b))


def _readout(layers, X, shape, seed=0, sketch_dim=64):
    """Readout vectors of a FeatureNetwork (before the final projection), NumPy."""
    net = FeatureNetwork(layers, shape, np.random.RandomState(seed), degree=4,
                         sketch_dim=sketch_dim)
    ctx = FeatureContext(np, _Params(np, np.float64, None))
    return net.features(ctx, X.reshape((X.shape[0],) + tuple(shape)))


# --------------------------------------------------------------------- scikit-learn API


@parametrize_with_checks([
    CNTKSketch(n_components=64, architecture="gap", random_state=0),
    CNTKSketch(n_components=33, architecture=[Conv(2, bias=0.1), ReLU(), AvgPool(1),
                                              Flatten(), Dense(0.1)], random_state=0),
    CNTKSketchRegressor(64, architecture="flatten", random_state=0),
    CNTKSketchClassifier(64, architecture="myrtle", random_state=0),
    CNTKSketchClassifier(random_state=0),  # the defaults: pool_flatten, 2048 features
    CNTKSketchRegressor(random_state=0),
    CNTKSketchClassifier(64, flip_invariant=True, random_state=0),
])
def test_sklearn_compatible(estimator, check):
    check(estimator)


# --------------------------------------------------------------------- approximation


def _mean_error(architecture, n_components, rng, seeds=(0, 1, 2)):
    errors = []
    for seed in seeds:
        X = rng.standard_normal((16, int(np.prod(SHAPE))))
        K = cntk_kernel(X, architecture=architecture, image_shape=SHAPE)
        Z = CNTKSketch(n_components, architecture=architecture, image_shape=SHAPE,
                       random_state=seed).fit_transform(X)
        errors.append(relative_error(Z, K))
    return float(np.mean(errors))


@pytest.mark.parametrize("architecture", ["gap", "flatten", "pool_flatten", "myrtle", "fc", MIXED],
                         ids=["gap", "flatten", "pool_flatten", "myrtle", "fc", "mixed"])
def test_approximation_acceptance(architecture, rng):
    """16 images 8x8x3: error <= 0.10 at 4096 (mean of 3 seeds), and smaller than at 256."""
    error_4096 = _mean_error(architecture, 4096, rng)
    error_256 = _mean_error(architecture, 256, rng)
    assert error_4096 <= 0.10
    assert error_4096 < error_256


def _mirror(X, shape):
    return X.reshape((-1,) + shape)[:, :, ::-1, :].reshape(len(X), -1)


@pytest.mark.parametrize("architecture", [None, "pool_flatten", MIXED],
                         ids=["none", "pool_flatten", "mixed"])
def test_flip_invariant_kernel_is_the_flip_average(architecture, rng):
    """The exact kernel is the average of the four image/mirror-image pairs (computed here by
    four plain calls) and does not change when either argument is mirrored."""
    shape = (5, 6, 2)  # an even width: the mirror image moves every column
    X = rng.standard_normal((4, 60))
    Y = rng.standard_normal((3, 60))

    def plain(A, B):
        return cntk_kernel(A, B, architecture=architecture, image_shape=shape)

    mX, mY = _mirror(X, shape), _mirror(Y, shape)
    expected = (plain(X, Y) + plain(X, mY) + plain(mX, Y) + plain(mX, mY)) / 4
    K = cntk_kernel(X, Y, architecture=architecture, image_shape=shape, flip_invariant=True)
    np.testing.assert_allclose(K, expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(cntk_kernel(mX, Y, architecture=architecture, image_shape=shape,
                                           flip_invariant=True), K, rtol=1e-12, atol=1e-15)
    assert not np.allclose(plain(X, Y), K)  # the images are not mirror-symmetric
    square = cntk_kernel(X, architecture=architecture, image_shape=shape, flip_invariant=True)
    np.testing.assert_allclose(square, (plain(X, X) + plain(X, mX) + plain(mX, X)
                                        + plain(mX, mX)) / 4, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("architecture", ["gap", "pool_flatten", MIXED],
                         ids=["gap", "pool_flatten", "mixed"])
def test_flip_invariant_sketch(architecture, rng):
    """An image and its mirror image get the same features, and on 16 images 8x8x3 the
    error against the flip-averaged kernel is <= 0.10 at 4096 (mean of 3 seeds), smaller
    than at 256."""
    errors = {256: [], 4096: []}
    for seed in (0, 1, 2):
        X = rng.standard_normal((16, int(np.prod(SHAPE))))
        K = cntk_kernel(X, architecture=architecture, image_shape=SHAPE, flip_invariant=True)
        for n_components in errors:
            sketch = CNTKSketch(n_components, architecture=architecture, image_shape=SHAPE,
                                flip_invariant=True, random_state=seed).fit(X)
            errors[n_components].append(relative_error(sketch.transform(X), K))
    np.testing.assert_array_equal(sketch.transform(_mirror(X, SHAPE)), sketch.transform(X))
    assert np.mean(errors[4096]) <= 0.10
    assert np.mean(errors[4096]) < np.mean(errors[256])


def test_flip_invariant_features_are_the_average_of_image_and_mirror_image(rng):
    """Same random_state: the flip-invariant features are the mean of the plain map's pooled
    vectors of an image and of its mirror image, projected; the batch size never matters."""
    X = rng.standard_normal((7, int(np.prod(SHAPE))))
    flip = CNTKSketch(128, architecture="pool_flatten", image_shape=SHAPE,
                      flip_invariant=True, random_state=4).fit(X)
    plain = CNTKSketch(128, architecture="pool_flatten", image_shape=SHAPE,
                       random_state=4).fit(X)
    params = _Params(np, X.dtype, None)
    pooled = [FeatureNetwork.features(plain._network, FeatureContext(np, params),
                                      A.reshape((-1,) + SHAPE)) for A in (X, _mirror(X, SHAPE))]
    expected = plain._output(np, (pooled[0] + pooled[1]) * 0.5, params)
    np.testing.assert_allclose(flip.transform(X), expected, rtol=1e-12, atol=1e-14)
    one_by_one = flip.set_params(max_memory=1).transform(X)  # 7 batches of one image
    np.testing.assert_allclose(one_by_one, expected, rtol=1e-12, atol=1e-14)
    with pytest.raises(TypeError, match="flip_invariant"):
        cntk_kernel(X, image_shape=SHAPE, flip_invariant=1)


def test_pool_flatten_sketch_where_the_input_is_pooled(rng):
    """20x20 images are pooled to 10x10 first: the same bound as the 8x8x3 presets."""
    shape = (20, 20, 1)
    sketch = CNTKSketch(4096, architecture="pool_flatten", image_shape=shape)
    errors = []
    for seed in (0, 1, 2):
        X = rng.standard_normal((16, 400))
        K = cntk_kernel(X, architecture="pool_flatten", image_shape=shape)
        errors.append(relative_error(sketch.set_params(random_state=seed).fit_transform(X), K))
    assert isinstance(sketch.layers_[0], AvgPool) and sketch.layers_[0].window == 2
    assert np.mean(errors) <= 0.10


@pytest.mark.parametrize("layers", [
    [Conv(3, bias=0.5), AvgPool(2), Flatten(), Dense(0.3)],
    [Dense(0.2), Conv(2, "valid"), GlobalAvgPool()],
    [Conv(3), Conv((2, 3), bias=0.1), AvgPool(3, 2, "same"), Flatten()],
    [Flatten(), Dense(1.0), Dense()],
])
def test_linear_layers_are_exact(layers, rng):
    """Without a ReLU nothing is sketched: the readout vectors give the kernel exactly."""
    shape = (5, 6, 2)
    X = rng.standard_normal((7, 60))
    Z = _readout(layers, X, shape)
    np.testing.assert_allclose(Z @ Z.T, cntk_kernel(X, architecture=layers, image_shape=shape),
                               rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("layers", [
    [Conv(3), ReLU(), ReLU(), GlobalAvgPool()],
    [ReLU(), Conv(3), ReLU(), Flatten()],
    [Conv(3, "valid"), ReLU(), AvgPool(2, stride=1), Conv(2, "valid"), ReLU(), GlobalAvgPool(),
     Dense(0.3)],
    [Dense(0.5), ReLU(), Conv(3), ReLU(), AvgPool(3, 2, "same"), ReLU(), Flatten(), Dense()],
])
def test_other_layer_lists_converge(layers, rng):
    """Nonlinearities in unusual places (no fused first layer, Theta = 0, pooling before a
    ReLU) still approximate the exact kernel."""
    shape = (6, 6, 2)
    X = rng.standard_normal((12, 72))
    K = cntk_kernel(X, architecture=layers, image_shape=shape)
    errors = [relative_error(CNTKSketch(2048, architecture=layers, image_shape=shape,
                                        random_state=seed).fit_transform(X), K)
              for seed in range(2)]
    assert np.mean(errors) <= 0.10


def test_ratio_estimator_bias_after_pooling_shrinks_with_width():
    """A ReLU after a pooling reads estimated variances (a ratio estimator): its bias is
    many standard errors at sketch_dim 2 and far smaller at 64 (mean over 300 draws of the
    mean off-diagonal ratio to the exact kernel)."""
    shape = (4, 4, 2)
    X = np.random.default_rng(0).standard_normal((6, 32))
    layers = [Conv(3), ReLU(), AvgPool(2), ReLU(), Flatten()]
    K = cntk_kernel(X, architecture=layers, image_shape=shape)
    iu = np.triu_indices(6, 1)
    results = {}
    for sketch_dim in (2, 64):
        stats = []
        for seed in range(300):
            Z = _readout(layers, X, shape, seed=seed, sketch_dim=sketch_dim)
            stats.append(np.mean((Z @ Z.T)[iu] / K[iu]))
        results[sketch_dim] = (np.mean(stats) - 1.0, np.std(stats) / np.sqrt(len(stats)))
    (bias_small, se_small), (bias_wide, se_wide) = results[2], results[64]
    assert abs(bias_small) > 5 * se_small, results
    assert abs(bias_small) - abs(bias_wide) > 5 * np.hypot(se_small, se_wide), results
    assert abs(bias_wide) < 0.05, results


def test_self_kernel_diagonal_is_close(rng):
    """The norms are carried exactly through convolutions and ReLUs: the diagonal of the
    readout Gram matrix has no sketching error without pooling before a ReLU."""
    X = rng.standard_normal((5, int(np.prod(SHAPE))))
    layers = [Conv(3, bias=0.2), ReLU(), Conv(3), ReLU(), Flatten(), Dense(0.1)]
    Z = _readout(layers, X, SHAPE)
    K = cntk_kernel(X, architecture=layers, image_shape=SHAPE)
    np.testing.assert_allclose(np.diag(Z @ Z.T), np.diag(K), rtol=0.05)


# --------------------------------------------------------------------- parameters


def test_preset_name_equals_its_layer_list(rng):
    X = rng.standard_normal((6, int(np.prod(SHAPE))))
    by_name = CNTKSketch(256, architecture="gap", depth=2, filter_size=2, image_shape=SHAPE,
                         random_state=3).fit(X)
    by_list = CNTKSketch(256, architecture=gap(2, 2), image_shape=SHAPE,
                         random_state=3).fit(X)
    np.testing.assert_array_equal(by_name.transform(X), by_list.transform(X))
    assert by_name.layers_ == tuple(gap(2, 2)) + (Dense(),)
    assert by_name.polynomial_coef_.shape == (2, 2, 5) and len(by_name.layer_fit_errors_) == 2
    myrtle = CNTKSketch(256, architecture="myrtle", image_shape=SHAPE, random_state=0).fit(X)
    assert sum(isinstance(layer, Conv) for layer in myrtle.layers_) == 4  # depth 5
    assert myrtle.n_pooled_ > 0 and myrtle.output_shape_ == (2, 2)


def test_architecture_none_is_the_gap_preset_in_arora_normalisation(rng):
    """architecture=None runs the layer loop on the "gap" preset: the same features up to the
    constant sqrt(f^2 C / 2) by which cntk_kernel(architecture=None) differs from the
    preset's kernel, and the same layers_."""
    X = rng.standard_normal((4, int(np.prod(SHAPE))))
    for depth, f in [(1, 3), (2, 2)]:
        default = CNTKSketch(128, depth=depth, filter_size=f, image_shape=SHAPE,
                             random_state=0).fit(X)
        preset = CNTKSketch(128, architecture="gap", depth=depth, filter_size=f,
                            image_shape=SHAPE, random_state=0).fit(X)
        assert default.layers_ == preset.layers_ == tuple(gap(depth, f)) + (Dense(),)
        factor = np.sqrt(f * f * SHAPE[2] / 2.0)
        np.testing.assert_allclose(default.transform(X), factor * preset.transform(X),
                                   rtol=1e-12, atol=1e-12)
        K_default = cntk_kernel(X, depth=depth, filter_size=f, image_shape=SHAPE)
        K_preset = cntk_kernel(X, architecture="gap", depth=depth, filter_size=f,
                               image_shape=SHAPE)
        np.testing.assert_allclose(K_default, factor**2 * K_preset, rtol=1e-10)


@pytest.mark.parametrize("params, error, match", [
    (dict(architecture=[Conv(3), ReLU(), Flatten()], depth=2), ValueError, "depth"),
    (dict(architecture=[Conv(3), ReLU(), Flatten()], filter_size=5), ValueError, "filter_size"),
    (dict(architecture="myrtle", padding="valid"), ValueError, "padding"),
    (dict(architecture="myrtle", depth=3), ValueError, "depth"),
    (dict(architecture="resnet"), InvalidParameterError, "architecture"),
    (dict(architecture=[Conv(3), "relu", Flatten()]), TypeError, "layer"),
    (dict(architecture=[Conv, ReLU(), Flatten()]), TypeError, "instance"),
    (dict(architecture=[Conv(3), ReLU()]), ValueError, "Flatten"),
    (dict(architecture=[Conv(9, "valid"), ReLU(), Flatten()]), ValueError, "valid"),
])
def test_bad_architectures_raise_in_fit(params, error, match, rng):
    X = rng.standard_normal((3, int(np.prod(SHAPE))))
    sketch = CNTKSketch(64, image_shape=SHAPE, **params)  # init never validates
    with pytest.raises(error, match=match):
        sketch.fit(X)
    with pytest.raises(error, match=match):
        CNTKSketchClassifier(64, image_shape=SHAPE, **params).fit(X, [0, 1, 0])


def test_same_random_state_same_features_whatever_max_memory(rng):
    X = rng.standard_normal((9, int(np.prod(SHAPE))))
    for architecture in ("myrtle", MIXED):
        params = dict(n_components=129, architecture=architecture, image_shape=SHAPE,
                      random_state=5)
        reference = CNTKSketch(**params).fit_transform(X)
        small = CNTKSketch(max_memory=1, **params).fit(X)  # one image per batch
        np.testing.assert_allclose(small.transform(X), reference, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(small.transform(X[3:5]), reference[3:5], rtol=1e-12,
                                   atol=1e-12)


def test_memory_per_row_grows_with_the_pixels():
    def bytes_per_row(shape):
        X = np.zeros((1, int(np.prod(shape))))
        sketch = CNTKSketch(256, architecture="flatten", image_shape=shape).fit(X)
        return sketch._bytes_per_row(8)

    small, large = bytes_per_row((8, 8, 1)), bytes_per_row((16, 16, 1))
    assert 3 * small < large < 5 * small  # linear in the pixels


def test_float32_in_float32_out_and_zero_images(rng):
    X = rng.standard_normal((4, int(np.prod(SHAPE))))
    X[1] = 0.0
    sketch = CNTKSketch(64, architecture=MIXED, image_shape=SHAPE, random_state=0)
    Z64 = sketch.fit_transform(X)
    Z32 = sketch.fit_transform(X.astype(np.float32))
    assert Z32.dtype == np.float32 and np.all(np.isfinite(Z64))
    assert _rel(Z32, Z64) <= 1e-4
    # bias terms keep a zero image's features non-zero; without bias they are zero
    gap_features = CNTKSketch(64, architecture="gap", image_shape=SHAPE,
                              random_state=0).fit_transform(X)
    assert np.all(gap_features[1] == 0) and np.any(Z64[1] != 0)


# --------------------------------------------------------------------- estimators


def test_grid_search_over_architecture():
    X, y = load_digits(return_X_y=True)
    X, y = X[:180] / 16.0, y[:180]
    grid = {"architecture": ["gap", "flatten",
                             [Conv(3), ReLU(), AvgPool(2), Conv(3), ReLU(), Flatten()]]}
    model = CNTKSketchClassifier(128, image_shape=(8, 8), alphas=[1e-3, 1e-2, 1e-1],
                                 random_state=0)
    search = GridSearchCV(model, grid, cv=2).fit(X, y)
    assert len(search.cv_results_["mean_test_score"]) == 3
    assert min(search.cv_results_["mean_test_score"]) > 0.5
    assert search.best_params_["architecture"] in grid["architecture"]


def test_estimator_defaults_are_the_pool_flatten_network():
    """The measured defaults; on one position the network is a fully connected NTK."""
    X, y = load_digits(return_X_y=True)
    model = CNTKSketchClassifier(image_shape=(8, 8), random_state=0).fit(X[:200] / 16, y[:200])
    assert model.n_components == 2048 and model.feature_map_.transform(X[:2]).shape == (2, 2048)
    # the transformer keeps cntk_kernel's default kernel
    assert CNTKSketch().architecture is None and CNTKSketch().n_components == 1024
    assert model.feature_map_.layers_[:-1] == (Conv(3), ReLU(), Flatten())
    big = CNTKSketch(architecture="pool_flatten", image_shape=(28, 28, 1)).fit(np.ones((1, 784)))
    assert big.layers_[0] == AvgPool(2, padding="same") and big.output_shape_ == (14, 14)
    # on one position (no image_shape) the same estimator is the one-hidden-layer NTK
    rng = np.random.default_rng(0)
    T = rng.standard_normal((30, 5))
    Z = CNTKSketchRegressor(n_components=4096, random_state=0).fit(T, T[:, 0]) \
        .feature_map_.transform(T)
    K = cntk_kernel(T, architecture="pool_flatten")
    # a 3x3 convolution of one pixel sees 1/9 of a dense layer's fan-in
    np.testing.assert_allclose(9 * K, cntk_kernel(T, architecture="fc"), rtol=1e-12)
    assert relative_error(Z, K) <= 0.10


def test_clone_and_pickle(rng):
    X = rng.standard_normal((20, int(np.prod(SHAPE))))
    y = X[:, :10].sum(axis=1)
    model = CNTKSketchRegressor(128, architecture=MIXED, image_shape=SHAPE, alpha=0.1,
                                random_state=0).fit(X, y)
    copy = clone(model)
    assert copy.architecture == MIXED and copy.architecture is not MIXED
    np.testing.assert_array_equal(copy.fit(X, y).predict(X), model.predict(X))
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict(X), model.predict(X))
    sketch = CNTKSketch(65, architecture="myrtle", image_shape=SHAPE, random_state=1).fit(X)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(sketch)).transform(X),
                                  sketch.transform(X))


# --------------------------------------------------------------------- backends


def test_dask_transform_and_fit_match_numpy(rng):
    da = pytest.importorskip("dask.array")
    shape = (5, 5, 2)
    X = rng.standard_normal((60, 50))
    y = X[:, :10].sum(axis=1)
    layers = [Conv(3, bias=0.1), ReLU(), AvgPool(2, padding="same"), Flatten(), Dense(0.2)]
    params = dict(n_components=129, architecture=layers, image_shape=shape, random_state=1)
    sketch = CNTKSketch(**params).fit(X)
    X_dask = da.from_array(X, chunks=(25, 50))
    Z = sketch.transform(X_dask)
    assert isinstance(Z, da.Array) and Z.shape == (60, 129)
    assert _rel(Z.compute(), sketch.transform(X)) <= 1e-10
    reference = CNTKSketchRegressor(alpha=0.1, **params).fit(X, y)
    dasked = CNTKSketchRegressor(alpha=0.1, **params).fit(X_dask, da.from_array(y, chunks=25))
    assert _rel(dasked.coef_, reference.coef_) <= 1e-8


@needs_array_api
@pytest.mark.parametrize("architecture", ["myrtle", MIXED], ids=["myrtle", "mixed"])
def test_array_api_strict_features_match_numpy(architecture, rng):
    xps = pytest.importorskip("array_api_strict")
    X = rng.standard_normal((10, int(np.prod(SHAPE))))
    y = rng.integers(0, 3, 10)
    params = dict(n_components=129, architecture=architecture, image_shape=SHAPE,
                  random_state=1)
    expected = CNTKSketch(**params).fit_transform(X)
    with config_context(array_api_dispatch=True):
        X_xp = xps.asarray(X)
        Z = CNTKSketch(**params).fit_transform(X_xp)
        model = CNTKSketchClassifier(alpha=0.1, **params).fit(X_xp, xps.asarray(y))
        scores = model.decision_function(X_xp)
    assert type(Z) is type(X_xp)
    assert _rel(np.asarray(Z), expected) <= 1e-6
    reference = CNTKSketchClassifier(alpha=0.1, **params).fit(X, y)
    assert _rel(np.asarray(scores), reference.decision_function(X)) <= 1e-6


@needs_array_api
def test_array_api_strict_monomials_and_flips_match_numpy(rng):
    """The exact monomial first layer and the flip average on array_api_strict arrays."""
    xps = pytest.importorskip("array_api_strict")
    shape = (8, 8, 1)
    X = rng.standard_normal((6, 64))
    params = dict(n_components=4096, architecture="pool_flatten", image_shape=shape,
                  flip_invariant=True, random_state=2)
    sketch = CNTKSketch(**params).fit(X)
    assert "monomials" in sketch._network.params[1]
    expected = sketch.transform(X)
    with config_context(array_api_dispatch=True):
        Z = CNTKSketch(**params).fit_transform(xps.asarray(X))
    assert _rel(np.asarray(Z), expected) <= 1e-10


def test_default_sketch_dim_is_wide_only_where_relus_see_one_position():
    """The per-pixel cap of 512 applies where a ReLU runs at many positions; a ReLU on one
    position (a fully connected network) gets n_components // 2, which is what brings the
    "fc" preset under the 0.10 bound of test_approximation_acceptance."""
    X = np.zeros((2, int(np.prod(SHAPE))))

    def width(architecture, **kwargs):
        return CNTKSketch(4096, architecture=architecture, image_shape=SHAPE,
                          **kwargs).fit(X).sketch_dim_

    assert width("fc") == 2048
    assert width([Flatten(), Dense(0.2), ReLU(), Dense()]) == 2048
    assert width("flatten") == 512
    assert width(MIXED) == 512  # its first ReLU runs on the 8x8 map
    assert width("fc", sketch_dim=100) == 100


def test_monomial_features_are_the_exact_powers(rng):
    """<M_j(u), M_j(v)> = <u, v>^j, with binom(d + j - 1, j) coordinates."""
    from math import comb

    from sklearn_ntk._monomials import count_monomials, monomial_plan, monomial_powers

    U, V = rng.standard_normal((5, 9)), rng.standard_normal((4, 9))
    plan = monomial_plan(9, 4)
    for j, (P, Q) in enumerate(zip(monomial_powers(np, U, plan), monomial_powers(np, V, plan)),
                               start=1):
        assert P.shape == (5, comb(9 + j - 1, j))
        np.testing.assert_allclose(P @ Q.T, (U @ V.T) ** j, rtol=1e-11, atol=1e-11)
    assert count_monomials(9, 4) == 9 + 45 + 165 + 495


def test_first_relu_on_few_inputs_uses_exact_monomials(rng, monkeypatch):
    """On a grey-scale 3x3 patch (9 inputs, 714 monomials up to degree 4) the first ReLU's
    features are exact monomials: the pooled vectors' inner products equal the kernel of the
    same network whose ReLU is replaced by the fitted polynomial, to rounding. Only the final
    projection is random."""
    import sklearn_ntk.layers._relu as relu_module

    shape = (8, 8, 1)
    X = rng.standard_normal((6, 64))
    sketch = CNTKSketch(4096, architecture="pool_flatten", image_shape=shape,
                        random_state=0).fit(X)
    params = sketch._network.params[1]
    assert "monomials" in params and "poly" not in params
    P = _pooled_vectors(sketch, X)
    assert sketch.n_pooled_ == P.shape[1] == 64 * (1 + 714)
    c = np.asarray(params["c"])

    def fitted_relu(rho, k0, k1):  # Sigma' + Theta' of the fused ReLU as the polynomial
        k1[...] = np.polynomial.polynomial.polyval(rho, c)
        k0[...] = 0.0

    monkeypatch.setattr(relu_module, "relu_kernels", fitted_relu)
    K_poly = cntk_kernel(X, architecture="pool_flatten", image_shape=shape)
    np.testing.assert_allclose(P @ P.T, K_poly, rtol=1e-10, atol=1e-12)
    # a narrower sketch_dim (4 m < 714) keeps the PolySketch
    narrow = CNTKSketch(1024, architecture="pool_flatten", image_shape=shape,
                        random_state=0).fit(X)
    assert "poly" in narrow._network.params[1]
    # so does a ReLU whose outputs a later convolution folds (a fold needs wide vectors)
    deep = CNTKSketch(4096, architecture=[Conv(3), ReLU(), AvgPool(2), Conv(3), ReLU(),
                                          Flatten()], image_shape=shape, random_state=0).fit(X)
    assert "poly" in deep._network.params[1]


def _pooled_vectors(sketch, X):
    params = _Params(np, X.dtype, None)
    return sketch._network.features(FeatureContext(np, params),
                                    X.reshape((-1,) + tuple(sketch.image_shape_)))


# --------------------------------------------------------------------- random-feature rule


def _arccos_readout(layers, X, shape, width, kind="ntk", seed=0):
    from sklearn_ntk.layers._arccos_features import ArccosRule

    rule = ArccosRule(width // 2, width // 2, width // 4)
    net = FeatureNetwork(layers, shape, np.random.RandomState(seed), degree=1, sketch_dim=1,
                         kind=kind, arccos=rule)
    ctx = FeatureContext(np, _Params(np, np.float64, None))
    return net.features(ctx, X.reshape((X.shape[0],) + tuple(shape)))


@pytest.mark.parametrize("kind", ["ntk", "nngp"])
@pytest.mark.parametrize("architecture", [gap(), MIXED, [Conv(3), ReLU(), Conv(3), ReLU(),
                                                         Flatten()]],
                         ids=["gap", "mixed", "flatten2"])
def test_random_feature_rule_on_any_architecture(architecture, kind, rng):
    """The arc-cosine ReLU rule (NTKRandomFeatures' rule) runs in the same loop as the
    sketches, on convolutions, poolings, flattens and biases too: error <= 0.10 at width 4096
    (mean of 3 seeds) and smaller than at 256, against the exact NTK and NNGP."""
    def mean_error(width):
        errors = []
        for seed in range(3):
            X = rng.standard_normal((16, int(np.prod(SHAPE))))
            K = cntk_kernel(X, architecture=architecture, image_shape=SHAPE, kind=kind)
            Z = _arccos_readout(architecture, X, SHAPE, width, kind, seed)
            errors.append(relative_error(Z, K))
        return float(np.mean(errors))

    error_4096 = mean_error(4096)
    assert error_4096 <= 0.10
    assert error_4096 < mean_error(256)


def test_nngp_readout_of_the_sketches(rng):
    """FeatureNetwork(kind="nngp") with the polynomial sketches estimates the exact NNGP
    (no NTK features are carried: the readout is [bias, sqrt(2) g])."""
    errors = []
    for seed in range(3):
        X = rng.standard_normal((16, int(np.prod(SHAPE))))
        K = cntk_kernel(X, architecture=MIXED, image_shape=SHAPE, kind="nngp")
        net = FeatureNetwork(MIXED, SHAPE, np.random.RandomState(seed), degree=4,
                             sketch_dim=1024, kind="nngp")
        Z = net.features(FeatureContext(np, _Params(np, np.float64, None)),
                         X.reshape((16,) + SHAPE))
        assert Z.shape[1] == net.n_out
        # no NTK features drawn: no kappa0 fit, no fused Sigma + Theta polynomial
        assert not any(p and ("b" in p or "c" in p) for p in net.params)
        errors.append(relative_error(Z, K))
    assert np.mean(errors) <= 0.10
    with pytest.raises(ValueError, match="kind"):
        FeatureNetwork(MIXED, SHAPE, np.random.RandomState(0), degree=4, sketch_dim=8,
                       kind="NTK")
