"""Window operations on position-pair arrays, one spatial axis (or axis pair) at a time.

Pair arrays have the layout (B, H, H', W, W'): the row axes of the two positions are 1 and
2, the column axes 3 and 4. A convolution moves *both* positions by the same window offset
(a diagonal shift on an axis pair); a pooling averages each position over its own window
(independently on each axis). Both are separable, so a 2-D window costs a few passes of
one-axis sums instead of one pass per window element. Positions outside the map (zero
padding) contribute zero.
"""

import math

import numpy as np

from .._images import window_slices


def conv_axis_pair(A, axis, filter_size, padding):
    """``out[.., o, o', ..] = sum_d A[.., o + d, o' + d, ..]`` over the window offsets ``d``.

    ``axis`` and ``axis + 1`` are the two position axes of one spatial direction; offsets
    follow :func:`sklearn_ntk._images.window_offsets` (``"same"`` keeps the length and, for
    an even filter, reaches one more position forward than backward; ``"valid"`` shrinks the
    length by ``filter_size - 1``). No normalisation.
    """
    n_in = A.shape[axis]
    n_out, pairs = window_slices(n_in, filter_size, padding)
    shape = list(A.shape)
    shape[axis] = shape[axis + 1] = n_out
    out = np.zeros(shape)
    lead = (slice(None),) * axis
    for o, i in pairs:
        out[lead + (o, o)] += A[lead + (i, i)]
    return out


def conv_output_size(n_in, filter_size, padding):
    return n_in if padding == "same" else n_in - filter_size + 1


def pool_geometry(n_in, window, stride, padding):
    """``(n_out, pad_before)`` of a pooling along one axis.

    ``"valid"``: windows inside the map only, ``n_out = floor((n - k) / s) + 1``.
    ``"same"``: ``n_out = ceil(n / s)``; the zero padding needed to fit the last window is
    split with the smaller half before the map (the ``lax`` convention).
    """
    if padding == "valid":
        return (n_in - window) // stride + 1, 0
    n_out = -(-n_in // stride)
    total = max((n_out - 1) * stride + window - n_in, 0)
    return n_out, total // 2


def pool_axis(A, axis, window, stride, padding):
    """Average over windows of one position axis: ``out[q] = (1/k) sum_a A[s q + a - pad]``.

    Padded (outside) positions count as zeros in the average: the divisor is always the
    window size ``k``.
    """
    n_out, windows = _pool_slices(A.shape[axis], window, stride, padding)
    shape = list(A.shape)
    shape[axis] = n_out
    out = np.zeros(shape)
    lead = (slice(None),) * axis
    for _, out_sl, in_sl in windows:
        out[lead + (out_sl,)] += A[lead + (in_sl,)]
    out *= 1.0 / window
    return out


def _pool_slices(n_in, window, stride, padding):
    """``(n_out, [(a, out_slice, in_slice), ...])``: for each window element ``a``, the
    outputs ``q`` whose input ``s q + a - pad`` lies in the map, and those inputs."""
    n_out, pad = pool_geometry(n_in, window, stride, padding)
    slices = []
    for a in range(window):
        q0 = max(0, math.ceil((pad - a) / stride))
        q1 = min(n_out - 1, (n_in - 1 - a + pad) // stride)
        if q1 >= q0:
            start = stride * q0 + a - pad
            slices.append((a, slice(q0, q1 + 1),
                           slice(start, start + stride * (q1 - q0) + 1, stride)))
    return n_out, slices


def conv_axis_banded(A, axis, filter_size, padding):
    """:func:`conv_axis_pair` in the banded layout: ``out[o, d] = sum_delta A[o + delta, d]``.

    ``axis`` is the position axis and ``axis + 1`` the offset axis ``d = q - p``: a
    convolution moves both positions by the same ``delta``, so the offset is unchanged.
    Entries whose partner ``o + d`` leaves the output map must be masked by the caller.
    """
    n_in = A.shape[axis]
    n_out, pairs = window_slices(n_in, filter_size, padding)
    shape = list(A.shape)
    shape[axis] = n_out
    out = np.zeros(shape)
    lead = (slice(None),) * axis
    for o, i in pairs:
        out[lead + (o,)] += A[lead + (i,)]
    return out


def pool_axis_banded(A, axis, window, stride, padding, band_out):
    """:func:`pool_axis` on both positions of a pair, banded layout.

    With input offsets ``d = q - p`` up to ``b_in = s b_out + k - 1`` and output offsets
    ``e`` up to ``b_out``: ``out[a, e] = (1/k^2) sum_{i, j} A[s a + i - pad, s e + j - i]``
    (``i`` runs over the window of ``a``, ``j`` over that of ``a + e``). Entries whose
    partner leaves the output map must be masked by the caller.
    """
    n_in, d_in = A.shape[axis], A.shape[axis + 1]
    if d_in != 2 * (stride * band_out + window - 1) + 1:
        raise ValueError("internal error: pooling band does not match its input band")
    n_out, windows = _pool_slices(n_in, window, stride, padding)
    d_out = 2 * band_out + 1
    shape = list(A.shape)
    shape[axis], shape[axis + 1] = n_out, d_out
    out = np.zeros(shape)
    lead = (slice(None),) * axis
    for i, out_sl, rows in windows:
        for j in range(window):
            first = j - i + window - 1
            offsets = slice(first, first + stride * (d_out - 1) + 1, stride)
            out[lead + (out_sl, slice(None))] += A[lead + (rows, offsets)]
    out *= 1.0 / window**2
    return out
