"""Tests of the exact fully-connected ReLU NTK/NNGP kernel (doc/mathematics.rst).

The conventions are pinned by an independent reference computed with neural-tangents (see
``tests/data/README.md``); the rest checks closed forms, an independent scalar
implementation of the recursion, and the properties every kernel matrix must have.
"""

import math
import zlib
from pathlib import Path

import numpy as np
import pytest
from sklearn.kernel_ridge import KernelRidge

from sklearn_ntk import ntk_kernel
from sklearn_ntk._arccos import nngp_on_sphere, ntk_on_sphere

REFERENCE_DIR = Path(__file__).resolve().parent / "data"  # see tests/data/README.md


@pytest.fixture
def rng(request):
    """A generator seeded differently (and reproducibly) for every test."""
    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))


def _naive_kernel(x, y, depth, bias, kind):
    """Scalar transcription of the recursion (doc/mathematics.rst), independent of the package."""
    b2 = bias * bias
    s_xy, s_xx, s_yy = float(x @ y) + b2, float(x @ x) + b2, float(y @ y) + b2
    theta = s_xy
    for _ in range(depth):
        norm = math.sqrt(s_xx * s_yy)
        rho = 0.0 if norm == 0 else min(1.0, max(-1.0, s_xy / norm))
        angle = math.acos(rho)
        k1 = (math.sqrt(max(1.0 - rho * rho, 0.0)) + rho * (math.pi - angle)) / math.pi
        k0 = (math.pi - angle) / math.pi
        s_xy = norm * k1 + b2
        # kappa1(1) = 1: the diagonal entries follow in closed form
        s_xx, s_yy = s_xx + b2, s_yy + b2
        theta = theta * k0 + s_xy
    return theta if kind == "ntk" else s_xy


def _relative_max_error(actual, expected):
    return np.max(np.abs(actual - expected)) / np.max(np.abs(expected))


# --------------------------------------------------------------------- neural-tangents reference


@pytest.mark.parametrize("kind", ["ntk", "nngp"])
def test_matches_neural_tangents_reference(kind):
    ref = np.load(REFERENCE_DIR / "fc_relu_L2_b0p1.npz")
    X, Y = ref["X"], ref["Y"]
    scale = math.sqrt(2.0 / X.shape[1])  # the stated relation: inputs times sqrt(2/d)
    K_xy = ntk_kernel(X * scale, Y * scale, depth=2, bias=0.1, kind=kind)
    assert K_xy.shape == ref[f"{kind}_xy"].shape
    assert _relative_max_error(K_xy, ref[f"{kind}_xy"]) <= 1e-12

    K_xx = ntk_kernel(X * scale, depth=2, bias=0.1, kind=kind)
    expected = ref[f"{kind}_xx"]
    off = ~np.eye(len(X), dtype=bool)
    assert (np.max(np.abs(K_xx[off] - expected[off])) / np.max(np.abs(expected))) <= 1e-12
    np.testing.assert_allclose(np.diag(K_xx), np.diag(expected), rtol=1e-7)
    # the same, with Y passed explicitly (no exact-diagonal shortcut available)
    K_xx2 = ntk_kernel(X * scale, X * scale, depth=2, bias=0.1, kind=kind)
    assert (np.max(np.abs(K_xx2[off] - expected[off])) / np.max(np.abs(expected))) <= 1e-12
    np.testing.assert_allclose(np.diag(K_xx2), np.diag(expected), rtol=1e-7)


# --------------------------------------------------------------------- closed forms


@pytest.mark.parametrize("depth", [1, 2, 3, 5])
def test_diagonal_closed_form_without_bias(depth, rng):
    X = rng.standard_normal((40, 9)) * rng.uniform(0.1, 10.0, size=(40, 1))
    K = ntk_kernel(X, depth=depth)
    np.testing.assert_allclose(np.diag(K), (depth + 1) * np.sum(X * X, axis=1), rtol=1e-13)
    nngp = ntk_kernel(X, depth=depth, kind="nngp")
    np.testing.assert_allclose(np.diag(nngp), np.sum(X * X, axis=1), rtol=1e-13)


@pytest.mark.parametrize("depth", [1, 3])
@pytest.mark.parametrize("bias", [0.3, 2.0])
def test_diagonal_closed_form_with_bias(depth, bias, rng):
    """Sigma^(h)(x,x) = |x|^2 + (h+1) b^2 and Theta^(L)(x,x) = sum_h Sigma^(h)(x,x)."""
    X = rng.standard_normal((30, 6))
    sq = np.sum(X * X, axis=1)
    sigma = [sq + (h + 1) * bias ** 2 for h in range(depth + 1)]
    np.testing.assert_allclose(np.diag(ntk_kernel(X, depth=depth, bias=bias)),
                               np.sum(sigma, axis=0), rtol=1e-13)
    np.testing.assert_allclose(np.diag(ntk_kernel(X, depth=depth, bias=bias, kind="nngp")),
                               sigma[-1], rtol=1e-13)


@pytest.mark.parametrize("depth", [1, 2, 4])
def test_homogeneous_form_without_bias(depth, rng):
    X = rng.standard_normal((25, 7)) * rng.uniform(0.2, 5.0, size=(25, 1))
    Y = rng.standard_normal((18, 7))
    nx, ny = np.linalg.norm(X, axis=1), np.linalg.norm(Y, axis=1)
    t = (X @ Y.T) / np.outer(nx, ny)
    K = ntk_kernel(X, Y, depth=depth)
    np.testing.assert_allclose(K, np.outer(nx, ny) * ntk_on_sphere(t, depth), rtol=1e-12,
                               atol=1e-13 * np.max(np.abs(K)))
    G = ntk_kernel(X, Y, depth=depth, kind="nngp")
    np.testing.assert_allclose(G, np.outer(nx, ny) * nngp_on_sphere(t, depth), rtol=1e-12,
                               atol=1e-13 * np.max(np.abs(G)))
    # positive homogeneity of degree one in each argument
    np.testing.assert_allclose(ntk_kernel(3.0 * X, Y, depth=depth), 3.0 * K, rtol=1e-12,
                               atol=1e-13 * np.max(np.abs(K)))


@pytest.mark.parametrize("depth", [1, 3])
@pytest.mark.parametrize("scale", [1.0, 0.5, -2.5])
def test_exactly_parallel_rows_of_x_and_y(scale, depth, rng):
    """Rows of Y that are copies (or multiples) of rows of X have correlation exactly +-1.

    Computing it as <x,y>/(|x||y|) rounds to 1 - 1e-16, which arccos turns into ~1e-8
    relative error (the neural-tangents error of tests/data/README.md). A correct
    implementation clips/special-cases this, as ntk_kernel(X) already does on its diagonal.
    """
    X = rng.standard_normal((12, 7)) * rng.uniform(0.2, 5.0, size=(12, 1))
    Y = scale * X[::-1]
    pairs = (np.arange(12), np.arange(12)[::-1])
    norms = np.linalg.norm(X, axis=1)[pairs[0]] * np.linalg.norm(Y, axis=1)[pairs[1]]
    expected = norms * ntk_on_sphere(np.sign(scale), depth)  # (L+1)|x||y| or |x||y| K_L(-1)
    K = ntk_kernel(X, Y, depth=depth)
    np.testing.assert_allclose(K[pairs], expected, rtol=1e-12, atol=1e-12 * norms.max())
    expected = norms * nngp_on_sphere(np.sign(scale), depth)
    G = ntk_kernel(X, Y, depth=depth, kind="nngp")
    np.testing.assert_allclose(G[pairs], expected, rtol=1e-12, atol=1e-12 * norms.max())
    if scale == 1.0:  # K(X, X) with Y given equals the symmetric call, diagonal included
        np.testing.assert_allclose(ntk_kernel(X, X, depth=depth, bias=0.3),
                                   ntk_kernel(X, depth=depth, bias=0.3), rtol=1e-12)


def test_sphere_functions_against_spec():
    """ntk_on_sphere/nngp_on_sphere: the recursion K_L of section 2, and K_L(1) = L + 1."""
    t = np.linspace(-1, 1, 101)
    k0 = lambda s: (np.pi - np.arccos(s)) / np.pi  # noqa: E731
    k1 = lambda s: (np.sqrt(1 - s * s) + s * (np.pi - np.arccos(s))) / np.pi  # noqa: E731
    for depth in (1, 2, 3):
        Ys = [t]
        for _ in range(depth):
            Ys.append(k1(Ys[-1]))
        K = sum(Ys[i] * np.prod([k0(Ys[j]) for j in range(i, depth)], axis=0)
                for i in range(depth + 1))
        np.testing.assert_allclose(ntk_on_sphere(t, depth), K, rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(nngp_on_sphere(t, depth), Ys[-1], rtol=1e-13, atol=1e-15)
        assert ntk_on_sphere(1.0, depth) == pytest.approx(depth + 1, rel=1e-15)


@pytest.mark.parametrize("depth", [1, 2, 3])
@pytest.mark.parametrize("bias", [0.0, 0.7])
@pytest.mark.parametrize("kind", ["ntk", "nngp"])
def test_matches_scalar_recursion(depth, bias, kind, rng):
    X = rng.standard_normal((9, 5))
    Y = rng.standard_normal((7, 5)) * 2.0
    K = ntk_kernel(X, Y, depth=depth, bias=bias, kind=kind)
    expected = np.array([[_naive_kernel(x, y, depth, bias, kind) for y in Y] for x in X])
    np.testing.assert_allclose(K, expected, rtol=1e-12, atol=1e-14)
    Kxx = ntk_kernel(X, depth=depth, bias=bias, kind=kind)
    expected = np.array([[_naive_kernel(x, y, depth, bias, kind) for y in X] for x in X])
    np.testing.assert_allclose(Kxx, expected, rtol=1e-12, atol=1e-14)


# --------------------------------------------------------------------- structural properties


@pytest.mark.parametrize("symmetric", [True, False])
def test_max_memory_invariance(symmetric, rng):
    X = rng.standard_normal((37, 6))
    Y = None if symmetric else rng.standard_normal((11, 6))
    ref = ntk_kernel(X, Y, depth=3, bias=0.2)
    n_y = 37 if symmetric else 11
    for rows in (1, 2, 5, 36, 37, 1000):  # blocks of that many rows
        K = ntk_kernel(X, Y, depth=3, bias=0.2, max_memory=rows * 96 * n_y)
        np.testing.assert_allclose(K, ref, rtol=1e-13, atol=1e-14 * np.max(np.abs(ref)))
        if symmetric:  # the exact diagonal must survive the blocking
            np.testing.assert_allclose(np.diag(K), np.diag(ref), rtol=1e-14)


def test_block_size_is_deprecated(rng):
    X = rng.standard_normal((9, 3))
    with pytest.warns(FutureWarning, match="max_memory"):
        K = ntk_kernel(X, block_size=2)
    np.testing.assert_allclose(K, ntk_kernel(X), rtol=1e-13)


@pytest.mark.parametrize("kind", ["ntk", "nngp"])
@pytest.mark.parametrize("bias", [0.0, 0.5])
def test_symmetric_and_positive_semidefinite(kind, bias, rng):
    # clustered points: many nearly parallel rows stress the correlation close to 1
    centres = rng.standard_normal((5, 8))
    X = centres[rng.integers(0, 5, size=120)] + 1e-4 * rng.standard_normal((120, 8))
    K = ntk_kernel(X, depth=3, bias=bias, kind=kind)
    assert K.dtype == np.float64
    np.testing.assert_array_equal(K, K.T)
    eigvals = np.linalg.eigvalsh(K)
    assert eigvals.min() >= -1e-10 * eigvals.max()
    # Cauchy-Schwarz for a kernel
    d = np.sqrt(np.diag(K))
    assert np.all(np.abs(K) <= np.outer(d, d) * (1 + 1e-12))
    # K(X, X) with Y given agrees with the symmetric call
    np.testing.assert_allclose(ntk_kernel(X, X, depth=3, bias=bias, kind=kind), K,
                               rtol=1e-7, atol=1e-10 * np.max(K))


@pytest.mark.parametrize("kind", ["ntk", "nngp"])
def test_zero_rows_give_zeros(kind, rng):
    X = rng.standard_normal((6, 4))
    X[[1, 4]] = 0.0
    Y = rng.standard_normal((5, 4))
    Y[2] = 0.0
    with np.errstate(all="raise"):  # no division by zero or invalid operation either
        K = ntk_kernel(X, Y, depth=2, kind=kind)
        Kxx = ntk_kernel(X, depth=2, kind=kind)
    for M in (K, Kxx):
        assert np.all(np.isfinite(M))
    assert np.all(K[[1, 4]] == 0.0) and np.all(K[:, 2] == 0.0)
    assert np.all(Kxx[[1, 4]] == 0.0) and np.all(Kxx[:, [1, 4]] == 0.0)
    assert np.all(K[[0, 2, 3, 5]][:, [0, 1, 3, 4]] != 0.0)
    # with a bias, a zero row is a valid input with a non-trivial kernel
    Kb = ntk_kernel(X, Y, depth=2, bias=0.5, kind=kind)
    assert np.all(np.isfinite(Kb))
    np.testing.assert_allclose(
        Kb, [[_naive_kernel(x, y, 2, 0.5, kind) for y in Y] for x in X], rtol=1e-12)


def test_float32_and_list_input_give_float64(rng):
    X = rng.standard_normal((10, 3))
    K = ntk_kernel(X, depth=2)
    K32 = ntk_kernel(X.astype(np.float32), depth=2)
    assert K32.dtype == np.float64
    np.testing.assert_allclose(K32, K, rtol=1e-5, atol=1e-6 * np.max(K))
    np.testing.assert_allclose(ntk_kernel(X.tolist(), depth=2), K, rtol=1e-15)


@pytest.mark.parametrize("bias", [0.0, 0.4])
def test_kernel_ridge_precomputed(bias, rng):
    X = rng.standard_normal((80, 5))
    y = np.sin(X[:, 0]) + X[:, 1] * X[:, 2]
    X_test = rng.standard_normal((30, 5))
    alpha = 0.3
    K = ntk_kernel(X, depth=2, bias=bias)
    K_test = ntk_kernel(X_test, X, depth=2, bias=bias)
    model = KernelRidge(alpha=alpha, kernel="precomputed").fit(K, y)
    dual = np.linalg.solve(K + alpha * np.eye(len(X)), y)
    np.testing.assert_allclose(model.dual_coef_, dual, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(model.predict(K_test), K_test @ dual, rtol=1e-8, atol=1e-10)
    # the training predictions interpolate less as alpha grows
    assert np.linalg.norm(model.predict(K) - y) < np.linalg.norm(y)


# --------------------------------------------------------------------- validation


@pytest.mark.parametrize("kwargs, name", [
    ({"depth": 0}, "depth"),
    ({"depth": -2}, "depth"),
    ({"depth": 1.5}, "depth"),
    ({"bias": -1.0}, "bias"),
    ({"bias": np.nan}, "bias"),
    ({"kind": "x"}, "kind"),
    ({"block_size": 0}, "block_size"),
])
def test_invalid_parameters(kwargs, name, rng):
    X = rng.standard_normal((4, 3))
    with pytest.raises(ValueError, match=name):
        ntk_kernel(X, **kwargs)


def test_mismatched_feature_counts(rng):
    with pytest.raises(ValueError, match="features"):
        ntk_kernel(rng.standard_normal((4, 3)), rng.standard_normal((5, 4)))


@pytest.mark.parametrize("where", ["X", "Y"])
@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_input(where, value, rng):
    X, Y = rng.standard_normal((4, 3)), rng.standard_normal((5, 3))
    (X if where == "X" else Y)[1, 2] = value
    with pytest.raises(ValueError, match=where):
        ntk_kernel(X, Y)
    if where == "X":
        with pytest.raises(ValueError, match="X"):
            ntk_kernel(X)
