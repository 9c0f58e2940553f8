"""Non-negative polynomial fits of dot-product functions.

See "Polynomial approximation of dot-product functions" on the Mathematics page of the
documentation.

A dot-product kernel ``g(<x, y>)`` on the sphere is positive definite for every dimension when
``g`` is a power series with non-negative coefficients. Sketching ``x^{tensor j}`` term by term
therefore needs ``g(t) ~ sum_j c_j t^j`` with ``c_j >= 0``; the fit error bounds the bias of the
sketches built on it.
"""

from functools import lru_cache

import numpy as np
from scipy.optimize import nnls

from ._arccos import kappa0, kappa1, nngp_on_sphere, ntk_on_sphere

_FUNCTIONS = {
    "kappa0": lambda t, depth: kappa0(t),
    "kappa1": lambda t, depth: kappa1(t),
    "ntk": ntk_on_sphere,
    "nngp": nngp_on_sphere,
}


def _sample_points(lower, n_points=400):
    """A uniform grid on ``[lower, 1]`` plus Chebyshev-like points clustered near 1.

    The functions fitted here are non-smooth at ``t = 1`` (``arccos``), where the diagonal
    of every kernel matrix lives, so the fit needs many points there.
    """
    uniform = np.linspace(lower, 1.0, n_points)
    k = np.arange(n_points)
    clustered = 1.0 - (1.0 - lower) * (1.0 - np.cos((2 * k + 1) * np.pi / (4 * n_points)))
    return np.concatenate([uniform, clustered])


@lru_cache(maxsize=256)
def _fit_cached(function, depth, degree, lower):
    t = _sample_points(lower)
    g = _FUNCTIONS[function](t, depth)
    basis = t[:, None] ** np.arange(degree + 1)[None, :]
    target_at_one = float(_FUNCTIONS[function](np.array(1.0), depth))
    # The constraint sum_j c_j = g(1) keeps the diagonal K(x, x) unbiased; it enters as a
    # heavily weighted row and is then made exact by a rescale (which keeps c >= 0).
    weight = 1e4 * np.sqrt(len(t))
    A = np.vstack([basis, weight * np.ones((1, degree + 1))])
    b = np.concatenate([g, [weight * target_at_one]])
    coef, _ = nnls(A, b, maxiter=50 * (degree + 1))
    if coef.sum() > 0:
        coef *= target_at_one / coef.sum()
    grid = np.linspace(lower, 1.0, 20001)
    error = np.max(np.abs(np.polynomial.polynomial.polyval(grid, coef)
                          - _FUNCTIONS[function](grid, depth)))
    coef.setflags(write=False)
    return coef, float(error)


def fit_dot_product_polynomial(function, degree, *, depth=1, lower=-1.0):
    """Non-negative coefficients ``c_0..c_degree`` with ``sum_j c_j t^j ~ g(t)`` on ``[lower, 1]``.

    Minimises the squared error on :func:`_sample_points` subject to ``c >= 0`` (NNLS) and
    ``sum_j c_j = g(1)``. Results are cached by ``(function, depth, degree, lower)``.

    Parameters
    ----------
    function : {"ntk", "nngp", "kappa0", "kappa1"}
        ``"ntk"`` is :math:`K_L` of :func:`sklearn_ntk._arccos.ntk_on_sphere`, ``"nngp"`` the
        ``depth``-fold composition of :math:`\\kappa_1`.
    degree : int
        Polynomial degree ``q``.
    depth : int
        Network depth ``L`` (ignored for ``kappa0``/``kappa1``).
    lower : float
        Left end of the fitting interval: -1 at the input layer, >= 0 after a ReLU.

    Returns
    -------
    coef : ndarray of shape (degree + 1,)
        Read-only, non-negative.
    max_error : float
        Maximum absolute error of the fit on a fine grid of ``[lower, 1]``.
    """
    coef, error = _fit_cached(function, int(depth), int(degree), float(lower))
    return coef, error
