"""Tests of CNTKSketch and the CNTK ridge estimators against the exact CNTK kernel.

Every approximation is compared with :func:`sklearn_ntk.cntk_kernel` on fresh random images;
the Dask, ``partial_fit`` and array-API paths with the in-memory NumPy path.
"""

import os
import pickle
import zlib

import numpy as np
import pytest
from sklearn import config_context
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.kernel_ridge import KernelRidge
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_ntk import CNTKSketch, CNTKSketchClassifier, CNTKSketchRegressor, cntk_kernel
from sklearn_ntk.layers._ops import window_fold, window_patches

needs_array_api = pytest.mark.skipif(os.environ.get("SCIPY_ARRAY_API") != "1",
                                     reason="set SCIPY_ARRAY_API=1 to test array-API inputs")


@pytest.fixture
def rng(request):
    """A generator seeded differently (and reproducibly) for every test."""
    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))


def relative_error(Z, K):
    return np.linalg.norm(Z @ Z.T - K) / np.linalg.norm(K)


def _rel(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return np.max(np.abs(a - b)) / np.max(np.abs(b))


# --------------------------------------------------------------------- scikit-learn API checks


@parametrize_with_checks([
    CNTKSketch(n_components=64, random_state=0),
    CNTKSketch(n_components=33, depth=2, filter_size=2, random_state=0),
    CNTKSketchRegressor(64, architecture=None, random_state=0),
    CNTKSketchClassifier(64, architecture=None, random_state=0),
    CNTKSketchClassifier(64, architecture=None, depth=2, alphas=[0.1, 1, 10], random_state=0),
])
def test_sklearn_compatible(estimator, check):
    check(estimator)


# --------------------------------------------------------------------- approximation


def _mean_error(depth, n_components, filter_size=3, padding="same", shape=(8, 8, 3),
                seeds=(0, 1, 2), rng=None):
    errors = []
    for seed in seeds:
        X = rng.standard_normal((16, int(np.prod(shape))))
        K = cntk_kernel(X, depth=depth, filter_size=filter_size, image_shape=shape,
                        padding=padding)
        Z = CNTKSketch(n_components, depth=depth, filter_size=filter_size, padding=padding,
                       image_shape=shape, random_state=seed).fit_transform(X)
        errors.append(relative_error(Z, K))
    return float(np.mean(errors))


@pytest.mark.parametrize("depth", [1, 2, 3])
@pytest.mark.slow
def test_approximation_acceptance(depth, rng):
    """16 images 8x8x3, filter 3: error <= 0.10 at 4096 (mean of 3 seeds), decreasing in m.

    At depth >= 2 the errors have heavy tails (a scale factor shared by all pairs, from
    sketching strongly correlated pixel vectors with one set of random signs), so the trend
    is checked on the mean of 10 more seeds.
    """
    assert _mean_error(depth, 4096, rng=rng) <= 0.10
    seeds = range(3, 13)
    errors = [_mean_error(depth, m, seeds=seeds, rng=rng) for m in (256, 1024, 4096)]
    assert errors[0] > errors[1] > errors[2], errors


@pytest.mark.parametrize("filter_size, padding", [(2, "same"), (4, "same"), (3, "valid"),
                                                  (1, "same")])
def test_approximation_other_geometries(filter_size, padding, rng):
    error = _mean_error(2, 4096, filter_size=filter_size, padding=padding, shape=(7, 6, 2),
                        rng=rng)
    assert error <= 0.10


def test_default_image_shape_approximates_fully_connected_kernel(rng):
    """image_shape=None is a one-pixel image: the kernel is the (scaled) FC NTK.

    With one pixel nothing is averaged by the pooling, so the per-pixel width sets the
    accuracy: it is given explicitly here.
    """
    X = rng.standard_normal((40, 10))
    for depth in (1, 2):
        K = cntk_kernel(X, depth=depth)
        Z = CNTKSketch(4096, depth=depth, sketch_dim=2048, random_state=0).fit_transform(X)
        assert relative_error(Z, K) <= 0.10


def _patch_polynomial_kernel(X, shape, coef):
    """Depth-1 CNTK-GAP with g(t) = kappa1 + t kappa0 replaced by the polynomial ``coef``:
    the mean over patch pairs of |u_p| |u'_q| sum_j c_j cos^j (brute force)."""
    from sklearn_ntk._images import extract_patches

    P = extract_patches(X.reshape((-1,) + shape), 3, "same").reshape(len(X), -1, 9 * shape[2])
    norms = np.linalg.norm(P, axis=2)
    U = (P / norms[..., None]).reshape(-1, P.shape[2])
    cosines = np.clip(U @ U.T, -1.0, 1.0)
    G = np.polynomial.polynomial.polyval(cosines, coef) * np.outer(norms, norms)
    return G.reshape(len(X), P.shape[1], len(X), P.shape[1]).mean(axis=(1, 3))


def test_first_layer_sketches_one_polynomial_of_the_patch_ntk(rng):
    """At the first layer the sketch estimates sqrt(N N') g(rho) with one polynomial g that
    fits kappa1(t) + t kappa0(t) (polynomial_coef_[0, 1]): its draws average to that
    polynomial kernel, also after centring."""
    from sklearn_ntk._arccos import kappa0, kappa1

    shape = (5, 5, 2)
    X = rng.standard_normal((6, int(np.prod(shape))))
    sketch = CNTKSketch(1024, degree=6, image_shape=shape, random_state=0).fit(X)
    coef = np.asarray(sketch.polynomial_coef_)[0, 1]
    t = np.linspace(-1, 1, 2001)
    fit_error = np.max(np.abs(np.polynomial.polynomial.polyval(t, coef)
                              - kappa1(t) - t * kappa0(t)))
    assert fit_error == pytest.approx(sketch.layer_fit_errors_[0][1], rel=1e-6) and fit_error < 0.05
    K = _patch_polynomial_kernel(X, shape, coef)
    mean = np.mean([sketch.set_params(random_state=s).fit(X).transform(X) @
                    sketch.transform(X).T for s in range(40)], axis=0)
    assert np.linalg.norm(mean - K) / np.linalg.norm(K) <= 0.01
    # The part ridge with an intercept sees: the centred kernel (single draws: about 0.2).
    centre = np.eye(len(X)) - 1.0 / len(X)
    Kc = centre @ K @ centre
    assert np.linalg.norm(centre @ (mean - K) @ centre) / np.linalg.norm(Kc) <= 0.06


def test_rank_of_features_is_bounded_by_the_pooled_width(rng):
    """n_pooled_ is the width projected to n_components: more components add no rank."""
    X = rng.standard_normal((200, 6 * 6))
    sketch = CNTKSketch(512, depth=2, degree=2, sketch_dim=16, image_shape=(6, 6),
                        random_state=0).fit(X)
    rank = np.linalg.matrix_rank(sketch.transform(X))
    assert rank <= sketch.n_pooled_ < 512
    wider = CNTKSketch(512, depth=2, degree=2, sketch_dim=32, image_shape=(6, 6),
                       random_state=0).fit(X)
    assert np.linalg.matrix_rank(wider.transform(X)) > sketch.n_pooled_


def test_allocate_capped_splits_in_proportion_below_the_cap():
    from sklearn_ntk.layers._ops import _allocate_capped

    widths = _allocate_capped([8.0, 1.0, 1.0, 0.5], 100, 40)
    assert sum(widths) == 100 and max(widths) == 40
    assert widths[1] == widths[2] > widths[3] >= 1
    assert _allocate_capped([1.0, 1.0], 10, 3) == [3, 3]  # total clipped to cap * blocks
    assert _allocate_capped([3.0, 1.0], 8, 100) == [6, 2]


def test_self_kernel_is_unbiased_on_average(rng):
    """The diagonal is estimated without systematic bias (mean ratio over many draws)."""
    X = rng.standard_normal((4, 6 * 6 * 2))
    K = cntk_kernel(X, depth=2, image_shape=(6, 6, 2))
    ratios = [np.diag(Z @ Z.T) / np.diag(K) for Z in (
        CNTKSketch(512, depth=2, image_shape=(6, 6, 2), random_state=s).fit_transform(X)
        for s in range(20))]
    assert abs(np.mean(ratios) - 1.0) <= 0.05


def test_window_helpers_match_direct_sums(rng):
    """window_patches is the direct sum; window_fold's expectation is its Gram matrix."""
    V = rng.standard_normal((2, 5, 4, 3))
    U = window_patches(np, V, 3, "same")
    assert U.shape == (2, 5, 4, 27)
    # pixel (2, 1) of image 0 has every neighbour inside the image
    assert np.allclose(U[0, 2, 1], V[0, 1:4, 0:3].reshape(-1))
    np.testing.assert_allclose(window_fold(np, V, 3, "same"),
                               U.reshape(2, 5, 4, 9, 3).sum(axis=3), rtol=1e-12)
    signs = (rng.choice([-1.0, 1.0], (3, 3)), rng.choice([-1.0, 1.0], (3, 3)))
    folded = window_fold(np, V, 3, "valid", signs)
    assert folded.shape == (2, 3, 2, 3)
    R, C = signs
    expected = sum(R[a] * C[b] * V[:, a:a + 3, b:b + 2] for a in range(3) for b in range(3))
    np.testing.assert_allclose(folded, expected, rtol=1e-12)


# --------------------------------------------------------------------- determinism, dtypes


def test_same_random_state_same_features_any_batch_split(rng):
    X = rng.standard_normal((23, 5 * 5 * 2))
    params = dict(n_components=301, depth=2, image_shape=(5, 5, 2))
    reference = CNTKSketch(random_state=7, **params).fit(X).transform(X)
    again = CNTKSketch(random_state=7, **params).fit(X).transform(X)
    np.testing.assert_array_equal(reference, again)
    tiny_batches = CNTKSketch(random_state=7, max_memory=1, **params).fit(X).transform(X)
    np.testing.assert_allclose(tiny_batches, reference, rtol=1e-10, atol=1e-12)
    pieces = np.vstack([CNTKSketch(random_state=7, **params).fit(X).transform(X[i:i + 5])
                        for i in range(0, 23, 5)])
    np.testing.assert_allclose(pieces, reference, rtol=1e-10, atol=1e-12)
    other = CNTKSketch(random_state=8, **params).fit(X).transform(X)
    assert not np.allclose(other, reference)


def test_float32_in_float32_out(rng):
    X = rng.standard_normal((10, 6 * 6 * 3))
    sketch = CNTKSketch(512, depth=2, image_shape=(6, 6, 3), random_state=0).fit(X)
    Z64 = sketch.transform(X)
    Z32 = sketch.transform(X.astype(np.float32))
    assert Z32.dtype == np.float32 and Z64.dtype == np.float64
    np.testing.assert_allclose(Z32 @ Z32.T, Z64 @ Z64.T, rtol=1e-3,
                               atol=1e-4 * np.abs(Z64 @ Z64.T).max())


def test_zero_images_give_zero_features_without_nan(rng):
    X = rng.standard_normal((3, 5 * 5))
    X[1] = 0.0
    X[2, :10] = 0.0  # zero pixels inside a non-zero image
    Z = CNTKSketch(128, depth=3, image_shape=(5, 5), random_state=0).fit_transform(X)
    assert np.all(np.isfinite(Z))
    assert np.all(Z[1] == 0)
    assert np.linalg.norm(Z[2]) > 0


def _pooled(sketch, X):
    """The pooled vectors that the final projection of ``sketch`` compresses."""
    original = sketch._output
    try:
        sketch._output = lambda xp, state, params: state
        return sketch.transform(X)
    finally:
        sketch._output = original


def _mean_and_se(draws):
    draws = np.asarray(draws)
    return draws.mean(axis=0), draws.std(axis=0, ddof=1) / np.sqrt(len(draws))


@pytest.mark.parametrize("n_components", [1, 2, 7])
def test_tiny_n_components_final_projection_is_unbiased(n_components, rng):
    """The final SRHT (+ lone Rademacher column) is unbiased for the pooled inner products at
    every width >= 1: over independent draws of the projection, the mean of Z Z^T - P P^T is
    within 5 standard errors of 0, and the standard errors are at most 1% of the kernel, so a
    bias of 5% would fail the test."""
    from sklearn_ntk.cntk_sketch import _Params

    X = rng.standard_normal((3, 4 * 4))
    sketch = CNTKSketch(n_components, image_shape=(4, 4), random_state=0).fit(X)
    P = _pooled(sketch, X)
    target = P @ P.T
    params = _Params(np, P.dtype, None)
    draws = []
    for seed in range(20000):
        sketch._draw_output(np.random.RandomState(seed), sketch._n_pooled)
        Z = sketch._output(np, P, params)
        draws.append(Z @ Z.T - target)
    mean, se = _mean_and_se(draws)
    assert np.max(se) <= 0.01 * np.abs(target).max(), "too few draws to see a bias"
    np.testing.assert_array_less(np.abs(mean), 5 * se + 1e-12)


@pytest.mark.slow
def test_ratio_estimator_bias_shrinks_with_sketch_dim(rng):
    """Rescaling blocks to their exact norms is a ratio estimator: biased for the polynomial
    kernel at a tiny ``sketch_dim``, with a bias that shrinks as ``sketch_dim`` grows.

    The target is the exact depth-1 polynomial kernel of the patches; bias and its standard
    error come from the mean over independent draws.
    """
    shape = (4, 4, 1)
    X = rng.standard_normal((3, 16))
    results = {}
    for sketch_dim in (2, 64):
        sketch = CNTKSketch(256, image_shape=shape, sketch_dim=sketch_dim, random_state=0)
        K = _patch_polynomial_kernel(X, shape, np.asarray(sketch.fit(X).polynomial_coef_)[0, 1])
        draws = [(lambda Z: Z @ Z.T)(sketch.set_params(random_state=s).fit_transform(X))
                 for s in range(300)]
        mean, se = _mean_and_se(draws)
        norm = np.linalg.norm(K)
        results[sketch_dim] = (np.linalg.norm(mean - K) / norm, np.linalg.norm(se) / norm)
    bias_small, se_small = results[2]
    bias_wide, se_wide = results[64]
    assert bias_small > 5 * se_small, results  # the bias is real at sketch_dim 2 ...
    # ... and clearly smaller at sketch_dim 64
    assert bias_small - bias_wide > 5 * np.hypot(se_small, se_wide), results


# --------------------------------------------------------------------- input validation


@pytest.mark.parametrize("params, match", [
    (dict(image_shape=(5, 5)), "image_shape"),
    (dict(image_shape=(4, 4, 0)), "image_shape"),
    (dict(image_shape="4x4"), "image_shape"),
    (dict(image_shape=(4, 4), filter_size=3, depth=2, padding="valid"), "filter_size"),
    (dict(image_shape=(4, 4), filter_size=0), "filter_size"),
    (dict(image_shape=(4, 4), depth=0), "depth"),
    (dict(image_shape=(4, 4), degree=0), "degree"),
    (dict(image_shape=(4, 4), n_components=0), "n_components"),
    (dict(image_shape=(4, 4), padding="full"), "padding"),
])
def test_bad_parameters_raise_value_error(params, match, rng):
    X = rng.standard_normal((3, 16))
    with pytest.raises(ValueError, match=match):
        CNTKSketch(**params).fit(X)
    with pytest.raises(ValueError, match=match):
        CNTKSketchClassifier(**params).fit(X, [0, 1, 0])


def test_bad_input_raises(rng):
    X = rng.standard_normal((3, 16))
    sketch = CNTKSketch(64, image_shape=(4, 4)).fit(X)
    with pytest.raises(ValueError, match="features"):
        sketch.transform(rng.standard_normal((2, 9)))
    bad = X.copy()
    bad[0, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        sketch.transform(bad)
    with pytest.raises(ValueError, match="infinity"):
        CNTKSketch(64, image_shape=(4, 4)).fit(np.where(bad == bad, bad, np.inf))


# --------------------------------------------------------------------- estimators


@pytest.mark.slow
def test_classifier_close_to_exact_cntk_on_digits():
    """Ridge on sketch features vs exact CNTK kernel ridge at the same alpha."""
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    X_train, y_train, X_test, y_test = X[:300], y[:300], X[1000:1200], y[1000:1200]
    params = dict(depth=2, filter_size=3, image_shape=(8, 8))
    alpha = 1e-2
    K_train = cntk_kernel(X_train, **params)
    K_test = cntk_kernel(X_test, X_train, **params)
    Y = np.eye(10)[y_train] - 0.1
    exact = KernelRidge(alpha=alpha, kernel="precomputed").fit(K_train, Y)
    exact_accuracy = np.mean(exact.predict(K_test).argmax(axis=1) == y_test)
    sketch = CNTKSketchClassifier(4096, architecture=None, alpha=alpha, fit_intercept=False,
                                  random_state=0, **params).fit(X_train, y_train)
    sketch_accuracy = sketch.score(X_test, y_test)
    assert exact_accuracy > 0.9
    assert sketch_accuracy >= exact_accuracy - 0.03


@pytest.mark.slow
def test_grid_search_over_depth_and_alpha_on_digits():
    X, y = load_digits(return_X_y=True)
    X = X[:360] / 16.0
    y = y[:360]
    search = GridSearchCV(
        CNTKSketchClassifier(n_components=512, image_shape=(8, 8), random_state=0),
        {"depth": [1, 2], "alpha": [1e-3, 1.0]}, cv=3).fit(X, y)
    scores = dict(zip(map(repr, search.cv_results_["params"]),
                      search.cv_results_["mean_test_score"]))
    # the depth reaches the model: at equal alpha the two depths score differently
    assert scores[repr({"alpha": 1.0, "depth": 1})] != scores[repr({"alpha": 1.0, "depth": 2})]
    # the search's score of the winner is what a plain cross-validation of it gives
    best = CNTKSketchClassifier(n_components=512, image_shape=(8, 8), random_state=0,
                                **search.best_params_)
    assert search.best_score_ == pytest.approx(cross_val_score(best, X, y, cv=3).mean(),
                                               abs=1e-12)
    assert search.best_score_ > 0.85
    assert search.best_estimator_.feature_map_.depth == search.best_params_["depth"]


def test_regressor_alphas_clone_and_pickle(rng):
    X = rng.standard_normal((60, 4 * 4 * 2))
    y = X.reshape(60, 4, 4, 2)[:, 1:3, 1:3].sum(axis=(1, 2, 3)) + 0.1 * rng.standard_normal(60)
    model = CNTKSketchRegressor(256, depth=2, image_shape=(4, 4, 2), alphas=[1e-3, 1e-1, 10],
                                random_state=0).fit(X, y)
    assert model.alpha_ in (1e-3, 1e-1, 10) and model.gcv_scores_.shape == (3,)
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict(X), model.predict(X))
    np.testing.assert_array_equal(clone(model).fit(X, y).predict(X), model.predict(X))


# --------------------------------------------------------------------- backends


def test_dask_transform_fit_and_partial_fit_match_numpy(rng):
    da = pytest.importorskip("dask.array")
    X = rng.standard_normal((90, 5 * 5 * 2))
    y = X[:, :10].sum(axis=1)
    params = dict(n_components=129, depth=2, image_shape=(5, 5, 2), random_state=1)
    sketch = CNTKSketch(**params).fit(X)
    X_dask = da.from_array(X, chunks=(25, 50))
    Z = sketch.transform(X_dask)
    assert isinstance(Z, da.Array) and Z.shape == (90, 129)
    assert _rel(Z.compute(), sketch.transform(X)) <= 1e-10

    reference = CNTKSketchRegressor(alpha=0.1, architecture=None, **params).fit(X, y)
    dasked = CNTKSketchRegressor(alpha=0.1, architecture=None, **params).fit(
        X_dask, da.from_array(y, chunks=25))
    assert _rel(dasked.coef_, reference.coef_) <= 1e-8
    streamed = CNTKSketchRegressor(alpha=0.1, architecture=None, **params)
    for start in range(0, 90, 31):
        streamed.partial_fit(X[start:start + 31], y[start:start + 31])
    assert _rel(streamed.coef_, reference.coef_) <= 1e-8


@needs_array_api
def test_array_api_strict_features_match_numpy(rng):
    xps = pytest.importorskip("array_api_strict")
    X = rng.standard_normal((12, 5 * 5 * 2))
    y = rng.integers(0, 3, 12)
    params = dict(n_components=129, depth=2, image_shape=(5, 5, 2), random_state=1)
    expected = CNTKSketch(**params).fit_transform(X)
    with config_context(array_api_dispatch=True):
        X_xp = xps.asarray(X)
        Z = CNTKSketch(**params).fit_transform(X_xp)
        model = CNTKSketchClassifier(alpha=0.1, architecture=None, **params).fit(
            X_xp, xps.asarray(y))
        scores = model.decision_function(X_xp)
    assert type(Z) is type(X_xp)
    assert _rel(np.asarray(Z), expected) <= 1e-6
    reference = CNTKSketchClassifier(alpha=0.1, architecture=None, **params).fit(X, y)
    assert _rel(np.asarray(scores), reference.decision_function(X)) <= 1e-6


@needs_array_api
def test_torch_cpu_features_match_numpy(rng):
    torch = pytest.importorskip("torch")
    X = rng.standard_normal((12, 5 * 5 * 2))
    params = dict(n_components=129, depth=2, image_shape=(5, 5, 2), random_state=1)
    expected = CNTKSketch(**params).fit_transform(X)
    with config_context(array_api_dispatch=True):
        Z = CNTKSketch(**params).fit_transform(torch.asarray(X))
    assert isinstance(Z, torch.Tensor)
    assert _rel(Z.numpy(), expected) <= 1e-6


@pytest.mark.gpu
def test_cupy_features_match_numpy(rng):
    cupy = pytest.importorskip("cupy")
    try:
        cupy.cuda.runtime.getDeviceCount()
    except Exception:  # CuPy installed without a usable GPU
        pytest.skip("no CUDA device")
    X = rng.standard_normal((12, 5 * 5 * 2))
    params = dict(n_components=129, depth=2, image_shape=(5, 5, 2), random_state=1)
    expected = CNTKSketch(**params).fit_transform(X)
    with config_context(array_api_dispatch=True):
        Z = CNTKSketch(**params).fit_transform(cupy.asarray(X))
    assert isinstance(Z, cupy.ndarray)
    assert _rel(cupy.asnumpy(Z), expected) <= 1e-6


def test_rows_per_batch_rounds_to_a_multiple_of_the_threads():
    from sklearn_ntk._base import rows_per_batch

    assert rows_per_batch(100, 300) == 3
    assert rows_per_batch(100, 300, 2) == 2  # 3 rows on 2 threads take as long as 4
    assert rows_per_batch(100, 500, 2) == 4
    assert rows_per_batch(100, 150, 2) == 1  # a batch at or below the multiple is kept
    assert rows_per_batch(100, 200, 4) == 2


def test_transform_batches_split_evenly_over_the_threads(rng, monkeypatch):
    """Every batch but the last holds a multiple of the thread count (an odd batch on two
    threads leaves one idle for half of it), and the features do not depend on it."""
    import sklearn_ntk.cntk_sketch as module

    X = rng.standard_normal((11, 6 * 6))
    sketch = CNTKSketch(64, image_shape=(6, 6), random_state=0).fit(X)
    expected = sketch.transform(X)
    monkeypatch.setattr(module, "_n_threads", lambda xp: 2)
    sizes = []
    original = sketch._transform_batch

    def record(xp, batch, device):
        sizes.append(batch.shape[0])
        return original(xp, batch, device)

    monkeypatch.setattr(sketch, "_transform_batch", record)
    sketch.set_params(max_memory=3 * sketch._bytes_per_row(8) + 1)
    np.testing.assert_allclose(sketch.transform(X), expected, rtol=1e-12, atol=1e-14)
    assert sizes == [2] * 5 + [1]
