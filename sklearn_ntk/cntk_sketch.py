r"""CNTKSketch: features of the convolutional NTK of any layer list, linear in the pixels.

The exact CNTK of a ReLU CNN (:func:`sklearn_ntk.cntk_kernel`) compares every position of
one image with every position of the other: :math:`O((HW)^2)` per pair of images for global
average pooling. CNTKSketch maps every image to ``n_components`` features whose inner
products approximate it, at cost linear in the number of pixels, by running the network's
layers once over per-position features (:class:`sklearn_ntk.layers._serial.FeatureNetwork`,
the one loop over layers). Per position ``p`` the state holds

* NNGP features :math:`g_p` with :math:`\langle g_p(x), g_q(y)\rangle \approx
  \Sigma_{pq}(x, y)`,
* NTK features :math:`t_p` with :math:`\langle t_p(x), t_q(y)\rangle \approx
  \Theta_{pq}(x, y)`,
* the position variances :math:`N_p = \Sigma_{pp}(x, x)`, exact wherever they are known in
  closed form,

each split into an exactly carried part and a sketched part, as arrays of shape
``(batch, H, W, width)``: the sketches (FFTs along the last axis) run batched over every
position of every image of a batch. Each layer maps the state by its own feature rule:

* **Conv / Dense** (weight variance 2 over the fan-in): the direct sum of the window
  :math:`\oplus_\delta v_{p+\delta}` over the offsets :math:`\delta`, exact on the exactly
  carried parts and a *signed fold* on the sketched parts. Every offset gets its own
  Rademacher vector :math:`D_\delta` and the shifted copies are summed,

  .. math::

      \mathrm{fold}(v)_p = \sum_{\delta} D_\delta \odot v_{p+\delta},\qquad
      E\,\langle\mathrm{fold}(v)_p, \mathrm{fold}(w)_{q}\rangle
          = \sum_\delta \langle v_{p+\delta}, w_{q+\delta}\rangle,

  because :math:`E[D_\delta D_{\delta'}] = 0` for :math:`\delta \ne \delta'`: an unbiased
  sketch of the direct sum that keeps the width of ``v``. With :math:`D_{(a, b)} = R_a
  \odot C_b` the fold is separable (columns, then rows: :math:`2f` shifted adds instead of
  :math:`f^2`). The FFTs of the next ReLU spread the folded vector again, so no per-offset
  SRHT is needed.
* **ReLU**: non-negative polynomial fits :math:`\kappa_1 \approx \sum_j a_j t^j`,
  :math:`\kappa_0 \approx \sum_j b_j t^j` on the range of the correlations (``_polyfit``),
  one PolySketch of the powers :math:`P_j(\mu_p) \approx \mu_p^{\otimes j}` of
  :math:`\mu_p = g_p / \|g_p\|`, then

  .. math::

      g'_p = \sqrt{N_p/2}\,[\sqrt{a_0}, \sqrt{a_j} P_j(\mu_p)]_j,\qquad
      t'_p = \mathrm{TensorSRHT}\big(t_p, \tfrac{1}{\sqrt 2}[\sqrt{b_0}, \sqrt{b_j}
          P_j(\mu_p)]_j\big).

  At the first ReLU after the first linear layer :math:`\Theta = \Sigma`, so the NTK there
  is :math:`\tfrac12\sqrt{N_p N'_q}\,(\kappa_1 + t\kappa_0)(\rho_{pq})`: one polynomial
  :math:`\sum_j c_j t^j` in the same powers, with no TensorSRHT (whose independent
  estimate of the :math:`\kappa_0` term added noise: about one point of test accuracy at
  depth 1 on Fashion-MNIST, see the benchmark page). When that ReLU sees few inputs (a 3x3
  patch of a grey-scale image has 9, hence 714 monomials up to degree 4), the monomials are
  no wider than ``4 sketch_dim``, and no convolution folds that layer's outputs before the
  next ReLU (a signed fold is only accurate on wide, spread-out vectors), the powers are
  not sketched at all: the weighted
  monomials :math:`M_j(\mu_p)_\alpha = \sqrt{j!/\alpha!}\,\mu_p^\alpha` satisfy
  :math:`\langle M_j(\mu), M_j(\mu')\rangle = \langle\mu, \mu'\rangle^j` exactly, so that
  layer adds no noise and costs a few products per monomial instead of FFTs.
* **AvgPool / GlobalAvgPool / Flatten**: averages (resp. a scaled concatenation) of the
  per-position features, exact given their inputs.

The readout's vector goes through a final SRHT that gives exactly ``n_components`` real
columns (with a lone Rademacher column for odd widths), as in
:class:`~sklearn_ntk.NTKSketch`. ``architecture=None`` is the ``"gap"`` preset
(convolutions + ReLU, global average pooling) with its features scaled to the
normalisation of Arora et al. (``cntk_kernel(architecture=None)``).

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

from ._base import BaseFeatureMap, featurise_with_bias, lone_column_weight, max_abs_rows, \
    rademacher, renamed_attribute, srht_bytes, store_params
from ._docstrings import RUN_PARAMS_DOC
from ._images import check_conv_geometry, check_filter_size, check_image_shape, check_padding
from ._sketches import draw_srht, srht
from .layers._features import FeatureContext
from .layers._ops import _n_threads, _Params
from .layers._relu import ReLU
from .layers._serial import FeatureNetwork, Serial, check_layers
from .layers.presets import FILTER_PRESETS, PRESETS, gap, preset

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
    __doc__ = r"""CNTKSketch: random features of the convolutional NTK with global average pooling.

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
    the module docstring), by the same loop over layers as any ``architecture`` (the
    ``"gap"`` preset). The per-pixel sketches have ``sketch_dim`` complex coordinates;
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
    :math:`2 / (f^2 C)` times the kernel of ``architecture=None``, which is computed by
    the same layers with its features scaled back). Each layer applies its own feature
    rule to per-position features (see the module docstring and
    :mod:`sklearn_ntk.layers`); the cost is linear in the number of pixels, and layers
    after a pooling run at the pooled resolution. Besides the ratio estimators above there
    is one more: after an ``AvgPool`` or ``GlobalAvgPool`` the position variances
    :math:`N_q` are no longer known in closed form, and a ReLU after a pooling uses
    :math:`\|g_q\|^2`, the squared norm of the pooled NNGP features, in their place (its
    bias is of order ``1 / sketch_dim``; the tests show it shrinking with the width). A
    Flatten keeps the variances exact. Linear layers (Dense, Conv, poolings, Flatten) on
    exactly carried coordinates add no randomness at all. At the first ReLU after the
    first linear layer, where :math:`\Theta = \Sigma`, the NTK part is sketched as one
    polynomial of :math:`\kappa_1(t) + t\kappa_0(t)` (no TensorSRHT). A network with a bias is not positively homogeneous, so its inputs are not
    rescaled against overflow.

    Parameters
    ----------
    n_components : int, default=1024
        Number of output features (exactly). When it is odd, the last column is a Rademacher
        projection of the pooled vector (as in :class:`~sklearn_ntk.NTKSketch`), so every
        value >= 1 gives an unbiased estimate of the sketched kernel.
    architecture : str, list of layers or None, default=None
        ``None``: the global average pooling network of ``depth``, ``filter_size`` and
        ``padding`` (the ``"gap"`` preset, with features scaled to the normalisation of
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
        the pooled vector, of ``n_pooled_`` real coordinates (for global average pooling
        ``1 + 2 m k``, ``k`` the number of sketched blocks of the last layer, ``degree + 1``
        or fewer; a width independent of ``m`` where exact monomials replace the sketch, see
        the module docstring), so their rank is at
        most ``n_pooled_``: ``n_components`` beyond it adds no rank (it only lowers the noise
        of the final projection); a wider ``sketch_dim`` does.
    image_shape : tuple (H, W) or (H, W, C), default=None
        Shape of one image; rows of ``X`` are images flattened row-major in ``(H, W, C)``
        order. ``None``: ``(1, 1, n_features)``, one pixel whose channels are the features
        (every window holds the centre pixel only and the kernel is a fully connected NTK,
        so plain 2-D data is accepted); always pass it for images.
    flip_invariant : bool, default=False
        Average the features of each image and of its mirror image (the width axis
        reversed), :math:`\tfrac12[\varphi(x) + \varphi(mx)]`: the features then approximate
        ``cntk_kernel(..., flip_invariant=True)``, the kernel of the network averaged over
        horizontal flips, and are identical for an image and its mirror image. Twice the
        featurisation cost (and intermediate memory per image); for data whose labels do
        not change under a horizontal flip, as most natural photographs and Fashion-MNIST.
""" + RUN_PARAMS_DOC + r"""
    Attributes
    ----------
    polynomial_coef_ : array of shape (n_relu, 2, degree + 1)
        One row pair per ReLU of the network (``n_relu = depth`` for the GAP network of
        ``architecture=None``): the non-negative polynomial coefficients of its
        :math:`\kappa_1` fit, then of its :math:`\kappa_0` fit, or of the
        :math:`\kappa_1(t) + t\kappa_0(t)` fit of a fused first ReLU (the kernel
        :math:`\Theta^{(1)}`, see the module docstring), or zeros where the NTK part is
        zero. Float64, in the array namespace and on the device of the data passed to
        ``fit``. Called ``coef_`` before 0.2 (still accepted, with a
        FutureWarning, until 0.3; on the estimators ``coef_`` is the ridge weights).
    fit_error_ : float
        The largest of ``layer_fit_errors_``: the worst absolute error of any polynomial
        fit in use, as ``NTKSketch.fit_error_``.
    layer_fit_errors_ : tuple of (float, float), one per layer
        Maximum absolute errors of the fits of ``polynomial_coef_[h, 0]`` and
        ``polynomial_coef_[h, 1]`` on their intervals (one tuple per ReLU; a single error
        where the NTK part needs no fit). Called
        ``fit_errors_`` before 0.2 (still accepted, with a FutureWarning, until 0.3).
    image_shape_ : tuple of int (H, W, C)
    output_shape_ : tuple of int (H_L, W_L)
        Size of the last spatial map, the one the readout's pooling or flattening reduces
        to one position (for ``architecture=None``: after the ``depth`` convolutions).
    layers_ : tuple of Layer
        The network in use, readout included (the ``"gap"`` preset for
        ``architecture=None``).
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

    S. Arora, S. Du, W. Hu, Z. Li, R. Salakhutdinov, R. Wang. *On Exact Computation with an
    Infinitely Wide Neural Net*. NeurIPS 2019 (the CNTK with global average pooling).

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
        "flip_invariant": ["boolean"],
        "verbose": ["verbose"],
    }
    _namespace_attribute = "polynomial_coef_"
    coef_ = renamed_attribute("coef_", "polynomial_coef_")
    fit_errors_ = renamed_attribute("fit_errors_", "layer_fit_errors_")

    def __init__(self, n_components=1024, *, architecture=None, depth=None, filter_size=3,
                 padding="same", degree=4, sketch_dim=None, image_shape=None,
                 flip_invariant=False, random_state=None, max_memory=None, verbose=0):
        store_params(self, locals())

    # ------------------------------------------------------------------ fit

    def _param_bytes(self, n_features):
        # drawn layer by layer; the output projection's parameters dominate
        return srht_bytes(8 * self.n_components, self.n_components // 2)

    def _resolve_layers(self):
        """The layer list in use and the factor that scales its features.

        ``architecture=None`` is the ``"gap"`` preset of ``depth``, ``filter_size`` and
        ``padding`` in the normalisation of ``cntk_kernel(architecture=None)``: that kernel
        is :math:`f^2 C / 2` times the preset's (weight variance 1 per window entry there,
        2 / fan-in here), so the features are scaled by the square root of it.
        """
        if self.architecture is not None:
            return resolve_architecture(self.architecture, self.depth, self.filter_size,
                                        self.padding, self.image_shape_), 1.0
        f = check_filter_size(self.filter_size)
        padding = check_padding(self.padding)
        depth = 1 if self.depth is None else self.depth
        check_conv_geometry(self.image_shape_, f, depth, padding)
        return gap(depth, f, padding), math.sqrt(f * f * self.image_shape_[2] / 2.0)

    def _fit_params(self, rng, n_features):
        """Validate the network and draw every layer's parameters (one loop over layers)."""
        self.image_shape_ = check_image_shape(self.image_shape, n_features)
        layers, self._feature_scale = self._resolve_layers()
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
        return np.asarray(self._coef, dtype=np.float64).reshape(self._coef_shape)

    # ------------------------------------------------------------------ transform

    def _bytes_per_row(self, itemsize):
        """Peak bytes of intermediates per image, from the state widths of the largest layer."""
        copies = 2 if self.flip_invariant else 1  # an image and its mirror image
        return int(1.5 * itemsize * copies * self._network.entries_per_image)

    def _batch_multiple(self, xp):
        return _n_threads(xp)

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
        if self._network.has_bias:  # not homogeneous: no rescaling
            return featurise_with_bias(xp, X, lambda A: self._features(xp, A, device))
        # The CNTK of a bias-free network is positively homogeneous in the image:
        # featurise x / max|x_j| (no squared patch norm can overflow) and scale back.
        scale = max_abs_rows(xp, X)
        return self._features(xp, X / scale, device) * scale

    def _features(self, xp, X, device):
        params = _Params(xp, X.dtype, device)
        images = xp.reshape(X, (X.shape[0],) + tuple(self.image_shape_))
        ctx = FeatureContext(xp, params)
        pooled = self._network.features(ctx, images)
        if self.flip_invariant:
            mirrored = self._network.features(ctx, xp.flip(images, axis=2))
            pooled = (pooled + mirrored) * 0.5
        if self._feature_scale != 1.0:
            pooled = pooled * self._feature_scale
        return self._output(xp, pooled, params)

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
