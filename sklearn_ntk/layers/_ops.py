r"""Array-API building blocks of the layer-wise CNTK sketch.

Real views of complex sketches, window direct sums and signed window folds on per-position
arrays of shape ``(n, H, W, k)``, proportional width allocation, host parameters cached
per device, and the norm-rescaled degree blocks and stratified TensorSRHT of a ReLU layer.
All functions are written against the array API namespace ``xp``, with NumPy fast paths.

References
----------
A. Zandieh, I. Han, H. Avron, N. Shoham, C. Kim, J. Shin. *Scaling Neural Tangent Kernels via
Sketching and Random Features*. NeurIPS 2021.
"""

import math
import os

import numpy as np

from .._backend import _is_numpy, to_device
from .._images import output_size, window_offsets, window_slices
from .._sketches import srht

# --------------------------------------------------------------------------- real views


def _as_real(xp, Z):
    """Real array of twice the width, ``[Re z_0, Im z_0, Re z_1, ...]`` (a view for NumPy).

    :math:`\\langle \\mathrm{real}(z), \\mathrm{real}(w)\\rangle = \\mathrm{Re}\\langle z,
    w\\rangle`, so real sketches of it estimate the real parts of Hermitian products.
    """
    shape = tuple(Z.shape[:-1]) + (2 * Z.shape[-1],)
    if _is_numpy(xp):
        Z = np.ascontiguousarray(Z)
        return Z.view(Z.real.dtype).reshape(shape)
    return xp.reshape(xp.stack([xp.real(Z), xp.imag(Z)], axis=-1), shape)


# --------------------------------------------------------------------------- windows


def _filter_pair(filter_size):
    """``(f_h, f_w)`` from an int or a pair."""
    if isinstance(filter_size, (tuple, list)):
        return int(filter_size[0]), int(filter_size[1])
    return int(filter_size), int(filter_size)


def _pad_images(xp, V, filter_size, padding):
    """Zero-pad the two pixel axes of ``V`` (n, H, W, k) for the window of ``padding``.

    ``filter_size`` is an int or a pair ``(f_h, f_w)``.
    """
    if padding == "valid":
        return V
    sizes = []
    for f in _filter_pair(filter_size):
        offsets = window_offsets(f, padding)
        sizes.append((-offsets[0], offsets[-1]))
    for axis, (size_before, size_after) in zip((1, 2), sizes):
        shape = list(V.shape)
        parts = []
        if size_before:
            shape[axis] = size_before
            parts.append(xp.zeros(tuple(shape), dtype=V.dtype, device=V.device))
        parts.append(V)
        if size_after:
            shape[axis] = size_after
            parts.append(xp.zeros(tuple(shape), dtype=V.dtype, device=V.device))
        V = xp.concat(parts, axis=axis) if len(parts) > 1 else V
    return V


def window_patches(xp, V, filter_size, padding):
    """Direct sums :math:`u_p = \\oplus_\\delta v_{p+\\delta}` (zero outside the image).

    Parameters
    ----------
    V : array of shape (n, H, W, k)
    filter_size : int or (int, int)
    padding : {"same", "valid"}

    Returns
    -------
    array of shape (n, H_out, W_out, f_h * f_w * k)
        Offsets in row-major order, so :math:`\\langle u_p(x), u_{p'}(y)\\rangle =
        \\sum_\\delta \\langle x_{p+\\delta}, y_{p'+\\delta}\\rangle`.
    """
    fh, fw = _filter_pair(filter_size)
    h_out = output_size(V.shape[1], fh, padding)
    w_out = output_size(V.shape[2], fw, padding)
    P = _pad_images(xp, V, filter_size, padding)
    return xp.concat([P[:, a:a + h_out, b:b + w_out, :] for a in range(fh)
                      for b in range(fw)], axis=-1)


def _shifted_sum(xp, V, pairs, n_out, axis, signs):
    """``out[o] = sum_k signs[k] * V[i]`` over the ``(o, i)`` slice pairs of one pixel axis.

    ``signs`` is ``None`` (plain sum) or an array of shape (n_pairs, k) broadcast over the
    last axis. The pair covering the whole output initialises ``out`` (no zero fill).
    """
    def index(sl):
        return (slice(None),) * axis + (sl, ...)  # explicit ellipsis: array-API indexing

    full = next(k for k, (o, _) in enumerate(pairs) if o.stop - o.start == n_out)
    out = V[index(pairs[full][1])]
    out = out * signs[full, ...] if signs is not None else xp.asarray(out, copy=True)
    for k, (o, i) in enumerate(pairs):
        if k == full:
            continue
        term = V[index(i)]
        if signs is not None:
            term = term * signs[k, ...]
        out[index(o)] += term
    return out


def window_fold(xp, V, filter_size, padding, signs=None):
    """Signed window sum :math:`\\sum_{(a,b)} R_a \\odot C_b \\odot v_{p+(a,b)}`.

    Parameters
    ----------
    V : array of shape (n, H, W, k)
    filter_size : int or (int, int)
    padding : {"same", "valid"}
    signs : tuple (R, C) of arrays of shape (f_h, k) and (f_w, k), or None
        Row and column sign vectors; ``None`` gives the plain window sum. Offsets that fall
        entirely outside a small image are skipped, the others use the signs of their index
        among the remaining ones (the same for every image).

    Returns
    -------
    array of shape (n, H_out, W_out, k)
    """
    rows, cols = (None, None) if signs is None else signs
    fh, fw = _filter_pair(filter_size)
    h_out, row_pairs = window_slices(V.shape[1], fh, padding)
    w_out, col_pairs = window_slices(V.shape[2], fw, padding)
    partial = _shifted_sum(xp, V, col_pairs, w_out, 2, cols)
    return _shifted_sum(xp, partial, row_pairs, h_out, 1, rows)


def _n_threads(xp):
    """Threads for a NumPy batch: the CPU cores available to this process; 1 otherwise."""
    if not _is_numpy(xp):
        return 1
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


# --------------------------------------------------------------------------- parameters


def _allocate(weights, total):
    """Split ``total`` coordinates among blocks proportionally to ``weights``, >= 1 each."""
    weights = np.asarray(weights, dtype=np.float64)
    total = max(total, len(weights))
    counts = np.ones(len(weights), dtype=int)
    raw = (total - len(weights)) * weights / weights.sum()
    counts += np.floor(raw).astype(int)
    remainder = total - counts.sum()
    counts[np.argsort(-(raw - np.floor(raw)), kind="stable")[:remainder]] += 1
    return [int(c) for c in counts]


def _allocate_capped(weights, total, cap):
    """:func:`_allocate` with every block capped at ``cap`` coordinates (the excess of a
    capped block is re-split among the others; ``total`` is clipped to ``cap * len``)."""
    weights = np.asarray(weights, dtype=np.float64)
    total = min(total, cap * len(weights))
    counts = np.zeros(len(weights), dtype=int)
    free = np.ones(len(weights), dtype=bool)
    while True:
        share = _allocate(weights[free], total - counts[~free].sum())
        counts[free] = share
        over = free & (counts > cap)
        if not over.any():
            return [int(c) for c in counts]
        counts[over] = cap
        free &= ~over


# --------------------------------------------------------------------------- sketch helpers


class _Params:
    """Host parameters moved to the namespace, dtype and device of one batch (cached)."""

    def __init__(self, xp, dtype, device):
        self.xp, self.dtype, self.device = xp, dtype, device
        self._cache = {}

    def get(self, array):
        key = id(array)
        if key not in self._cache:
            self._cache[key] = (array, to_device(self.xp, array, self.device, self.dtype))
        return self._cache[key][1]


def _row_norms(xp, A):
    """Euclidean norms of the rows (last axis) of a real or complex array, keepdims."""
    R = _as_real(xp, A) if A.dtype in (xp.complex64, xp.complex128) else A
    return xp.sqrt(xp.sum(R * R, axis=-1, keepdims=True))


def _with_norms(xp, A, target):
    """Rows of ``A`` rescaled to the norms ``target`` (rows of zeros stay zero)."""
    norms = _row_norms(xp, A)
    scale = target / xp.where(norms > 0, norms, xp.ones_like(norms))
    return A * xp.astype(scale, A.dtype)


def _degree_blocks(xp, powers, weights, degrees, root, widths=None):
    r"""Blocks :math:`\sqrt{c_j}\sqrt{N_p}\, P_j(\mu_p)`, optionally truncated to ``widths``.

    A PolySketch's first ``w`` of its ``m`` coordinates, times :math:`\sqrt{m/w}`, are a
    PolySketch of width ``w``. Each block is rescaled to its exact norm
    :math:`\sqrt{c_j N_p}` (:math:`\|\mu_p^{\otimes j}\| = 1`): a ratio estimator, whose
    error for nearly parallel vectors (the common part of all pixels) is far smaller.
    """
    parts = []
    for k, j in enumerate(degrees):
        P = powers[j - 1] if widths is None else powers[j - 1][:, :widths[k]]
        parts.append(_with_norms(xp, P, root * math.sqrt(weights[j])))
    return parts


def _tensor_sketch(xp, psi, powers, layer, psi_norm, device):
    r"""TensorSRHT of :math:`\psi_p` and :math:`\dot\gamma_p`, stratified in the second factor.

    :math:`T = m^{-1/2}\, S(\psi) \odot s`, with :math:`S(\psi) = (F D \psi)[P]` the
    sampled FFT of ``psi`` and :math:`s` a stratified coordinate sample of
    :math:`\dot\gamma = [\sqrt{b_0}, \sqrt{b_j} P_j]_j`: the constant gets ``w_0`` of the
    ``m`` coordinates, degree ``j`` the first ``w_j`` coordinates of :math:`P_j`, with
    ``w`` proportional to ``b``. Since :math:`E[S(\psi)_k \overline{S(\psi')_k}] =
    \langle\psi, \psi'\rangle` for every ``k`` (uniform frequencies, independent of ``s``),
    block ``j`` estimates :math:`b_j\langle\psi, \psi'\rangle\langle\mu, \mu'\rangle^j`:

    .. math::

        E\,\mathrm{Re}\langle T_j, T_j'\rangle = b_j\,\langle\psi, \psi'\rangle\,
        \tfrac{m}{w_j}\sum_{i < w_j}\mathrm{Re}\,P_{ji}\overline{P'_{ji}}.

    The coordinates of the :math:`P_j` are already independent random samples, so they need
    no second FFT (a plain TensorSRHT would take the FFT of the long vector
    :math:`\dot\gamma`). Each block is rescaled to its exact norm
    :math:`\sqrt{b_j}\,\|\psi_p\|`.
    """
    b, widths = layer["b"], layer["dot_widths"]
    sampled = srht(xp, psi, layer["psi_srht"], device)
    parts = [_with_norms(xp, sampled[:, :widths[0]], psi_norm * math.sqrt(b[0]))]
    start = widths[0]
    for j, w in zip(layer["deg0"], widths[1:]):
        block = sampled[:, start:start + w] * powers[j - 1][:, :w]
        parts.append(_with_norms(xp, block, psi_norm * math.sqrt(b[j])))
        start += w
    return xp.concat(parts, axis=-1)


