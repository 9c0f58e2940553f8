"""Tests of the randomised sketches and the polynomial fits (doc/mathematics.rst).

Unbiasedness is checked statistically: the mean of many independent estimates must lie within
a few standard errors of the exact value, and the standard error itself must be small enough
for that to be a meaningful test. Where the expectation over the random frequencies can be
computed exactly (by taking every frequency once), it is checked exactly.
"""

import zlib

import numpy as np
import pytest
from array_api_compat import numpy as xp

from sklearn_ntk._arccos import kappa0, kappa1, nngp_on_sphere, ntk_on_sphere
from sklearn_ntk._polyfit import fit_dot_product_polynomial
from sklearn_ntk._sketches import (
    draw_polysketch,
    draw_srht,
    draw_tensor_srht,
    polysketch_leaves,
    polysketch_powers,
    srht,
    tensor_srht,
)


@pytest.fixture
def rng(request):
    """A generator seeded differently (and reproducibly) for every test."""
    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))


def _gram(A, B=None):
    """Real part of the Hermitian inner products of the rows."""
    B = A if B is None else B
    return np.real(A @ np.conj(B).T)


def _assert_unbiased(estimates, target, *, max_se):
    """Mean within 5 standard errors of ``target``; the test must be sharp enough to matter."""
    estimates = np.asarray(estimates)
    mean = estimates.mean(axis=0)
    se = estimates.std(axis=0, ddof=1) / np.sqrt(len(estimates))
    assert np.max(se) <= max_se, "too few draws for a meaningful test"
    np.testing.assert_array_less(np.abs(mean - target), 5 * se + 1e-12)


def _unit_rows(rng, n, d):
    X = rng.standard_normal((n, d))
    return X / np.linalg.norm(X, axis=1, keepdims=True)


# --------------------------------------------------------------------- SRHT


@pytest.mark.parametrize("n", [8, 11])
def test_srht_all_frequencies_is_an_isometry(n, rng):
    """Taking every frequency once is the exact expectation over P (Parseval, unnormalised F)."""
    U = rng.standard_normal((5, n))
    U_complex = U + 1j * rng.standard_normal((5, n))
    params = draw_srht(np.random.RandomState(0), n, n)
    params = {"signs": params["signs"], "indices": np.arange(n)}
    for A in (U, U_complex):
        S = srht(xp, A, params)
        assert S.shape == (5, n)
        np.testing.assert_allclose(_gram(S), _gram(A), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("n, m", [(10, 32), (9, 5)])
def test_srht_unbiased(n, m, rng):
    U = rng.standard_normal((4, n))
    U[1] = 0.8 * U[0] + 0.6 * U[1]
    estimates = []
    for seed in range(2000):
        params = draw_srht(np.random.RandomState(seed), n, m)
        S = srht(xp, U, params)
        assert S.shape == (4, m)
        estimates.append(_gram(S))
    G = U @ U.T
    _assert_unbiased(estimates, G, max_se=0.01 * np.abs(G).max())


def test_srht_unbiased_complex_input(rng):
    n, m = 12, 16
    U = rng.standard_normal((3, n)) + 1j * rng.standard_normal((3, n))
    estimates = [_gram(srht(xp, U, draw_srht(np.random.RandomState(seed), n, m)))
                 for seed in range(2000)]
    G = _gram(U)
    _assert_unbiased(estimates, G, max_se=0.01 * np.abs(G).max())


def test_srht_draws_are_rademacher_and_uniform():
    params = draw_srht(np.random.RandomState(0), 7, 20000)
    assert set(np.unique(params["signs"])) <= {-1.0, 1.0}
    counts = np.bincount(params["indices"], minlength=7)
    assert counts.size == 7 and params["indices"].min() >= 0
    # every frequency drawn about 1/7 of the time (with replacement)
    np.testing.assert_allclose(counts / 20000, 1 / 7, atol=0.015)
    signs = draw_srht(np.random.RandomState(1), 5000, 1)["signs"]
    assert abs(signs.mean()) < 0.06


# --------------------------------------------------------------------- TensorSRHT


@pytest.mark.parametrize("complex_input", [False, True])
def test_tensor_srht_all_frequency_pairs_is_exact(complex_input, rng):
    """Enumerating every pair (P1, P2) once gives the expectation exactly."""
    n1, n2 = 6, 5
    U = rng.standard_normal((4, n1))
    V = rng.standard_normal((4, n2))
    if complex_input:
        U = U + 1j * rng.standard_normal(U.shape)
        V = V + 1j * rng.standard_normal(V.shape)
    params = draw_tensor_srht(np.random.RandomState(3), n1, n2, n1 * n2)
    params["left"]["indices"] = np.repeat(np.arange(n1), n2)
    params["right"]["indices"] = np.tile(np.arange(n2), n1)
    T = tensor_srht(xp, U, V, params)
    expected = np.real((U @ np.conj(U).T) * (V @ np.conj(V).T))
    np.testing.assert_allclose(_gram(T), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("complex_input", [False, True])
def test_tensor_srht_unbiased(complex_input, rng):
    n1, n2, m = 10, 7, 32
    U = rng.standard_normal((3, n1))
    V = rng.standard_normal((3, n2))
    if complex_input:
        U = U + 1j * rng.standard_normal(U.shape)
        V = V + 1j * rng.standard_normal(V.shape)
    estimates = []
    for seed in range(2000):
        T = tensor_srht(xp, U, V, draw_tensor_srht(np.random.RandomState(seed), n1, n2, m))
        assert T.shape == (3, m)
        estimates.append(_gram(T))
    target = np.real((U @ np.conj(U).T) * (V @ np.conj(V).T))
    _assert_unbiased(estimates, target, max_se=0.01 * np.abs(target).max())


def test_tensor_srht_with_unit_vector_is_signed_srht(rng):
    """T(u, e1) = D2[0] * SRHT(u) with the left parameters (doc/mathematics.rst)."""
    n, m = 9, 13
    U = rng.standard_normal((4, n))
    e1 = np.zeros((1, 6))
    e1[0, 0] = 1.0
    params = draw_tensor_srht(np.random.RandomState(5), n, 6, m)
    T = tensor_srht(xp, U, e1, params)
    expected = params["right"]["signs"][0] * srht(xp, U, params["left"])
    np.testing.assert_allclose(T, expected, rtol=1e-12, atol=1e-14)


# --------------------------------------------------------------------- PolySketch


def test_polysketch_shapes():
    for degree in range(1, 9):
        params = draw_polysketch(np.random.RandomState(degree), 6, 16, degree)
        assert polysketch_leaves(degree) >= max(2, degree)
        leaves = polysketch_leaves(degree)
        assert leaves & (leaves - 1) == 0  # a power of two
        powers = polysketch_powers(xp, np.ones((3, 6)), params)
        assert len(powers) == degree
        for P in powers:
            assert P.shape == (3, 16)


def test_polysketch_unbiased_for_every_power(rng):
    degree, d, m = 5, 8, 64
    X = _unit_rows(rng, 3, d)
    X[1] = X[0] + 0.45 * X[1]
    X[1] /= np.linalg.norm(X[1])  # a pair with a large correlation: <x,y>^5 stays visible
    X[2] *= 1.3  # a row of another norm
    estimates = [[] for _ in range(degree)]
    for seed in range(1200):
        powers = polysketch_powers(xp, X, draw_polysketch(np.random.RandomState(seed), d, m,
                                                          degree))
        for j in range(degree):
            estimates[j].append(_gram(powers[j]))
    G = X @ X.T
    assert G[0, 1] ** degree > 0.3
    for j in range(1, degree + 1):
        _assert_unbiased(estimates[j - 1], G ** j, max_se=0.03 * np.abs(G ** j).max())


# --------------------------------------------------------------------- real vs complex paths


@pytest.mark.parametrize("n, m", [(16, 40), (15, 40), (2, 3), (1, 4), (33, 8)])
def test_real_fft_path_equals_complex_path(n, m, rng):
    U = rng.standard_normal((6, n))
    V = rng.standard_normal((6, 5))
    params = draw_srht(np.random.RandomState(0), n, m)
    real = srht(xp, U, params)
    cplx = srht(xp, U.astype(np.complex128), params)
    np.testing.assert_allclose(real, cplx, rtol=1e-12, atol=1e-12 * np.abs(cplx).max())

    tparams = draw_tensor_srht(np.random.RandomState(1), n, 5, m)
    real = tensor_srht(xp, U, V, tparams)
    cplx = tensor_srht(xp, U.astype(np.complex128), V.astype(np.complex128), tparams)
    np.testing.assert_allclose(real, cplx, rtol=1e-12, atol=1e-12 * np.abs(cplx).max())


@pytest.mark.parametrize("d", [7, 8])
def test_polysketch_real_path_equals_complex_path(d, rng):
    X = rng.standard_normal((5, d))
    params = draw_polysketch(np.random.RandomState(2), d, 21, 6)
    real = polysketch_powers(xp, X, params)
    cplx = polysketch_powers(xp, X.astype(np.complex128), params)
    for a, b in zip(real, cplx):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12 * np.abs(b).max())


def test_sketches_are_linear(rng):
    """SRHT is linear; TensorSRHT is bilinear."""
    n, m = 12, 20
    U, W = rng.standard_normal((3, n)), rng.standard_normal((3, n))
    V = rng.standard_normal((3, 4))
    p = draw_srht(np.random.RandomState(0), n, m)
    np.testing.assert_allclose(srht(xp, 2 * U - W, p), 2 * srht(xp, U, p) - srht(xp, W, p),
                               atol=1e-12)
    t = draw_tensor_srht(np.random.RandomState(1), n, 4, m)
    np.testing.assert_allclose(tensor_srht(xp, U + W, 3 * V, t),
                               3 * tensor_srht(xp, U, V, t) + 3 * tensor_srht(xp, W, V, t),
                               atol=1e-12)


# --------------------------------------------------------------------- polynomial fits

_CASES = [("ntk", 1, -1.0), ("ntk", 2, -1.0), ("ntk", 3, -1.0), ("ntk", 2, 0.0),
          ("nngp", 2, -1.0), ("kappa0", 1, -1.0), ("kappa1", 1, -1.0), ("kappa0", 1, 0.0),
          ("kappa1", 1, 0.0)]


def _target(function, depth):
    return {"ntk": lambda t: ntk_on_sphere(t, depth), "nngp": lambda t: nngp_on_sphere(t, depth),
            "kappa0": kappa0, "kappa1": kappa1}[function]


@pytest.mark.parametrize("function, depth, lower", _CASES)
@pytest.mark.parametrize("degree", [1, 3, 8])
def test_polyfit_nonnegative_and_exact_at_one(function, depth, lower, degree):
    coef, max_error = fit_dot_product_polynomial(function, degree, depth=depth, lower=lower)
    assert coef.shape == (degree + 1,)
    assert np.all(coef >= 0)
    g1 = float(_target(function, depth)(np.array(1.0)))
    assert abs(coef.sum() - g1) <= 1e-12 * max(1.0, g1)
    assert np.isfinite(max_error) and max_error >= 0
    assert not coef.flags.writeable


@pytest.mark.parametrize("function, depth, lower", _CASES)
def test_polyfit_reported_error_is_the_max_error(function, depth, lower):
    g = _target(function, depth)
    grid = np.linspace(lower, 1.0, 200001)
    for degree in (2, 8):
        coef, reported = fit_dot_product_polynomial(function, degree, depth=depth, lower=lower)
        actual = np.max(np.abs(np.polynomial.polynomial.polyval(grid, coef) - g(grid)))
        assert abs(actual - reported) <= 1e-4 * actual + 1e-14
        # the error of a fit on [lower, 1] says nothing outside it, but inside it is a bound
        inside = np.linspace(lower, 1.0, 1001)
        assert np.all(np.abs(np.polynomial.polynomial.polyval(inside, coef) - g(inside))
                      <= reported + 1e-14)


@pytest.mark.parametrize("function, depth, lower", _CASES)
def test_polyfit_error_decreases_with_degree(function, depth, lower):
    errors = [fit_dot_product_polynomial(function, q, depth=depth, lower=lower)[1]
              for q in (2, 4, 8, 16)]
    assert all(b < a for a, b in zip(errors, errors[1:])), errors
    assert errors[-1] < 0.5 * errors[0]


def test_polyfit_accuracy_of_known_cases():
    """Degree 8 on [-1, 1]: kappa1 (smooth up to t=1) is fitted far better than kappa0."""
    _, e1 = fit_dot_product_polynomial("kappa1", 8, lower=-1.0)
    _, e0 = fit_dot_product_polynomial("kappa0", 8, lower=-1.0)
    assert e1 < 1e-2 and e1 < 0.1 * e0
    # NTK of depth L: relative to K_L(1) = L + 1 the degree-8 fit is within a few percent
    for depth in (1, 2, 3):
        _, e = fit_dot_product_polynomial("ntk", 8, depth=depth, lower=-1.0)
        assert e / (depth + 1) < 0.06


@pytest.mark.parametrize("n, m", [(5, 2), (6, 2), (101, 20), (128, 40), (1000, 3)])
def test_sampled_fft_of_few_frequencies_reads_the_mirror(n, m, rng):
    """With 2 m < n the sampled frequencies above n/2 are read as conjugates of the stored
    half spectrum: the same values as the full complex FFT, Nyquist frequency included."""
    from sklearn_ntk._sketches import _sampled_fft

    params = draw_srht(np.random.RandomState(n), n, m)
    params["indices"][:2] = [n // 2, n - 1]  # the Nyquist (or middle) and the last frequency
    U = rng.standard_normal((3, n))
    expected = np.fft.fft(U * params["signs"], axis=-1)[:, params["indices"]]
    np.testing.assert_allclose(_sampled_fft(np, U, params, None), expected, rtol=1e-10,
                               atol=1e-10)
