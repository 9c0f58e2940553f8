"""The composition loop: validates a layer list, evaluates its exact kernel, draws and
applies its random features.

This is the only loop over layers. A network is a list of layers applied to the input's
per-position state, followed by a linear readout (the list's last layer if it is a
:class:`~sklearn_ntk.layers.Dense`, otherwise a bias-free ``Dense()``). The exact state is a
:class:`~sklearn_ntk.layers._base.PairState` of position-pair covariances
(:func:`exact_kernel`); the feature state a
:class:`~sklearn_ntk.layers._features.FeatureState` of per-position features
(:class:`FeatureNetwork`).
"""

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from dataclasses import replace

from .._progress import progress
from .._validation import check_kind
from ._base import Layer, PairState, Shape, position_diagonal
from ._conv import Conv
from ._dense import Dense
from ._features import (
    FeatureSpec,
    FeatureState,
    SketchConfig,
    draw_readout,
    layer_bytes,
    readout_features,
)
from ._pool import GlobalAvgPool
from ._relu import ReLU

# Preferred number of float64 entries of one (B, H, H, W, W) pair array of a block (1 MiB):
# big enough that NumPy's per-call overhead is negligible, small enough to stay in cache.
_TARGET_BLOCK_ENTRIES = 2**17
# Float64 arrays of a block's pair shape alive at its peak, per thread (measured with
# tracemalloc over the presets; the test of cntk_kernel's max_memory checks the bound).
_WORK_ARRAYS = 12


class Serial:
    """A validated layer list for a given input geometry.

    Parameters
    ----------
    layers : sequence of Layer
        The network body; see :func:`check_layers`.
    image_shape : tuple (H, W, C)
        Shape of one input image.

    Attributes
    ----------
    body : tuple of Layer
        The layers before the readout.
    readout : Dense
        The linear readout.
    shapes : list of Shape
        Geometry before each layer of ``body`` and, last, before the readout.
    has_bias : bool
        Whether any layer (readout included) has a bias.
    band : tuple (b_h, b_w) or None
        The band of position-pair offsets the input state needs (see :class:`PairState`),
        or None when every pair is needed (a global average pooling) or when a band would
        not be smaller than all pairs.
    """

    def __init__(self, layers, image_shape):
        layers = check_layers(layers)
        if layers and isinstance(layers[-1], Dense):
            self.body, self.readout = layers[:-1], layers[-1]
        else:
            self.body, self.readout = layers, Dense()
        self.image_shape = tuple(int(s) for s in image_shape)
        shape = Shape(self.image_shape[0], self.image_shape[1])
        self.shapes = [shape]
        for layer in self.body:
            shape = layer.out_shape(shape)
            self.shapes.append(shape)
        if shape.n_positions != 1:
            raise ValueError(
                f"The architecture leaves a {shape.height}x{shape.width} map of positions "
                "before the readout; end it with Flatten() or GlobalAvgPool() (or pool the "
                "map down to 1x1).")
        self.has_bias = any(layer.has_bias for layer in self.body + (self.readout,))
        band = (0, 0)  # the readout sees one position
        for layer in reversed(self.body):
            band = layer.band_in(band)
        height, width = self.image_shape[:2]
        if band is not None and (2 * band[0] + 1) * (2 * band[1] + 1) >= height * width:
            band = None
        self.band = band

    @property
    def norm_layers(self):
        """Indices of the body layers that need the position variances."""
        return [i for i, layer in enumerate(self.body) if layer.needs_norms]

    def run(self, state, norms_x=None, norms_y=None):
        """Apply the body then the readout to a block of pairs.

        ``norms_x[i]`` / ``norms_y[i]`` give the position variances before body layer ``i``
        (for the layers in :attr:`norm_layers`). When they are ``None`` every pair of the
        block must be a self pair ``(x, x)``, and the variances are read off the position
        diagonal of the state itself; they are then returned as well.

        Returns
        -------
        nngp, ntk : ndarray of shape (B,)
        recorded : dict {layer index: ndarray (B, H, W)}
            The position variances used (empty unless read off the state).
        """
        recorded = {}
        for i, layer in enumerate(self.body):
            if layer.needs_norms:
                if norms_x is None:
                    nx = ny = recorded[i] = position_diagonal(state.sigma, state.band)
                else:
                    nx, ny = norms_x[i], norms_y[i]
                state = state.replace(norms_x=nx, norms_y=ny)
            state = layer.kernel(state)
        nngp, ntk = self.readout.readout(state)
        return nngp, ntk, recorded


def check_layers(layers):
    """A tuple of layer instances, or a TypeError naming ``architecture``."""
    if isinstance(layers, (str, bytes)) or not hasattr(layers, "__iter__"):
        raise TypeError(
            f"architecture must be a preset name or a sequence of layers, got {layers!r}.")
    layers = tuple(layers)
    for layer in layers:
        if not isinstance(layer, Layer):
            if isinstance(layer, type) and issubclass(layer, Layer):
                raise TypeError(
                    f"architecture holds the class {layer.__name__}; pass an instance, "
                    f"e.g. {layer.__name__}().")
            raise TypeError(
                f"architecture must contain sklearn_ntk.layers layer instances, got "
                f"{layer!r}.")
        missing = [rule for rule in ("out_shape", "kernel")
                   if getattr(type(layer), rule) is getattr(Layer, rule)]
        if missing:
            raise TypeError(
                f"architecture holds {layer!r}, a layer without its {' and '.join(missing)} "
                "rule: use the layers of sklearn_ntk.layers, or implement the rules in the "
                "subclass.")
    return layers


def check_feature_rules(layers):
    """A TypeError naming ``architecture`` when a layer has no feature (sketch) rule."""
    for layer in layers:
        if type(layer).features is Layer.features:
            raise TypeError(
                f"architecture holds {layer!r}, which has an exact kernel rule but no "
                "feature (sketch) rule: it can be used with cntk_kernel, not with "
                "CNTKSketch.")


def _available_cores():
    """CPU cores this process may use (the affinity mask on Linux)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _input_covariance(ux, uy, band=None):
    r"""Input state :math:`\Sigma_{pq} = \langle x_p, y_q\rangle / C` as (B, H, H, W, W).

    With ``band = (b_h, b_w)``, only the offsets :math:`|q - p| \le b`, as
    (B, H, 2 b_h + 1, W, 2 b_w + 1) (zero where :math:`q` leaves the map).
    """
    n_pairs, height, width, channels = ux.shape
    if band is not None:
        bh, bw = band
        padded = np.zeros((n_pairs, height + 2 * bh, width + 2 * bw, channels))
        padded[:, bh:bh + height, bw:bw + width] = uy
        out = np.empty((n_pairs, height, 2 * bh + 1, width, 2 * bw + 1))
        for dh in range(2 * bh + 1):
            for dw in range(2 * bw + 1):
                out[:, :, dh, :, dw] = np.einsum(
                    "bijc,bijc->bij", ux, padded[:, dh:dh + height, dw:dw + width])
        out *= 1.0 / channels
        return out
    gram = np.matmul(ux.reshape(n_pairs, height * width, channels),
                     uy.reshape(n_pairs, height * width, channels).transpose(0, 2, 1))
    gram = gram.reshape(n_pairs, height, width, height, width).transpose(0, 1, 3, 2, 4)
    return np.ascontiguousarray(gram) * (1.0 / channels)


def _scale_exponents(images, keep_large_only):
    """Power-of-two exponents ``e`` with ``max |image| / 2^e`` in [0.5, 1) (0 for zeros).

    With ``keep_large_only`` (networks with bias, not homogeneous) images are only scaled
    down: ``e >= 0``, so bias terms ``beta^2 / 2^(e_x + e_y)`` never overflow.
    """
    peak = np.max(np.abs(images.reshape(images.shape[0], -1)), axis=1, initial=0.0)
    _, exps = np.frexp(peak)
    exps = exps.astype(np.int64)
    exps[peak == 0] = 0
    if keep_large_only:
        exps = np.maximum(exps, 0)
    return exps


def exact_kernel(images_x, images_y, layers, kind="ntk", *, batch_size=None, n_threads=None,
                 banded=None, max_memory=None, verbose=0):
    r"""Exact NTK or NNGP of a layer list between two NHWC image batches.

    Parameters
    ----------
    images_x : ndarray of shape (n_x, H, W, C), float64
    images_y : ndarray of shape (n_y, H, W, C), or None
        ``None`` means ``images_x`` (only pairs ``i <= j`` are computed).
    layers : sequence of Layer
    kind : {"ntk", "nngp"}
    batch_size : int, default=None
        Pairs evaluated together (``None``: about 1 MiB per pair array, made smaller if
        ``max_memory`` asks for it).
    n_threads : int, default=None
        Worker threads over blocks (``None``: the available cores).
    banded : bool, default=None
        Keep only the band of position pairs the architecture needs (see
        :class:`PairState`); ``None``: whenever that saves work. ``False`` forces all pairs
        (for testing).
    max_memory : int, default=None
        Bytes of work arrays all threads together may hold (at least one pair per block).
    verbose : int, default=0
        Progress over the blocks (:func:`~sklearn_ntk._progress.progress`).

    Returns
    -------
    K : ndarray of shape (n_x, n_y)

    Notes
    -----
    *Overflow.* Each image is divided by a power of two :math:`2^{e}` bringing its largest
    magnitude into [0.5, 1) (exact in binary floating point), the covariances are computed
    on the rescaled images, and the result is multiplied back by :math:`2^{e_x + e_y}`
    (``ldexp``, which saturates to inf only where the value is not representable). For a
    bias-free network this is exact, since every layer is positively homogeneous:
    :math:`K(ax, by) = ab\,K(x, y)` for :math:`a, b > 0`. With a bias, images are only
    scaled down and every :math:`\beta^2` term is carried as :math:`\beta^2 2^{-(e_x+e_y)}`,
    which represents the same kernel.

    *Self pairs.* The position variances a ReLU needs come from a first pass over the pairs
    ``(x, x)``, which also gives the diagonal ``K(x, x)``; a pair of identical images in
    ``(X, Y)`` takes that value.
    """
    net = Serial(layers, images_x.shape[1:])
    band = net.band if banded is None or banded else None
    ntk = kind == "ntk"
    symmetric = images_y is None
    n_x = images_x.shape[0]
    ex = _scale_exponents(images_x, net.has_bias)
    sx = np.ldexp(images_x, -ex[:, None, None, None].astype(np.int32))
    if symmetric:
        ey, sy = ex, sx
    else:
        ey = _scale_exponents(images_y, net.has_bias)
        sy = np.ldexp(images_y, -ey[:, None, None, None].astype(np.int32))
    n_y = sy.shape[0]
    height, width = images_x.shape[1:3]
    if n_threads is None:
        n_threads = _available_cores()
    if batch_size is None:
        pair_entries = (height * width if band is None
                        else (2 * band[0] + 1) * (2 * band[1] + 1)) * height * width
        batch_size = max(1, _TARGET_BLOCK_ENTRIES // pair_entries)
        if max_memory is not None:
            # the pair arrays, plus what each pair gathers: its two images, their position
            # variances, and its indices
            gathered = 2 * sx[0].size + 2 * sum(net.shapes[i].height * net.shapes[i].width
                                                for i in net.norm_layers) + 3
            per_pair = 8 * (_WORK_ARRAYS * pair_entries + gathered) * n_threads
            batch_size = max(1, min(batch_size, int(max_memory) // per_pair))
    pairs = PairBlocks(n_x, None if symmetric else n_y, diagonal=False)
    n_blocks = sum(-(-n // batch_size) for n in (n_x, 0 if symmetric else n_y, pairs.n_pairs))
    bar = progress(n_blocks, verbose, "cntk_kernel")

    def bias_scale(e1, e2):
        return np.ldexp(1.0, -(e1 + e2).astype(np.int32)) if net.has_bias else None

    def self_pass(images, exps):
        """K(x, x) of every image and the position variances before each ReLU."""
        n = images.shape[0]
        diag = np.empty(n)
        norms = {i: np.empty((n,) + (net.shapes[i].height, net.shapes[i].width))
                 for i in net.norm_layers}

        def block(sl):
            u = images[sl]
            state = PairState(_input_covariance(u, u, band), ntk=ntk,
                              bias_scale=bias_scale(exps[sl], exps[sl]),
                              self_pair=np.ones(u.shape[0], dtype=bool), band=band)
            nngp, ntk_val, recorded = net.run(state)
            diag[sl] = ntk_val if ntk else nngp
            for i, value in recorded.items():
                norms[i][sl] = value

        _map_blocks(block, n, batch_size, n_threads, bar)
        return diag, norms

    K = np.empty((n_x, n_y))

    with bar:  # closed even if a block raises
        diag_x, norms_x = self_pass(sx, ex)
        if symmetric:
            diag_y, norms_y = diag_x, norms_x
        else:
            diag_y, norms_y = self_pass(sy, ey)

        def cross_block(sl):
            bi, bj = pairs.indices(sl)
            state = PairState(_input_covariance(sx[bi], sy[bj], band), ntk=ntk,
                              bias_scale=bias_scale(ex[bi], ey[bj]), band=band)
            nngp, ntk_val, _ = net.run(state, {i: v[bi] for i, v in norms_x.items()},
                                       {i: v[bj] for i, v in norms_y.items()})
            K[bi, bj] = ntk_val if ntk else nngp  # blocks write disjoint entries
            if symmetric:
                K[bj, bi] = K[bi, bj]

        _map_blocks(cross_block, pairs.n_pairs, batch_size, n_threads, bar)

    if symmetric:
        K[np.arange(n_x), np.arange(n_x)] = diag_x
    # a pair of identical images (same rescaled pixels and exponent) takes the self pair's
    # value, so that their correlation is exactly one
    ids_x, ids_y = identical_image_ids(sx, sy, ex, ey)
    set_identical_pairs(K, ids_x, ids_y, lambda i: diag_x[i])
    return scale_back(K, ex, ey, max_memory)


class PairBlocks:
    """The image pairs of a kernel matrix, enumerated block by block.

    ``n_y=None``: the pairs ``i < j`` of one set (``i <= j`` with ``diagonal=True``) in
    row-major order; otherwise all ``n_x n_y`` pairs of two sets. The indices of a block
    are computed from its position, so no index array of all pairs is ever held (for
    50,000 images those would take more memory than the kernel itself).
    """

    def __init__(self, n_x, n_y=None, *, diagonal):
        self.n_x, self.n_y, self.symmetric = n_x, n_y, n_y is None
        if self.symmetric:
            offset = 0 if diagonal else 1
            lengths = np.arange(n_x - offset, 0, -1)  # pairs in each row
            self._row_starts = np.concatenate([[0], np.cumsum(lengths)])
            self._offset = offset
            self.n_pairs = int(self._row_starts[-1])
        else:
            self.n_pairs = n_x * n_y

    def indices(self, sl):
        """``(i, j)`` of the pairs ``sl.start .. sl.stop - 1``."""
        k = np.arange(sl.start, sl.stop)
        if self.symmetric:
            i = np.searchsorted(self._row_starts, k, side="right") - 1
            return i, k - self._row_starts[i] + i + self._offset
        return k // self.n_y, k % self.n_y


def scale_back(K, ex, ey, max_memory=None):
    """``K * 2^(ex_i + ey_j)`` in place, row block by row block (saturating to inf only
    where the value is not representable); the exponents of a block take at most 0.75 MiB
    (or ``max_memory``)."""
    entries = 1 << 16 if max_memory is None else min(1 << 16, int(max_memory) // 12)
    rows = max(1, entries // max(K.shape[1], 1))  # int64 + int32 exponents: 12 bytes each
    for r in range(0, K.shape[0], rows):
        exponents = (ex[r:r + rows, None] + ey[None, :]).astype(np.int32)
        np.ldexp(K[r:r + rows], exponents, out=K[r:r + rows])
    return K


def _map_blocks(fn, n_items, batch_size, n_threads, bar=None, per_thread=None):
    """Call ``fn(slice)`` on consecutive blocks, interleaved over threads (disjoint outputs).

    NumPy's element-wise kernels release the GIL, so threads use several cores. ``bar``
    (a progress reporter) is told of every finished block. ``per_thread``: a factory of
    thread-local state (a workspace), made once per thread and passed as
    ``fn(slice, state)``.
    """
    n_blocks = -(-n_items // batch_size)
    n_threads = max(1, min(n_threads, n_blocks))
    lock = threading.Lock()

    def run_every(first):
        # thread ``first`` takes blocks first, first + n_threads, ...: ranges, not lists,
        # so the bookkeeping does not grow with the number of blocks
        state = () if per_thread is None else (per_thread(),)
        for start in range(first * batch_size, n_items, n_threads * batch_size):
            fn(slice(start, min(start + batch_size, n_items)), *state)
            if bar is not None:
                with lock:
                    bar.update()

    if n_threads == 1:
        run_every(0)
        return
    with ThreadPoolExecutor(n_threads) as pool:
        list(pool.map(run_every, range(n_threads)))


def identical_image_ids(sx, sy, ex, ey):
    """Integer ids of the images of X and Y, equal exactly when two images are identical
    (the same rescaled pixels and the same scale exponent); O(n) memory."""
    ids = {}

    def ids_of(images, exps):
        return np.array([ids.setdefault((int(e), image.tobytes()), len(ids))
                         for image, e in zip(images, exps)], dtype=np.int64)

    ids_x = ids_of(sx, ex)
    return ids_x, (ids_x if sy is sx else ids_of(sy, ey))


def set_identical_pairs(K, ids_x, ids_y, self_value):
    """Give every pair of identical images the value ``self_value(i)`` of the first such
    image ``i`` of X, so that identical images are exactly correlated and a symmetric K
    stays exactly symmetric. Written one row of a group at a time: no list of pairs (which
    grows with the square of the number of copies) is made."""
    if ids_x is ids_y:  # one set: only ids of two or more images need anything
        unique, counts = np.unique(ids_x, return_counts=True)
        shared = unique[counts > 1]
    else:
        shared = np.intersect1d(ids_x, ids_y)
    if shared.size == 0:
        return
    order_x, order_y = np.argsort(ids_x, kind="stable"), np.argsort(ids_y, kind="stable")
    sorted_x, sorted_y = ids_x[order_x], ids_y[order_y]
    for g in shared:
        rows = order_x[np.searchsorted(sorted_x, g):np.searchsorted(sorted_x, g, "right")]
        cols = order_y[np.searchsorted(sorted_y, g):np.searchsorted(sorted_y, g, "right")]
        value = self_value(rows[0])
        for r in rows:  # row by row: np.ix_ would materialise rows x cols indices
            K[r, cols] = value


class FeatureNetwork:
    r"""Random features of a layer list: the drawn parameters and the features step.

    Parameters
    ----------
    layers : sequence of Layer
    image_shape : tuple (H, W, C)
    rng : numpy.random.RandomState
        Every random parameter is drawn from it, layer by layer, on the host.
    degree : int
        Degree of the ReLU polynomial fits.
    sketch_dim : int
        Complex width ``m`` of the per-position sketches.
    kind : {"ntk", "nngp"}, default="ntk"
        Which kernel the readout vector estimates. For the NNGP no NTK features are
        computed (every ReLU sees :math:`\Theta = 0`).
    arccos : ArccosRule, default=None
        Use the random-feature rule for every ReLU
        (:mod:`~sklearn_ntk.layers._arccos_features`) instead of the polynomial sketches.

    Attributes
    ----------
    net : Serial
    params : list
        The drawn parameters of every body layer.
    n_out : int
        Width of the readout vector :math:`\varphi` with :math:`E\langle\varphi(x),
        \varphi(y)\rangle \approx \mathrm{NTK}(x, y)` (before any final projection).
    fit_errors : list of tuple of float
        Maximum errors of the polynomial fits of every ReLU.
    entries_per_image : int
        Estimated peak number of intermediate floats per image of the features step (the
        largest layer), from the state widths; multiply by the itemsize for bytes.

    Notes
    -----
    The input state is :math:`g_p = x_p / \sqrt C` (exact, so that
    :math:`\langle g_p, g_q\rangle = \Sigma_{pq}`), :math:`\Theta = 0`. The loop sets two
    flags of each ReLU from the layers after it: *fuse* (sketch :math:`\Sigma' + \Theta'`
    in one polynomial, allowed when the ReLU's :math:`\Theta` equals :math:`\Sigma` and a
    linear layer or the readout follows before any other ReLU) and *full width* (keep every
    degree block at width ``m`` when no ReLU follows and a global average pooling reduces
    the map, which makes the pooled vector cheap).
    """

    def __init__(self, layers, image_shape, rng, *, degree, sketch_dim, kind="ntk",
                 arccos=None):
        net = self.net = Serial(layers, image_shape)
        check_feature_rules(net.body)
        self.kind = check_kind(kind)
        height, width, channels = net.image_shape
        spec = FeatureSpec(height, width, ge=channels, gs=0)
        self.params, self.fit_errors = [], []
        entries = [spec.n_positions * spec.total_width() * 4]
        for i, layer in enumerate(net.body):
            config = SketchConfig(int(degree), int(sketch_dim), **_relu_flags(net.body, i),
                                  arccos=arccos)
            if kind == "nngp" and isinstance(layer, ReLU):
                spec = replace(spec, te=0, ts=0, mode="zero")  # Theta is not tracked
            params, out = layer.draw_features(rng, spec, config)
            shape = net.shapes[i + 1]
            out = replace(out, height=shape.height, width=shape.width)
            entries.append(layer_bytes(spec, out, config, isinstance(layer, ReLU)))
            if isinstance(layer, ReLU) and "errors" in params:
                self.fit_errors.append(tuple(params["errors"]))
            self.params.append(params)
            spec = out
        self.n_out = draw_readout(spec, net.readout.bias, kind)
        self.entries_per_image = int(max(entries)) + 4 * self.n_out

    @property
    def has_bias(self):
        return self.net.has_bias

    def features(self, ctx, images):
        """Readout vectors of a batch of NHWC images: an array of shape (n, n_out)."""
        xp = ctx.xp
        channels = images.shape[-1]
        ge = images * (1.0 / float(channels) ** 0.5)
        norms = xp.sum(ge * ge, axis=-1, keepdims=True)
        state = FeatureState(ge, None, None, None, norms, "zero")
        for layer, params in zip(self.net.body, self.params):
            if self.kind == "nngp" and isinstance(layer, ReLU):
                state = state.replace(te=None, ts=None, mode="zero")
            state = layer.features(ctx, state, params)
        return readout_features(ctx, state, self.net.readout.bias, self.kind)


def _relu_flags(body, i):
    """The loop's flags for a ReLU at ``body[i]`` (see :class:`FeatureNetwork`)."""
    if not isinstance(body[i], ReLU):
        return {}
    later = body[i + 1:]
    weighted = [k for k, layer in enumerate(later) if isinstance(layer, (Dense, Conv, ReLU))]
    fuse = not weighted or not isinstance(later[weighted[0]], ReLU)
    need_g = bool(weighted)
    full_width = (not any(isinstance(layer, ReLU) for layer in later)
                  and any(isinstance(layer, GlobalAvgPool) for layer in later))
    until_relu = later[:next((k for k, layer in enumerate(later) if isinstance(layer, ReLU)),
                             len(later))]
    folded = any(isinstance(layer, Conv) and layer.filter_shape != (1, 1)
                 for layer in until_relu)
    return {"fuse": fuse, "need_g": need_g, "full_width": full_width, "folded": folded}
