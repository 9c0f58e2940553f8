r"""Exact fully-connected ReLU NTK and NNGP kernels.

Every quantity is carried as a root (:math:`\sqrt{\Sigma(x, x)}`) or a correlation in
:math:`[-1, 1]`, never as a squared norm, so inputs up to the float64 limit give finite kernel
values wherever the values themselves are representable.
"""

import math
import warnings

import numpy as np
try:  # scikit-learn >= 1.7 vendors array-api-compat
    from sklearn.externals.array_api_compat import numpy as _np_xp
except ImportError:  # pragma: no cover - older scikit-learn: the installed package
    from array_api_compat import numpy as _np_xp
from sklearn.utils import check_array
from sklearn.utils._array_api import device as array_device

from ._base import rows_per_batch
from ._progress import progress
from ._validation import check_bias_value, check_int, check_kind


def _row_norms(X, xp=np):
    """Euclidean row norms without overflow or underflow (rows scaled by their max-abs)."""
    if X.shape[1] == 0:
        norms = xp.sum(X, axis=1)
        return norms, xp.ones_like(norms)
    scale = xp.max(xp.abs(X), axis=1)
    scale = xp.where(scale > 0, scale, xp.ones_like(scale))
    return xp.sqrt(xp.sum((X / scale[:, None]) ** 2, axis=1)) * scale, scale


def _refine_near_parallel(xp, X, Y, rx, ry, bias, delta_plus, delta_minus, valid,
                          threshold=1e-4):
    """Recompute 1 - rho and 1 + rho of nearly (anti-)parallel pairs without cancellation.

    ``1 - <u, v>`` of unit vectors loses every digit when the vectors are parallel (the Gram
    entry rounds to 1 - 1e-16, which ``arccos`` turns into a 1e-8 error); ``|u - v|^2 / 2`` is
    exact there. Only the few pairs with ``|rho| > 1 - threshold`` pay for the differences.
    The array API has gathers but no scatters, so outside NumPy the refined values are put
    back by a running count of the selected pairs (``nonzero`` lists them in row-major order).
    """
    mask = (xp.minimum(delta_plus, delta_minus) < threshold) & valid
    flat_mask = xp.reshape(mask, (-1,))
    (flat,) = xp.nonzero(flat_mask)
    count = int(flat.shape[0])
    if count == 0:
        return delta_plus, delta_minus
    rows, cols = flat // Y.shape[0], flat % Y.shape[0]
    root_x, root_y = xp.take(rx, rows, axis=0), xp.take(ry, cols, axis=0)
    # unit vectors of the bias-augmented inputs [x, beta]
    U = xp.take(X, rows, axis=0) / root_x[:, None]
    V = xp.take(Y, cols, axis=0) / root_y[:, None]
    bias_u, bias_v = bias / root_x, bias / root_y
    plus = 0.5 * (xp.sum((U - V) ** 2, axis=1) + (bias_u - bias_v) ** 2)
    minus = 0.5 * (xp.sum((U + V) ** 2, axis=1) + (bias_u + bias_v) ** 2)
    if isinstance(delta_plus, np.ndarray):
        delta_plus[rows, cols], delta_minus[rows, cols] = plus, minus
        return delta_plus, delta_minus
    position = xp.clip(xp.cumulative_sum(xp.astype(flat_mask, xp.int64)) - 1, 0, count - 1)
    shape = delta_plus.shape
    delta_plus = xp.where(flat_mask, xp.take(plus, position, axis=0),
                          xp.reshape(delta_plus, (-1,)))
    delta_minus = xp.where(flat_mask, xp.take(minus, position, axis=0),
                           xp.reshape(delta_minus, (-1,)))
    return xp.reshape(delta_plus, shape), xp.reshape(delta_minus, shape)


def _hypot_bias(xp, root, bias):
    r""":math:`\sqrt{r^2 + \beta^2}` elementwise, without overflow (``hypot`` of two arrays)."""
    return xp.hypot(root, bias * xp.ones_like(root))


def ntk_block(xp, X, Y, norm_x, norm_y, depth, bias, kind, same_rows=None):
    r"""Kernel of one row block in namespace ``xp``; ``same_rows`` marks identical rows.

    The recursion carries :math:`\delta^\pm = 1 \pm \rho` instead of :math:`\rho`, so
    that the angle :math:`\theta = 2\,\mathrm{atan2}(\sqrt{\delta^+}, \sqrt{\delta^-})` and
    :math:`1 - \kappa_1 = (\theta - \sin\theta + \delta^+(\pi - \theta))/\pi` stay accurate
    for (nearly) parallel inputs, where :math:`\arccos` of a rounded :math:`\rho` would not.
    The diagonals enter as roots :math:`r = \sqrt{\Sigma^{(h-1)}(x, x)}` and the
    correlation as :math:`\langle x/r_x, y/r_y\rangle + (\beta/r_x)(\beta/r_y)`, which
    cannot overflow. ``norm_x``, ``norm_y`` are the row norms (:func:`_row_norms`).
    """
    # NumPy-backed namespaces (NumPy, array-api-strict) would warn where the documented
    # inf/clipping handles the value; errstate is a no-op for other libraries
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        K = _ntk_recursion(xp, X, Y, norm_x, norm_y, depth, bias, kind, same_rows)
        # |K(x, y)| >= sqrt(Sigma(x, x) Sigma(y, y)) kappa(.) overflows exactly where this
        # product does: report +inf there (not NaN) and finite values everywhere else
        product = _hypot_bias(xp, norm_x, bias)[:, None] * _hypot_bias(xp, norm_y, bias)[None, :]
        overflow = ~xp.isfinite(product)
    if bool(xp.any(overflow)):
        K = xp.where(overflow, xp.full_like(K, math.inf), K)
    return K


def _ntk_recursion(xp, X, Y, norm_x, norm_y, depth, bias, kind, same_rows):
    bias2 = bias * bias
    one = xp.ones((), dtype=X.dtype, device=array_device(X))
    rx, ry = _hypot_bias(xp, norm_x, bias), _hypot_bias(xp, norm_y, bias)  # sqrt Sigma^(0)
    px, py = xp.where(rx > 0, rx, one), xp.where(ry > 0, ry, one)
    scale = rx[:, None] * ry[None, :]
    positive = scale > 0
    rho = (X / px[:, None]) @ (Y / py[:, None]).T + (bias / px)[:, None] * (bias / py)[None, :]
    rho = xp.where(positive, xp.clip(rho, -1.0, 1.0), 0.0 * one)
    sigma = rho * scale
    theta = sigma  # Theta^(0) = Sigma^(0)
    delta_plus, delta_minus = 1.0 - rho, 1.0 + rho
    delta_plus, delta_minus = _refine_near_parallel(xp, X, Y, px, py, bias, delta_plus,
                                                    delta_minus, positive)
    if same_rows is not None:
        delta_plus = xp.where(same_rows, 0.0 * one, delta_plus)
        delta_minus = xp.where(same_rows, 2.0 * one, delta_minus)
    for layer in range(depth):
        angle = 2.0 * xp.atan2(xp.sqrt(delta_plus), xp.sqrt(delta_minus))
        kappa0 = (math.pi - angle) / math.pi
        one_minus_kappa1 = (angle - xp.sqrt(delta_plus * delta_minus)
                            + delta_plus * (math.pi - angle)) / math.pi
        sigma = scale * (1.0 - one_minus_kappa1) + bias2
        theta = theta * kappa0 + sigma
        if layer == depth - 1:
            break
        # next correlation: 1 - rho' = [beta^2 (r_x - r_y)^2 / (S' + S + beta^2)
        #                                + S (1 - kappa1)] / S',  with S' = r_x' r_y',
        # evaluated as squares of ratios so that nothing overflows
        next_rx, next_ry = _hypot_bias(xp, rx, bias), _hypot_bias(xp, ry, bias)  # kappa1(1) = 1
        next_scale = next_rx[:, None] * next_ry[None, :]
        positive = next_scale > 0
        root = xp.sqrt(next_scale + scale + bias2) * xp.sqrt(next_scale)
        ratio = (rx[:, None] - ry[None, :]) / xp.where(root > 0, root, one)
        delta_plus = xp.where(
            positive,
            bias2 * ratio * ratio + (scale / xp.where(positive, next_scale, one))
            * one_minus_kappa1, one)
        delta_plus = xp.clip(delta_plus, 0.0, 2.0)
        delta_minus = 2.0 - delta_plus
        scale, rx, ry = next_scale, next_rx, next_ry
    return theta if kind == "ntk" else sigma


# float64 work arrays of the block's shape that one block holds at its peak
_BLOCK_WORK_ARRAYS = 12


def ntk_kernel(X, Y=None, *, depth=1, bias=0.0, kind="ntk", max_memory=None, verbose=0,
               block_size="deprecated"):
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
    max_memory : int, default=None
        Bytes of work arrays beyond the output: rows of ``X`` are processed in blocks of
        about ``max_memory / (96 * n_samples_Y)`` rows (``None``: 256 MiB, or
        scikit-learn's ``working_memory`` when smaller), the same knob as the feature maps'.
    verbose : int, default=0
        Report progress over the row blocks (see the estimators' ``verbose``).
    block_size : int
        Deprecated: rows of ``X`` per block. Use ``max_memory``; removed in 0.3.

    Returns
    -------
    K : ndarray of shape (n_samples_X, n_samples_Y), float64
        Usable as ``KernelRidge(kernel="precomputed")`` input.

    References
    ----------
    Jacot, Gabriel & Hongler, *Neural Tangent Kernel*, NeurIPS 2018;
    Arora et al., *On Exact Computation with an Infinitely Wide Neural Net*, NeurIPS 2019.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.kernel_ridge import KernelRidge
    >>> from sklearn_ntk import ntk_kernel
    >>> rng = np.random.RandomState(0)
    >>> X, y = rng.randn(50, 4), rng.randn(50)
    >>> K = ntk_kernel(X, depth=2)  # training kernel, 50 x 50
    >>> model = KernelRidge(alpha=1e-2, kernel="precomputed").fit(K, y)
    >>> model.predict(ntk_kernel(X[:3], X, depth=2)).shape  # test rows against training rows
    (3,)
    """
    depth = check_int(depth, "depth")
    bias = check_bias_value(bias, "bias", depth=depth)
    kind = check_kind(kind)
    X = check_array(X, dtype=np.float64, input_name="X")
    symmetric = Y is None
    Y = X if symmetric else check_array(Y, dtype=np.float64, input_name="Y")
    if Y.shape[1] != X.shape[1]:
        raise ValueError(
            f"X has {X.shape[1]} features but Y has {Y.shape[1]}; they must match.")
    if isinstance(block_size, str) and block_size == "deprecated":
        if max_memory is not None:
            check_int(max_memory, "max_memory")
        block_size = rows_per_batch(_BLOCK_WORK_ARRAYS * 8 * max(Y.shape[0], 1), max_memory)
    else:
        warnings.warn("block_size is deprecated and will be removed in 0.3; use max_memory "
                      "(bytes) instead.", FutureWarning, stacklevel=2)
        block_size = check_int(block_size, "block_size")
    norm_x = _row_norms(X)[0]
    norm_y = norm_x if symmetric else _row_norms(Y)[0]
    K = np.empty((X.shape[0], Y.shape[0]))
    with progress(-(-X.shape[0] // block_size), verbose, "ntk_kernel") as bar:
        for start in range(0, X.shape[0], block_size):
            stop = min(start + block_size, X.shape[0])
            same = None
            if symmetric:
                same = np.zeros((stop - start, Y.shape[0]), dtype=bool)
                same[np.arange(stop - start), np.arange(start, stop)] = True
            K[start:stop] = ntk_block(_np_xp, X[start:stop], Y, norm_x[start:stop], norm_y,
                                      depth, bias, kind, same)
            bar.update()
    return K
