"""Bad or unusual input: a correct result or a clear error, never silent NaN or garbage.

Each test pins one failure mode found by probing the estimators as a careful user would; the
memory tests bound peak allocations (NumPy reports its buffers to ``tracemalloc``).
"""

import tracemalloc
import warnings

import numpy as np
import pytest
from sklearn.base import clone

from sklearn_ntk import (
    NTKRandomFeatures,
    NTKSketch,
    NTKSketchClassifier,
    NTKSketchRegressor,
    ntk_kernel,
)
from sklearn_ntk import _base
from sklearn_ntk._ridge import RidgeStatistics, ridge_memory_bytes, solve_ridge
from sklearn_ntk import CNTKSketch, CNTKSketchRegressor

da = pytest.importorskip("dask.array")


def _data(n=200, d=5, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, d)
    return X, np.sin(X[:, 0]) + 0.1 * rng.randn(n)


# ----------------------------------------------------------------------- ridge solver


def test_alpha_zero_in_grid_with_rank_deficient_features():
    # 3 input features: the 64 sketch features have rank < 64 after centring
    X, y = _data(500, 3)
    model = NTKSketchRegressor(64, alphas=[0.0, 1e-3, 1.0], random_state=0).fit(X, y)
    Z = model.feature_map_.transform(X)
    assert np.linalg.matrix_rank(Z - Z.mean(axis=0)) < 64
    assert np.all(np.isfinite(model.coef_))
    assert np.all(np.isfinite(model.predict(X)))
    # alpha = 0 is scored by its real residuals, never as a perfect fit
    assert np.all(model.gcv_scores_ > 0)


def test_alpha_zero_with_exactly_singular_gram_is_finite_and_minimum_norm():
    # duplicated columns: the Gram matrix has exact null directions, whose eigenvalues come
    # out of eigh as rounding noise of either sign; a near-noiseless y makes GCV pick 0
    rng = np.random.RandomState(0)
    base = rng.randn(100, 5)
    Z = np.hstack([base, base[:, :2], base[:, :1] * 3.0])
    y = base @ rng.randn(5) + 1e-6 * rng.randn(100)
    solution = solve_ridge(RidgeStatistics.from_chunk(Z.copy(), y[:, None]), [0.0, 1e-3, 1.0])
    assert solution.alpha == 0.0
    expected = np.linalg.pinv(Z - Z.mean(axis=0)) @ (y - y.mean())
    np.testing.assert_allclose(solution.coef[:, 0], expected, atol=1e-10)


def test_alpha_zero_is_the_minimum_norm_solution():
    X, y = _data(30, 5)
    model = NTKSketchRegressor(256, alpha=0.0, random_state=0).fit(X, y)
    Z = model.feature_map_.transform(X)
    expected = np.linalg.pinv(Z - Z.mean(axis=0)) @ (y - y.mean())
    np.testing.assert_allclose(model.coef_, expected, atol=1e-10 * np.abs(expected).max())
    tiny = NTKSketchRegressor(256, alpha=1e-8, random_state=0).fit(X, y)
    X_test = _data(10, 5, seed=1)[0]
    np.testing.assert_allclose(model.predict(X_test), tiny.predict(X_test), atol=1e-5)


def test_gcv_with_one_sample_raises():
    X, y = _data(1, 4)
    with pytest.raises(ValueError, match="n_samples=1"):
        NTKSketchRegressor(32, alphas=[0.1, 1.0], random_state=0).fit(X, y)
    # a single alpha needs no GCV and fits
    NTKSketchRegressor(32, alpha=1.0, random_state=0).fit(X, y)


def test_deep_sketch_with_low_degree_warns():
    X, _ = _data(10, 4)
    with pytest.warns(UserWarning, match="misses the depth-100 NTK"):
        NTKSketch(64, depth=100, random_state=0).fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        NTKSketch(64, depth=3, random_state=0).fit(X)


def test_merge_in_place_equals_merge():
    rng = np.random.RandomState(0)
    Z, Y = rng.randn(100, 70), rng.randn(100, 2)
    a = RidgeStatistics.from_chunk(Z[:40].copy(), Y[:40])
    b = RidgeStatistics.from_chunk(Z[40:].copy(), Y[40:])
    whole = RidgeStatistics.from_chunk(Z.copy(), Y)
    merged = a.merge(b)
    a.merge_into(b)
    for stats in (merged, a):
        np.testing.assert_allclose(stats.gram, whole.gram, atol=1e-10)
        np.testing.assert_allclose(stats.cross, whole.cross, atol=1e-10)
        np.testing.assert_allclose(stats.feature_mean, whole.feature_mean, atol=1e-12)


def test_overflowing_statistics_raise():
    stats = RidgeStatistics.from_chunk(np.array([[1e200], [2e200]]), np.ones((2, 1)))
    with pytest.raises(ValueError, match="overflowed"):
        solve_ridge(stats, [1.0])


# ----------------------------------------------------------------------- sample weights


@pytest.mark.parametrize("Estimator", [NTKSketchRegressor, NTKSketchClassifier])
def test_negative_sample_weight_raises(Estimator):
    X, y = _data(50)
    if Estimator is NTKSketchClassifier:
        y = (y > 0).astype(int)
    w = np.ones(50)
    w[3] = -0.5
    with pytest.raises(ValueError, match="sample_weight"):
        Estimator(32, random_state=0).fit(X, y, sample_weight=w)


def test_non_finite_or_misshaped_sample_weight_raises():
    X, y = _data(20)
    with pytest.raises(ValueError, match="finite"):
        NTKSketchRegressor(32).fit(X, y, sample_weight=np.full(20, np.nan))
    with pytest.raises(ValueError, match="sample_weight has 19"):
        NTKSketchRegressor(32).fit(X, y, sample_weight=np.ones(19))


# ----------------------------------------------------------------------- large inputs


@pytest.mark.parametrize("make", [
    lambda: NTKSketch(64, depth=2, random_state=0),
    lambda: NTKRandomFeatures(64, depth=2, random_state=0),
    lambda: CNTKSketch(64, depth=2, image_shape=(3, 3, 2), random_state=0),
], ids=["NTKSketch", "NTKRandomFeatures", "CNTKSketch"])
@pytest.mark.parametrize("scale", [1e200, 1e-200])
def test_features_are_homogeneous_and_finite_at_extreme_scales(make, scale):
    X, _ = _data(6, 18)
    feature_map = make().fit(X)
    Z = feature_map.transform(X)
    Z_scaled = feature_map.transform(X * scale)
    assert np.all(np.isfinite(Z_scaled))
    # bias-free features are positively homogeneous: phi(c x) = c phi(x)
    np.testing.assert_allclose(Z_scaled / scale, Z, rtol=1e-12, atol=1e-12 * np.abs(Z).max())


def test_float32_features_finite_near_float32_limit():
    X, y = _data(40, 6)
    X32 = X.astype(np.float32)
    X32[0] *= np.float32(1e19)  # squares overflow float32 above ~1.8e19
    for feature_map in (NTKSketch(64, random_state=0), CNTKSketch(64, random_state=0)):
        assert np.all(np.isfinite(feature_map.fit(X32).transform(X32)))
    model = NTKSketchRegressor(64, random_state=0).fit(X32, y)
    assert np.all(np.isfinite(model.predict(X32)))


@pytest.mark.parametrize("cls", [NTKSketch, NTKRandomFeatures])
def test_bias_features_of_huge_rows_finite_or_refused(cls):
    """With a bias the rows cannot be rescaled (no homogeneity): float32 rows whose squares
    overflow are featurised in float64 and come back finite (and equal to the float64
    features); float64 rows beyond the squaring limit raise a ValueError naming X."""
    X, _ = _data(6, 16)
    feature_map = cls(64, depth=2, bias=0.5, random_state=0).fit(X)
    big = X * 1e20  # squares overflow float32 (max ~3.4e38)
    Z32 = feature_map.transform(big.astype(np.float32))
    assert Z32.dtype == np.float32 and np.all(np.isfinite(Z32))
    Z64 = feature_map.transform(big.astype(np.float32).astype(np.float64))
    np.testing.assert_allclose(Z32, Z64, rtol=1e-5, atol=1e-5 * np.abs(Z64).max())
    with pytest.raises(ValueError, match="X has values up to"):
        feature_map.transform(X * 1e160)


@pytest.mark.parametrize("bias", [0.0, 0.5])
def test_ntk_kernel_finite_where_representable(bias):
    X, _ = _data(6, 300)
    K = ntk_kernel(X, depth=3, bias=bias)
    for scale in (1e150, 1e-150):
        K_scaled = ntk_kernel(X * scale, depth=3, bias=bias * scale)
        assert np.all(np.isfinite(K_scaled))
        np.testing.assert_allclose(K_scaled / scale**2, K, rtol=1e-12)
    # one huge and one tiny row: every representable entry stays finite, none is NaN
    X_mixed = X.copy()
    X_mixed[0] *= 1e200
    X_mixed[1] *= 1e-200
    K_mixed = ntk_kernel(X_mixed, depth=2)
    assert not np.any(np.isnan(K_mixed))
    assert np.all(np.isfinite(K_mixed[1:, :])) and np.all(np.isfinite(K_mixed[:, 1:]))
    assert K_mixed[0, 0] == np.inf  # (1e200)^2 is not representable


def test_one_huge_training_row_is_reported_not_nan():
    X, y = _data(50, 4)
    X[0] *= 1e200
    with pytest.raises(ValueError, match="overflowed float64"):
        NTKSketchRegressor(32, random_state=0).fit(X, y)


# ----------------------------------------------------------------------- partial_fit


def test_partial_fit_target_width_must_not_change():
    X, y = _data(40)
    Y2 = np.column_stack([y, -y])
    model = NTKSketchRegressor(32, random_state=0).partial_fit(X[:20], Y2[:20])
    with pytest.raises(ValueError, match="same width"):
        model.partial_fit(X[20:], y[20:])
    model = NTKSketchRegressor(32, random_state=0).partial_fit(X[:20], y[:20])
    with pytest.raises(ValueError, match="same width"):
        model.partial_fit(X[20:], Y2[20:])


def test_partial_fit_after_fit_continues():
    X, y = _data(120)
    continued = NTKSketchRegressor(64, alpha=0.1, random_state=0).fit(X[:80], y[:80])
    continued.partial_fit(X[80:], y[80:])
    whole = NTKSketchRegressor(64, alpha=0.1, random_state=0).fit(X, y)
    np.testing.assert_allclose(continued.coef_, whole.coef_, atol=1e-8)
    np.testing.assert_allclose(continued.intercept_, whole.intercept_, atol=1e-8)


def test_partial_fit_after_fit_continues_classifier():
    X, y = _data(120)
    labels = np.where(y > 0, "pos", "neg")
    clf = NTKSketchClassifier(64, alpha=0.1, random_state=0).fit(X[:80], labels[:80])
    clf.partial_fit(X[80:], labels[80:])
    whole = NTKSketchClassifier(64, alpha=0.1, random_state=0).fit(X, labels)
    np.testing.assert_allclose(clf.coef_, whole.coef_, atol=1e-8)


def test_partial_fit_revalidates_parameters():
    X, y = _data(40)
    model = NTKSketchRegressor(32, random_state=0).partial_fit(X[:20], y[:20])
    model.set_params(alpha=-5)
    with pytest.raises(ValueError, match="alpha"):
        model.partial_fit(X[20:], y[20:])
    model.set_params(alpha=1.0, n_components=64)
    with pytest.raises(ValueError, match="n_components"):
        model.partial_fit(X[20:], y[20:])
    # the penalty may change between calls
    model.set_params(n_components=32, alpha=10.0)
    model.partial_fit(X[20:], y[20:])
    assert model.alpha_ == 10.0


@pytest.mark.parametrize("feature_map", ["random_features", "nystroem"])
def test_failed_refit_leaves_the_model_unfitted(feature_map):
    """A refit that raises (GCV with one row) must not keep the old coefficients next to a
    newly drawn feature map: the model is unfitted afterwards."""
    from sklearn.exceptions import NotFittedError

    X, y = _data(40)
    model = NTKSketchRegressor(20, feature_map=feature_map).fit(X, y)  # random_state=None
    with pytest.raises(ValueError, match="GCV"):
        model.fit(X[:1], y[:1])
    with pytest.raises(NotFittedError):
        model.predict(X)
    fresh = NTKSketchRegressor(20, feature_map=feature_map)
    with pytest.raises(ValueError, match="GCV"):
        fresh.partial_fit(X[:1], y[:1])
    with pytest.raises(NotFittedError):
        fresh.predict(X)
    # and it can be fitted again
    assert np.isfinite(model.fit(X, y).score(X, y))


def test_failed_partial_fit_batch_leaves_the_model_as_it_was():
    X, y = _data(60)
    model = NTKSketchRegressor(32, alpha=0.1, random_state=0).partial_fit(X[:20], y[:20])
    before = model.predict(X)
    with pytest.raises(ValueError, match="sample_weight"):
        model.partial_fit(X[20:40], y[20:40], sample_weight=np.zeros(20) - 1)
    np.testing.assert_array_equal(model.predict(X), before)
    model.partial_fit(X[20:], y[20:])
    whole = NTKSketchRegressor(32, alpha=0.1, random_state=0).fit(X, y)
    np.testing.assert_allclose(model.coef_, whole.coef_, atol=1e-8)


def test_partial_fit_with_another_feature_map_is_refused_clearly():
    X, y = _data(40)
    model = NTKSketchRegressor(8, feature_map="random_features",
                               random_state=0).partial_fit(X[:20], y[:20])
    model.set_params(feature_map="sketch")
    with pytest.raises(ValueError, match="NTKSketch.*NTKRandomFeatures"):
        model.partial_fit(X[20:], y[20:])


def test_partial_fit_may_change_max_memory_and_verbose():
    """Batching and reporting do not change the features, so they may change between calls."""
    X, y = _data(60)
    model = NTKSketchRegressor(32, alpha=0.1, random_state=0).partial_fit(X[:30], y[:30])
    model.set_params(max_memory=2**16, verbose=0)
    model.partial_fit(X[30:], y[30:])
    whole = NTKSketchRegressor(32, alpha=0.1, random_state=0).fit(X, y)
    np.testing.assert_allclose(model.coef_, whole.coef_, atol=1e-8)


def test_partial_fit_classes_cannot_change():
    X, y = _data(40)
    labels = (y > 0).astype(int)
    clf = NTKSketchClassifier(16, random_state=0).partial_fit(X[:20], labels[:20],
                                                              classes=[0, 1])
    with pytest.raises(ValueError, match="classes"):
        clf.partial_fit(X[20:], labels[20:], classes=[0, 1, 2])
    clf.partial_fit(X[20:], labels[20:], classes=[1, 0])  # the same set, any order


@pytest.mark.parametrize("alphas", [[True, False], [[0.1, 1.0]], [], [0.1, np.nan]])
def test_malformed_alphas_name_alphas(alphas):
    X, y = _data(20)
    with pytest.raises(ValueError, match="alphas"):
        NTKSketchRegressor(8, alphas=alphas, random_state=0).fit(X, y)


def test_kernel_ridge_path_validates_its_arguments():
    from sklearn_ntk._ridge import KernelRidgePath

    K, Y = np.eye(5) + 0.5, np.arange(5.0)
    for alphas in ([], [-1.0], [np.inf], [[1.0]]):
        with pytest.raises(ValueError, match="alphas"):
            KernelRidgePath(K, Y, alphas)
    # one penalty needs no GCV, even for a single row
    assert KernelRidgePath(np.ones((1, 1)), np.ones(1), [1.0]).alpha == 1.0
    with pytest.raises(ValueError, match="K_eval"):
        KernelRidgePath(K, Y, [1.0]).decision_function(np.ones((2, 4)))


# ----------------------------------------------------------------------- memory


def _peak_bytes(function, *args):
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        result = function(*args)
        return tracemalloc.get_traced_memory()[1], result
    finally:
        tracemalloc.stop()


_BUDGET = 2 * 2**20


@pytest.mark.parametrize("make", [
    lambda: NTKSketch(256, depth=2, max_memory=_BUDGET, random_state=0),
    lambda: NTKRandomFeatures(256, depth=2, max_memory=_BUDGET, random_state=0),
], ids=["NTKSketch", "NTKRandomFeatures"])
def test_transform_peak_is_output_plus_budget(make):
    X, _ = _data(20000, 10)
    feature_map = make().fit(X[:10])
    peak, Z = _peak_bytes(feature_map.transform, X)
    assert Z.nbytes == 20000 * 256 * 8
    # the documented bound: the output, one batch's intermediates, a small constant
    assert peak <= Z.nbytes + _BUDGET + 2**20, (peak, Z.nbytes)


def test_predict_peak_does_not_grow_with_n():
    X, y = _data(2000, 10)
    model = NTKSketchRegressor(256, depth=2, max_memory=_BUDGET, random_state=0).fit(X, y)
    peaks = {}
    for n in (20000, 80000):
        X_big = np.tile(X, (n // 2000, 1))
        peak, prediction = _peak_bytes(model.predict, X_big)
        assert prediction.shape == (n,)
        peaks[n] = peak - prediction.nbytes
    # without batching the features alone would be 8 * 256 * n bytes (164 MB at 80,000)
    assert peaks[80000] <= _BUDGET + 2**20, peaks
    assert peaks[20000] <= _BUDGET + 2**20, peaks


def test_fit_peak_within_documented_bound():
    X, y = _data(5000, 10)
    m = 1024  # large enough for the m x m matrices to dominate
    model = NTKSketchRegressor(m, depth=2, max_memory=_BUDGET, alphas=[0.1, 1.0],
                               random_state=0)
    peak, _ = _peak_bytes(model.fit, X, y)
    # documented: 1.5 max_memory plus the ridge state (three m x m float64 matrices)
    assert peak <= 1.5 * _BUDGET + ridge_memory_bytes(m) + 2**20, peak


def test_oversized_models_are_refused_before_allocating(monkeypatch):
    monkeypatch.setattr(_base, "physical_memory_bytes", lambda: 16 * 2**30)
    X, y = _data(20, 4)
    with pytest.raises(ValueError, match="GiB"):
        CNTKSketch(n_components=10**9).fit(X)
    with pytest.raises(ValueError, match=r"ridge statistics .* GiB"):
        NTKSketchRegressor(n_components=10**5).fit(X, y)
    with pytest.raises(ValueError, match="GiB"):
        NTKRandomFeatures(n_components=10**5).fit(X)


# ----------------------------------------------------------------------- Dask


def _dask(X, y, chunks=25):
    return da.from_array(X, chunks=(chunks, -1)), da.from_array(y, chunks=chunks)


@pytest.mark.parametrize("as_y", [np.asarray, list], ids=["numpy", "list"])
def test_dask_X_with_host_y(as_y):
    X, y = _data(100)
    Xd, _ = _dask(X, y)
    labels = (y > 0).astype(int)
    clf = NTKSketchClassifier(32, random_state=0).fit(Xd, as_y(labels))
    ref = NTKSketchClassifier(32, random_state=0).fit(X, labels)
    np.testing.assert_allclose(clf.coef_, ref.coef_, atol=1e-8)
    reg = NTKSketchRegressor(32, random_state=0).fit(Xd, as_y(y))
    np.testing.assert_allclose(reg.coef_, NTKSketchRegressor(32, random_state=0)
                               .fit(X, y).coef_, atol=1e-8)


def test_dask_empty_partition():
    X, y = _data(100)
    Xd = da.from_array(X, chunks=(25, -1)).rechunk(((0, 50, 0, 50), (5,)))
    yd = da.from_array(y, chunks=25).rechunk(((0, 50, 0, 50),))
    model = NTKSketchRegressor(32, random_state=0).fit(Xd, yd)
    ref = NTKSketchRegressor(32, random_state=0).fit(X, y)
    np.testing.assert_allclose(model.coef_, ref.coef_, atol=1e-8)
    np.testing.assert_allclose(model.predict(Xd).compute(), ref.predict(X), atol=1e-8)
    np.testing.assert_allclose(ref.feature_map_.transform(Xd).compute(),
                               ref.feature_map_.transform(X), atol=1e-12)


@pytest.mark.parametrize("y_kind", ["dask", "numpy"])
def test_dask_unknown_chunk_sizes(y_kind):
    X, y = _data(100)
    Xd, yd = _dask(X, y)
    keep = X[:, 1] > -0.3
    mask = da.from_array(keep, chunks=25)
    X_masked = Xd[mask]
    assert np.isnan(X_masked.chunks[0][0])
    y_masked = yd[mask] if y_kind == "dask" else y[keep]
    model = NTKSketchRegressor(32, random_state=0).fit(X_masked, y_masked)
    ref = NTKSketchRegressor(32, random_state=0).fit(X[keep], y[keep])
    np.testing.assert_allclose(model.coef_, ref.coef_, atol=1e-8)


def test_dask_chunk_with_zero_weights():
    X, y = _data(100)
    Xd, yd = _dask(X, y)
    w = np.ones(100)
    w[:25] = 0.0  # the whole first chunk
    model = NTKSketchRegressor(32, random_state=0).fit(Xd, yd, sample_weight=da.from_array(
        w, chunks=25))
    ref = NTKSketchRegressor(32, random_state=0).fit(X[25:], y[25:])
    np.testing.assert_allclose(model.coef_, ref.coef_, atol=1e-8)
    with pytest.raises(ValueError, match="weight.*zero"):
        NTKSketchRegressor(32).fit(Xd, yd, sample_weight=da.zeros(100, chunks=25))


def test_dask_dataframe_input_is_lazy_with_feature_names():
    dd = pytest.importorskip("dask.dataframe")
    pd = pytest.importorskip("pandas")
    X, y = _data(100, 3)
    frame = dd.from_pandas(pd.DataFrame(X, columns=["a", "b", "c"]), npartitions=4)
    model = NTKSketchRegressor(32, random_state=0).fit(frame, da.from_array(y, chunks=25))
    assert list(model.feature_names_in_) == ["a", "b", "c"]
    ref = NTKSketchRegressor(32, random_state=0).fit(X, y)
    np.testing.assert_allclose(model.coef_, ref.coef_, atol=1e-8)
    feature_map = NTKSketch(32, random_state=0).fit(frame)
    assert list(feature_map.feature_names_in_) == ["a", "b", "c"]
    Z = feature_map.transform(frame)
    assert hasattr(Z, "dask")  # lazy
    np.testing.assert_allclose(Z.compute(), ref.feature_map_.transform(X), atol=1e-12)
    # a refit on an unnamed dask array forgets the names
    model.fit(da.from_array(X, chunks=(25, -1)), y)
    assert not hasattr(model, "feature_names_in_")


# ----------------------------------------------------------------------- error messages


def test_string_y_for_regressor_names_y():
    X, _ = _data(20)
    with pytest.raises(ValueError, match="y must be numeric"):
        NTKSketchRegressor(32).fit(X, np.array(["a", "b"] * 10))


def test_string_alphas_names_alphas():
    X, y = _data(20)
    with pytest.raises(ValueError, match="alphas"):
        NTKSketchRegressor(32, alphas=["small", "large"]).fit(X, y)


@pytest.mark.parametrize("Map", [NTKSketch, NTKRandomFeatures, CNTKSketch])
def test_bool_n_components_rejected(Map):
    X, _ = _data(20)
    with pytest.raises(ValueError, match="n_components"):
        Map(n_components=True).fit(X)


def test_bool_n_components_rejected_by_estimators():
    X, y = _data(20)
    for Estimator in (NTKSketchRegressor, CNTKSketchRegressor):
        with pytest.raises(ValueError, match="n_components"):
            Estimator(n_components=True).fit(X, y)


def test_mixed_label_types_named():
    X, _ = _data(20)
    with pytest.raises(ValueError, match="mixes label types"):
        NTKSketchClassifier(32).fit(X, np.array(["a", 1] * 10, dtype=object))


def test_one_dimensional_dask_X_named():
    X, _ = _data(20)
    with pytest.raises(ValueError, match="2-D dask array"):
        NTKSketch(32).fit(da.from_array(X[:, 0]))


def test_dask_y_of_wrong_length_named():
    X, y = _data(100)
    Xd, _ = _dask(X, y)
    with pytest.raises(ValueError, match="y has 80 rows but X has 100"):
        NTKSketchRegressor(32).fit(Xd, da.from_array(y[:80], chunks=20))
    with pytest.raises(ValueError, match="y has 80 rows but X has 100"):
        NTKSketchRegressor(32).fit(Xd, y[:80])


def test_clone_after_failed_fit_is_clean():
    X, y = _data(20)
    model = NTKSketchRegressor(32, alphas=["x"])
    with pytest.raises(ValueError):
        model.fit(X, y)
    clone(model).set_params(alphas=None).fit(X, y)


# ----------------------------------------------------------------------- progress


def test_verbose_fit_and_predict_report_progress(capsys):
    X, y = _data(3000, 10)
    model = NTKSketchRegressor(128, feature_map="random_features", verbose=1,
                               max_memory=2**19, random_state=0).fit(X, y)
    model.predict(X)
    captured = capsys.readouterr()
    output = captured.out + captured.err
    assert "NTKSketchRegressor.fit" in output and "NTKSketchRegressor.predict" in output
    quiet = NTKSketchRegressor(128, feature_map="random_features", max_memory=2**19,
                               random_state=0).fit(X, y)
    quiet.predict(X)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    np.testing.assert_array_equal(quiet.coef_, model.coef_)


# ----------------------------------------------------------------------- defaults


def test_default_penalty_is_tuned_by_gcv_on_a_scale_following_grid():
    from sklearn_ntk._ridge import automatic_alpha_factors

    X, y = _data(300, 5)
    model = NTKSketchRegressor(256, random_state=0).fit(X, y)
    factors = automatic_alpha_factors(300)
    assert model.gcv_scores_.shape == factors.shape
    Z = model.feature_map_.transform(X)
    scale = np.sum((Z - Z.mean(axis=0)) ** 2) / len(Z)  # mean centred squared norm
    chosen = factors[np.argmin(model.gcv_scores_)] * scale
    assert model.alpha_ == pytest.approx(chosen, rel=1e-9)
    # the NTK features are positively homogeneous: scaling X scales the kernel by c^2, and
    # the automatic grid follows, so the predictions do not change
    scaled = NTKSketchRegressor(256, random_state=0).fit(100.0 * X, y)
    assert scaled.alpha_ == pytest.approx(100.0**2 * model.alpha_, rel=1e-9)
    np.testing.assert_allclose(scaled.predict(100.0 * X), model.predict(X), atol=1e-7)
    # alphas wins over alpha; alpha alone is used as given
    assert NTKSketchRegressor(64, alpha=5.0, alphas=[0.1, 1.0]).fit(X, y).alpha_ in (0.1, 1.0)
    assert NTKSketchRegressor(64, alpha=5.0).fit(X, y).alpha_ == 5.0
