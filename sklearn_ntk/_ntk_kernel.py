"""Exact fully-connected ReLU NTK and NNGP kernels (ALGORITHMS.md section 2)."""

import numpy as np
from sklearn.utils import check_array

from ._arccos import kappa0, kappa1
from ._validation import check_int, check_kind, check_nonnegative_float


def _ntk_block(X, Y, sq_x, sq_y, depth, bias2, kind, same_rows):
    """Kernel of one row block; ``same_rows`` marks pairs that are the same input row."""
    sigma = X @ Y.T + bias2
    theta = sigma.copy()
    diag_x, diag_y = sq_x + bias2, sq_y + bias2  # Sigma^(h)(x, x), kept in closed form
    for _ in range(depth):
        scale = np.sqrt(np.outer(diag_x, diag_y))
        with np.errstate(invalid="ignore", divide="ignore"):
            rho = np.where(scale > 0, sigma / np.where(scale > 0, scale, 1.0), 0.0)
        if same_rows is not None:
            rho[same_rows] = 1.0  # exact correlation of a row with itself
        rho = np.clip(rho, -1.0, 1.0)
        sigma = scale * kappa1(rho) + bias2
        theta = theta * kappa0(rho) + sigma
        # kappa1(1) = 1, so the diagonal recursion is Sigma(x,x) <- Sigma(x,x) + beta^2
        diag_x, diag_y = diag_x + bias2, diag_y + bias2
    return theta if kind == "ntk" else sigma


def ntk_kernel(X, Y=None, *, depth=1, bias=0.0, kind="ntk", block_size=2048):
    r"""Exact NTK (or NNGP) of a fully-connected ReLU network of depth ``L``.

    With :math:`\Sigma^{(0)}(x,y) = \langle x,y\rangle + \beta^2` and for ``h = 1..L``

    .. math::

        \rho = \frac{\Sigma^{(h-1)}(x,y)}{\sqrt{\Sigma^{(h-1)}(x,x)\Sigma^{(h-1)}(y,y)}},\quad
        \Sigma^{(h)} = \sqrt{\Sigma^{(h-1)}(x,x)\Sigma^{(h-1)}(y,y)}\,\kappa_1(\rho) + \beta^2,\quad
        \Theta^{(h)} = \Theta^{(h-1)} \kappa_0(\rho) + \Sigma^{(h)},

    with :math:`\Theta^{(0)} = \Sigma^{(0)}`; the NTK is :math:`\Theta^{(L)}`, the NNGP kernel
    :math:`\Sigma^{(L)}`. It equals neural-tangents' ``stax`` NTK of
    ``[Dense(W_std=sqrt(2), b_std=beta), Relu()] * L + [Dense(W_std=sqrt(2), b_std=beta)]``
    evaluated on the inputs rescaled by :math:`\sqrt{2/d}`.

    Parameters
    ----------
    X : array-like of shape (n_samples_X, n_features)
    Y : array-like of shape (n_samples_Y, n_features), default=None
        ``None`` means ``Y = X``; the diagonal then uses the exact correlation 1.
    depth : int, default=1
        Number of hidden ReLU layers ``L >= 1``.
    bias : float, default=0.0
        Bias standard deviation :math:`\beta \ge 0`.
    kind : {"ntk", "nngp"}, default="ntk"
    block_size : int, default=2048
        Rows of ``X`` per block; memory is O(block_size * n_samples_Y).

    Returns
    -------
    K : ndarray of shape (n_samples_X, n_samples_Y), float64
        Usable as ``KernelRidge(kernel="precomputed")`` input.

    References
    ----------
    Jacot, Gabriel & Hongler, *Neural Tangent Kernel*, NeurIPS 2018;
    Arora et al., *On Exact Computation with an Infinitely Wide Neural Net*, NeurIPS 2019.
    """
    depth = check_int(depth, "depth")
    bias = check_nonnegative_float(bias, "bias")
    kind = check_kind(kind)
    block_size = check_int(block_size, "block_size")
    X = check_array(X, dtype=np.float64, input_name="X")
    symmetric = Y is None
    Y = X if symmetric else check_array(Y, dtype=np.float64, input_name="Y")
    if Y.shape[1] != X.shape[1]:
        raise ValueError(
            f"X has {X.shape[1]} features but Y has {Y.shape[1]}; they must match.")
    sq_x = np.einsum("ij,ij->i", X, X)
    sq_y = sq_x if symmetric else np.einsum("ij,ij->i", Y, Y)
    K = np.empty((X.shape[0], Y.shape[0]))
    for start in range(0, X.shape[0], block_size):
        stop = min(start + block_size, X.shape[0])
        same = None
        if symmetric:
            same = np.zeros((stop - start, Y.shape[0]), dtype=bool)
            same[np.arange(stop - start), np.arange(start, stop)] = True
        K[start:stop] = _ntk_block(X[start:stop], Y, sq_x[start:stop], sq_y, depth,
                                   bias * bias, kind, same)
    return K
