r"""Ridge regression on explicit features from sufficient statistics.

For features :math:`Z` (n x m), targets :math:`Y` (n x t) and sample weights :math:`w`, the
weighted-centred statistics

.. math::

    \bar z = \frac{\sum_i w_i z_i}{\sum_i w_i},\quad G = \sum_i w_i (z_i - \bar z)(z_i - \bar z)^T,
    \quad B = \sum_i w_i (z_i - \bar z)(y_i - \bar y)^T,\quad
    C = \sum_i w_i (y_i - \bar y)(y_i - \bar y)^T

determine the ridge solution :math:`W(\alpha) = (G + \alpha I)^{-1} B` and, through one
eigendecomposition :math:`G = V \Lambda V^T`, every :math:`\alpha` of a grid at once. They are
accumulated in float64 chunk by chunk and merged with the pairwise update of Chan, Golub &
LeVeque (exact, and stable when the features have a large mean), so in-memory, streamed
(``partial_fit``) and Dask fits solve the same system.

Generalised cross-validation (Golub, Heath & Wahba 1979) needs only these statistics:
:math:`\mathrm{RSS}(\alpha) = \mathrm{tr}\,C - \sum_j q_j^2 (\lambda_j + 2\alpha)/(\lambda_j+\alpha)^2`
with :math:`q = V^T B`, and :math:`\mathrm{df}(\alpha) = \sum_j \lambda_j/(\lambda_j+\alpha)`.

Eigenvalues below :math:`m\,\epsilon\,\lambda_{\max}` (the rounding noise of forming
:math:`G` in float64, the cutoff ``numpy.linalg.pinv`` uses) are treated as exact zeros, and so
are their :math:`q_j`, which vanish in exact arithmetic (:math:`Zv_j = 0`). With
:math:`\alpha = 0` the solution is then the minimum-norm least-squares solution
:math:`G^{+}B`, and the GCV score of :math:`\alpha = 0` is not destroyed by dividing rounding
noise by rounding noise.
"""

import math
import warnings
from dataclasses import dataclass

import numpy as np
import scipy.linalg
from scipy.linalg import blas

from ._backend import to_numpy

# Columns per block of gram_matrix. NumPy computes A.T @ A of one buffer with BLAS SYRK, and
# the OpenBLAS of NumPy's wheels segfaults there for large outputs (16,000 columns and 1,024
# rows crashed here; NumPy issue #19685 reports the same for 80,000 x 3,072). Blocks of this
# size stay far below that and keep SYRK's half-the-work advantage on the diagonal.
GRAM_BLOCK = 4096


def gram_matrix(A, block=None, xp=np, device=None):
    """``A.T @ A`` computed in column blocks, never one large SYRK call.

    Diagonal blocks use SYRK (``A_i.T @ A_i``), blocks above the diagonal GEMM, and the
    lower triangle is copied from the upper one: the same number of operations as a single
    SYRK, and exactly symmetric. ``xp`` / ``device``: the array namespace of ``A``.
    """
    block = GRAM_BLOCK if block is None else int(block)
    m = A.shape[1]
    if m <= block:
        return A.T @ A
    G = xp.empty((m, m), dtype=A.dtype, device=device) if xp is not np else \
        np.empty((m, m), dtype=A.dtype)
    starts = list(range(0, m, block))
    for a in starts:
        b = min(a + block, m)
        left = A[:, a:b]
        G[a:b, a:b] = left.T @ left
        if b < m:
            G[a:b, b:] = left.T @ A[:, b:]
            G[b:, a:b] = G[a:b, b:].T
    return G


@dataclass
class RidgeStatistics:
    """Weighted-centred sufficient statistics of a ridge problem (all float64, host)."""

    n_samples: int  # rows of positive weight (a zero weight is the row left out)
    weight_sum: float
    feature_mean: np.ndarray  # (m,)
    target_mean: np.ndarray  # (t,)
    gram: np.ndarray  # (m, m)
    cross: np.ndarray  # (m, t)
    target_scatter: np.ndarray  # (t, t)

    @classmethod
    def from_chunk(cls, Z, Y, sample_weight=None, xp=None, device=None):
        """Statistics of one chunk.

        ``Z`` may live in any array namespace ``xp`` (e.g. on a GPU): the O(n m^2) products are
        computed there in float64 and only the m x m results come back to the host. ``Y``
        (n, t) and ``sample_weight`` (n,) are host NumPy arrays. A NumPy ``Z`` is centred in
        place (it is overwritten): besides ``Z`` only its float64 copy (for float32 input)
        and the m x m Gram matrix are allocated.
        """
        if xp is None:
            xp, device = np, None
            Z = np.asarray(Z)
        Y = np.asarray(Y, dtype=np.float64)
        n = Z.shape[0]
        if n == 0:
            return cls.empty(Z.shape[1], Y.shape[1])
        w = None if sample_weight is None else np.asarray(sample_weight, np.float64)
        weight_sum = float(n) if w is None else float(w.sum())
        if weight_sum <= 0:
            return cls.empty(Z.shape[1], Y.shape[1])
        if w is not None:
            n = int(np.count_nonzero(w > 0))
        y_mean = (Y.sum(axis=0) if w is None else w @ Y) / weight_sum
        Yc = Y - y_mean
        if w is not None:
            Yc *= np.sqrt(w)[:, None]
        if xp is np or type(Z) is np.ndarray:
            Zc = Z.astype(np.float64, copy=False)
            z_mean = (Zc.sum(axis=0) if w is None else w @ Zc) / weight_sum
            Zc -= z_mean
            if w is not None:
                Zc *= np.sqrt(w)[:, None]
            return cls(n, weight_sum, z_mean, y_mean, gram_matrix(Zc), Zc.T @ Yc, Yc.T @ Yc)
        Z64 = xp.astype(Z, xp.float64)
        if w is None:
            z_mean = xp.sum(Z64, axis=0) / weight_sum
            Zc = Z64 - z_mean
        else:
            w_dev = xp.asarray(w, device=device)
            z_mean = xp.sum(Z64 * w_dev[:, None], axis=0) / weight_sum
            Zc = (Z64 - z_mean) * xp.asarray(np.sqrt(w)[:, None], device=device)
        del Z64
        gram = to_numpy(xp, gram_matrix(Zc, xp=xp, device=device))
        cross = to_numpy(xp, Zc.T @ xp.asarray(Yc, device=device))
        return cls(n, weight_sum, to_numpy(xp, z_mean), y_mean, gram, cross, Yc.T @ Yc)

    @classmethod
    def empty(cls, n_features, n_targets):
        """Statistics of no rows (the neutral element of :meth:`merge`)."""
        return cls(0, 0.0, np.zeros(n_features), np.zeros(n_targets),
                   np.zeros((n_features, n_features)), np.zeros((n_features, n_targets)),
                   np.zeros((n_targets, n_targets)))

    def merge(self, other):
        """Statistics of the union of two disjoint sets of rows (Chan et al. update).

        Returns new arrays; :meth:`merge_into` updates ``self`` in place instead.
        """
        return self.copy().merge_into(other)

    def copy(self):
        return RidgeStatistics(self.n_samples, self.weight_sum, self.feature_mean.copy(),
                               self.target_mean.copy(), self.gram.copy(), self.cross.copy(),
                               self.target_scatter.copy())

    def merge_into(self, other):
        """Add the rows of ``other`` to ``self`` in place and return ``self``.

        No m x m temporary is created (the rank-one correction is a BLAS ``ger`` on the
        stored Gram matrix), so accumulating chunk after chunk holds two Gram matrices at
        most: the running one and the chunk's.
        """
        self._check_compatible(other)
        if other.weight_sum == 0:
            self.n_samples += other.n_samples
            return self
        if self.weight_sum == 0:
            n = self.n_samples + other.n_samples
            (self.weight_sum, self.feature_mean, self.target_mean, self.gram, self.cross,
             self.target_scatter) = (other.weight_sum, other.feature_mean.copy(),
                                     other.target_mean.copy(), other.gram.copy(),
                                     other.cross.copy(), other.target_scatter.copy())
            self.n_samples = n
            return self
        wa, wb = self.weight_sum, other.weight_sum
        total = wa + wb
        dz = other.feature_mean - self.feature_mean
        dy = other.target_mean - self.target_mean
        factor = wa * wb / total
        self.gram += other.gram
        _add_outer(self.gram, factor, dz, dz)
        self.cross += other.cross
        _add_outer(self.cross, factor, dz, dy)
        self.target_scatter += other.target_scatter
        _add_outer(self.target_scatter, factor, dy, dy)
        self.feature_mean = self.feature_mean + dz * (wb / total)
        self.target_mean = self.target_mean + dy * (wb / total)
        self.weight_sum = total
        self.n_samples += other.n_samples
        return self

    def _check_compatible(self, other):
        if other.cross.shape != self.cross.shape:
            raise ValueError(
                f"Cannot merge ridge statistics of {self.cross.shape[1]} target(s) with "
                f"statistics of {other.cross.shape[1]}: y must have the same number of "
                "columns in every batch.")

    def _fields(self):
        return (self.n_samples, self.weight_sum, self.feature_mean, self.target_mean,
                self.gram, self.cross, self.target_scatter)

    def uncentred(self):
        """The same statistics without centring (for ``fit_intercept=False``)."""
        zm, ym, w = self.feature_mean, self.target_mean, self.weight_sum
        return RidgeStatistics(
            self.n_samples, w, np.zeros_like(zm), np.zeros_like(ym),
            self.gram + w * np.outer(zm, zm), self.cross + w * np.outer(zm, ym),
            self.target_scatter + w * np.outer(ym, ym))


def _add_outer(A, factor, u, v):
    """``A += factor * outer(u, v)`` in place, without an ``A``-sized temporary."""
    if A.size >= 4096 and A.dtype == np.float64 and A.flags.c_contiguous:
        # A is C-ordered, so A.T is Fortran-ordered and ger updates it in place.
        out = blas.dger(factor, v, u, a=A.T, overwrite_a=True)
        if not np.shares_memory(out, A):  # pragma: no cover - BLAS made a copy
            A[...] = out.T
    else:
        A += factor * np.outer(u, v)


def ridge_memory_bytes(n_features, n_targets=1):
    """Peak bytes of the float64 ridge state of ``n_features`` features.

    Accumulating holds the running Gram matrix and one chunk's; solving holds the Gram
    matrix, the copy ``eigh`` factorises and the eigenvectors: three m x m matrices.
    """
    return 8 * (3 * n_features * n_features + 4 * n_features * max(n_targets, 1))


@dataclass
class RidgeSolution:
    coef: np.ndarray  # (m, t)
    intercept: np.ndarray  # (t,)
    alpha: float
    gcv_scores: np.ndarray  # (n_alphas,) mean squared GCV error per alpha, or empty
    gcv_alphas: np.ndarray  # (n_alphas,) the penalties scored, or empty


def solve_ridge(stats, alphas, *, fit_intercept=True):
    """Ridge coefficients for the best of ``alphas`` by GCV (or the single alpha given).

    Parameters
    ----------
    stats : RidgeStatistics
    alphas : sequence of float
        One positive value: solve for it (a Cholesky solve). Several, or ``0``: one
        eigendecomposition of the Gram matrix with the rank cutoff of the module docstring;
        GCV over all of them, coefficients for the minimiser (for ``alpha = 0``, the
        minimum-norm least-squares solution).
    fit_intercept : bool

    Raises
    ------
    ValueError
        When the statistics are not finite (features too large for float64), or when GCV
        cannot score any alpha (effective degrees of freedom reach ``n_samples``, e.g. with
        a single sample).
    """
    if not fit_intercept:
        stats = stats.uncentred()
    _check_finite(stats)
    alphas = np.asarray(alphas, dtype=np.float64)
    G, B = stats.gram, stats.cross
    if alphas.size == 1 and alphas[0] > 0:
        alpha = float(alphas[0])
        coef = _solve_one(G, B, alpha)
        scores = np.empty(0)
    else:
        eigvals, V = scipy.linalg.eigh(G, check_finite=False)
        eigvals, Q = _cut_rank(eigvals, V.T @ B)
        if alphas.size == 1:
            best, scores = 0, np.empty(0)
        else:
            scores = _gcv_scores(eigvals, Q, np.trace(stats.target_scatter), alphas,
                                 _gcv_count(stats), fit_intercept)
            best = _best_alpha(scores, stats)
        alpha = float(alphas[best])
        coef = V @ (Q * _inverse_shifted(eigvals, alpha)[:, None])
    if fit_intercept:
        intercept = stats.target_mean - stats.feature_mean @ coef
    else:
        intercept = np.zeros(B.shape[1])
    return RidgeSolution(coef, intercept, alpha, scores, alphas if scores.size else scores)


def solve_ridge_dual(stats, Zc, Yc, alphas, *, fit_intercept=True):
    r"""The same solution as :func:`solve_ridge`, computed in the n x n sample space.

    With fewer samples than features, :math:`K = Z_c Z_c^T = U \Lambda U^T` (n x n) has the
    non-zero eigenvalues of :math:`G = Z_c^T Z_c`, and the eigenvectors of :math:`G` are
    :math:`v_j = Z_c^T u_j / \sqrt{\lambda_j}`; so :math:`q_j = v_j^T Z_c^T Y_c =
    \sqrt{\lambda_j}\, u_j^T Y_c`, which is all GCV needs, and
    :math:`W = Z_c^T U (\Lambda + \alpha)^{-1} U^T Y_c`. Cost :math:`O(n^2 m + n^3)` instead of
    the :math:`O(m^3)` eigendecomposition of :math:`G`.

    Parameters
    ----------
    stats : RidgeStatistics
        Statistics of the same rows (for the means and ``n_samples``).
    Zc, Yc : ndarray of shape (n, m) and (n, t)
        Features and targets, centred by the weighted means when ``fit_intercept`` and
        multiplied row-wise by the square roots of the sample weights.
    alphas : sequence of float
    fit_intercept : bool
    """
    _check_finite(stats)
    alphas = np.asarray(alphas, dtype=np.float64)
    eigvals, U = scipy.linalg.eigh(gram_matrix(Zc.T), check_finite=False)
    projections = U.T @ Yc
    # the null-space part of the targets is residual no penalty can fit: GCV keeps it,
    # the coefficients do not need it (Z_c^T u = 0 there)
    eigvals, P = _cut_rank(eigvals, projections)
    if alphas.size == 1:
        best, scores = 0, np.empty(0)
    else:
        scores = _gcv_scores_dual(eigvals, projections, alphas, _gcv_count(stats),
                                  fit_intercept)
        best = _best_alpha(scores, stats)
    alpha = float(alphas[best])
    coef = Zc.T @ (U @ (P * _inverse_shifted(eigvals, alpha)[:, None]))
    if fit_intercept:
        intercept = stats.target_mean - stats.feature_mean @ coef
    else:
        intercept = np.zeros(Yc.shape[1])
    return RidgeSolution(coef, intercept, alpha, scores, alphas if scores.size else scores)


class KernelRidgePath:
    r"""Kernel ridge with an intercept for a grid of penalties, from one eigendecomposition.

    The kernel-space counterpart of :func:`solve_ridge_dual` for a kernel matrix given
    directly (an exact NTK, say): the intercept is fitted by double centring,
    :math:`K_c = (I - \tfrac1n 11^T) K (I - \tfrac1n 11^T) = U \Lambda U^T`, and for every
    :math:`\alpha` the dual coefficients are :math:`U (\Lambda + \alpha)^{-1} U^T Y_c`, with
    the rank cutoff and the cancellation-free GCV scores of the feature-space solvers
    (``gcv_scores``; ``alpha`` is their minimiser). The benchmarks compare the sketches with
    exact kernel ridge through this class, so both sides use one solver.

    Parameters
    ----------
    K : ndarray of shape (n, n)
        Symmetric positive semi-definite training kernel.
    Y : ndarray of shape (n,) or (n, t)
        Targets (e.g. centred one-hot class indicators).
    alphas : sequence of float
        Non-negative penalties.

    Attributes
    ----------
    alpha : float
        The penalty with the smallest GCV score.
    gcv_scores : ndarray of shape (n_alphas,)
    """

    def __init__(self, K, Y, alphas):
        K = np.asarray(K, dtype=np.float64)
        Y = np.asarray(Y, dtype=np.float64)
        self._single = Y.ndim == 1
        Y = Y[:, None] if self._single else Y
        n = K.shape[0]
        if K.shape != (n, n) or Y.shape[0] != n:
            raise ValueError(f"K must be square with one row per target row; got K of shape "
                             f"{K.shape} and Y of shape {Y.shape}.")
        if not (np.all(np.isfinite(K)) and np.all(np.isfinite(Y))):
            raise ValueError("K and Y must be finite.")
        self.alphas = check_alphas(alphas)
        self._column_mean = K.mean(axis=0)
        self._mean = float(self._column_mean.mean())
        self._y_mean = Y.mean(axis=0)
        Kc = K - self._column_mean[None, :] - self._column_mean[:, None] + self._mean
        eigvals, self._U = scipy.linalg.eigh(Kc, check_finite=False)
        # All of U^T Y_c is kept: GCV needs the null-space part (residual no penalty can fit)
        # and (K_c + alpha I)^{-1} Y_c has it too; only the eigenvalues are cut to zero.
        self._P = self._U.T @ (Y - self._y_mean)
        self._eigvals, _ = _cut_rank(eigvals, self._P)
        self.gcv_scores = _gcv_scores_dual(self._eigvals, self._P, self.alphas, n, True)
        if self.alphas.size == 1:  # nothing to choose
            self.alpha = float(self.alphas[0])
        elif not np.any(np.isfinite(self.gcv_scores)):
            raise ValueError(f"GCV cannot choose alpha with n_samples={n}.")
        else:
            self.alpha = float(self.alphas[int(np.argmin(self.gcv_scores))])

    def dual_coef(self, alpha=None):
        """Dual coefficients ``(K_c + alpha I)^{-1} Y_c``, shape ``(n, t)``, at ``alpha``
        (default: GCV's); for ``alpha = 0`` the pseudo-inverse."""
        alpha = self.alpha if alpha is None else float(alpha)
        return self._U @ (self._P * _inverse_shifted(self._eigvals, alpha)[:, None])

    def leave_one_out(self, alpha=None):
        r"""Leave-one-out predictions of the training targets at ``alpha`` (default: GCV's).

        Row :math:`i`'s prediction by the model fitted without it, from the one fit on all
        rows: :math:`\hat y_{-i} = y_i - r_i / (1 - h_{ii})` with the residual :math:`r_i`
        and the leverage :math:`h_{ii} = \tfrac1n + \sum_j U_{ij}^2 \lambda_j /
        (\lambda_j + \alpha)` (the intercept's share plus the centred kernel's), the
        exact identity for ridge with an intercept fitted by centring. Unlike GCV, which
        replaces every :math:`h_{ii}` by their mean, rows of high leverage count as much as
        their own refit says.
        """
        alpha = self.alpha if alpha is None else float(alpha)
        inverse = _inverse_shifted(self._eigvals, alpha)
        kept = alpha * inverse if alpha > 0 else (self._eigvals == 0).astype(np.float64)
        residual = self._U @ (self._P * kept[:, None])
        leverage = (self._U * self._U) @ (1.0 - kept) + 1.0 / len(self._U)
        out = self._y_mean + (self._U @ self._P) - residual / (1.0 - leverage)[:, None]
        return out[:, 0] if self._single else out

    def decision_function(self, K_eval, alpha=None):
        """Predictions for rows with kernel ``K_eval`` (n_eval, n) against the training rows."""
        K_eval = np.asarray(K_eval, dtype=np.float64)
        if K_eval.ndim != 2 or K_eval.shape[1] != len(self._U):
            raise ValueError(f"K_eval must have shape (n_eval, {len(self._U)}) (one column "
                             f"per training row), got {K_eval.shape}.")
        centred = (K_eval - K_eval.mean(axis=1, keepdims=True) - self._column_mean[None, :]
                   + self._mean)
        out = centred @ self.dual_coef(alpha) + self._y_mean
        return out[:, 0] if self._single else out


def check_alphas(alphas):
    """``alphas`` as a float64 array, or a ValueError naming it: a non-empty 1-D sequence of
    finite non-negative numbers, and no bools (``True`` would silently mean 1.0)."""
    message = ("alphas must be a non-empty 1-D sequence of finite non-negative numbers, "
               f"got {alphas!r}.")
    try:
        raw = np.asarray(alphas, dtype=object)
        out = np.asarray(alphas, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(message) from None
    if (out.ndim != 1 or out.size == 0 or not np.all(np.isfinite(out)) or np.any(out < 0)
            or any(isinstance(a, (bool, np.bool_)) for a in raw.ravel())):
        raise ValueError(message)
    return out


def automatic_alpha_factors(weight_sum):
    r"""The automatic penalty grid relative to the kernel's scale: whole powers of ten.

    From :math:`10^{-12}` (tiny against the largest eigenvalue: such penalties act as the
    pseudo-inverse) up to :math:`10^4 \max(1, \sum_i w_i)`. Since the largest eigenvalue of
    the Gram matrix is at most its trace, :math:`\sum_i w_i` times the scale, the top
    penalty shrinks every direction of the features at least ten-thousandfold: the fit is
    the intercept alone to about four digits. Once the Gram matrix is decomposed each GCV
    score costs O(rank x targets), so a wide grid is free.
    """
    top = 4 + (max(0, math.ceil(math.log10(weight_sum))) if weight_sum > 0 else 0)
    return 10.0 ** np.arange(-12, top + 1)


def automatic_alphas(stats):
    r"""The default GCV grid: :func:`automatic_alpha_factors` times the kernel's scale.

    The scale is :math:`\mathrm{tr}\,G / \sum_i w_i`, the weighted mean squared norm of
    the centred features, :math:`G = \sum_i w_i (z_i - \bar z)(z_i - \bar z)^T`: without
    weights, the mean diagonal of the centred kernel matrix the features approximate. The
    grid is invariant to rescaling the features. A common factor ``c`` on every weight acts
    as the penalty divided by ``c``, as in scikit-learn's ``Ridge``.
    """
    scale = float(np.trace(stats.gram)) / stats.weight_sum if stats.weight_sum > 0 else 0.0
    if not scale > 0:
        scale = 1.0
    return scale * automatic_alpha_factors(stats.weight_sum)


def _check_finite(stats):
    for name in ("gram", "cross", "target_scatter"):
        if not np.all(np.isfinite(getattr(stats, name))):
            raise ValueError(
                "The ridge statistics overflowed float64: the features (or y) are too large "
                "in magnitude for their squares to be summed. Rescale X and y (for instance "
                "with sklearn.preprocessing.StandardScaler) before fitting.")


def _best_alpha(scores, stats):
    """Index of the smallest GCV score; an error when no alpha can be scored."""
    if not np.any(np.isfinite(scores)):
        raise ValueError(
            f"GCV cannot choose alpha with n_samples={stats.n_samples}: for every "
            "alpha the effective degrees of freedom reach the number of samples. "
            "Pass more samples (of positive weight), or a fixed penalty "
            "(alpha=<value>, alphas=None).")
    return int(np.argmin(scores))


def _cut_rank(eigvals, Q):
    """Zero the eigenvalues at rounding level, and their projections ``q_j`` with them."""
    eigvals = np.maximum(eigvals, 0.0)
    cutoff = eigvals.size * np.finfo(np.float64).eps * (eigvals.max() if eigvals.size else 0.0)
    null = eigvals <= cutoff
    eigvals = np.where(null, 0.0, eigvals)
    Q = np.where(null[:, None], 0.0, Q)
    return eigvals, Q


def _gcv_count(stats):
    r"""The sample count ``n`` of GCV: :math:`\max(\sum_i w_i, \#\{i : w_i > 0\})`.

    Integer weights are frequencies, as in scikit-learn's ``Ridge``: weight 3 scores like
    three copies of the row, so weighting and repeating choose the same penalty. Weights
    that sum to less than the number of weighted rows (normalised or down-weighting
    weights) cannot mean fewer rows than there are, so each weighted row then counts once.
    A zero weight is the row left out: counting it would add residual degrees of freedom
    that no data backs and push GCV towards interpolation.
    """
    return max(stats.weight_sum, float(stats.n_samples))


def _inverse_shifted(eigvals, alpha):
    """``1 / (lambda + alpha)``, and 0 in the null space when ``alpha = 0`` (pseudo-inverse)."""
    shifted = eigvals + alpha
    return np.divide(1.0, shifted, out=np.zeros_like(shifted), where=shifted > 0)


def _solve_one(G, B, alpha):
    A = G.copy()
    A.flat[:: A.shape[0] + 1] += alpha
    try:
        return scipy.linalg.solve(A, B, assume_a="pos", check_finite=False)
    except (np.linalg.LinAlgError, scipy.linalg.LinAlgError):
        # alpha far below the rounding level of G: fall back on the eigendecomposition
        warnings.warn(f"G + alpha I is numerically singular (alpha={alpha!r} is below the "
                      "rounding level of the Gram matrix); solving by eigendecomposition "
                      "with a rank cutoff instead.", RuntimeWarning, stacklevel=3)
        eigvals, V = scipy.linalg.eigh(G, check_finite=False)
        eigvals, Q = _cut_rank(eigvals, V.T @ B)
        return V @ (Q * _inverse_shifted(eigvals, alpha)[:, None])


def _gcv_ratio(rss, residual_df, n_samples, n_targets):
    """``(RSS / n) / (1 - df / n)^2`` per target; ``inf`` where ``n - df`` is (numerically) 0."""
    fraction = residual_df / n_samples
    if not fraction * fraction > 0:
        return np.inf
    return rss / n_samples / (fraction * fraction) / n_targets


def _gcv_scores_dual(eigvals, P, alphas, n_samples, fit_intercept):
    r"""GCV scores from the n x n eigendecomposition, with residuals free of cancellation.

    ``U`` is a complete basis of the sample space, so ``Y_c = U P`` and the residual is
    :math:`Y_c - Z_c W = U\,\mathrm{diag}(\alpha / (\lambda + \alpha))\,P`:
    :math:`\mathrm{RSS}(\alpha) = \sum_j (\alpha/(\lambda_j+\alpha))^2 \|P_j\|^2` (at
    :math:`\alpha = 0`, the sum over the null space), a sum of non-negative terms instead of
    the difference of two large numbers the primal formula takes. ``P`` must keep its
    null-space rows (``U^T Y_c`` as computed, not through :func:`_cut_rank`): they are the
    residual that no penalty can fit.
    """
    scores = np.empty(alphas.size)
    p2 = np.sum(P * P, axis=1)
    positive = eigvals > 0
    free = n_samples - (1 if fit_intercept else 0) - int(np.sum(positive))
    for k, alpha in enumerate(alphas):
        inverse = _inverse_shifted(eigvals, alpha)
        kept = alpha * inverse if alpha > 0 else (~positive).astype(np.float64)
        rss = float(p2 @ (kept * kept))
        # n - df, summed without cancellation (see _gcv_scores)
        residual_df = free + (float(np.sum(alpha * inverse[positive])) if alpha > 0 else 0.0)
        scores[k] = _gcv_ratio(rss, residual_df, n_samples, P.shape[1])
    return scores


def _gcv_scores(eigvals, Q, target_ss, alphas, n_samples, fit_intercept):
    r"""GCV(alpha) = (RSS/n) / (1 - df/n)^2, summed RSS over targets divided by their number.

    ``eigvals`` and ``Q`` have been through :func:`_cut_rank`. Both parts are evaluated
    without cancellation:

    - :math:`\mathrm{RSS}(\alpha) = \mathrm{RSS}_0 + \sum_{\lambda_j > 0} q_j^2
      \alpha^2 / (\lambda_j (\lambda_j + \alpha)^2)`, a sum of non-negative terms, where
      :math:`\mathrm{RSS}_0 = \mathrm{tr}\,C - \sum_{\lambda_j>0} q_j^2/\lambda_j` is the
      least-squares residual: zero when the features can interpolate the rows
      (rank + intercept >= n, as with fewer rows than features), otherwise computed once;
    - :math:`n - \mathrm{df} = (n - [\text{intercept}] - \text{rank}) +
      \sum_{\lambda_j>0} \alpha / (\lambda_j + \alpha)`.

    The textbook form :math:`\mathrm{tr}\,C - \sum_j q_j^2 (\lambda_j+2\alpha)/(\lambda_j+
    \alpha)^2` subtracts two nearly equal numbers when the fit nearly interpolates, and its
    rounding error then made small penalties score a perfect 0.
    """
    scores = np.empty(alphas.size)
    positive = eigvals > 0
    rank = int(np.sum(positive))
    lam = eigvals[positive]
    # q_j^2 / lambda_j as (q_j / sqrt(lambda_j))^2 and alpha / (lambda_j + alpha) in [0, 1]:
    # q_j^2 or alpha^2 / (lambda (lambda + alpha)^2) alone overflow once the kernel's (or
    # the weights') scale passes about 1e100
    whitened = Q[positive] / np.sqrt(lam)[:, None]
    explained = np.sum(whitened * whitened, axis=1)
    n_targets = Q.shape[1]
    free = n_samples - (1 if fit_intercept else 0) - rank  # residual degrees of freedom
    rss0 = 0.0 if free <= 0 else max(target_ss - float(np.sum(explained)), 0.0)
    for k, alpha in enumerate(alphas):
        if alpha > 0:
            kept = alpha / (lam + alpha)
            rss = rss0 + float(np.sum(explained * kept * kept))
            residual_df = free + float(np.sum(kept))
        else:
            rss, residual_df = rss0, float(free)
        scores[k] = _gcv_ratio(rss, residual_df, n_samples, n_targets)
    return scores