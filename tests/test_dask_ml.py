"""dask-ml interop: the parts of dask-ml that work with our estimators.

Relied on and tested here: ``dask_ml.model_selection.GridSearchCV`` (with an explicit scorer:
dask-ml 2025.1.0's default r2 scorer is broken on current scikit-learn),
``dask_ml.wrappers.ParallelPostFit`` and ``dask_ml.wrappers.Incremental`` (driving
``partial_fit``), plus scikit-learn's own ``GridSearchCV`` under
``joblib.parallel_config(backend="dask")``. ``IncrementalSearchCV`` with a distributed client
is broken in dask-ml 2025.1.0 and is not used.
"""

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV

da = pytest.importorskip("dask.array")
dask_ml_model_selection = pytest.importorskip("dask_ml.model_selection")
dask_ml_wrappers = pytest.importorskip("dask_ml.wrappers")

from sklearn_ntk import NTKSketchClassifier, NTKSketchRegressor  # noqa: E402


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    X = rng.standard_normal((400, 6))
    y = np.sin(X[:, 0]) + X[:, 1] + 0.05 * rng.standard_normal(400)
    return X, y, da.from_array(X, chunks=(100, 6)), da.from_array(y, chunks=100)


def test_dask_ml_grid_search(data):
    X, y, X_dask, y_dask = data
    search = dask_ml_model_selection.GridSearchCV(
        NTKSketchRegressor(64, random_state=0), {"alpha": [1e-3, 1.0, 1e3], "depth": [1, 2]},
        cv=3, scoring="neg_mean_squared_error").fit(X_dask, y_dask)
    # the same fold scores as scikit-learn's search on the in-memory data (same folds; the
    # means differ, as dask-ml weights folds by their size)
    local = GridSearchCV(
        NTKSketchRegressor(64, random_state=0), {"alpha": [1e-3, 1.0, 1e3], "depth": [1, 2]},
        cv=3, scoring="neg_mean_squared_error").fit(X, y)
    for split in range(3):
        key = f"split{split}_test_score"
        np.testing.assert_allclose(search.cv_results_[key], local.cv_results_[key], rtol=1e-8)
    assert search.best_score_ > -0.2 * np.var(y)
    assert search.predict(X[:5]).shape == (5,)


def test_parallel_post_fit_predicts_lazily(data):
    X, y, X_dask, _ = data
    wrapped = dask_ml_wrappers.ParallelPostFit(NTKSketchRegressor(64, random_state=0)).fit(X, y)
    pred = wrapped.predict(X_dask)
    assert isinstance(pred, da.Array)
    np.testing.assert_allclose(pred.compute(), wrapped.estimator.predict(X), rtol=1e-12)
    clf = dask_ml_wrappers.ParallelPostFit(NTKSketchClassifier(64, random_state=0)).fit(
        X, y > 0)
    np.testing.assert_array_equal(clf.predict(X_dask).compute(), clf.estimator.predict(X))


def test_incremental_drives_partial_fit(data):
    X, y, X_dask, y_dask = data
    incremental = dask_ml_wrappers.Incremental(
        NTKSketchRegressor(64, random_state=0), scoring="neg_mean_squared_error")
    incremental.fit(X_dask, y_dask)
    reference = NTKSketchRegressor(64, random_state=0).fit(X, y)
    np.testing.assert_allclose(incremental.estimator_.coef_, reference.coef_, rtol=1e-8,
                               atol=1e-10)


@pytest.mark.slow
def test_sklearn_grid_search_on_joblib_dask_backend(data):
    distributed = pytest.importorskip("distributed")
    import joblib
    from sklearn.model_selection import GridSearchCV

    X, y, _, _ = data
    grid = {"alpha": [1e-3, 1.0, 1e3]}
    local = GridSearchCV(NTKSketchRegressor(64, random_state=0), grid, cv=3).fit(X, y)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster):
        with joblib.parallel_config(backend="dask"):
            remote = GridSearchCV(NTKSketchRegressor(64, random_state=0), grid, cv=3,
                                  n_jobs=-1).fit(X, y)
    assert remote.best_params_ == local.best_params_
    np.testing.assert_allclose(remote.cv_results_["mean_test_score"],
                               local.cv_results_["mean_test_score"], rtol=1e-10)
