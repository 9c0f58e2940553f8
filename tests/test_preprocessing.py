"""ZCAWhitening: the whitening identities, per-image standardisation, API and dask."""

import pickle
import zlib

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_ntk import CNTKSketchClassifier
from sklearn_ntk import ZCAWhitening
from sklearn_ntk.preprocessing import standardize_rows


@pytest.fixture
def rng(request):
    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))


def _correlated(rng, n=500, d=12):
    A = rng.standard_normal((d, d)) * np.linspace(0.1, 3.0, d)
    return rng.standard_normal((n, d)) @ A + 5.0


@parametrize_with_checks([ZCAWhitening(), ZCAWhitening(0.0, standardize_images=False)])
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_exact_zca_whitens_and_is_symmetric(rng):
    """regularization=0: the whitened training rows have identity covariance, and W is the
    symmetric inverse square root of the covariance (the ZCA choice among whitenings)."""
    X = _correlated(rng)
    zca = ZCAWhitening(0.0, standardize_images=False).fit(X)
    Z = zca.transform(X)
    np.testing.assert_allclose(Z.mean(axis=0), 0.0, atol=1e-10)
    np.testing.assert_allclose(Z.T @ Z / len(Z), np.eye(X.shape[1]), atol=1e-9)
    W = zca.whitening_
    np.testing.assert_allclose(W, W.T, atol=1e-12)
    C = np.cov(X, rowvar=False, bias=True)
    np.testing.assert_allclose(W @ C @ W, np.eye(X.shape[1]), atol=1e-9)
    assert np.all(np.linalg.eigvalsh(W) > 0)


def test_regularised_covariance(rng):
    """With eps > 0 the whitened covariance is U Lambda / (Lambda + eps mean(Lambda)) U^T."""
    X = _correlated(rng)
    eps = 0.3
    Z = ZCAWhitening(eps, standardize_images=False).fit_transform(X)
    lam, U = np.linalg.eigh(np.cov(X, rowvar=False, bias=True))
    expected = (U * (lam / (lam + eps * lam.mean()))) @ U.T
    np.testing.assert_allclose(Z.T @ Z / len(Z), expected, atol=1e-9)


def test_zero_variance_directions_stay_zero(rng):
    """Rank-deficient data, eps = 0: the null directions are not inverted (no inf / nan)."""
    X = _correlated(rng, d=6)
    X = np.hstack([X, X[:, :2] + X[:, 2:4]])  # two exactly dependent columns
    Z = ZCAWhitening(0.0, standardize_images=False).fit_transform(X)
    assert np.all(np.isfinite(Z))
    eig = np.linalg.eigvalsh(Z.T @ Z / len(Z))
    np.testing.assert_allclose(np.sort(eig)[-6:], 1.0, atol=1e-6)
    np.testing.assert_allclose(np.sort(eig)[:2], 0.0, atol=1e-6)


def test_standardize_images(rng):
    X = _correlated(rng) * rng.uniform(0.5, 4.0, size=(500, 1))
    S = standardize_rows(X)
    np.testing.assert_allclose(S.mean(axis=1), 0.0, atol=1e-12)
    np.testing.assert_allclose(S.std(axis=1), 1.0, atol=1e-12)
    zca = ZCAWhitening(0.1).fit(X)
    # brightness and contrast of an image do not matter any more
    np.testing.assert_allclose(zca.transform(3.0 * X[:5] + 7.0), zca.transform(X[:5]),
                               atol=1e-9)
    # a constant image is standardised to zeros, not nan
    flat = np.full((1, X.shape[1]), 2.0)
    assert np.all(np.isfinite(zca.transform(flat)))


def test_float32_stays_float32(rng):
    X = _correlated(rng).astype(np.float32)
    zca = ZCAWhitening().fit(X)
    Z = zca.transform(X)
    assert Z.dtype == np.float32
    np.testing.assert_allclose(Z, zca.transform(X.astype(np.float64)), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("params, error", [
    ({"regularization": -0.1}, InvalidParameterError),
    ({"regularization": "big"}, InvalidParameterError),
    ({"regularization": True}, TypeError),
    ({"standardize_images": "yes"}, InvalidParameterError),
])
def test_invalid_parameters(params, error, rng):
    with pytest.raises(error, match="regularization|standardize_images"):
        ZCAWhitening(**params).fit(_correlated(rng))


def test_wrong_width_and_nan(rng):
    X = _correlated(rng)
    zca = ZCAWhitening().fit(X)
    with pytest.raises(ValueError, match="features"):
        zca.transform(X[:, :5])
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        ZCAWhitening().fit(bad)


def test_pipeline_clone_pickle(rng):
    X = rng.standard_normal((60, 64))
    y = np.arange(60) % 3
    model = make_pipeline(ZCAWhitening(),
                          CNTKSketchClassifier(32, image_shape=(8, 8, 1), random_state=0))
    model.fit(X, y)
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again.predict(X), model.predict(X))
    np.testing.assert_array_equal(clone(model).fit(X, y).predict(X), model.predict(X))


@pytest.mark.parametrize("column_chunks", [12, 5], ids=["whole_rows", "split_rows"])
def test_dask_fit_and_transform(column_chunks, rng):
    """Block-wise statistics equal the in-memory fit, also when the chunks split rows (the
    per-image standardisation needs whole rows)."""
    da = pytest.importorskip("dask.array")
    X = _correlated(rng, n=300)
    Xd = da.from_array(X, chunks=(70, column_chunks))
    for standardize in (False, True):
        local = ZCAWhitening(0.2, standardize_images=standardize).fit(X)
        lazy = ZCAWhitening(0.2, standardize_images=standardize).fit(Xd)
        np.testing.assert_allclose(lazy.mean_, local.mean_, atol=1e-10)
        np.testing.assert_allclose(lazy.whitening_, local.whitening_, atol=1e-8)
        Zd = lazy.transform(Xd)
        assert isinstance(Zd, da.Array)
        np.testing.assert_allclose(Zd.compute(), local.transform(X), atol=1e-8)


def test_dask_unknown_chunk_sizes(rng):
    da = pytest.importorskip("dask.array")
    X = _correlated(rng, n=300)
    Xd = da.from_array(X, chunks=(70, 12))
    keep = X[:, 0] > np.median(X[:, 0])
    masked = Xd[Xd[:, 0] > np.median(X[:, 0])]  # row chunks of unknown size
    lazy = ZCAWhitening(0.2).fit(masked)
    local = ZCAWhitening(0.2).fit(X[keep])
    np.testing.assert_allclose(lazy.whitening_, local.whitening_, atol=1e-8)


def test_refit_forgets_feature_names(rng):
    pd = pytest.importorskip("pandas")
    da = pytest.importorskip("dask.array")
    X = _correlated(rng)
    zca = ZCAWhitening().fit(pd.DataFrame(X, columns=[f"p{i}" for i in range(X.shape[1])]))
    assert hasattr(zca, "feature_names_in_")
    zca.fit(da.from_array(X, chunks=(100, 12)))
    assert not hasattr(zca, "feature_names_in_")
    assert list(zca.get_feature_names_out()) == [f"x{i}" for i in range(X.shape[1])]
