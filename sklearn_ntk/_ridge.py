r"""Ridge regression on explicit features from sufficient statistics (ALGORITHMS.md section 9).

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
"""

from dataclasses import dataclass

import numpy as np
import scipy.linalg

from ._backend import to_numpy


@dataclass
class RidgeStatistics:
    """Weighted-centred sufficient statistics of a ridge problem (all float64, host)."""

    n_samples: int
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
        (n, t) and ``sample_weight`` (n,) are host NumPy arrays.
        """
        if xp is None:
            xp, device = np, None
            Z = np.asarray(Z)
        n = Z.shape[0]
        w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, np.float64)
        Y = np.asarray(Y, dtype=np.float64)
        weight_sum = float(w.sum())
        if weight_sum > 0:
            y_mean = w @ Y / weight_sum
        else:
            y_mean = np.zeros(Y.shape[1])
        root_w = np.sqrt(w)[:, None]
        Yc = (Y - y_mean) * root_w
        Z64 = xp.astype(Z, xp.float64)
        w_dev = xp.asarray(w, device=device)
        z_mean = (xp.sum(Z64 * w_dev[:, None], axis=0) / weight_sum if weight_sum > 0
                  else xp.zeros(Z.shape[1], dtype=xp.float64, device=device))
        Zc = (Z64 - z_mean) * xp.asarray(root_w, device=device)
        gram = to_numpy(xp, Zc.T @ Zc)
        cross = to_numpy(xp, Zc.T @ xp.asarray(Yc, device=device))
        return cls(n, weight_sum, to_numpy(xp, z_mean), y_mean, gram, cross, Yc.T @ Yc)

    def merge(self, other):
        """Statistics of the union of two disjoint sets of rows (Chan et al. update)."""
        if other.weight_sum == 0:
            return RidgeStatistics(self.n_samples + other.n_samples, *self._fields()[1:])
        if self.weight_sum == 0:
            return RidgeStatistics(self.n_samples + other.n_samples, *other._fields()[1:])
        wa, wb = self.weight_sum, other.weight_sum
        total = wa + wb
        dz = other.feature_mean - self.feature_mean
        dy = other.target_mean - self.target_mean
        factor = wa * wb / total
        return RidgeStatistics(
            self.n_samples + other.n_samples,
            total,
            self.feature_mean + dz * (wb / total),
            self.target_mean + dy * (wb / total),
            self.gram + other.gram + factor * np.outer(dz, dz),
            self.cross + other.cross + factor * np.outer(dz, dy),
            self.target_scatter + other.target_scatter + factor * np.outer(dy, dy),
        )

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


@dataclass
class RidgeSolution:
    coef: np.ndarray  # (m, t)
    intercept: np.ndarray  # (t,)
    alpha: float
    gcv_scores: np.ndarray  # (n_alphas,) mean squared GCV error per alpha, or empty


def solve_ridge(stats, alphas, *, fit_intercept=True):
    """Ridge coefficients for the best of ``alphas`` by GCV (or the single alpha given).

    Parameters
    ----------
    stats : RidgeStatistics
    alphas : sequence of float
        One value: solve for it (a Cholesky solve). Several: one eigendecomposition of the
        Gram matrix, GCV over all of them, coefficients for the minimiser.
    fit_intercept : bool
    """
    if not fit_intercept:
        stats = stats.uncentred()
    alphas = np.asarray(alphas, dtype=np.float64)
    G, B = stats.gram, stats.cross
    if alphas.size == 1:
        alpha = float(alphas[0])
        coef = _solve_one(G, B, alpha)
        scores = np.empty(0)
    else:
        eigvals, V = scipy.linalg.eigh(G, check_finite=False)
        eigvals = np.maximum(eigvals, 0.0)
        Q = V.T @ B  # (m, t)
        scores = _gcv_scores(eigvals, Q, np.trace(stats.target_scatter), alphas,
                             stats.n_samples, fit_intercept)
        best = int(np.argmin(scores))
        alpha = float(alphas[best])
        coef = V @ (Q / (eigvals + alpha)[:, None])
    if fit_intercept:
        intercept = stats.target_mean - stats.feature_mean @ coef
    else:
        intercept = np.zeros(B.shape[1])
    return RidgeSolution(coef, intercept, alpha, scores)


def _solve_one(G, B, alpha):
    A = G.copy()
    A.flat[:: A.shape[0] + 1] += alpha
    try:
        return scipy.linalg.solve(A, B, assume_a="pos", check_finite=False)
    except (np.linalg.LinAlgError, scipy.linalg.LinAlgError):
        # alpha = 0 with a singular Gram matrix: minimum-norm least squares
        return scipy.linalg.lstsq(A, B, check_finite=False)[0]


def _gcv_scores(eigvals, Q, target_ss, alphas, n_samples, fit_intercept):
    """GCV(alpha) = (RSS/n) / (1 - df/n)^2, summed RSS over targets divided by their number."""
    scores = np.empty(alphas.size)
    q2 = np.sum(Q * Q, axis=1)
    n_targets = Q.shape[1]
    for k, alpha in enumerate(alphas):
        with np.errstate(divide="ignore", invalid="ignore"):
            shrink = np.where(eigvals + alpha > 0,
                              (eigvals + 2 * alpha) / (eigvals + alpha) ** 2, 0.0)
            df = np.sum(np.where(eigvals + alpha > 0, eigvals / (eigvals + alpha), 0.0))
        rss = max(target_ss - float(q2 @ shrink), 0.0)
        df += 1.0 if fit_intercept else 0.0
        denom = (1.0 - df / n_samples) ** 2
        scores[k] = np.inf if denom <= 0 or df >= n_samples else rss / n_samples / denom / n_targets
    return scores
