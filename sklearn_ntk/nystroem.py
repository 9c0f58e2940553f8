r"""Nyström features of the exact fully-connected ReLU NTK (or NNGP) kernel.

The Nyström method replaces a kernel by its projection onto the span of a few landmark points
:math:`L = \{l_1, \dots, l_m\}` taken from the training rows:

.. math::

    K(x, y) \approx \hat K(x, y) = K(x, L)\, K(L, L)^{+}\, K(L, y),

so that :math:`\varphi(x) = K(x, L)\, K(L, L)^{+1/2}` satisfies
:math:`\langle\varphi(x), \varphi(y)\rangle = \hat K(x, y)`. The quality depends only on which
landmarks are chosen; randomly pivoted Cholesky (RPCholesky) picks them adaptively, one after
another with probability proportional to how badly the current approximation misses the
diagonal, and needs only the ``m`` kernel columns of the chosen points.
"""

import math
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions

from ._backend import _is_numpy, namespace_of, to_numpy
from ._base import BaseFeatureMap, check_bias_rows, check_fits_in_memory, common_scale, \
    max_abs, max_abs_rows, reject_bool_params, store_params, validate_fit_input
from ._dask import known_row_chunks
from ._docstrings import FC_NETWORK_PARAMS_DOC
from ._ntk_kernel import _row_norms, ntk_block, ntk_kernel
from ._validation import MAX_BIAS, check_bias_value

#: A dask array given to :meth:`NTKNystroem.fit` is read only through a uniform sample of
#: ``max(DASK_FIT_MIN_ROWS, DASK_FIT_ROWS_PER_COMPONENT * n_components)`` rows (all rows when
#: it has no more than that).
DASK_FIT_MIN_ROWS = 10_000
DASK_FIT_ROWS_PER_COMPONENT = 10

# Pivots proposed per round of the accelerated (rejection-sampling) RPCholesky.
_RPCHOLESKY_BLOCK = 128
# Rounds in a row without a new pivot after which the residual is taken as exhausted.
_MAX_IDLE_ROUNDS = 20


# --------------------------------------------------------------------------- kernel helpers


def _ntk_diagonal(sq_norms, depth, bias, kind):
    r"""Kernel of each row with itself, in closed form.

    With :math:`\rho = 1` every layer has :math:`\kappa_0 = \kappa_1 = 1`, so
    :math:`\Sigma^{(h)}(x, x) = \Sigma^{(h-1)}(x, x) + \beta^2` and
    :math:`\Theta^{(h)}(x, x) = \Theta^{(h-1)}(x, x) + \Sigma^{(h)}(x, x)`.
    """
    bias2 = bias * bias
    sigma = sq_norms + bias2
    theta = sigma.copy()
    for _ in range(depth):
        sigma = sigma + bias2
        theta = theta + sigma
    return theta if kind == "ntk" else sigma


# --------------------------------------------------------------------------- landmarks


def _rpcholesky(X, n_landmarks, rng, kernel, diagonal):
    r"""Landmark indices by randomly pivoted Cholesky, with rejection-sampled blocks.

    RPCholesky builds a factor :math:`F` (``n x r``) of the Nyström approximation
    :math:`F F^T = K(:, S) K(S, S)^{-1} K(S, :)` one pivot at a time; the next pivot ``s`` is
    drawn with probability proportional to the residual diagonal
    :math:`d = \mathrm{diag}(K - F F^T)`, and the new column of ``F`` is the residual column
    :math:`(K(:, s) - F F(s, :)^T) / \sqrt{d_s}`.

    To evaluate kernel columns in blocks, each round proposes ``T`` pivots i.i.d. from the
    current :math:`d` and accepts them one after another by rejection: proposal ``j`` is
    accepted with probability :math:`H_{jj} / d_{s_j}`, where ``H`` is the residual of the small
    ``T x T`` kernel matrix of the proposals after the pivots already accepted in this round.
    The accepted pivots are distributed exactly as sequential RPCholesky's (Epperly, Tropp &
    Webber 2024), and only their ``n``-long kernel columns are computed.

    Returns the chosen indices (fewer than ``n_landmarks`` when the residual is exhausted,
    i.e. the kernel matrix has lower numerical rank).
    """
    n = X.shape[0]
    residual = np.maximum(np.asarray(diagonal, dtype=np.float64), 0.0)
    total = float(residual.sum())
    factor = np.zeros((n, n_landmarks))
    chosen = []
    taken = np.zeros(n, dtype=bool)
    idle = 0
    while len(chosen) < n_landmarks and idle < _MAX_IDLE_ROUNDS:
        residual_sum = float(residual.sum())
        if not residual_sum > 1e-14 * total:  # numerically rank-exhausted
            break
        r = len(chosen)
        proposals = rng.choice(n, size=min(_RPCHOLESKY_BLOCK, n_landmarks - r),
                               p=residual / residual_sum)
        F_prop = factor[proposals, :r]
        H = kernel(X[proposals], X[proposals]) - F_prop @ F_prop.T
        accepted = []
        for j, index in enumerate(proposals):
            if taken[index] or index in accepted:
                continue
            if rng.uniform() * residual[index] < H[j, j]:
                accepted.append(int(index))
                H = H - np.outer(H[:, j] / H[j, j], H[j, :])  # no product of two entries
        if not accepted:
            idle += 1
            continue
        idle = 0
        pivots = np.asarray(accepted)
        columns = kernel(X, X[pivots]) - factor[:, :r] @ factor[pivots, :r].T
        for c, pivot in enumerate(pivots):
            width = len(chosen)
            g = columns[:, c] - factor[:, r:width] @ factor[pivot, r:width]
            taken[pivot] = True
            if not g[pivot] > 1e-12 * diagonal[pivot]:  # lost to rounding: add nothing
                residual[pivot] = 0.0
                continue
            factor[:, width] = g / math.sqrt(g[pivot])
            chosen.append(int(pivot))
            residual = np.maximum(residual - factor[:, width] ** 2, 0.0)
            residual[pivot] = 0.0
    return np.asarray(chosen, dtype=np.intp)


def _inverse_square_root(K, rcond=None):
    r"""Symmetric :math:`K^{+1/2}` with the eigenvalues below ``rcond * max`` dropped.

    Returns ``(N, rank)``; :math:`N N^T = K^{+}` restricted to the kept eigenvectors, so that
    :math:`K N N^T K` equals ``K`` up to the dropped eigenvalues.
    """
    eigenvalues, eigenvectors = np.linalg.eigh(K)
    if rcond is None:
        rcond = K.shape[0] * np.finfo(np.float64).eps
    top = float(eigenvalues[-1]) if eigenvalues.size else 0.0
    keep = eigenvalues > max(rcond * top, 0.0)
    kept = eigenvectors[:, keep]
    N = (kept / np.sqrt(eigenvalues[keep])) @ kept.T
    return N, int(np.count_nonzero(keep))


# --------------------------------------------------------------------------- transformer


class NTKNystroem(BaseFeatureMap):
    __doc__ = r"""Nyström features of the exact ReLU NTK (or NNGP) with RPCholesky landmarks.

    ``fit`` chooses ``n_components`` landmark rows :math:`L` of the training data and
    computes the exact kernel matrix :math:`K_{LL}` with :func:`sklearn_ntk.ntk_kernel` (any
    depth, bias and kind). ``transform`` maps a row to

    .. math::

        \varphi(x) = K(x, L)\, K_{LL}^{+1/2},\qquad
        \langle\varphi(x), \varphi(y)\rangle = K(x, L)\, K_{LL}^{+}\, K(L, y),

    the Nyström approximation of the kernel, which is exact whenever ``x`` or ``y`` is a
    landmark. The inverse square root comes from the symmetric eigendecomposition
    :math:`K_{LL} = U \Lambda U^T`: eigenvalues below ``n_components * eps`` times the
    largest are treated as zero (as a pseudo-inverse does), so nearly duplicate landmarks do
    not blow up the features; the normalization is
    :math:`U_+ \Lambda_+^{-1/2} U_+^T`.

    Landmarks:

    - ``"rpcholesky"`` (default): randomly pivoted Cholesky. Each new landmark is drawn with
      probability proportional to the diagonal of the residual :math:`K - \hat K` of the
      current approximation, i.e. where the kernel is least well explained, and the low-rank
      factor is updated with the new residual column. This adapts to the data (small clusters
      get landmarks, redundant points do not) and comes with near-optimal trace-norm error
      bounds; it evaluates only ``n_components`` columns of the kernel matrix (plus small
      blocks among the proposals), in rounds with rejection sampling.
    - ``"uniform"``: ``n_components`` rows drawn uniformly without replacement.

    If ``n_components`` exceeds the number of training rows, all rows are used and a warning
    says so (the output then has ``n_samples`` columns). When the kernel matrix has lower
    numerical rank than ``n_components`` (duplicate rows, all-zero rows), RPCholesky stops
    early and the remaining landmarks are drawn uniformly from the rows not yet chosen; the
    eigenvalue cutoff gives them no weight.

    Dask: ``transform`` of a dask array is lazy (one block of features per row chunk).
    ``fit`` on a dask array computes only a uniform sample of
    ``max(DASK_FIT_MIN_ROWS, DASK_FIT_ROWS_PER_COMPONENT * n_components)`` rows (10,000 and
    10 by default, module constants of ``sklearn_ntk.nystroem``; every row when the array has
    no more) and chooses the landmarks among them; ``component_indices_`` refers to rows of the
    full array. With no more rows than that bound the fit equals the in-memory fit.

    Array API: fitted arrays live in the namespace and on the device of the data passed to
    ``fit``; the kernel columns of ``transform`` are computed there (in float64) and float32
    input gives float32 features. Landmark selection and the eigendecomposition run on the
    host in float64.

    Parameters
    ----------
    n_components : int, default=1024
        Number of landmarks, i.e. of output features.
""" + FC_NETWORK_PARAMS_DOC + r"""    landmarks : {"rpcholesky", "uniform"}, default="rpcholesky"
        How the landmark rows are chosen (see above).
    random_state : int, RandomState instance or None, default=None
        Seeds the landmark selection (and the row sample of a dask fit).
    max_memory : int, default=None
        Bytes of intermediate arrays per transform batch (about 14 float64 arrays of
        ``n_components`` columns per row); ``None`` means 256 MiB, or scikit-learn's
        ``working_memory`` when that is smaller. The features do not depend on it.
    verbose : int, default=0
        Report progress over the transform batches.

    Attributes
    ----------
    components_ : array of shape (n_components, n_features)
        The landmark rows (dtype of the validated input, in its namespace and on its device).
    component_indices_ : array of shape (n_components,)
        Row indices of the landmarks in the data passed to ``fit``, in the order chosen
        (integers, in the namespace and on the device of the fit data).
    normalization_ : array of shape (n_components, n_components)
        :math:`K_{LL}^{+1/2}` (float64, in the namespace and on the device of the fit data).
    rank_ : int
        Number of eigenvalues of :math:`K_{LL}` kept by the cutoff (the rank of the
        features).
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Only when ``X`` has string feature names.

    See Also
    --------
    NTKSketch, NTKRandomFeatures : data-independent random features of the NTK.
    sklearn_ntk.ntk_kernel : the exact kernel.

    References
    ----------
    C. Williams & M. Seeger. *Using the Nyström method to speed up kernel machines*.
    NeurIPS 2000.

    Y. Chen, E. N. Epperly, J. A. Tropp & R. J. Webber. *Randomly pivoted Cholesky: practical
    approximation of a kernel matrix with few entry evaluations*. arXiv:2207.06503, 2022 (Comm.
    Pure Appl. Math., 2025).

    E. N. Epperly, J. A. Tropp & R. J. Webber. *Embrace rejection: kernel matrix approximation
    by accelerated randomly pivoted Cholesky*. arXiv:2410.03969, 2024.

    Examples
    --------
    Twenty landmarks chosen among fifty rows; on the landmarks themselves the features
    reproduce the exact kernel:

    >>> import numpy as np
    >>> from sklearn_ntk import NTKNystroem, ntk_kernel
    >>> X = np.random.RandomState(0).randn(50, 3)
    >>> nys = NTKNystroem(n_components=20, depth=2, random_state=0).fit(X)
    >>> Z = nys.transform(X)
    >>> Z.shape
    (50, 20)
    >>> L = nys.components_
    >>> bool(np.allclose(nys.transform(L) @ nys.transform(L).T, ntk_kernel(L, depth=2)))
    True
    """

    _fit_reads_data = True  # the landmarks are rows of the training data
    _parameter_constraints = {
        **BaseFeatureMap._parameter_constraints,
        "depth": [Interval(Integral, 1, None, closed="left")],
        "bias": [Interval(Real, 0, MAX_BIAS, closed="both")],
        "kind": [StrOptions({"ntk", "nngp"})],
        "landmarks": [StrOptions({"rpcholesky", "uniform"})],
        "verbose": ["verbose"],
    }
    _namespace_attribute = "components_"

    def __init__(self, n_components=1024, *, depth=1, bias=0.0, kind="ntk",
                 landmarks="rpcholesky", random_state=None, max_memory=None, verbose=0):
        store_params(self, locals())

    def _kernel(self, X, Y=None):
        return ntk_kernel(X, Y, depth=self.depth, bias=float(self.bias), kind=self.kind)

    def _dask_sample(self, X, rng):
        """Computed rows of a dask array: all of them, or a sorted uniform sample."""
        X = known_row_chunks(X)
        n = int(X.shape[0])
        bound = max(DASK_FIT_MIN_ROWS, DASK_FIT_ROWS_PER_COMPONENT * self.n_components)
        if n <= bound:
            return np.asarray(X.compute()), None
        rows = np.sort(rng.choice(n, size=bound, replace=False))
        return np.asarray(X[rows].compute()), rows

    def fit(self, X, y=None):
        """Choose the landmarks and compute the normalization :math:`K_{LL}^{+1/2}`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training rows (NumPy, any array-API array with ``array_api_dispatch``, or a dask
            array or DataFrame, of which only a sample is computed: see the class docstring).
        y : None
            Ignored.

        Returns
        -------
        self : object
            The map, with its landmarks in ``components_``.
        """
        self._validate_params()
        reject_bool_params(self)
        check_bias_value(self.bias, "bias", depth=self.depth)
        rng = check_random_state(self.random_state)
        sampled = {}

        def from_dask(D):
            rows, sampled["rows"] = self._dask_sample(D, rng)
            return rows

        X = validate_fit_input(self, X, from_dask)
        sample_rows = sampled.get("rows")
        xp, device = namespace_of(X)
        n_samples = X.shape[0]
        n_landmarks = min(self.n_components, n_samples)
        # the RPCholesky factor (n x m), the kernel columns of a round and K_LL's eigenvectors
        check_fits_in_memory(
            8 * (n_samples * (2 * n_landmarks + _RPCHOLESKY_BLOCK + X.shape[1])
                 + 4 * n_landmarks ** 2),
            f"NTKNystroem(n_components={self.n_components}) on {n_samples} rows")
        host = np.asarray(to_numpy(xp, X), dtype=np.float64)
        self._scale = self._data_scale(host)
        host = host / self._scale
        if self.n_components > n_samples:
            warnings.warn(
                f"n_components={self.n_components} is larger than the number of training "
                f"rows ({n_samples}); NTKNystroem uses all {n_samples} rows as landmarks and "
                f"outputs {n_samples} features.", UserWarning, stacklevel=2)
        if self.landmarks == "uniform":
            indices = rng.choice(n_samples, size=n_landmarks, replace=False)
        else:
            diagonal = _ntk_diagonal(np.einsum("ij,ij->i", host, host), self.depth,
                                     float(self.bias), self.kind)
            indices = _rpcholesky(host, n_landmarks, rng, self._kernel, diagonal)
            if indices.size < n_landmarks:  # rank exhausted: fill uniformly
                rest = np.setdiff1d(np.arange(n_samples), indices)
                extra = rng.choice(rest, size=n_landmarks - indices.size, replace=False)
                indices = np.concatenate([indices, extra])
        indices = np.asarray(indices, dtype=np.intp)
        landmarks = host[indices]
        normalization, self.rank_ = _inverse_square_root(self._kernel(landmarks))
        # host float64 copies for NumPy input, of the rescaled landmarks (kept in a dict: only
        # the public fitted arrays live in the namespace of the fit data)
        self._host = {"landmarks": landmarks, "normalization": normalization}
        self._n_features_out = n_landmarks
        positions = xp.asarray(indices, device=device)
        self.component_indices_ = (positions if sample_rows is None
                                   else xp.asarray(sample_rows[indices], device=device))
        self.components_ = xp.take(X, positions, axis=0)
        self.normalization_ = xp.asarray(normalization / self._scale, device=device)
        # what transform uses off NumPy: K_LL^{+1/2} / c itself can overflow for tiny c
        self._scaled = None if _is_numpy(xp) else (
            xp.asarray(landmarks, device=device), xp.asarray(normalization, device=device))
        return self

    def _data_scale(self, X):
        r"""The common factor ``c`` by which the kernel is computed on ``X / c``.

        Without a bias the kernel is positively homogeneous in each argument,
        :math:`K(a x, b y) = a b\, K(x, y)` for :math:`a, b > 0`. So with ``c`` the largest
        magnitude of the fit data, the landmarks are kept as :math:`\hat L = L / c`
        (RPCholesky's probabilities do not change: they are ratios), and
        :math:`K(x, L) K_{LL}^{+1/2} = K(x, \hat L)\, K(\hat L, \hat L)^{+1/2}`: no kernel
        value overflows or underflows, whatever the scale of the rows. With a bias the kernel
        is not homogeneous; ``c = 1`` and rows whose squares would overflow are refused.
        """
        if self.bias > 0:
            check_bias_rows(np, X)
            return 1.0
        return common_scale(max_abs(np, X))

    def _bytes_per_row(self, itemsize):
        return 8 * (14 * self._n_features_out + 2 * self.n_features_in_) + itemsize * (
            self._n_features_out + self.n_features_in_)

    def _transform_batch(self, xp, X, device):
        # bias-free rows are featurised as x / s and the features multiplied by s last (see
        # _data_scale), so that no intermediate sum overflows
        X64 = np.asarray(X, dtype=np.float64) if _is_numpy(xp) else xp.astype(X, xp.float64)
        if self.bias > 0:
            check_bias_rows(xp, X64)
            rows = 1.0
        else:
            rows = max_abs_rows(xp, X64)
            X64 = X64 / rows
        if _is_numpy(xp):
            Z = self._kernel(X64, self._host["landmarks"]) @ self._host["normalization"]
            return xp.asarray((Z * rows).astype(X.dtype, copy=False))
        landmarks, normalization = self._namespace_arrays(xp)
        K = ntk_block(xp, X64, landmarks, _row_norms(X64, xp)[0],
                      _row_norms(landmarks, xp)[0], self.depth, float(self.bias), self.kind)
        return xp.astype((K @ normalization) * rows, X.dtype)

    def _namespace_arrays(self, xp):
        """The rescaled landmarks and their normalization in the namespace of the fit data."""
        arrays = getattr(self, "_scaled", None)
        if arrays is None:  # not stored (e.g. an older pickle): derive from the public ones
            scale = getattr(self, "_scale", 1.0)
            arrays = (xp.astype(self.components_, xp.float64) / scale,
                      self.normalization_ * scale)
        return arrays

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.array_api_support = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
