r"""Randomised sketches of vectors and tensor products (ALGORITHMS.md section 5).

All sketches map rows (the last axis) of real or complex arrays to complex vectors; inner
products are estimated by the real part of the Hermitian product
:math:`\mathrm{Re}\langle a, b\rangle = \mathrm{Re}\sum_i a_i \bar b_i`, which is the real dot
product of the stacked ``[Re, Im]`` features.

Parameters are drawn on the host (``draw_*`` functions, NumPy ``RandomState``); the ``apply``
functions are pure functions of ``(xp, arrays, params)`` written against the array API, so the
same parameters give the same features on any backend.

References
----------
Ahle et al., *Oblivious Sketching of High-Degree Polynomial Kernels*, SODA 2020.
Zandieh et al., *Scaling Neural Tangent Kernels via Sketching and Random Features*, NeurIPS 2021.
"""

import math

import numpy as np

from ._backend import fft_last, is_complex, rfft_last, to_device

# --------------------------------------------------------------------------- SRHT


def draw_srht(rng, n_in, n_out):
    """Draw the parameters of an SRHT :math:`\\mathbb{R}^{n_{in}} \\to \\mathbb{C}^{n_{out}}`.

    Returns a dict with the Rademacher diagonal ``signs`` (n_in,) and ``indices`` (n_out,),
    frequencies drawn uniformly with replacement.
    """
    signs = rng.choice(np.array([-1.0, 1.0]), size=n_in)
    indices = rng.randint(0, n_in, size=n_out)
    return {"signs": signs, "indices": indices}


def _sampled_fft(xp, U, params, device):
    r"""``(F D u)[P]`` for every row ``u`` of ``U`` (unnormalised DFT, any length).

    Real input uses the half-length real FFT: for real ``v``, :math:`(Fv)_k = \overline{(Fv)_{n-k}}`,
    so frequencies above ``n/2`` are read as conjugates of the stored half.
    """
    n = U.shape[-1]
    signs = to_device(xp, params["signs"], device, dtype=U.dtype if not is_complex(xp, U)
                      else (xp.float32 if U.dtype == xp.complex64 else xp.float64))
    indices = params["indices"]
    if is_complex(xp, U):
        spectrum = fft_last(xp, U * signs)
        return xp.take(spectrum, to_device(xp, indices, device), axis=-1)
    half = rfft_last(xp, U * signs)
    # Rebuild the full spectrum from the half one, (Fv)_{n-k} = conj((Fv)_k): O(n) per row,
    # cheaper than fixing up the m sampled entries when m > n.
    mirrored = xp.conj(xp.flip(half[..., 1:(n + 1) // 2], axis=-1))
    spectrum = xp.concat([half, mirrored], axis=-1)
    return xp.take(spectrum, to_device(xp, indices, device), axis=-1)


def srht(xp, U, params, device=None):
    r"""Subsampled randomised Hadamard (here: Fourier) transform of each row.

    :math:`S(u) = m^{-1/2} (F D u)[P]`, unbiased: :math:`E\,\mathrm{Re}\langle Su, Sv\rangle =
    \mathrm{Re}\langle u, v\rangle`. Cost :math:`O(n \log n + m)` per row.
    """
    m = params["indices"].shape[0]
    return _sampled_fft(xp, U, params, device) * (1.0 / math.sqrt(m))


def draw_tensor_srht(rng, n_left, n_right, n_out):
    """Two independent SRHT parameter sets, one per factor of the tensor product."""
    return {"left": draw_srht(rng, n_left, n_out), "right": draw_srht(rng, n_right, n_out)}


def tensor_srht(xp, U, V, params, device=None):
    r"""Degree-2 TensorSRHT :math:`T(u, v) = m^{-1/2} (F D_1 u)[P_1] \odot (F D_2 v)[P_2]`.

    Unbiased for the product of inner products:
    :math:`E\,\mathrm{Re}\langle T(u,v), T(u',v')\rangle = \mathrm{Re}(\langle u,u'\rangle
    \langle v,v'\rangle)`. Rows of ``U`` and ``V`` broadcast against each other.
    """
    m = params["left"]["indices"].shape[0]
    return (_sampled_fft(xp, U, params["left"], device)
            * _sampled_fft(xp, V, params["right"], device)) * (1.0 / math.sqrt(m))


# --------------------------------------------------------------------------- PolySketch


def polysketch_leaves(degree):
    """Number of leaves ``p = 2**k >= degree`` (at least 2) of the PolySketch tree."""
    return max(2, 1 << max(0, math.ceil(math.log2(max(degree, 1)))))


def draw_polysketch(rng, n_in, n_out, degree):
    """Parameters of a PolySketch tree: one TensorSRHT per internal node, level by level.

    Level 1 maps pairs of leaves in :math:`\\mathbb{R}^{n_{in}}`; level ``l > 1`` maps pairs of
    level ``l - 1`` outputs in :math:`\\mathbb{C}^{n_{out}}`.
    """
    leaves = polysketch_leaves(degree)
    levels = []
    width, n_node_in = leaves // 2, n_in
    while width >= 1:
        levels.append([draw_tensor_srht(rng, n_node_in, n_node_in, n_out) for _ in range(width)])
        width //= 2
        n_node_in = n_out
    return {"levels": levels, "degree": int(degree), "n_in": int(n_in), "n_out": int(n_out)}


def polysketch_powers(xp, X, params, device=None):
    r"""Sketches :math:`S_j(x) \approx x^{\otimes j}` of every row, for ``j = 1..degree``.

    Leaf ``i`` of the tree receives ``x`` if ``i < j`` and the unit vector :math:`e_1` otherwise
    (:math:`e_1^{\otimes}` factors leave inner products unchanged). Every node keeps the outputs
    for each count ``r`` of ``x``-leaves in its subtree, computing each child's sampled FFT
    once; nodes whose subtree holds no ``x`` reduce to a single broadcast row. Only the counts
    the root needs are evaluated.

    Returns
    -------
    list of arrays
        ``degree`` complex arrays of shape ``(n_rows, n_out)``.
    """
    degree, n_out = params["degree"], params["n_out"]
    e1 = xp.zeros((1, X.shape[-1]), dtype=X.dtype, device=device)
    e1 = xp.concat([xp.ones((1, 1), dtype=X.dtype, device=device), e1[:, 1:]], axis=-1)
    # outputs[node][r] for the current level; leaves: r = 0 -> e1, r = 1 -> x.
    leaves = polysketch_leaves(degree)
    outputs = [[e1, X] for _ in range(leaves)]
    size = 1  # leaves under each node of the current level
    for level in params["levels"]:
        next_outputs = []
        for node, node_params in enumerate(level):
            left, right = outputs[2 * node], outputs[2 * node + 1]
            # largest count needed: the root needs r <= degree; a node starting at leaf s0
            # needs r <= degree - s0.
            first_leaf = 2 * node * size
            needed = min(2 * size, max(0, degree - first_leaf))
            n_left = min(size, needed)
            n_right = max(0, needed - size)
            left_sampled = [_sampled_fft(xp, left[r], node_params["left"], device)
                            for r in range(n_left + 1)]
            # the 1/sqrt(m) of the TensorSRHT goes on the (fewer, often one-row) right factors
            right_sampled = [_sampled_fft(xp, right[r], node_params["right"], device)
                             * (1.0 / math.sqrt(n_out)) for r in range(n_right + 1)]
            node_out = []
            for r in range(needed + 1):
                node_out.append(left_sampled[min(r, size)] * right_sampled[max(0, r - size)])
            next_outputs.append(node_out)
        outputs = next_outputs
        size *= 2
    return outputs[0][1:degree + 1]
