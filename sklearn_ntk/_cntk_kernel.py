"""Exact convolutional NTK / NNGP: CNTK-GAP (fast path) and any layer list.

This is the ground truth the CNTK sketches are tested and timed against. The global
average pooling network costs O(n_x n_y (HW)^2 f L) time; a general layer list costs about
the same per layer at each layer's resolution. Meant for small data sets only.
"""

import warnings

import numpy as np
from sklearn.utils import check_array

from ._images import (
    as_images,
    check_conv_geometry,
    check_filter_size,
    check_padding,
    extract_patches,
    window_slices,
)
from ._progress import progress
from ._validation import check_int, check_kind
from .layers import Conv, Dense, GlobalAvgPool, ReLU
from .layers._relu import relu_kernels as _relu_kernels
from .layers._serial import (PairBlocks, _available_cores, _map_blocks, _scale_exponents,
                             check_layers, exact_kernel, identical_image_ids, scale_back,
                             set_identical_pairs)
from .layers.presets import FILTER_PRESETS, preset

# Preferred size of one (B, P, P) work array. Small enough that a block's arrays mostly stay
# in cache, large enough that numpy's per-call overhead is negligible: measured on a 2-core
# Xeon, blocks of 1-4 pairs of 14x14 images ran ~1.3x faster than blocks of 16-64. Memory is
# then about _N_WORK_ARRAYS * max(1 MiB, one pair's 8 (HW)^2 bytes), far below any budget.
_TARGET_ARRAY_BYTES = 2**20
# Number of (B, P, P) float64 work arrays held by one block (see ``_Workspace``).
_N_WORK_ARRAYS = 6


class _Workspace:
    """Flat float64 buffers reused by every block.

    Allocating fresh multi-megabyte arrays per operation costs page faults that, measured,
    doubled the run time; every big array below is a view into one of these buffers.
    """

    def __init__(self, size):
        self._buffers = [np.empty(size) for _ in range(_N_WORK_ARRAYS)]

    def take(self, k, shape):
        """View of buffer ``k`` with ``shape`` (contiguous, from the buffer's start)."""
        return self._buffers[k][: int(np.prod(shape))].reshape(shape)

    def swap(self, k, m):
        """Exchange buffers ``k`` and ``m`` (a result written into ``m`` becomes ``k``)."""
        self._buffers[k], self._buffers[m] = self._buffers[m], self._buffers[k]


def _window_sum(A, work, out, tmp, filter_size, padding):
    """``out[p, q] = sum_delta A[p + delta, q + delta]`` for a batch of pixel-pair maps.

    ``A`` has the layout (B, H, H', W, W') (pair, row of p, row of q, column of p, column of
    q); the same offset delta moves both pixels and positions outside the map count as zero.
    The window is separable: rows then columns, ``f`` shifted slices each (2f instead of f^2
    array passes). The result goes to buffer ``out`` of the workspace ``work``, the
    intermediate to buffer ``tmp``; neither may be the buffer holding ``A``.
    """
    n_pairs, height, _, width, _ = A.shape
    h_out, rows = window_slices(height, filter_size, padding)
    w_out, cols = window_slices(width, filter_size, padding)
    T = work.take(tmp, (n_pairs, h_out, h_out, width, width))
    _shifted_sum(A, T, rows, axis=1)
    S = work.take(out, (n_pairs, h_out, h_out, w_out, w_out))
    _shifted_sum(T, S, cols, axis=3)
    return S


def _shifted_sum(A, out, pairs, axis):
    """``out[..., o, o, ...] += A[..., i, i, ...]`` on the axis pair (axis, axis + 1)."""
    lead = (slice(None),) * axis
    # The offset whose output slice covers the whole output (d = 0 always does) initialises
    # the result by a copy, saving a zero-fill pass.
    n_out = out.shape[axis]
    full = next(k for k, (o, _) in enumerate(pairs) if o.stop - o.start == n_out)
    i_full = pairs[full][1]
    np.copyto(out, A[lead + (i_full, i_full)])
    for k, (o, i) in enumerate(pairs):
        if k != full:
            out[lead + (o, o)] += A[lead + (i, i)]


def _norm_maps(images, filter_size, padding, depth):
    """Per-image pixel norms ``N^(h)_p(x) = Sigma^(h)_pp(x, x)`` for ``h = 0..L-1``.

    Since ``kappa1(1) = 1``, ``Gamma_pp(x, x) = N_p(x)`` and the recursion reduces to
    ``N^(h)_p = (1/f^2) sum_delta N^(h-1)_{p+delta}``: computed per image, not per pair.
    Returns the list of maps (shape (n, H_h, W_h)) and the layer-0 patches.
    """
    patches = extract_patches(images, filter_size, padding)
    norms = [np.einsum("nijk,nijk->nij", patches, patches)]
    for _ in range(depth - 1):
        prev = norms[-1]
        n, height, width = prev.shape
        h_out, rows = window_slices(height, filter_size, padding)
        w_out, cols = window_slices(width, filter_size, padding)
        T = np.zeros((n, h_out, width))
        for out_sl, in_sl in rows:
            T[:, out_sl] += prev[:, in_sl]
        S = np.zeros((n, h_out, w_out))
        for out_sl, in_sl in cols:
            S[:, :, out_sl] += T[:, :, in_sl]
        norms.append(S / filter_size**2)
    return norms, patches


def _inv_sqrt(norm):
    """``(sqrt(N), 1/sqrt(N))`` with 0 for zero-norm pixels, so their correlations are 0."""
    root = np.sqrt(norm)
    inv = np.zeros_like(root)
    np.divide(1.0, root, out=inv, where=root > 0)
    return root, inv


def _pair_block(ux, uy_t, norms_x, norms_y, same, depth, filter_size, padding, kind, work):
    """CNTK (or CNNGP) of a block of B image pairs.

    The pixel-pair arrays have the layout (B, H, H', W, W') and live in ``work``'s buffers:
    0 sigma, 1 theta, 2 rho (and scratch), 3 kappa0, 4 gamma, 5 window-sum scratch.
    ``sigma`` and ``theta`` are stored divided by the scalar ``scale`` (the product of the
    1/f^2 window normalisations so far), folded into the per-pixel norm factors instead of
    costing passes over the big arrays.
    """
    n_pairs, n_pix = ux.shape[0], ux.shape[1]
    height, width = norms_x[0].shape[1:]
    flat = work.take(3, (n_pairs, n_pix, n_pix))
    np.matmul(ux, uy_t, out=flat)  # Sigma^(0): one (P x K) @ (K x P) GEMM per pair
    sigma = work.take(0, (n_pairs, height, height, width, width))
    flat = flat.reshape(n_pairs, height, width, height, width)
    np.copyto(sigma, flat.transpose(0, 1, 3, 2, 4))
    theta = None
    if kind == "ntk":
        theta = work.take(1, sigma.shape)
        np.copyto(theta, sigma)  # Theta^(0) = Sigma^(0)
    scale = 1.0
    for h in range(1, depth + 1):
        # (B, H, W) -> (B, H, 1, W, 1) and (B, 1, H', 1, W'), broadcast against sigma
        nx = norms_x[h - 1][:, :, None, :, None]
        ny = norms_y[h - 1][:, None, :, None, :]
        root_x, inv_x = _inv_sqrt(nx)
        root_y, inv_y = _inv_sqrt(ny)
        rho = work.take(2, sigma.shape)
        np.multiply(sigma, inv_x * scale, out=rho)
        rho *= inv_y
        if same.any():
            # A pixel of an image against itself has correlation exactly 1; rounding would
            # otherwise leave ~1e-8 error through sqrt(1 - rho^2) and arccos near 1.
            idx = np.flatnonzero(same)[:, None, None]
            rows = np.arange(rho.shape[1])[None, :, None]
            cols = np.arange(rho.shape[3])[None, None, :]
            rho[idx, rows, rows, cols, cols] = nx[idx, rows, 0, cols, 0] > 0
        np.clip(rho, -1.0, 1.0, out=rho)
        k0, gamma = work.take(3, rho.shape), work.take(4, rho.shape)
        _relu_kernels(rho, k0, gamma)
        gamma *= root_x * (1.0 / scale)  # Gamma^(h) / scale
        gamma *= root_y
        if kind == "ntk":
            theta *= k0  # [Theta^(h-1) (.) dGamma^(h) + Gamma^(h)] / scale
            theta += gamma
        if h < depth:
            sigma = _window_sum(gamma, work, 0, 5, filter_size, padding)
            if kind == "ntk":
                # Buffer 2 (rho) is free now: the new theta goes there, then the two swap.
                theta = _window_sum(theta, work, 2, 5, filter_size, padding)
                work.swap(1, 2)
            scale /= filter_size**2
    final = theta if kind == "ntk" else gamma
    n_out = final.shape[1] * final.shape[3]
    # Global average pooling then the linear readout: mean over all pixel pairs.
    return final.reshape(n_pairs, -1).sum(axis=1) * (scale / float(n_out) ** 2)


def cntk_kernel(X, Y=None, *, depth=None, filter_size=3, image_shape=None, padding="same",
                kind="ntk", architecture=None, flip_invariant=False, max_memory=None,
                verbose=0, batch_size="deprecated"):
    r"""Exact convolutional NTK (or NNGP) of an infinitely wide ReLU network.

    Two conventions, selected by ``architecture``:

    ``architecture=None`` (the default): the CNTK with global average pooling of Arora et
    al., in their normalisation. For images :math:`x, y \in \mathbb{R}^{H\times W\times C}`,
    pixels :math:`p, q`, window offsets :math:`\delta` of an :math:`f\times f` stride-1
    convolution (zero padding):

    .. math::

        \Sigma^{(0)}_{pq} = \sum_{\delta}\langle x_{p+\delta}, y_{q+\delta}\rangle,\qquad
        N^{(h)}_p(x) = \Sigma^{(h)}_{pp}(x, x),

    and for :math:`h = 1, \dots, L`

    .. math::

        \rho_{pq} = \frac{\Sigma^{(h-1)}_{pq}}{\sqrt{N^{(h-1)}_p(x) N^{(h-1)}_q(y)}},\quad
        \Gamma^{(h)}_{pq} = \sqrt{N_p N_q}\,\kappa_1(\rho_{pq}),\quad
        \dot\Gamma^{(h)}_{pq} = \kappa_0(\rho_{pq}),

        \Sigma^{(h)}_{pq} = \frac{1}{f^2}\sum_\delta \Gamma^{(h)}_{p+\delta, q+\delta},\quad
        \Theta^{(h)}_{pq} = \frac{1}{f^2}\sum_\delta
            [\Theta^{(h-1)}\odot\dot\Gamma^{(h)} + \Gamma^{(h)}]_{p+\delta, q+\delta}
        \quad (h < L),

    with :math:`\Theta^{(0)} = \Sigma^{(0)}`. Global average pooling and a linear readout give

    .. math::

        \mathrm{CNTK}(x, y) = \frac{1}{(H_L W_L)^2}\sum_{p, q}
            [\Theta^{(L-1)}\odot\dot\Gamma^{(L)} + \Gamma^{(L)}]_{pq},\qquad
        \mathrm{CNNGP}(x, y) = \frac{1}{(H_L W_L)^2}\sum_{p, q}\Gamma^{(L)}_{pq},

    where :math:`H_L \times W_L` is the map after the ``L`` convolutions (``H x W`` for
    ``"same"``, ``(H - L(f-1)) x (W - L(f-1))`` for ``"valid"``).

    ``architecture`` given (a preset name or a list of :mod:`sklearn_ntk.layers`): the
    kernel of that network in the neural-tangents convention (NTK parameterisation, weight
    standard deviation :math:`\sqrt 2`, biases as given, see :mod:`sklearn_ntk.layers`),
    equal to ``stax.serial(...)``'s of the same layers to rounding. The two conventions
    differ by one global constant for the global average pooling network:
    ``cntk_kernel(X, architecture="gap", ...) == 2 / (f**2 * C) * cntk_kernel(X, ...)``
    (the first layer's per-channel, per-window average and the weight variance 2; every
    later factor 2 of a weight variance cancels the 1/2 of a ReLU).

    Correlations are clipped to [-1, 1]; zero-norm positions have correlation 0 and kernel
    0; a position of an image against the same position of an identical image has
    correlation exactly 1. Each image is rescaled by a power of two before its covariances
    are formed (undone exactly at the end, by positive homogeneity when the network has no
    bias), so very large or very small finite inputs do not overflow or underflow where the
    kernel value itself is representable.

    Parameters
    ----------
    X : array-like of shape (n_samples_X, H*W*C) or (n_samples_X, H, W, C)
        Images as rows flattened row-major in ``(H, W, C)`` order, or an NHWC batch.
    Y : array-like of the same trailing shape as X, default=None
        ``None`` means ``Y = X``; only the pairs ``i <= j`` are computed and mirrored.
    depth : int, default=None
        Number of convolution + ReLU layers ``L >= 1`` (``None``: 1) for
        ``architecture=None``, ``"gap"``, ``"flatten"`` and ``"pool_flatten"``; hidden layers
        for ``"fc"``; the Myrtle depth (``>= 4``, ``None``: 5) for ``"myrtle"``. Must stay
        ``None`` for a list.
    filter_size : int, default=3
        Side ``f >= 1`` of the square filters (odd or even), for ``architecture=None``,
        ``"gap"``, ``"flatten"`` and ``"pool_flatten"``; must keep its default otherwise.
    image_shape : tuple (H, W) or (H, W, C), default=None
        Shape of one image for 2-D input. ``None``: ``(1, 1, n_features)``, one pixel whose
        channels are the features (the CNTK is then a fully connected NTK); pass the shape
        for images.
    padding : {"same", "valid"}, default="same"
        Zero padding of the convolutions, for ``architecture=None``, ``"gap"``,
        ``"flatten"`` and ``"pool_flatten"``; must keep its default otherwise. For even
        ``f``, ``"same"`` windows cover ``i - floor((f-1)/2) .. i + ceil((f-1)/2)`` as in
        ``lax`` / neural-tangents.
    kind : {"ntk", "nngp"}, default="ntk"
        NTK or NNGP (the kernel of the network at initialisation).
    architecture : str, list of layers or None, default=None
        ``None``: the global average pooling CNTK in the normalisation above. A name: the
        preset of :mod:`sklearn_ntk.layers` (:func:`~sklearn_ntk.layers.gap`,
        :func:`~sklearn_ntk.layers.flatten`, :func:`~sklearn_ntk.layers.pool_flatten` and
        :func:`~sklearn_ntk.layers.myrtle` sized to the images,
        :func:`~sklearn_ntk.layers.fc`) built from ``depth``, ``filter_size``
        and ``padding``. A list: those layers, then the readout (see
        :mod:`sklearn_ntk.layers`). A bias-free global average pooling network is
        evaluated by the specialised code of ``architecture=None``.
    flip_invariant : bool, default=False
        The kernel of the network averaged over horizontal flips (mirroring the width axis,
        :math:`m`): :math:`\tfrac14[K(x, y) + K(x, my) + K(mx, y) + K(mx, my)]`, the inner
        product of the flip-averaged features :math:`\tfrac12[\varphi(x) + \varphi(mx)]`
        (what ``CNTKSketch(flip_invariant=True)`` approximates). It is invariant to flipping
        either image; for a mirror-symmetric network (odd filters and pooling windows that
        tile the image) it equals :math:`\tfrac12[K(x, y) + K(x, my)]`. Four times the cost
        of the plain kernel, and a work array four times the size of the output.
    max_memory : int, default=None
        Bytes of work arrays (beyond the inputs and the output) that the blocks of image
        pairs may hold together, over all threads; at least one pair per block (per
        thread) is always processed. Arrays that grow with the number of images, not of
        pairs, come on top: copies of the images (up to three), their position variances
        before each ReLU, about 300 bytes of bookkeeping per image, and for the global
        average pooling network of ``architecture=None`` the :math:`f \times f` patches of
        every image, twice (:math:`16 f^2` times the images' bytes). No array of all
        pairs is held besides the output. ``None``: blocks whose work arrays stay near
        1 MiB each, which is also the fastest size (they stay in cache), so a budget only
        ever makes blocks smaller.
        One pair of the global average pooling network needs about ``48 (HW)^2`` bytes;
        a banded network (see Notes) about ``96 HW (2b+1)^2``; any other layer list about
        ``96 (HW)^2``. The result does not depend on it. The same knob as ``ntk_kernel``'s
        and the feature maps'.
    verbose : int, default=0
        Report progress over the blocks of pairs (see the estimators' ``verbose``).
    batch_size : int
        Deprecated: image pairs per block. Use ``max_memory``; removed in 0.3.

    Returns
    -------
    K : ndarray of shape (n_samples_X, n_samples_Y), float64

    Notes
    -----
    Cost per image pair and layer: :math:`O((HW)^2)` (every pair of positions, at each
    layer's resolution) when the network has a global average pooling. A network that
    flattens instead only needs the pairs of positions whose offset stays within the
    pooling windows still ahead, :math:`|q - p| \le b`, and costs
    :math:`O(HW\,(2b+1)^2)`; :math:`b = 0` (same positions only) when nothing pools
    before the Flatten.

    References
    ----------
    Arora, Du, Hu, Li, Salakhutdinov & Wang, *On Exact Computation with an Infinitely Wide
    Neural Net*, NeurIPS 2019.
    Novak, Xiao, Hron, Lee, Alemi, Sohl-Dickstein & Schoenholz, *Neural Tangents: Fast and
    Easy Infinite Neural Networks in Python*, ICLR 2020.
    Shankar, Fang, Guo, Fridovich-Keil, Schmidt, Ragan-Kelley & Recht, *Neural Kernels
    Without Tangents*, ICML 2020.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_ntk import cntk_kernel
    >>> from sklearn_ntk.layers import AvgPool, Conv, Flatten, ReLU
    >>> images = np.random.RandomState(0).rand(4, 8 * 8)  # four 8x8 grey images, flattened
    >>> cntk_kernel(images, image_shape=(8, 8)).shape  # CNTK with global average pooling
    (4, 4)
    >>> net = [Conv(3), ReLU(), AvgPool(2), Conv(3), ReLU(), Flatten()]
    >>> K = cntk_kernel(images, architecture=net, image_shape=(8, 8, 1))
    >>> bool(np.allclose(K, K.T))
    True
    """
    layers = None
    if architecture is not None:
        layers = _resolve_architecture(architecture, depth, filter_size, padding)
    else:
        depth = check_int(1 if depth is None else depth, "depth")
        filter_size = check_filter_size(filter_size)
        padding = check_padding(padding)
    kind = check_kind(kind)
    if not isinstance(flip_invariant, (bool, np.bool_)):
        raise TypeError(f"flip_invariant must be True or False, got {flip_invariant!r}.")
    if isinstance(batch_size, str) and batch_size == "deprecated":
        batch_size = None
    else:
        warnings.warn("batch_size is deprecated and will be removed in 0.3; use max_memory "
                      "(bytes) instead.", FutureWarning, stacklevel=2)
        batch_size = None if batch_size is None else check_int(batch_size, "batch_size")
    if max_memory is not None:
        max_memory = check_int(max_memory, "max_memory")

    X = check_array(X, dtype=np.float64, allow_nd=True, input_name="X")
    images_x = _to_images(X, image_shape, "X")
    images_y = None
    if Y is not None:
        Y = check_array(Y, dtype=np.float64, allow_nd=True, input_name="Y")
        if int(np.prod(Y.shape[1:])) != int(np.prod(X.shape[1:])):
            raise ValueError(
                f"X has {int(np.prod(X.shape[1:]))} features but Y has "
                f"{int(np.prod(Y.shape[1:]))}; they must match.")
        shape = image_shape if image_shape is not None else images_x.shape[1:]
        images_y = _to_images(Y, shape, "Y")

    if isinstance(layers, dict):  # a preset, sized to the images
        layers = preset(image_shape=images_x.shape[1:], **layers)
    if flip_invariant:
        # one kernel of the images and their mirror images, averaged over the four blocks
        n_x = images_x.shape[0]
        both_x = np.concatenate([images_x, images_x[:, :, ::-1, :]])
        both_y = None if images_y is None else np.concatenate(
            [images_y, images_y[:, :, ::-1, :]])
        K = _network_kernel(both_x, both_y, layers, depth, filter_size, padding, kind,
                            batch_size, max_memory, verbose)
        n_y = K.shape[1] // 2
        out = K[:n_x, :n_y] + K[:n_x, n_y:]
        out += K[n_x:, :n_y]
        out += K[n_x:, n_y:]
        out *= 0.25
        return out
    return _network_kernel(images_x, images_y, layers, depth, filter_size, padding, kind,
                           batch_size, max_memory, verbose)


def _network_kernel(images_x, images_y, layers, depth, filter_size, padding, kind, batch_size,
                    max_memory, verbose):
    """The kernel of ``layers`` (None: the GAP network of ``depth``, ``filter_size``,
    ``padding`` in Arora et al.'s normalisation) on NHWC images."""
    if layers is not None:
        gap = _as_gap_network(layers)
        if gap is None:
            return exact_kernel(images_x, images_y, layers, kind, batch_size=batch_size,
                                max_memory=max_memory, verbose=verbose)
        depth, filter_size, padding = gap
        factor = 2.0 / (filter_size**2 * images_x.shape[3])
    else:
        factor = 1.0
    check_conv_geometry(images_x.shape[1:], filter_size, depth, padding)
    return factor * _gap_kernel(images_x, images_y, depth, filter_size, padding, kind,
                                batch_size, max_memory, verbose)


def _resolve_architecture(architecture, depth, filter_size, padding):
    """A layer tuple, or the keyword arguments of :func:`preset` (which needs the images)."""
    if isinstance(architecture, str):
        name = architecture.lower()
        preset(name, depth=depth)  # validates the name
        options = {"name": name, "depth": depth}
        if name in FILTER_PRESETS:
            options.update(filter_size=filter_size, padding=padding)
        elif filter_size != 3 or padding != "same":
            raise ValueError(
                f"filter_size and padding do not apply to architecture={architecture!r}; "
                "leave them at their defaults or pass a list of layers.")
        return options
    layers = check_layers(architecture)
    if depth is not None or filter_size != 3 or padding != "same":
        raise ValueError(
            "depth, filter_size and padding only apply to architecture=None or a preset "
            "name; with a list of layers, set them on the layers.")
    return layers


def _as_gap_network(layers):
    """``(depth, f, padding)`` if ``layers`` is a bias-free GAP network of square filters.

    That is ``[Conv(f, padding), ReLU()] * depth + [GlobalAvgPool()]``, optionally followed
    by a bias-free ``Dense()`` readout; otherwise None.
    """
    layers = list(layers)
    if layers and layers[-1] == Dense():
        layers = layers[:-1]
    if len(layers) < 3 or len(layers) % 2 != 1 or layers[-1] != GlobalAvgPool():
        return None
    first = layers[0]
    if not isinstance(first, Conv) or first.has_bias:
        return None
    fh, fw = first.filter_shape
    if fh != fw or any(not isinstance(layer, (Conv, ReLU)) for layer in layers[:-1]):
        return None
    pattern = [Conv(fh, first.padding), ReLU()] * ((len(layers) - 1) // 2)
    if [Conv(layer.filter_shape[0], layer.padding) if isinstance(layer, Conv)
            and layer.filter_shape == (fh, fh) and not layer.has_bias else layer
            for layer in layers[:-1]] != pattern:
        return None
    return (len(layers) - 1) // 2, fh, first.padding


def _gap_kernel(images_x, images_y, depth, filter_size, padding, kind, batch_size=None,
                max_memory=None, verbose=0):
    """The CNTK-GAP of ``cntk_kernel(architecture=None)`` between validated image batches.

    Each image is divided by a power of two bringing its peak magnitude into [0.5, 1)
    (exact), and the result multiplied back: the kernel is positively homogeneous of
    degree 1 in each argument, and the squared pixel norms of huge images would overflow.
    """
    symmetric = images_y is None
    ex = _scale_exponents(images_x, False)
    images_x = np.ldexp(images_x, -ex[:, None, None, None].astype(np.int32))
    if symmetric:
        images_y, ey = images_x, ex
    else:
        ey = _scale_exponents(images_y, False)
        images_y = np.ldexp(images_y, -ey[:, None, None, None].astype(np.int32))

    norms_x, patches_x = _norm_maps(images_x, filter_size, padding, depth)
    if symmetric:
        norms_y, patches_y = norms_x, patches_x
    else:
        norms_y, patches_y = _norm_maps(images_y, filter_size, padding, depth)
    n_x, n_y = images_x.shape[0], images_y.shape[0]
    ux = patches_x.reshape(n_x, -1, patches_x.shape[-1])
    # Transposed once, contiguous: numpy's batched matmul is ~2x slower on transposed views.
    uy_t = np.ascontiguousarray(patches_y.reshape(n_y, -1, patches_y.shape[-1])
                                .transpose(0, 2, 1))

    # pairs i <= j (the self pairs compute the diagonal) or all of X x Y, enumerated per
    # block; a pair of identical images is flagged so that its correlation is exactly one
    pairs = PairBlocks(n_x, None if symmetric else n_y, diagonal=True)
    ids_x, ids_y = identical_image_ids(images_x, images_x if symmetric else images_y, ex, ey)

    pair_bytes = 8 * ux.shape[1] ** 2  # one (P x P) float64 array
    # NumPy's element-wise kernels are single-threaded but release the GIL: one thread per
    # core, each with its own workspace, over interleaved pair blocks (disjoint outputs).
    n_threads = _available_cores()
    if batch_size is None:
        batch_size = max(1, _TARGET_ARRAY_BYTES // pair_bytes)
        if max_memory is not None:
            # the workspace, plus the two images' patches and norm maps gathered per pair
            gathered = 8 * (2 * ux[0].size + sum(nm[0].size for nm in norms_x)
                            + sum(nm[0].size for nm in norms_y))
            per_pair = (_N_WORK_ARRAYS * pair_bytes + gathered) * n_threads
            batch_size = max(1, min(batch_size, max_memory // per_pair))
    batch_size = max(1, min(batch_size, pairs.n_pairs))
    K = np.empty((n_x, n_y))

    def block(sl, work):
        bi, bj = pairs.indices(sl)
        K[bi, bj] = _pair_block(
            ux[bi], uy_t[bj], [nm[bi] for nm in norms_x], [nm[bj] for nm in norms_y],
            ids_x[bi] == ids_y[bj], depth, filter_size, padding, kind, work)
        if symmetric:
            K[bj, bi] = K[bi, bj]

    with progress(-(-pairs.n_pairs // batch_size), verbose, "cntk_kernel") as bar:
        _map_blocks(block, pairs.n_pairs, batch_size, n_threads, bar,
                    per_thread=lambda: _Workspace(batch_size * ux.shape[1] ** 2))
    if symmetric:  # repeated images: the value of the first one's self pair, exactly
        set_identical_pairs(K, ids_x, ids_y, lambda i: K[i, i])
    return scale_back(K, ex, ey, max_memory)


def _to_images(A, image_shape, name):
    """NHWC view of validated input ``A``; errors name the offending argument."""
    if A.ndim not in (2, 4):
        raise ValueError(
            f"{name} must be 2-D (n_samples, H*W*C) or 4-D (n_samples, H, W, C), got "
            f"{A.ndim} dimensions.")
    return as_images(A, image_shape)


