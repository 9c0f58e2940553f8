"""Dask, partial_fit and array-API paths agree with the in-memory NumPy path."""

import os

import numpy as np
import pytest
from sklearn import config_context

from sklearn_ntk import (NTKRandomFeatures, NTKSketch, NTKSketchClassifier, NTKSketchRegressor)

da = pytest.importorskip("dask.array")

# scikit-learn refuses array_api_dispatch unless SciPy's array-API mode was set at import time;
# the README's test command (and CI) sets it.
needs_array_api = pytest.mark.skipif(os.environ.get("SCIPY_ARRAY_API") != "1",
                                     reason="set SCIPY_ARRAY_API=1 to test array-API inputs")


def _rel(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return np.max(np.abs(a - b)) / np.max(np.abs(b))


@pytest.fixture
def data():
    rng = np.random.default_rng(12345)
    X = rng.standard_normal((700, 9))
    y = np.sin(X[:, 0]) + 0.5 * X[:, 1] ** 2 + 0.1 * rng.standard_normal(700)
    return X, y


MAPS = [
    lambda: NTKSketch(301, depth=2, random_state=3),
    lambda: NTKRandomFeatures(300, depth=3, bias=0.2, random_state=3),
    lambda: NTKRandomFeatures(300, depth=2, leverage_sampling=True, random_state=3),
]


@pytest.mark.parametrize("make_map", MAPS)
@pytest.mark.parametrize("chunks", [700, 128, 333])
def test_dask_transform_is_lazy_and_matches_numpy(data, make_map, chunks):
    X, _ = data
    feature_map = make_map().fit(X)
    expected = feature_map.transform(X)
    X_dask = da.from_array(X, chunks=(chunks, 3))  # column chunks are merged
    Z = feature_map.transform(X_dask)
    assert isinstance(Z, da.Array)
    assert Z.shape == expected.shape and Z.dtype == expected.dtype
    assert _rel(Z.compute(), expected) <= 1e-12
    # fitting on a dask array needs only its width
    lazy_fit = make_map().fit(X_dask)
    assert _rel(lazy_fit.transform(X), expected) <= 1e-12


@pytest.mark.parametrize("alphas", [None, [0.01, 0.1, 1.0, 10.0]])
@pytest.mark.parametrize("feature_map", ["sketch", "random_features"])
def test_dask_fit_and_partial_fit_match_fit(data, alphas, feature_map):
    X, y = data
    kwargs = dict(n_components=200, depth=2, feature_map=feature_map, alphas=alphas,
                  random_state=0)
    reference = NTKSketchRegressor(**kwargs).fit(X, y)
    X_dask, y_dask = da.from_array(X, chunks=(150, 9)), da.from_array(y, chunks=150)
    dasked = NTKSketchRegressor(**kwargs).fit(X_dask, y_dask)
    assert _rel(dasked.coef_, reference.coef_) <= 1e-8
    assert abs(dasked.intercept_ - reference.intercept_) <= 1e-8 * abs(reference.intercept_)
    assert dasked.alpha_ == reference.alpha_
    pred = dasked.predict(X_dask)
    assert isinstance(pred, da.Array)
    assert _rel(pred.compute(), reference.predict(X)) <= 1e-8

    streamed = NTKSketchRegressor(**kwargs)
    for start in range(0, len(X), 97):
        streamed.partial_fit(X[start:start + 97], y[start:start + 97])
    assert _rel(streamed.coef_, reference.coef_) <= 1e-8
    assert streamed.alpha_ == reference.alpha_


def test_dask_fit_with_sample_weight_and_multioutput(data):
    X, y = data
    Y = np.column_stack([y, np.cos(X[:, 2])])
    w = np.random.default_rng(0).uniform(0.5, 2.0, len(X))
    reference = NTKSketchRegressor(128, random_state=1).fit(X, Y, sample_weight=w)
    dasked = NTKSketchRegressor(128, random_state=1).fit(
        da.from_array(X, chunks=(200, 9)), da.from_array(Y, chunks=(200, 2)),
        sample_weight=da.from_array(w, chunks=200))
    assert _rel(dasked.coef_, reference.coef_) <= 1e-8
    assert dasked.predict(da.from_array(X, chunks=(100, 9))).compute().shape == Y.shape


def test_classifier_dask_and_partial_fit(data):
    X, y = data
    labels = np.digitize(y, [0.3, 1.0])
    reference = NTKSketchClassifier(150, random_state=0).fit(X, labels)
    X_dask = da.from_array(X, chunks=(256, 9))
    dasked = NTKSketchClassifier(150, random_state=0).fit(X_dask, da.from_array(labels, 256))
    assert _rel(dasked.coef_, reference.coef_) <= 1e-8
    np.testing.assert_array_equal(dasked.classes_, reference.classes_)
    np.testing.assert_array_equal(dasked.predict(X_dask).compute(), reference.predict(X))
    assert dasked.decision_function(X_dask).compute().shape == (len(X), 3)

    streamed = NTKSketchClassifier(150, random_state=0)
    with pytest.raises(ValueError, match="classes"):
        streamed.partial_fit(X[:10], labels[:10])
    for start in range(0, len(X), 200):
        streamed.partial_fit(X[start:start + 200], labels[start:start + 200], classes=[0, 1, 2])
    assert _rel(streamed.coef_, reference.coef_) <= 1e-8
    with pytest.raises(ValueError, match="not in classes"):
        streamed.partial_fit(X[:5], np.full(5, 7))


def test_dask_fit_raises_on_nan_chunk(data):
    X, y = data
    X = X.copy()
    X[650, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        NTKSketchRegressor(64, random_state=0).fit(da.from_array(X, chunks=(100, 9)),
                                                   da.from_array(y, chunks=100))


def test_dask_wrong_width_raises(data):
    X, y = data
    model = NTKSketchRegressor(64, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        model.predict(da.from_array(X[:, :5], chunks=(100, 5)))


def test_zarr_out_of_core_fit(tmp_path, data):
    zarr = pytest.importorskip("zarr")
    X, y = data
    root = zarr.open_group(str(tmp_path / "d.zarr"), mode="w")
    root.create_array("X", shape=X.shape, chunks=(128, 9), dtype="float64")[:] = X
    root.create_array("y", shape=y.shape, chunks=(128,), dtype="float64")[:] = y
    X_disk = da.from_zarr(str(tmp_path / "d.zarr"), component="X")
    y_disk = da.from_zarr(str(tmp_path / "d.zarr"), component="y")
    model = NTKSketchRegressor(128, depth=2, random_state=0).fit(X_disk, y_disk)
    reference = NTKSketchRegressor(128, depth=2, random_state=0).fit(X, y)
    assert _rel(model.coef_, reference.coef_) <= 1e-8


@pytest.mark.slow
def test_distributed_local_cluster(data):
    distributed = pytest.importorskip("distributed")
    X, y = data
    reference = NTKSketchRegressor(128, depth=2, random_state=0).fit(X, y)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster):
        X_dask, y_dask = da.from_array(X, chunks=(100, 9)), da.from_array(y, chunks=100)
        model = NTKSketchRegressor(128, depth=2, random_state=0).fit(X_dask, y_dask)
        features = reference.feature_map_.transform(X_dask).compute()
        pred = model.predict(X_dask).compute()
    assert _rel(model.coef_, reference.coef_) <= 1e-8
    assert _rel(features, reference.feature_map_.transform(X)) <= 1e-12
    assert _rel(pred, reference.predict(X)) <= 1e-8


@needs_array_api
@pytest.mark.parametrize("make_map", MAPS)
def test_array_api_strict_features_match_numpy(data, make_map):
    xps = pytest.importorskip("array_api_strict")
    X, _ = data
    expected = make_map().fit_transform(X)
    with config_context(array_api_dispatch=True):
        X_strict = xps.asarray(X)
        Z = make_map().fit(X_strict).transform(X_strict)
        assert type(Z).__module__.startswith("array_api_strict")
        Z = np.asarray(Z._array)  # host copy of the strict array's data
    assert _rel(Z, expected) <= 1e-6


@needs_array_api
def test_array_api_strict_regressor_matches_numpy(data):
    xps = pytest.importorskip("array_api_strict")
    X, y = data
    reference = NTKSketchRegressor(96, alphas=[0.1, 1.0], random_state=0).fit(X, y)
    with config_context(array_api_dispatch=True):
        model = NTKSketchRegressor(96, alphas=[0.1, 1.0], random_state=0).fit(
            xps.asarray(X), xps.asarray(y))
        pred = model.predict(xps.asarray(X))
        with pytest.raises(ValueError, match="namespace"):
            model.predict(X)  # NumPy data on a model fitted on array_api_strict data
        coef = np.asarray(model.coef_._array)
        pred = np.asarray(pred._array)
    assert _rel(coef, reference.coef_) <= 1e-8
    assert _rel(pred, reference.predict(X)) <= 1e-8


def test_fit_in_memory_batches_match_one_batch(data):
    """max_memory bounds the rows featurised at once in fit; the coefficients do not move."""
    X, y = data
    w = np.random.default_rng(1).uniform(0.5, 2.0, len(X))
    one = NTKSketchRegressor(200, alphas=[0.1, 1.0], random_state=0, max_memory=2**30)
    many = NTKSketchRegressor(200, alphas=[0.1, 1.0], random_state=0, max_memory=2**19)
    one.fit(X, y, sample_weight=w)
    many.fit(X, y, sample_weight=w)
    assert _rel(many.coef_, one.coef_) <= 1e-10
    assert many.alpha_ == one.alpha_


@pytest.mark.parametrize("make_map", MAPS)
def test_torch_cpu_features_match_numpy(data, make_map):
    torch = pytest.importorskip("torch")
    if os.environ.get("SCIPY_ARRAY_API") != "1":
        pytest.skip("set SCIPY_ARRAY_API=1 to test array-API inputs")
    X, _ = data
    expected = make_map().fit_transform(X)
    with config_context(array_api_dispatch=True):
        X_torch = torch.asarray(X)
        Z = make_map().fit(X_torch).transform(X_torch)
    assert isinstance(Z, torch.Tensor) and Z.dtype == torch.float64
    assert _rel(Z.numpy(), expected) <= 1e-6
