"""Tests of NTKNystroem: Nyström features of the exact NTK with RPCholesky or uniform landmarks.

Z Z^T is compared with :func:`sklearn_ntk.ntk_kernel` (exact on the landmarks, exact with every
row a landmark, error decreasing with the number of landmarks, RPCholesky better than uniform
landmarks on clustered data); the rest checks the scikit-learn API, batching, dtypes, Dask,
the array API and the parameter validation.
"""

import os
import warnings
import zlib

import numpy as np
import pytest
from sklearn import config_context
from sklearn.linear_model import RidgeClassifier
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_ntk import NTKNystroem, ntk_kernel
from sklearn_ntk import nystroem as nystroem_module
from sklearn_ntk._ntk_kernel import _row_norms, ntk_block
from sklearn_ntk.nystroem import _ntk_diagonal, _rpcholesky

needs_array_api = pytest.mark.skipif(os.environ.get("SCIPY_ARRAY_API") != "1",
                                     reason="set SCIPY_ARRAY_API=1 to test array-API inputs")


@pytest.fixture
def rng(request):
    """A generator seeded differently (and reproducibly) for every test."""
    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))


def _relative_error(Z, K):
    return np.linalg.norm(Z @ Z.T - K) / np.linalg.norm(K)


def _rel(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return np.max(np.abs(a - b)) / np.max(np.abs(b))


def _clusters(seed, d=10):
    """One large cluster and ten small ones (6 points each) around random centres."""
    rng = np.random.default_rng(seed)
    centres = 3.0 * rng.standard_normal((11, d))
    sizes = [500] + [6] * 10
    return np.vstack([c + 0.3 * rng.standard_normal((s, d)) for c, s in zip(centres, sizes)])


# --------------------------------------------------------------------- accuracy


@pytest.mark.parametrize("landmarks", ["rpcholesky", "uniform"])
@pytest.mark.parametrize("depth, bias, kind", [(1, 0.0, "ntk"), (2, 0.0, "ntk"),
                                               (3, 0.5, "ntk"), (2, 1.0, "nngp")])
def test_exact_on_landmarks(landmarks, depth, bias, kind, rng):
    X = rng.standard_normal((200, 8))
    nys = NTKNystroem(40, depth=depth, bias=bias, kind=kind, landmarks=landmarks,
                      random_state=0).fit(X)
    L = X[nys.component_indices_]
    np.testing.assert_array_equal(nys.components_, L)
    assert len(set(nys.component_indices_.tolist())) == 40
    K_LL = ntk_kernel(L, depth=depth, bias=bias, kind=kind)
    Z_L = nys.transform(L)
    assert _rel(Z_L @ Z_L.T, K_LL) <= 1e-10
    # cross terms with the landmarks are exact too: K(x, L) N N K(L, L) = K(x, L)
    Z = nys.transform(X)
    assert _rel(Z @ Z_L.T, ntk_kernel(X, L, depth=depth, bias=bias, kind=kind)) <= 1e-10


@pytest.mark.parametrize("landmarks", ["rpcholesky", "uniform"])
@pytest.mark.parametrize("depth", [1, 2, 3])
def test_error_decreases_with_n_components(landmarks, depth, rng):
    X = rng.standard_normal((300, 16))
    K = ntk_kernel(X, depth=depth)
    errors = [np.mean([_relative_error(
        NTKNystroem(m, depth=depth, landmarks=landmarks, random_state=s).fit_transform(X), K)
        for s in range(3)]) for m in (10, 40, 120, 250)]
    assert all(b < a for a, b in zip(errors, errors[1:])), errors
    assert errors[-1] < 0.25 * errors[0], errors


@pytest.mark.parametrize("landmarks", ["rpcholesky", "uniform"])
@pytest.mark.parametrize("depth, bias, kind", [(1, 0.0, "ntk"), (3, 0.0, "ntk"),
                                               (2, 0.7, "ntk"), (2, 0.7, "nngp")])
def test_all_rows_as_landmarks_is_exact(landmarks, depth, bias, kind, rng):
    X = rng.standard_normal((150, 12))
    K = ntk_kernel(X, depth=depth, bias=bias, kind=kind)
    nys = NTKNystroem(150, depth=depth, bias=bias, kind=kind, landmarks=landmarks,
                      random_state=0)
    Z = nys.fit_transform(X)
    assert np.sort(nys.component_indices_).tolist() == list(range(150))
    assert _rel(Z @ Z.T, K) <= 1e-8
    assert nys.rank_ == 150


def test_rpcholesky_beats_uniform_on_unbalanced_clusters():
    """Uniform landmarks mostly fall in the large cluster and miss small ones; RPCholesky
    samples where the residual is large. Mean relative error over five seeds and data sets
    (measured: about 0.005 against 0.028)."""
    rpc, uniform = [], []
    for seed in range(5):
        X = _clusters(seed)
        K = ntk_kernel(X, depth=2)
        for landmarks, errors in (("rpcholesky", rpc), ("uniform", uniform)):
            Z = NTKNystroem(40, depth=2, landmarks=landmarks, random_state=seed).fit_transform(X)
            errors.append(_relative_error(Z, K))
    assert np.mean(rpc) <= 0.4 * np.mean(uniform), (rpc, uniform)
    assert sum(r < u for r, u in zip(rpc, uniform)) >= 4, (rpc, uniform)


def test_rpcholesky_covers_every_cluster():
    X = _clusters(0)
    labels = np.repeat(np.arange(11), [500] + [6] * 10)
    nys = NTKNystroem(40, depth=2, random_state=0).fit(X)
    assert set(labels[nys.component_indices_].tolist()) == set(range(11))


def test_rpcholesky_factor_matches_nystroem():
    """The landmarks of the helper give the same Nyström approximation as its factor (the
    trace of the residual decreases the way the sequential algorithm's does)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((120, 5))
    K = ntk_kernel(X, depth=2)
    diag = _ntk_diagonal(np.sum(X * X, axis=1), 2, 0.0, "ntk")
    traces = []
    for m in (5, 20, 60):
        idx = _rpcholesky(X, m, np.random.default_rng(1),
                          lambda A, B=None: ntk_kernel(A, B, depth=2), diag)
        assert idx.size == m and len(set(idx.tolist())) == m
        C = K[:, idx]
        approx = C @ np.linalg.pinv(K[np.ix_(idx, idx)], hermitian=True) @ C.T
        traces.append(np.trace(K - approx))
    assert traces[0] > traces[1] > traces[2] > 0


@pytest.mark.parametrize("depth, bias, kind", [(1, 0.0, "ntk"), (4, 0.3, "ntk"),
                                               (3, 2.0, "nngp")])
def test_diagonal_matches_ntk_kernel(depth, bias, kind, rng):
    X = rng.standard_normal((40, 6))
    K = ntk_kernel(X, depth=depth, bias=bias, kind=kind)
    np.testing.assert_allclose(_ntk_diagonal(np.sum(X * X, axis=1), depth, bias, kind),
                               np.diag(K), rtol=1e-13)


@pytest.mark.parametrize("namespace", ["numpy", "array_api_strict"])
@pytest.mark.parametrize("depth, bias, kind", [(1, 0.0, "ntk"), (3, 0.5, "ntk"),
                                               (2, 1.5, "nngp")])
def test_array_api_kernel_matches_ntk_kernel(namespace, depth, bias, kind, rng):
    """The namespace-generic kernel block equals ntk_kernel, also on duplicate, opposite and
    zero rows (whose near-parallel refinement takes the gather-only path outside NumPy)."""
    if namespace == "numpy":
        try:  # vendored from scikit-learn 1.7 on
            from sklearn.externals.array_api_compat import numpy as xp
        except ImportError:
            from array_api_compat import numpy as xp
    else:
        xp = pytest.importorskip("array_api_strict")

    X = rng.standard_normal((60, 7))
    X[:3] = 0.0
    L = np.vstack([X[3:13], -X[13:16], 2.0 * X[16:18], X[:1]])
    Xa, La = xp.asarray(X), xp.asarray(L)
    K = ntk_block(xp, Xa, La, _row_norms(Xa, xp)[0], _row_norms(La, xp)[0], depth, bias, kind)
    assert _rel(np.asarray(K), ntk_kernel(X, L, depth=depth, bias=bias, kind=kind)) <= 1e-13


@pytest.mark.parametrize("depth, bias, kind", [(2, 0.5, "ntk"), (2, 0.0, "nngp"),
                                               (3, 1.0, "nngp")])
def test_bias_and_nngp_approximate_their_kernel(depth, bias, kind, rng):
    X = rng.standard_normal((250, 5))
    K = ntk_kernel(X, depth=depth, bias=bias, kind=kind)
    Z = NTKNystroem(120, depth=depth, bias=bias, kind=kind, random_state=0).fit_transform(X)
    error = _relative_error(Z, K)
    assert error <= 0.04
    # the options matter: the default kernel is much farther away
    K_default = ntk_kernel(X, depth=depth)
    assert np.linalg.norm(Z @ Z.T - K_default) / np.linalg.norm(K_default) > 5 * error


def test_quick_classification_accuracy():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    train, test = slice(0, 1200), slice(1200, None)
    model = make_pipeline(NTKNystroem(300, depth=2, random_state=0), RidgeClassifier(1e-2))
    accuracy = model.fit(X[train], y[train]).score(X[test], y[test])
    assert accuracy >= 0.93, accuracy


# --------------------------------------------------------------------- scikit-learn API


@parametrize_with_checks([
    NTKNystroem(n_components=10, random_state=0),
    NTKNystroem(n_components=8, depth=2, bias=0.5, kind="nngp", landmarks="uniform",
                random_state=0),
])
def test_sklearn_compatible(estimator, check):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="n_components=", category=UserWarning)
        check(estimator)


def test_fitted_attributes(rng):
    X = rng.standard_normal((50, 4))
    nys = NTKNystroem(12, random_state=0).fit(X)
    assert nys.components_.shape == (12, 4)
    assert nys.component_indices_.shape == (12,)
    assert nys.normalization_.shape == (12, 12)
    np.testing.assert_allclose(nys.normalization_, nys.normalization_.T, atol=1e-12)
    N = nys.normalization_
    K_LL = ntk_kernel(nys.components_)
    np.testing.assert_allclose(N @ K_LL @ N, np.eye(12), atol=1e-8)
    assert nys.n_features_in_ == 4 and nys.rank_ == 12


def test_feature_names_out(rng):
    X = rng.standard_normal((30, 3))
    names = NTKNystroem(5, random_state=0).fit(X).get_feature_names_out()
    assert names.tolist() == [f"ntknystroem{i}" for i in range(5)]


@pytest.mark.parametrize("landmarks", ["rpcholesky", "uniform"])
def test_same_random_state_same_features(landmarks, rng):
    X = rng.standard_normal((120, 6))
    first = NTKNystroem(30, depth=2, landmarks=landmarks, random_state=7).fit(X)
    second = NTKNystroem(30, depth=2, landmarks=landmarks, random_state=7).fit(X)
    other = NTKNystroem(30, depth=2, landmarks=landmarks, random_state=8).fit(X)
    np.testing.assert_array_equal(first.component_indices_, second.component_indices_)
    np.testing.assert_array_equal(first.transform(X), second.transform(X))
    assert not np.array_equal(first.component_indices_, other.component_indices_)
    seeded = NTKNystroem(30, landmarks=landmarks,
                         random_state=np.random.RandomState(3)).fit(X)
    again = NTKNystroem(30, landmarks=landmarks, random_state=np.random.RandomState(3)).fit(X)
    np.testing.assert_array_equal(seeded.component_indices_, again.component_indices_)


def test_batch_invariance(rng):
    X = rng.standard_normal((230, 7))
    reference = NTKNystroem(40, depth=2, random_state=0, max_memory=2**30).fit(X)
    expected = reference.transform(X)
    for max_memory in (1, 5_000, 50_000, 400_000):
        nys = NTKNystroem(40, depth=2, random_state=0, max_memory=max_memory).fit(X)
        np.testing.assert_array_equal(nys.component_indices_, reference.component_indices_)
        assert _rel(nys.transform(X), expected) <= 1e-12


@pytest.mark.parametrize("landmarks", ["rpcholesky", "uniform"])
def test_float32_in_float32_out(landmarks, rng):
    X = rng.standard_normal((80, 5))
    X32 = X.astype(np.float32)
    nys = NTKNystroem(20, landmarks=landmarks, random_state=0).fit(X32)
    Z32 = nys.transform(X32)
    assert Z32.dtype == np.float32
    assert nys.components_.dtype == np.float32
    assert nys.normalization_.dtype == np.float64
    Z64 = nys.transform(X32.astype(np.float64))
    assert Z64.dtype == np.float64
    assert _rel(Z32, Z64) <= 1e-5


def test_n_components_larger_than_n_samples_warns(rng):
    X = rng.standard_normal((15, 4))
    with pytest.warns(UserWarning, match=r"n_components=40 is larger than the number of "
                                         r"training rows \(15\)"):
        nys = NTKNystroem(40, random_state=0).fit(X)
    Z = nys.transform(X)
    assert Z.shape == (15, 15)
    assert nys.get_feature_names_out().shape == (15,)
    assert _rel(Z @ Z.T, ntk_kernel(X)) <= 1e-8


def test_rank_deficient_data(rng):
    """Duplicate and zero rows: RPCholesky stops at the numerical rank, the rest of the
    landmarks are drawn uniformly, and the eigenvalue cutoff keeps the features finite."""
    base = rng.standard_normal((6, 4))
    X = np.vstack([base, base, base, np.zeros((4, 4))])
    nys = NTKNystroem(15, depth=2, random_state=0).fit(X)
    assert len(set(nys.component_indices_.tolist())) == 15
    assert nys.rank_ <= 6
    Z = nys.transform(X)
    assert np.all(np.isfinite(Z))
    assert _rel(Z @ Z.T, ntk_kernel(X, depth=2)) <= 1e-8
    zeros = NTKNystroem(3, random_state=0).fit(np.zeros((5, 2)))
    assert zeros.rank_ == 0
    np.testing.assert_array_equal(zeros.transform(np.ones((2, 2))), 0.0)


@pytest.mark.parametrize("params, name", [
    ({"n_components": 0}, "n_components"),
    ({"n_components": 2.5}, "n_components"),
    ({"depth": 0}, "depth"),
    ({"depth": "2"}, "depth"),
    ({"bias": -1.0}, "bias"),
    ({"kind": "gp"}, "kind"),
    ({"landmarks": "kmeans"}, "landmarks"),
    ({"random_state": "seed"}, "random_state"),
    ({"max_memory": 0}, "max_memory"),
    ({"n_components": True}, "n_components"),
    ({"depth": True}, "depth"),
])
def test_invalid_parameters(params, name, rng):
    X = rng.standard_normal((10, 3))
    with pytest.raises(ValueError, match=name):
        NTKNystroem(**{"n_components": 4, **params}).fit(X)


def test_invalid_input(rng):
    X = rng.standard_normal((10, 3))
    nys = NTKNystroem(4, random_state=0).fit(X)
    with pytest.raises(ValueError, match="features"):
        nys.transform(rng.standard_normal((5, 4)))
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        NTKNystroem(4).fit(bad)


# --------------------------------------------------------------------- Dask


@pytest.mark.parametrize("chunks", [300, 64, 111])
def test_dask_transform_is_lazy_and_matches_numpy(chunks, rng):
    da = pytest.importorskip("dask.array")
    X = rng.standard_normal((300, 9))
    nys = NTKNystroem(50, depth=2, bias=0.3, random_state=3).fit(X)
    expected = nys.transform(X)
    X_dask = da.from_array(X, chunks=(chunks, 4))  # column chunks are merged
    Z = nys.transform(X_dask)
    assert isinstance(Z, da.Array)
    assert Z.shape == expected.shape and Z.dtype == expected.dtype
    assert _rel(Z.compute(), expected) <= 1e-12
    # fitting on a dask array with no more rows than the sample bound equals the NumPy fit
    lazy_fit = NTKNystroem(50, depth=2, bias=0.3, random_state=3).fit(X_dask)
    np.testing.assert_array_equal(lazy_fit.component_indices_, nys.component_indices_)
    assert _rel(lazy_fit.transform(X), expected) <= 1e-12
    with pytest.raises(ValueError, match="features"):
        nys.transform(da.from_array(rng.standard_normal((10, 4))))


def test_dask_fit_reads_only_a_sample(rng, monkeypatch):
    da = pytest.importorskip("dask.array")
    monkeypatch.setattr(nystroem_module, "DASK_FIT_MIN_ROWS", 100)
    monkeypatch.setattr(nystroem_module, "DASK_FIT_ROWS_PER_COMPONENT", 4)
    X = rng.standard_normal((1000, 6))
    read = []

    def load(block):
        read.append(block.shape[0])
        return block

    X_dask = da.from_array(X, chunks=(50, 6)).map_blocks(load, dtype=X.dtype)
    nys = NTKNystroem(30, depth=2, random_state=0).fit(X_dask)  # sample of 4 * 30 = 120 rows
    assert nys.n_features_in_ == 6
    idx = nys.component_indices_
    assert len(set(idx.tolist())) == 30 and idx.max() < 1000
    np.testing.assert_array_equal(nys.components_, X[idx])
    Z_L = nys.transform(X[idx])
    assert _rel(Z_L @ Z_L.T, ntk_kernel(X[idx], depth=2)) <= 1e-10
    again = NTKNystroem(30, depth=2, random_state=0).fit(da.from_array(X, chunks=(50, 6)))
    np.testing.assert_array_equal(again.component_indices_, idx)
    assert len(read) > 0
    float32 = NTKNystroem(10, random_state=0).fit(da.from_array(X.astype(np.float32)))
    assert float32.transform(X.astype(np.float32)).dtype == np.float32


def test_dask_dataframe_fit_and_transform(rng):
    dd = pytest.importorskip("dask.dataframe")
    pd = pytest.importorskip("pandas")
    X = rng.standard_normal((120, 3))
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    reference = NTKNystroem(20, depth=2, random_state=0).fit(frame)
    nys = NTKNystroem(20, depth=2, random_state=0).fit(dd.from_pandas(frame, npartitions=3))
    assert nys.feature_names_in_.tolist() == ["a", "b", "c"]
    np.testing.assert_array_equal(nys.component_indices_, reference.component_indices_)
    Z = nys.transform(dd.from_pandas(frame, npartitions=2))
    assert _rel(Z.compute(), reference.transform(frame)) <= 1e-12


# --------------------------------------------------------------------- array API


@needs_array_api
@pytest.mark.parametrize("landmarks", ["rpcholesky", "uniform"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_array_api_strict_matches_numpy(landmarks, dtype, rng):
    xps = pytest.importorskip("array_api_strict")
    X = rng.standard_normal((200, 9)).astype(dtype)
    params = dict(n_components=40, depth=2, bias=0.4, landmarks=landmarks, random_state=0)
    reference = NTKNystroem(**params).fit(X)
    expected = reference.transform(X)
    with config_context(array_api_dispatch=True):
        X_strict = xps.asarray(X)
        nys = NTKNystroem(**params).fit(X_strict)
        Z = nys.transform(X_strict)
        assert type(Z).__module__.startswith("array_api_strict")
        assert type(nys.components_).__module__.startswith("array_api_strict")
        assert type(nys.normalization_).__module__.startswith("array_api_strict")
        assert Z.dtype == getattr(xps, dtype)
        with pytest.raises(ValueError, match="namespace"):
            nys.transform(X)  # NumPy data on a map fitted on array_api_strict data
        Z = np.asarray(Z._array)
    np.testing.assert_array_equal(np.asarray(nys.component_indices_._array),
                                  reference.component_indices_)
    assert _rel(Z, expected) <= (1e-10 if dtype == "float64" else 1e-5)
