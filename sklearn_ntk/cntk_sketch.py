r"""CNTKSketch: features of the convolutional NTK, for global average pooling or any layer list.

The exact CNTK-GAP of a depth-``L`` ReLU CNN (:func:`sklearn_ntk._cntk_kernel.cntk_kernel`)
costs :math:`O((HW)^2)` per pair of images. CNTKSketch maps every image to ``n_components``
features whose inner products approximate it, at cost linear in the number of pixels. Per
pixel ``p`` it keeps

* :math:`\mu_p`, a unit vector with :math:`\langle\mu_p(x), \mu_{p'}(y)\rangle \approx
  \rho^{(h)}_{pp'}` (the correlations of the recursion),
* :math:`N_p`, the exact norms :math:`\Sigma^{(h)}_{pp}(x, x)`,
* :math:`\psi_p` with :math:`\langle\psi_p(x), \psi_{p'}(y)\rangle \approx
  \Theta^{(h)}_{pp'}`,

all as arrays of shape ``(batch, H, W, width)``: the sketches (FFTs along the last axis) run
batched over every pixel of every image of a batch.

Layer ``h`` fits non-negative polynomials :math:`\kappa_1 \approx \sum_j a_j t^j`,
:math:`\kappa_0 \approx \sum_j b_j t^j` on :math:`[\ell_h, 1]` (``_polyfit``), sketches the
powers :math:`P_j(\mu_p) \approx \mu_p^{\otimes j}` with one PolySketch, and forms

.. math::

    \gamma_p = \sqrt{N_p}\,[\sqrt{a_0}, \sqrt{a_j} P_j(\mu_p)]_j \approx \Gamma^{(h)},\qquad
    \dot\gamma_p = [\sqrt{b_0}, \sqrt{b_j} P_j(\mu_p)]_j \approx \dot\Gamma^{(h)},\qquad
    \psi_p \leftarrow [\mathrm{TensorSRHT}(\psi_p, \dot\gamma_p), \gamma_p].

**Window aggregation.** The next layer needs sketches of the direct sums
:math:`\oplus_{\delta} v_{p+\delta}` over the window offsets :math:`\delta` (zero outside the
image). Instead of sketching the :math:`f^2`-times longer concatenation, every offset gets its
own Rademacher vector :math:`D_\delta` and the shifted copies are summed:

.. math::

    \mathrm{fold}(v)_p = \sum_{\delta} D_\delta \odot v_{p+\delta},\qquad
    E\,\langle\mathrm{fold}(v)_p, \mathrm{fold}(w)_{p'}\rangle
        = \sum_\delta \langle v_{p+\delta}, w_{p'+\delta}\rangle,

because :math:`E[D_\delta D_{\delta'}] = 0` for :math:`\delta \ne \delta'`: an unbiased sketch
of the direct sum that keeps the width of ``v``. With :math:`D_{(a, b)} = R_a \odot C_b` the
fold is separable (columns, then rows: :math:`2f` shifted adds instead of :math:`f^2`); the
cross terms stay uncorrelated with the terms they multiply. The fold is accurate when the
coordinates of ``v`` are spread out, as sketch outputs are; the one spiky coordinate,
:math:`\sqrt{a_0 N_p}`, is carried exactly as the :math:`f^2`-vector of its window instead. The
``f^2`` per-offset SRHTs of the window, which would be the bulk of the work, are not needed:
the FFTs of the next layer's PolySketch and TensorSRHT spread the folded vector again.

For :math:`h < L`, with :math:`G_p` the degree-``j`` blocks of :math:`\gamma_p` truncated to
``sketch_dim`` coordinates in all (stratified: :math:`\propto a_j` coordinates of
:math:`P_j`, rescaled; a PolySketch's first ``k`` coordinates are a PolySketch of width
``k``):

.. math::

    N^{(h)}_p = \tfrac{1}{f^2}\sum_\delta N_{p+\delta},\qquad
    \mu_p \leftarrow \frac{[(\sqrt{a_0 N_{p+\delta}})_\delta,\ \mathrm{fold}(G)_p]}
        {\|\cdot\|},\qquad
    \psi_p \leftarrow \tfrac1f\,[(\sqrt{a_0 N_{p+\delta}})_\delta,\
        \mathrm{fold}([G, \mathrm{TensorSRHT}(\psi, \dot\gamma)])_p]

(independent signs for the two folds).

**First layer.** There :math:`\Theta^{(0)} = \Sigma^{(0)}` (:math:`\psi_p = u_p =
\sqrt{N_p}\mu_p`), so :math:`\Theta^{(1)}_{pp'} = \sqrt{N_p N'_{p'}}\, g(\rho_{pp'})` with
:math:`g(t) = \kappa_1(t) + t\kappa_0(t)`, the one-hidden-layer NTK of the patches. The
first layer fits :math:`g \approx \sum_j c_j t^j` directly and sketches
:math:`\theta_p = \sqrt{N_p}[\sqrt{c_0}, \sqrt{c_j} P_j(\mu_p)]_j` with the same PolySketch
as :math:`\gamma_p`: no TensorSRHT, whose independent estimate of the :math:`\kappa_0` term
added noise (at depth 1 on 2,000 Fashion-MNIST images it cost about 1 point of test accuracy,
``benchmarks/RESULTS.md``). At depth 1 the pooled vector is the average of
:math:`\theta_p`; otherwise :math:`\theta` takes the place of :math:`[G, T]` in
:math:`\psi`, with ``2 sketch_dim`` coordinates split :math:`\propto c_j`.

After the last layer the pixel vectors are averaged
(global average pooling) and a final SRHT gives exactly ``n_components`` real columns, as in
:class:`~sklearn_ntk.NTKSketch`.

**Layer-wise path.** With ``architecture`` set (a preset name or a list of
:mod:`sklearn_ntk.layers`), the same building blocks run layer by layer through one loop
(:class:`sklearn_ntk.layers._serial.FeatureNetwork`): every layer maps per-position NNGP
features :math:`g_p` and NTK features :math:`t_p` (with exact or estimated position
variances :math:`N_p`) by its own feature rule -- a window aggregation for a convolution, a
PolySketch of the :math:`\kappa_1` / :math:`\kappa_0` polynomials and a TensorSRHT for a
ReLU, averages for the poolings, a scaled concatenation for a Flatten, a bias coordinate
for a bias -- and the readout's features go through the same final SRHT. Its kernel is
that of :func:`~sklearn_ntk.cntk_kernel` with the same ``architecture`` (the
neural-tangents convention).

References
----------
A. Zandieh, I. Han, H. Avron, N. Shoham, C. Kim, J. Shin. *Scaling Neural Tangent Kernels via
Sketching and Random Features*. NeurIPS 2021.
S. Arora, S. Du, W. Hu, Z. Li, R. Salakhutdinov, R. Wang. *On Exact Computation with an
Infinitely Wide Neural Net*. NeurIPS 2019.
"""

import math
from concurrent.futures import ThreadPoolExecutor
from numbers import Integral

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from ._base import BaseFeatureMap, lone_column_weight, max_abs_rows, polysketch_bytes, \
    rademacher, renamed_attribute, srht_bytes
from ._images import check_conv_geometry, check_filter_size, check_image_shape, check_padding
from ._polyfit import fit_dot_product_polynomial
from ._sketches import draw_polysketch, draw_srht, polysketch_powers, srht
from .layers._features import FeatureContext
from .layers._ops import (  # noqa: F401  (window_fold, window_patches are public helpers)
    _allocate,
    _allocate_capped,
    _as_real,
    _degree_blocks,
    _n_threads,
    _normalise_rows,
    _Params,
    _tensor_sketch,
    _with_norms,
    window_fold,
    window_patches,
)
from .layers._relu import ReLU
from .layers._serial import FeatureNetwork, Serial, check_layers
from .layers.presets import FILTER_PRESETS, PRESETS, preset

__all__ = ["CNTKSketch"]

# Default width of the per-pixel sketches: n_components // 8 clipped to this range (the
# per-pixel width, not n_components, sets the variance at depth >= 2).
_MIN_SKETCH_DIM, _MAX_SKETCH_DIM = 64, 512


def default_sketch_dim(n_components):
    """``sketch_dim=None``: ``n_components // 8`` clipped to ``[64, 512]``."""
    return int(min(_MAX_SKETCH_DIM, max(_MIN_SKETCH_DIM, n_components // 8)))


def _single_position_relus(layers, image_shape):
    """Whether every ReLU of the layer list acts on a single position (one pixel or flat)."""
    net = Serial(layers, image_shape)
    positions = [shape.n_positions for layer, shape in zip(net.body, net.shapes)
                 if isinstance(layer, ReLU)]
    return bool(positions) and max(positions) == 1


def _fit_first_layer_ntk(degree):
    r"""Coefficients and max error of the fit of :math:`\kappa_1(t) + t\kappa_0(t)` on [-1, 1].

    At the first layer :math:`\Theta^{(0)} = \Sigma^{(0)}`, so :math:`\Theta^{(1)}_{pp'} =
    \sqrt{N_p N'_{p'}}\,(\kappa_1 + t\kappa_0)(\rho_{pp'})`: the one-hidden-layer NTK of the
    patches, one polynomial sketched by one PolySketch (no TensorSRHT).
    """
    c, error = fit_dot_product_polynomial("ntk", degree, depth=1, lower=-1.0)
    return np.asarray(c), error


def _fit_relu_polynomials(degree, lower):
    """Coefficients and max errors of the fits of kappa1 and kappa0 on ``[lower, 1]``."""
    a, error_a = fit_dot_product_polynomial("kappa1", degree, lower=lower)
    b, error_b = fit_dot_product_polynomial("kappa0", degree, lower=lower)
    return np.asarray(a), np.asarray(b), (error_a, error_b)


def _draw_layer(rng, a, b, d_mu, d_psi, m, filter_size, last):
    """Random parameters of one ReLU layer (and of the window aggregation after it).

    ``b`` is None at the first layer, where ``a`` holds the two fits ``(kappa1, ntk)``
    (see :func:`_fit_first_layer_ntk`). Returns the layer and, for the last layer, the width
    of the pooled vector.
    """
    if b is None:
        return _draw_first_layer(rng, a[0], a[1], d_mu, m, filter_size, last)
    deg1 = [j for j in range(1, len(a)) if a[j] > 0]
    deg0 = [j for j in range(1, len(b)) if b[j] > 0]
    layer = {"a": [float(c) for c in a], "b": [float(c) for c in b],
             "deg1": deg1, "deg0": deg0}
    top = max(deg1 + deg0 + [1])
    layer["poly"] = draw_polysketch(rng, d_mu, m, top)
    layer["psi_srht"] = draw_srht(rng, d_psi, m)
    layer["dot_widths"] = _allocate([b[0]] + [b[j] for j in deg0], m)
    if last:
        return layer, 1 + 2 * m * (len(deg1) + 1)
    widths = _allocate([a[j] for j in deg1], m) if deg1 else []
    layer["widths"] = widths
    n_gamma = 2 * sum(widths)
    for key, size in (("fold_mu", n_gamma), ("fold_psi_gamma", n_gamma),
                      ("fold_psi_tensor", 2 * m)):
        layer[key] = (rademacher(rng, (filter_size, size)), rademacher(rng, (filter_size, size)))
    return layer, None


def _draw_first_layer(rng, a, c, d_mu, m, filter_size, last):
    """The first layer: powers of the patch directions for kappa1 (``a``) and the NTK (``c``).

    Last layer: the pooled vector is the NTK blocks alone, every degree at full width ``m``.
    Otherwise the kappa1 blocks get ``m`` coordinates and the NTK blocks ``2 m`` (the width
    that the Gamma and TensorSRHT parts of a later layer's psi have together), split in
    proportion to the coefficients, at most ``m`` per degree.
    """
    deg1 = [j for j in range(1, len(a)) if a[j] > 0]
    degc = [j for j in range(1, len(c)) if c[j] > 0]
    layer = {"a": [float(v) for v in a], "c": [float(v) for v in c], "deg1": deg1,
             "degc": degc, "first": True}
    layer["poly"] = draw_polysketch(rng, d_mu, m, max(deg1 + degc + [1]))
    if last:
        return layer, 1 + 2 * m * len(degc)
    layer["widths"] = _allocate([a[j] for j in deg1], m) if deg1 else []
    layer["theta_widths"] = _allocate_capped([c[j] for j in degc], 2 * m, m) if degc else []
    n_gamma, n_theta = 2 * sum(layer["widths"]), 2 * sum(layer["theta_widths"])
    for key, size in (("fold_mu", n_gamma), ("fold_theta", n_theta)):
        layer[key] = (rademacher(rng, (filter_size, size)), rademacher(rng, (filter_size, size)))
    return layer, None


# --------------------------------------------------------------------------- the layers


def _relu_layer(xp, state, layer, params, filter_size, padding, last):
    """One conv + ReLU layer of the sketch.

    Parameters
    ----------
    state : tuple (mu, psi, norms, diag)
        ``mu`` real (n, H, W, d_mu) with unit rows (zero for zero-norm pixels); ``psi`` real
        (n, H, W, d_psi); ``norms`` the exact :math:`N_p` and ``diag`` the exact
        :math:`\\Theta_{pp}(x, x) = \\|\\psi_p\\|^2`, both (n, H, W, 1).
    last : bool
        Return the pooled pixel average instead of the next layer's state.

    Returns
    -------
    The next layer's state, or the pooled array (n, width) when ``last``.
    """
    mu, psi, norms, diag = state
    n, height, width, _ = mu.shape
    rows = n * height * width
    powers = polysketch_powers(xp, xp.reshape(mu, (rows, mu.shape[-1])), layer["poly"],
                               params.device)
    root = xp.reshape(xp.sqrt(norms), (rows, 1))
    if layer.get("first"):
        return _first_layer_output(xp, powers, root, norms, layer, params, filter_size,
                                   padding, last)
    psi_norm = xp.reshape(xp.sqrt(diag), (rows, 1))
    tensor = _tensor_sketch(xp, xp.reshape(psi, (rows, psi.shape[-1])), powers, layer,
                            psi_norm, params.device)
    if last:
        return _pool(xp, powers, tensor, root, layer, n)
    gamma = xp.concat(_degree_blocks(xp, powers, layer["a"], layer["deg1"], root,
                                     layer["widths"]), axis=-1)
    return _aggregate(xp, gamma, tensor, norms, diag, layer, params, filter_size, padding)


def _first_layer_output(xp, powers, root, norms, layer, params, filter_size, padding, last):
    r"""Pooled vector or next state after the first layer, where :math:`\psi_p = u_p`.

    :math:`\theta_p = \sqrt{N_p}\,[\sqrt{c_0}, \sqrt{c_j} P_j(\mu_p)]_j` estimates
    :math:`\Theta^{(1)}_{pp'} = \sqrt{N_p N'_{p'}} \sum_j c_j \rho_{pp'}^j`: one sketch of one
    polynomial, where the generic layer adds an independent TensorSRHT estimate of the
    :math:`\kappa_0` term (its noise cost about 1 point of accuracy on Fashion-MNIST at depth 1).
    """
    c = layer["c"]
    n_images = norms.shape[0]
    if last:
        pooled = [_mean_pixels(xp, root, n_images) * math.sqrt(c[0])]
        for block in _degree_blocks(xp, powers, c, layer["degc"], root):
            pooled.append(_as_real(xp, _mean_pixels(xp, block, n_images)))
        return xp.concat(pooled, axis=-1)
    gamma = xp.concat(_degree_blocks(xp, powers, layer["a"], layer["deg1"], root,
                                     layer["widths"]), axis=-1)
    theta = xp.concat(_degree_blocks(xp, powers, c, layer["degc"], root,
                                     layer["theta_widths"]), axis=-1)
    n, height, width, _ = norms.shape
    shape = (n, height, width, -1)
    f = filter_size
    a = layer["a"]
    window_norms = window_fold(xp, norms, f, padding)
    root_norms = xp.sqrt(norms)
    mu_const = window_patches(xp, root_norms * math.sqrt(a[0]), f, padding)
    psi_const = window_patches(xp, root_norms * math.sqrt(c[0]), f, padding)
    gamma = _fold_to_norm(xp, xp.reshape(_as_real(xp, gamma), shape), layer["fold_mu"], params,
                          f, padding, window_norms * sum(a[j] for j in layer["deg1"]))
    theta = _fold_to_norm(xp, xp.reshape(_as_real(xp, theta), shape), layer["fold_theta"],
                          params, f, padding, window_norms * sum(c[j] for j in layer["degc"]))
    mu = _normalise_rows(xp, xp.concat([mu_const, gamma], axis=-1))
    psi = xp.concat([psi_const, theta], axis=-1) * (1.0 / f)
    next_norms = window_norms * (1.0 / f**2)
    next_diag = window_norms * (sum(c) / f**2)
    return mu, psi, next_norms, next_diag


def _mean_pixels(xp, A, n_images):
    """Average of ``(n_images * pixels, width)`` rows over the pixels of each image."""
    return xp.mean(xp.reshape(A, (n_images, -1, A.shape[-1])), axis=1)


def _fold_to_norm(xp, V, signs, params, filter_size, padding, squared_norm):
    """Signed window fold of ``V`` rescaled to the exact norms ``sqrt(squared_norm)``."""
    folded = window_fold(xp, V, filter_size, padding, tuple(params.get(s) for s in signs))
    return _with_norms(xp, folded, xp.sqrt(squared_norm))


def _pool(xp, powers, tensor, root, layer, n_images):
    r"""Global average pooling of :math:`[\gamma_p, T_p]` (real, width ``1 + 2 m (q + 1)``)."""
    pooled = [_mean_pixels(xp, root, n_images) * math.sqrt(layer["a"][0])]
    for block in _degree_blocks(xp, powers, layer["a"], layer["deg1"], root):
        pooled.append(_as_real(xp, _mean_pixels(xp, block, n_images)))
    pooled.append(_as_real(xp, _mean_pixels(xp, tensor, n_images)))
    return xp.concat(pooled, axis=-1)


def _aggregate(xp, gamma, tensor, norms, diag, layer, params, filter_size, padding):
    r"""Window aggregation into the next layer's state.

    :math:`\mu_p = [c_p, \mathrm{fold}(G)_p] / \|\cdot\|` and
    :math:`\psi_p = [c_p, \mathrm{fold}'(G)_p, \mathrm{fold}'(T)_p] / f`, with
    :math:`c_p = (\sqrt{a_0 N_{p+\delta}})_\delta` the exact window of the constant term and
    independent signs for ``fold`` and ``fold'``. The folds are rescaled to their exact
    norms, :math:`\|\mathrm{fold}(v)_p\|^2 = \sum_\delta \|v_{p+\delta}\|^2`, so that
    :math:`\|\psi_p\|^2 = \Theta^{(h)}_{pp}(x, x)` exactly.
    """
    n, height, width, _ = norms.shape
    shape = (n, height, width, -1)
    f = filter_size
    a, b = layer["a"], layer["b"]
    sum_a = sum(a[j] for j in layer["deg1"])
    constant = xp.sqrt(norms) * math.sqrt(a[0])
    constant_patch = window_patches(xp, constant, f, padding)
    window_norms = window_fold(xp, norms, f, padding)
    window_diag = window_fold(xp, diag, f, padding)
    gamma = xp.reshape(_as_real(xp, gamma), shape)
    tensor = xp.reshape(_as_real(xp, tensor), shape)

    def fold(V, key, squared_norm):
        return _fold_to_norm(xp, V, layer[key], params, f, padding, squared_norm)

    gamma_norm2 = window_norms * sum_a
    tensor_norm2 = window_diag * sum(b)
    mu = _normalise_rows(xp, xp.concat([constant_patch, fold(gamma, "fold_mu", gamma_norm2)],
                                       axis=-1))
    psi = xp.concat([constant_patch, fold(gamma, "fold_psi_gamma", gamma_norm2),
                     fold(tensor, "fold_psi_tensor", tensor_norm2)], axis=-1) * (1.0 / f)
    next_norms = window_norms * (1.0 / f**2)
    next_diag = (window_norms * (a[0] + sum_a) + tensor_norm2) * (1.0 / f**2)
    return mu, psi, next_norms, next_diag


# --------------------------------------------------------------------------- estimator


def _legacy_depth(depth):
    """``depth=None`` of the legacy path: 1."""
    return 1 if depth is None else depth


def resolve_architecture(architecture, depth, filter_size, padding, image_shape):
    """Layer list of ``architecture`` (a preset name or a sequence of layers), validated.

    A preset name takes ``depth`` (``None``: the preset's default) and, for ``"gap"``,
    ``"flatten"`` and ``"pool_flatten"``, ``filter_size`` and ``padding``; ``"myrtle"`` and
    ``"pool_flatten"`` are sized to ``image_shape``. A sequence of layers is used as given
    and ``depth``, ``filter_size`` and ``padding`` must keep their defaults (``None``, 3,
    ``"same"``).
    """
    if isinstance(architecture, str):
        name = architecture.lower()
        if name not in PRESETS:
            raise ValueError(
                f"architecture must be one of {', '.join(map(repr, PRESETS))} or a "
                f"list of layers, got {architecture!r}.")
        if name not in FILTER_PRESETS and (filter_size != 3 or padding != "same"):
            raise ValueError(
                f"filter_size and padding do not apply to architecture={architecture!r}; "
                "leave them at their defaults (3, 'same') or pass a list of layers.")
        return preset(name, depth=depth, filter_size=filter_size, padding=padding,
                      image_shape=image_shape)
    layers = check_layers(architecture)
    if depth is not None or filter_size != 3 or padding != "same":
        raise ValueError(
            "depth, filter_size and padding only apply to architecture=None or a preset "
            "name; with a list of layers, set them on the layers (got depth="
            f"{depth!r}, filter_size={filter_size!r}, padding={padding!r}).")
    return list(layers)


class CNTKSketch(BaseFeatureMap):
    r"""CNTKSketch: random features of the convolutional NTK with global average pooling.

    With ``architecture=None`` (the default), approximates the kernel of
    :func:`sklearn_ntk.cntk_kernel` with ``architecture=None``: the NTK of ``L`` layers of
    :math:`f\times f` stride-1 convolutions with ReLU, followed by global average pooling
    and a linear readout,

    .. math::

        \mathrm{CNTK}(x, y) = \frac{1}{(H_L W_L)^2}\sum_{p, p'}
            \big[\Theta^{(L-1)}\odot\dot\Gamma^{(L)} + \Gamma^{(L)}\big]_{pp'},

    by features :math:`\varphi` with :math:`\langle\varphi(x), \varphi(y)\rangle \approx
    \mathrm{CNTK}(x, y)`, computed in time linear in the number of pixels (Zandieh et al.
    2021). Per layer the ReLU kernels :math:`\kappa_1, \kappa_0` are
    replaced by non-negative polynomials of degree ``degree`` fitted on the range of the
    correlations (:math:`[-1, 1]` at the first layer; :math:`[0, 1]` after it, since
    :math:`\kappa_1 \ge 0` makes every later correlation non-negative); the powers of the
    per-pixel correlation vectors are sketched with PolySketch, products of kernels with
    TensorSRHT, and the window sums of the convolutions with one signed fold per layer (see
    the module docstring). The per-pixel sketches have ``sketch_dim`` complex coordinates;
    after global average pooling a final SRHT gives ``n_components`` features.

    What is unbiased and what is not:

    - unbiased given their inputs: each PolySketch of a power, each TensorSRHT product, each
      signed window fold, and the final SRHT (with its lone Rademacher column for odd
      ``n_components``) as an estimate of the pooled inner products, at every width;
    - ratio estimators (biased, consistent): every degree block, TensorSRHT block and folded
      window is rescaled to its exact norm (known in closed form from the patch norms). This
      removes the norm noise that dominates the error of nearly parallel pixels, at the
      price of a bias of order ``1 / sketch_dim`` in the off-diagonal entries; the tests
      show it shrinking with ``sketch_dim`` (many standard errors at ``sketch_dim=2``,
      hardly visible at 64);
    - deterministic bias: the polynomial fits (``layer_fit_errors_``), and, at depth >= 2, the
      polynomials being applied to estimated rather than exact correlations.

    With ``architecture`` given (a preset name or a list of :mod:`sklearn_ntk.layers`),
    approximates ``cntk_kernel(X, architecture=architecture, ...)``, the NTK of that
    network in the neural-tangents convention (for ``"gap"`` that is
    :math:`2 / (f^2 C)` times the kernel of ``architecture=None``). Each layer applies its
    own feature rule to per-position features (see :mod:`sklearn_ntk.layers`); the cost is
    linear in the number of pixels, and layers after a pooling run at the pooled
    resolution. The same list of unbiased steps and ratio estimators applies, with one
    more ratio estimator: after an ``AvgPool`` or ``GlobalAvgPool`` the position variances
    :math:`N_q` are no longer known in closed form, and a ReLU after a pooling uses
    :math:`\|g_q\|^2`, the squared norm of the pooled NNGP features, in their place (its
    bias is of order ``1 / sketch_dim``; the tests show it shrinking with the width). A
    Flatten keeps the variances exact. Linear layers (Dense, Conv, poolings, Flatten) on
    exactly carried coordinates add no randomness at all. At the first ReLU after the
    first linear layer, where :math:`\Theta = \Sigma`, the NTK part is sketched as one
    polynomial of :math:`\kappa_1(t) + t\kappa_0(t)` (no TensorSRHT), as in the default
    path. A network with a bias is not positively homogeneous, so its inputs are not
    rescaled against overflow.

    Parameters
    ----------
    n_components : int, default=1024
        Number of output features (exactly). When it is odd, the last column is a Rademacher
        projection of the pooled vector (as in :class:`~sklearn_ntk.NTKSketch`), so every
        value >= 1 gives an unbiased estimate of the sketched kernel.
    architecture : str, list of layers or None, default=None
        ``None``: the global average pooling network of ``depth``, ``filter_size`` and
        ``padding`` by the tuned fused recursion described above (the normalisation of
        ``cntk_kernel(architecture=None)``). A preset name: the layer list of
        :func:`sklearn_ntk.layers.gap`, :func:`~sklearn_ntk.layers.flatten`,
        :func:`~sklearn_ntk.layers.pool_flatten` (all built from ``depth``, ``filter_size``,
        ``padding``; ``pool_flatten`` also sized to ``image_shape``),
        :func:`~sklearn_ntk.layers.myrtle` (Myrtle depth ``depth``, sized to
        ``image_shape``; ``filter_size`` and ``padding`` must keep their defaults) or
        :func:`~sklearn_ntk.layers.fc` (``depth`` hidden
        layers on the flattened image), run by the layer-wise path. A list (or tuple) of
        layer instances: that network, followed by a bias-free ``Dense()`` readout unless
        it ends with a ``Dense``; ``depth``, ``filter_size`` and ``padding`` must then keep
        their defaults. Stored as given and validated in ``fit``; layers are immutable
        values, so lists clone, pickle and grid-search like any parameter.
    depth : int, default=None
        Number ``L`` of convolution + ReLU layers for ``architecture=None``, ``"gap"``,
        ``"flatten"`` and ``"pool_flatten"`` (``None``: 1); the Myrtle depth for
        ``"myrtle"`` (``>= 4``, ``None``: 5); hidden layers for ``"fc"`` (``None``: 1).
    filter_size : int, default=3
        Side ``f`` of the square filters (stride 1), for ``architecture=None``, ``"gap"``,
        ``"flatten"`` and ``"pool_flatten"``.
    padding : {"same", "valid"}, default="same"
        Zero padding of every convolution. ``"same"`` keeps the map size (for even ``f`` the
        window of pixel ``i`` covers ``i - floor((f-1)/2) .. i + ceil((f-1)/2)``);
        ``"valid"`` shrinks it by ``f - 1`` per layer.
    degree : int, default=4
        Degree of the polynomial approximations (of :math:`\kappa_1` and
        :math:`\kappa_1 + t\kappa_0` at the first layer, of :math:`\kappa_1` and
        :math:`\kappa_0` after it). Higher degrees lower the bias (``fit_error_``) but add
        variance to the sketches of the powers and cost more: every pixel of every layer
        sketches ``degree`` powers, so time grows about linearly with it (unlike
        :class:`NTKSketch`, whose single polynomial of the whole network has a sharper
        kink and needs degree 8). 4 is the fast default; on real images degree 8
        is measurably more accurate at about twice the time (Fashion-MNIST comparison on
        the benchmark page, ``benchmarks/RESULTS.md``). Use 8 when accuracy matters.
    sketch_dim : int, default=None
        Complex width ``m`` of the internal sketches that the final projection combines
        into ``n_components`` features, here one set per pixel (PolySketch, TensorSRHT,
        folded windows; in :class:`NTKSketch` the same quantity per row); time and memory
        grow linearly with it. ``None`` means ``n_components // 8`` clipped to
        ``[64, 512]`` (narrower than :class:`NTKSketch`'s default because it is paid at
        every pixel), or ``n_components // 2`` for an ``architecture`` whose ReLUs all act
        on a single position (``"fc"``, or ReLUs after a ``Flatten``), where it is paid
        once per image. The features are a projection of
        the pooled vector, of ``n_pooled_ = 1 + 2 m k`` real coordinates (``k``: the number
        of sketched blocks of the last layer, ``degree + 1`` or fewer), so their rank is at
        most ``n_pooled_``: ``n_components`` beyond it adds no rank (it only lowers the noise
        of the final projection); a wider ``sketch_dim`` does.
    image_shape : tuple (H, W) or (H, W, C), default=None
        Shape of one image; rows of ``X`` are images flattened row-major in ``(H, W, C)``
        order. ``None``: ``(1, 1, n_features)``, one pixel whose channels are the features
        (every window holds the centre pixel only and the kernel is a fully connected NTK,
        so plain 2-D data is accepted); always pass it for images.
    random_state : int, RandomState instance or None, default=None
        Seeds every random draw (made in ``fit``, on the host).
    max_memory : int, default=None
        Bytes of intermediate arrays per transform batch; ``None`` means 256 MiB, or
        scikit-learn's ``working_memory`` when that is smaller. ``transform`` writes the
        batches into one preallocated output, so it holds at most the output plus this.
        Results do not depend on it.
    verbose : int, default=0
        Report progress over the transform batches (a ``tqdm`` bar when installed, plain
        lines otherwise).

    Attributes
    ----------
    polynomial_coef_ : array of shape (depth, 2, degree + 1)
        ``polynomial_coef_[h, 0]`` and ``polynomial_coef_[h, 1]``: the non-negative
        polynomial coefficients of :math:`\kappa_1` and :math:`\kappa_0` at layer ``h + 1``,
        except at the first layer, where ``polynomial_coef_[0, 1]`` fits :math:`\kappa_1(t) + t\kappa_0(t)` (the kernel
        :math:`\Theta^{(1)}`, see the module docstring). Float64, in the array namespace and
        on the device of the data passed to ``fit``. With ``architecture`` given: one row
        pair per ReLU of the network (its :math:`\kappa_1` fit, then its :math:`\kappa_0`
        fit, or the :math:`\kappa_1 + t\kappa_0` fit of a fused first ReLU, or zeros where
        the NTK part is zero). Called ``coef_`` before 0.2 (still accepted, with a
        FutureWarning, until 0.3; on the estimators ``coef_`` is the ridge weights).
    fit_error_ : float
        The largest of ``layer_fit_errors_``: the worst absolute error of any polynomial
        fit in use, as ``NTKSketch.fit_error_``.
    layer_fit_errors_ : tuple of (float, float), one per layer
        Maximum absolute errors of the fits of ``polynomial_coef_[h, 0]`` and
        ``polynomial_coef_[h, 1]`` on their intervals (one tuple per ReLU with
        ``architecture``; a single error where the NTK part needs no fit). Called
        ``fit_errors_`` before 0.2 (still accepted, with a FutureWarning, until 0.3).
    image_shape_ : tuple of int (H, W, C)
    output_shape_ : tuple of int (H_L, W_L)
        Size of the map after the ``depth`` convolutions (the pooled pixels); with
        ``architecture``, the last map before the readout reduces it to one position.
    layers_ : tuple of Layer
        Only with ``architecture``: the network in use, readout included.
    sketch_dim_ : int
        Width ``m`` in use.
    n_pooled_ : int
        Length of the pooled vector that the final SRHT projects to ``n_components``
        features (an upper bound on their rank).
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Only when ``X`` has string feature names.

    See Also
    --------
    sklearn_ntk.cntk_kernel : the exact kernel (quadratic in the pixels).
    CNTKSketchRegressor, CNTKSketchClassifier : ridge models on these features.

    References
    ----------
    A. Zandieh, I. Han, H. Avron, N. Shoham, C. Kim, J. Shin. *Scaling Neural Tangent Kernels via
    Sketching and Random Features*. NeurIPS 2021.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_ntk.cntk_sketch import CNTKSketch
    >>> X = np.random.RandomState(0).rand(4, 8 * 8 * 3)
    >>> Z = CNTKSketch(n_components=256, depth=2, image_shape=(8, 8, 3),
    ...                random_state=0).fit_transform(X)
    >>> Z.shape
    (4, 256)

    Any network of :mod:`sklearn_ntk.layers`, here with local pooling, a flatten readout
    and biases:

    >>> from sklearn_ntk.layers import AvgPool, Conv, Dense, Flatten, ReLU
    >>> net = [Conv(3, bias=0.1), ReLU(), AvgPool(2), Conv(3), ReLU(), Flatten(), Dense(0.1)]
    >>> CNTKSketch(n_components=256, architecture=net, image_shape=(8, 8, 3),
    ...            random_state=0).fit_transform(X).shape
    (4, 256)
    """

    _parameter_constraints = {
        **BaseFeatureMap._parameter_constraints,
        "architecture": [None, StrOptions(set(PRESETS)), list, tuple],
        "depth": [Interval(Integral, 1, None, closed="left"), None],
        "filter_size": [Interval(Integral, 1, None, closed="left")],
        "padding": [StrOptions({"same", "valid"})],
        "degree": [Interval(Integral, 1, None, closed="left")],
        "sketch_dim": [Interval(Integral, 1, None, closed="left"), None],
        "image_shape": ["array-like", None],
        "verbose": ["verbose"],
    }
    _namespace_attribute = "polynomial_coef_"
    coef_ = renamed_attribute("coef_", "polynomial_coef_")
    fit_errors_ = renamed_attribute("fit_errors_", "layer_fit_errors_")

    def __init__(self, n_components=1024, *, architecture=None, depth=None, filter_size=3,
                 padding="same", degree=4, sketch_dim=None, image_shape=None,
                 random_state=None, max_memory=None, verbose=0):
        self.n_components = n_components
        self.architecture = architecture
        self.depth = depth
        self.filter_size = filter_size
        self.padding = padding
        self.degree = degree
        self.sketch_dim = sketch_dim
        self.image_shape = image_shape
        self.random_state = random_state
        self.max_memory = max_memory
        self.verbose = verbose

    # ------------------------------------------------------------------ fit

    def _param_bytes(self, n_features):
        if self.architecture is not None:
            # drawn layer by layer; the output projection's parameters dominate
            return srht_bytes(8 * self.n_components, self.n_components // 2)
        m = default_sketch_dim(self.n_components) if self.sketch_dim is None \
            else int(self.sketch_dim)
        f = self.filter_size
        channels = n_features
        if self.image_shape is not None and len(self.image_shape) == 3:
            channels = self.image_shape[2]
        d_in = f * f * channels + 2 * m * (self.degree + 2)
        n_pooled = 1 + 2 * m * (self.degree + 1)
        return (_legacy_depth(self.depth) * (polysketch_bytes(d_in, m, self.degree)
                                             + srht_bytes(d_in, m)
                              + 8 * 6 * f * m * (self.degree + 1))
                + srht_bytes(n_pooled, self.n_components // 2))

    def _fit_params(self, rng, n_features):
        if self.architecture is not None:
            return self._fit_layers(rng, n_features)
        self._network = None
        f = check_filter_size(self.filter_size)
        padding = check_padding(self.padding)
        depth = _legacy_depth(self.depth)
        self.image_shape_ = check_image_shape(self.image_shape, n_features)
        self.output_shape_ = check_conv_geometry(self.image_shape_, f, depth, padding)
        m = default_sketch_dim(self.n_components) if self.sketch_dim is None \
            else int(self.sketch_dim)
        self.sketch_dim_ = m
        coef, errors, self._layers = [], [], []
        d_mu = d_psi = f * f * self.image_shape_[2]
        for h in range(depth):
            last = h == depth - 1
            if h == 0:
                # Correlations lie in [-1, 1] at the input. Theta^(0) = Sigma^(0) there, so
                # kappa0 only enters through the one-hidden-layer NTK kappa1(t) + t kappa0(t).
                a, error_a = fit_dot_product_polynomial("kappa1", self.degree, lower=-1.0)
                c, error_c = _fit_first_layer_ntk(self.degree)
                coef.append([a, c])
                errors.append((error_a, error_c))
                layer, n_pooled = _draw_layer(rng, (a, c), None, d_mu, d_psi, m, f, last)
                self._layers.append(layer)
                if not last:
                    n_gamma = 2 * sum(layer["widths"])
                    d_mu = f * f + n_gamma
                    d_psi = f * f + 2 * sum(layer["theta_widths"])
                continue
            # After a ReLU layer every Sigma^(h) is a window average of
            # sqrt(N N') kappa1(.) >= 0, so rho >= 0.
            a, b, error = _fit_relu_polynomials(self.degree, 0.0)
            coef.append([a, b])
            errors.append(error)
            layer, n_pooled = _draw_layer(rng, a, b, d_mu, d_psi, m, f, last)
            self._layers.append(layer)
            if not last:
                n_gamma = 2 * sum(layer["widths"])
                d_mu, d_psi = f * f + n_gamma, f * f + n_gamma + 2 * m
        # Plain tuples: fitted NumPy arrays would sit in the wrong namespace for array-API
        # input (the public polynomial_coef_ is set in the input's namespace by BaseFeatureMap.fit).
        self._coef = tuple(tuple(tuple(float(c) for c in poly) for poly in pair)
                           for pair in coef)
        self.layer_fit_errors_ = tuple((float(e1), float(e0)) for e1, e0 in errors)
        self.fit_error_ = max(max(e) for e in self.layer_fit_errors_)
        self._n_pooled = self.n_pooled_ = n_pooled
        self._draw_output(rng, n_pooled)
        return self.n_components

    def _fit_layers(self, rng, n_features):
        """The layer-wise path: validate ``architecture``, draw every layer's parameters."""
        self.image_shape_ = check_image_shape(self.image_shape, n_features)
        layers = resolve_architecture(self.architecture, self.depth, self.filter_size,
                                      self.padding, self.image_shape_)
        if self.sketch_dim is not None:
            m = int(self.sketch_dim)
        elif _single_position_relus(layers, self.image_shape_):
            # the per-pixel cap exists because the width is paid at every position; a ReLU
            # on one position (a fully connected network) pays it once, as NTKSketch does
            m = max(default_sketch_dim(self.n_components), self.n_components // 2)
        else:
            m = default_sketch_dim(self.n_components)
        self.sketch_dim_ = m
        network = self._network = FeatureNetwork(layers, self.image_shape_, rng,
                                                 degree=self.degree, sketch_dim=m)
        self.layers_ = tuple(network.net.body) + (network.net.readout,)
        spatial = [s for s in network.net.shapes if not s.flat]
        self.output_shape_ = (spatial[-1].height, spatial[-1].width)
        coef = []
        for layer, params in zip(network.net.body, network.params):
            if params is not None and "a" in params:
                other = params.get("b", params.get("c", [0.0] * len(params["a"])))
                coef.append((tuple(params["a"]), tuple(other)))
        self._coef = tuple(coef)
        self._coef_shape = (len(coef), 2, self.degree + 1)
        self.layer_fit_errors_ = tuple(tuple(float(v) for v in e) for e in network.fit_errors)
        self.fit_error_ = float(max((max(e) for e in self.layer_fit_errors_), default=0.0))
        self._n_pooled = self.n_pooled_ = network.n_out
        self._draw_output(rng, network.n_out)
        return self.n_components

    def _draw_output(self, rng, n_pooled):
        """Final SRHT to ``n_components // 2`` complex columns (+ a Rademacher column)."""
        self._n_complex = self.n_components // 2
        self._final = draw_srht(rng, n_pooled, self._n_complex) if self._n_complex else None
        self._lone = None
        if self.n_components % 2:
            self._lone = {"signs": rademacher(rng, n_pooled)}

    def _namespace_array(self):
        if self._network is not None:
            return np.asarray(self._coef, dtype=np.float64).reshape(self._coef_shape)
        return np.asarray(self._coef, dtype=np.float64)

    # ------------------------------------------------------------------ transform

    def _bytes_per_row(self, itemsize):
        """Peak bytes of intermediates per image (measured, with a margin)."""
        if self._network is not None:  # from the state widths of the largest layer
            return int(1.5 * itemsize * self._network.entries_per_image)
        height, width, channels = self.image_shape_
        pixels = height * width
        f = self.filter_size
        top = max(len(self._layers[0]["poly"]["levels"]), 1)
        leaves = 2 ** top
        per_pixel = self.sketch_dim_ * (4 * self.degree + 2 * leaves + 16) + 3 * f * f * channels
        return 2 * itemsize * pixels * per_pixel + 2 * itemsize * self._n_pooled

    def _transform_batch(self, xp, X, device):
        """Features of a batch; NumPy batches are split over one thread per CPU core.

        NumPy's element-wise kernels are single-threaded and release the GIL, so threads over
        groups of images use every core (the FFTs are multi-threaded already). Each image's
        features depend on that image only, so the split never changes the result.
        """
        n_threads = min(_n_threads(xp), X.shape[0])
        if n_threads <= 1:
            return self._transform_images(xp, X, device)
        bounds = [X.shape[0] * k // n_threads for k in range(n_threads + 1)]
        with ThreadPoolExecutor(n_threads) as pool:
            parts = list(pool.map(lambda k: self._transform_images(
                xp, X[bounds[k]:bounds[k + 1], ...], device), range(n_threads)))
        return xp.concat(parts, axis=0)

    def _transform_images(self, xp, X, device):
        if self._network is not None and self._network.has_bias:
            return self._layer_features(xp, X, device)  # not homogeneous: no rescaling
        # The CNTK of a bias-free network is positively homogeneous in the image:
        # featurise x / max|x_j| (no squared patch norm can overflow) and scale back.
        scale = max_abs_rows(xp, X)
        if self._network is not None:
            return self._layer_features(xp, X / scale, device) * scale
        return self._features(xp, X / scale, device) * scale

    def _layer_features(self, xp, X, device):
        params = _Params(xp, X.dtype, device)
        images = xp.reshape(X, (X.shape[0],) + tuple(self.image_shape_))
        pooled = self._network.features(FeatureContext(xp, params), images)
        return self._output(xp, pooled, params)

    def _features(self, xp, X, device):
        params = _Params(xp, X.dtype, device)
        f, padding = self.filter_size, self.padding
        images = xp.reshape(X, (X.shape[0],) + tuple(self.image_shape_))
        u = window_patches(xp, images, f, padding)
        norms = xp.sum(u * u, axis=-1, keepdims=True)
        mu = u / xp.sqrt(xp.where(norms > 0, norms, xp.ones_like(norms)))
        state = (mu, u, norms, norms)  # Theta^(0) = Sigma^(0): psi = u, diag = N
        for h, layer in enumerate(self._layers):
            state = _relu_layer(xp, state, layer, params, f, padding, h == len(self._layers) - 1)
        return self._output(xp, state, params)

    def _output(self, xp, pooled, params):
        """Exactly ``n_components`` real columns from the pooled vectors (unbiased)."""
        weight = 1.0 if self._lone is None else lone_column_weight(self._n_complex)
        columns = []
        if self._n_complex:
            W = srht(xp, pooled, self._final, params.device) * math.sqrt(weight)
            columns += [xp.real(W), xp.imag(W)]
        if self._lone is not None:
            lone = xp.sum(pooled * params.get(self._lone["signs"]), axis=-1, keepdims=True)
            columns.append(lone * math.sqrt(1.0 - weight))
        return xp.concat([xp.astype(c, pooled.dtype) for c in columns], axis=1)
