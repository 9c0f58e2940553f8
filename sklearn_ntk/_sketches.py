r"""Randomised sketches of vectors and tensor products (see the Mathematics page).

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
    if 2 * indices.shape[0] < n:
        # Few samples of a long spectrum (the final projection of a wide pooled vector):
        # read each sampled frequency above n/2 as the conjugate of its stored mirror, O(m).
        upper = indices > n // 2
        sampled = xp.take(half, to_device(xp, np.where(upper, n - indices, indices), device),
                          axis=-1)
        return xp.where(to_device(xp, upper, device), xp.conj(sampled), sampled)
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


# --------------------------------------------------------------------------- PolySketch blocks


def allocate_widths(weights, total):
    r"""Split ``total`` sampled outputs over the powers in proportion to ``weights``.

    Every power gets at least one output (``total`` must be at least ``len(weights)``); the
    rest is shared by largest remainders. With block widths :math:`m_j \propto c_j` the summed
    variance :math:`\sum_j c_j^2 / m_j` of the per-power estimates is smallest, and equals
    :math:`(\sum_j c_j)^2 / \mathrm{total}`: what one SRHT of all powers together gives.
    """
    weights = np.asarray(weights, dtype=float)
    k = len(weights)
    if total < k:
        raise ValueError(f"need at least {k} outputs, got {total}")
    share = (total - k) * weights / weights.sum()
    widths = 1 + np.floor(share).astype(int)
    rest = total - int(widths.sum())
    if rest:
        widths[np.argsort(share - np.floor(share), kind="stable")[::-1][:rest]] += 1
    return [int(w) for w in widths]


def draw_polysketch_blocks(rng, n_in, n_out, degree, widths):
    r"""Parameters of a PolySketch tree whose root samples each power separately.

    Leaf-level nodes (real inputs of length ``n_in``) are TensorSRHTs as in
    :func:`draw_polysketch`. A node above them maps two complex vectors of length ``m =
    n_out`` to one: its output ``k`` pairs left frequency ``k`` with right frequency
    :math:`\pi(k)` for a random permutation :math:`\pi`. Any fixed pairing is unbiased, since
    the random signs alone give :math:`E_D[(FDu)_k \overline{(FDu')_k}] = \langle u, u'\rangle`
    at every frequency; pairing every left frequency once (rather than sampling with
    replacement) removes the variance of the sampling, and the permutation keeps the
    frequency correlations of the two children from lining up. The root draws one pair of
    sign vectors, shared by every power (each child spectrum is computed once), and for power
    ``j`` its own ``widths[j]`` pairs: above the leaves, consecutive left frequencies (the
    powers that share a left child take successive runs) against independent permutations.

    Parameters
    ----------
    widths : dict
        ``{j: m_j}`` for the powers ``1 <= j <= degree`` to sketch.
    """
    leaves = polysketch_leaves(degree)
    levels = []
    width, n_node_in = leaves // 2, n_in
    while width > 1:
        if n_node_in == n_in:
            level = [draw_tensor_srht(rng, n_in, n_in, n_out) for _ in range(width)]
        else:
            level = [{"left": {"signs": _signs(rng, n_out)},
                      "right": {"signs": _signs(rng, n_out), "indices": rng.permutation(n_out)}}
                     for _ in range(width)]
        levels.append(level)
        width //= 2
        n_node_in = n_out
    signs = np.stack([_signs(rng, n_node_in), _signs(rng, n_node_in)])
    root = {"signs": signs, "indices": {}}
    size = leaves // 2
    offsets = {}
    for j in sorted(widths):
        m_j = int(widths[j])
        if n_node_in == n_in and leaves == 2:  # the root sees the real leaves
            pairs = rng.randint(0, n_in, size=(2, m_j))
        else:
            start = offsets.get(min(j, size), 0)
            offsets[min(j, size)] = start + m_j
            left = (start + np.arange(m_j)) % n_node_in
            right = np.concatenate([rng.permutation(n_node_in)
                                    for _ in range(-(-m_j // n_node_in))])[:m_j]
            pairs = np.stack([left, right])
        root["indices"][int(j)] = pairs
    return {"levels": levels, "root": root, "degree": int(degree), "n_in": int(n_in),
            "n_out": int(n_out), "leaves": leaves}


def _signs(rng, n):
    return rng.choice(np.array([-1.0, 1.0]), size=n)


def _full_spectrum(xp, U, signs):
    """Unnormalised DFT of every row of ``U * signs`` (real input: half FFT, then mirrored)."""
    if is_complex(xp, U):
        return fft_last(xp, U * signs, overwrite=True)
    n = U.shape[-1]
    half = rfft_last(xp, U * signs)
    if n <= 2:
        return half if n == 1 else xp.concat([half, half[..., 1:]], axis=-1)
    mirrored = xp.conj(xp.flip(half[..., 1:(n + 1) // 2], axis=-1))
    return xp.concat([half, mirrored], axis=-1)


def prepare_polysketch_blocks(xp, params, device, dtype):
    """Move a :func:`draw_polysketch_blocks` tree's signs and indices to ``device`` once.

    ``dtype`` is the real dtype of the data. The :math:`m^{-1/2}` of each node below the root
    is folded into its right-hand signs (the DFT is linear), so applying it costs no pass.
    Runs of consecutive frequencies become slices (no gather).
    """
    def signs(s, factor=1.0):
        return to_device(xp, np.asarray(s) * factor, device, dtype=dtype)

    def index(i):
        i = np.asarray(i, dtype=np.int64)
        if i.size and np.array_equal(i, np.arange(i[0], i[0] + i.size)):
            return slice(int(i[0]), int(i[0]) + i.size)
        return to_device(xp, i, device)

    levels = []
    for level in params["levels"]:
        nodes = []
        for node in level:
            m = params["n_out"]
            left = node["left"].get("indices")
            nodes.append({"left": (signs(node["left"]["signs"]),
                                   None if left is None else index(left)),
                          "right": (signs(node["right"]["signs"], 1.0 / math.sqrt(m)),
                                    index(node["right"]["indices"]))})
        levels.append(nodes)
    root = params["root"]
    unit = np.zeros((1, params["n_in"]))
    unit[0, 0] = 1.0
    return {"levels": levels, "signs": (signs(root["signs"][0]), signs(root["signs"][1])),
            "indices": {j: (index(p[0]), index(p[1])) for j, p in root["indices"].items()},
            "e1": to_device(xp, unit, device, dtype=dtype),
            "degree": params["degree"], "leaves": params["leaves"]}


def polysketch_blocks(xp, X, prepared, write=None):
    r"""Root samples of a PolySketch tree: a sketch :math:`S_j(x)` of every sketched power.

    The tree is that of :func:`polysketch_powers` (leaf ``i`` receives ``x`` if ``i < j``, the
    unit vector :math:`e_1` otherwise; subtrees of :math:`e_1` leaves reduce to one row), but
    the root evaluates only the ``m_j`` products each power ``j`` needs and never a
    full-width output. Block ``j`` is the root's ``m_j`` products for that power, *without*
    the factor :math:`m_j^{-1/2}`: :math:`E\,\mathrm{Re}\langle S_j(x), S_j(y)\rangle =
    m_j \langle x, y\rangle^j`.

    Parameters
    ----------
    X : array of shape (n_rows, n_in)
        Real or complex rows.
    prepared : dict
        From :func:`prepare_polysketch_blocks`.
    write : callable, default=None
        ``write(k, left, right)`` stores block ``k`` (powers in increasing order) as the
        product ``left * right`` itself (e.g. into a slice of a preallocated output); without
        it the products are returned.

    Returns
    -------
    list of arrays
        The ``(n_rows, m_j)`` complex blocks, or an empty list when ``write`` is given.
    """
    degree, leaves = prepared["degree"], prepared["leaves"]
    e1 = prepared["e1"]
    # outputs[node][r] of the current level; leaves: r = 0 -> e1 (one row), r = 1 -> x.
    outputs = [[e1, X] for _ in range(leaves)]
    size = 1
    for level in prepared["levels"]:
        next_outputs = []
        for node, node_params in enumerate(level):
            left, right = outputs[2 * node], outputs[2 * node + 1]
            needed = min(2 * size, max(0, degree - 2 * node * size))
            n_left, n_right = min(size, needed), max(0, needed - size)
            left_s = [_sampled(xp, left[r], *node_params["left"]) for r in range(n_left + 1)]
            right_s = [_sampled(xp, right[r], *node_params["right"])
                       for r in range(n_right + 1)]
            next_outputs.append([left_s[min(r, size)] * right_s[max(0, r - size)]
                                 for r in range(needed + 1)])
        outputs = next_outputs
        size *= 2
    left, right = outputs  # the root's children: leaves [0, size) and [size, 2 size)
    signs_l, signs_r = prepared["signs"]
    spectra_l, spectra_r, blocks = {}, {}, []
    for k, j in enumerate(sorted(prepared["indices"])):
        rl, rr = min(j, size), max(0, j - size)
        if rl not in spectra_l:
            spectra_l[rl] = _full_spectrum(xp, left[rl], signs_l)
        if rr not in spectra_r:
            spectra_r[rr] = _full_spectrum(xp, right[rr], signs_r)
        idx_l, idx_r = prepared["indices"][j]
        a, b = _select(xp, spectra_l[rl], idx_l), _select(xp, spectra_r[rr], idx_r)
        if write is None:
            blocks.append(a * b)
        else:
            write(k, a, b)
    return blocks


def _select(xp, spectrum, indices):
    if indices is None:
        return spectrum
    if isinstance(indices, slice):
        return spectrum[..., indices]
    return xp.take(spectrum, indices, axis=-1)


def _sampled(xp, U, signs, indices):
    return _select(xp, _full_spectrum(xp, U, signs), indices)
