r"""Feature (sketch) rules of the layers: per-position random features of a layer list.

The feature state of a batch of images holds, for every position :math:`p` of the current
map, real feature vectors whose inner products estimate the covariances of the exact state
(:class:`~sklearn_ntk.layers._base.PairState`):

* NNGP features :math:`g_p` with :math:`E\langle g_p(x), g_q(y)\rangle \approx
  \Sigma_{pq}(x, y)`;
* NTK features :math:`t_p` with :math:`E\langle t_p(x), t_q(y)\rangle \approx
  \Theta_{pq}(x, y)`, or, in two special *modes*, no array at all (:math:`\Theta = 0` at
  the input; :math:`\Theta = \Sigma` after the first linear layer, then :math:`t = g`), or
  features of :math:`\Sigma + \Theta` instead of :math:`\Theta` (after a first ReLU whose
  NTK is sketched in one piece, see :class:`~sklearn_ntk.layers.ReLU`);
* the position variances :math:`N_p = \Sigma_{pp}(x, x)`, exact after a linear layer, a
  ReLU or a Flatten, and estimated (as :math:`\|g_p\|^2`) after a pooling.

Each of :math:`g` and :math:`t` is stored in two parts, an *exact* part (a few coordinates
carried exactly: the input channels, bias coordinates, the constant term of a ReLU
polynomial and their window direct sums) and a *sketched* part (spread-out coordinates of
random sketches). Inner products are the sums over both parts. The parts differ only in how
a convolution aggregates them: the exact part by its direct sum over the window (its width
grows by :math:`f_h f_w`), the sketched part by a signed fold that keeps its width.

Every layer contributes two steps: ``draw_features(rng, spec, config)`` draws its random
parameters on the host from the widths of the state (a :class:`FeatureSpec`) and returns
the widths after it; ``features(xp, state, params, ctx)`` maps a :class:`FeatureState`
in the array namespace ``xp``. The loop over layers is in :mod:`sklearn_ntk.layers._serial`.

References
----------
A. Zandieh, I. Han, H. Avron, N. Shoham, C. Kim, J. Shin. *Scaling Neural Tangent Kernels via
Sketching and Random Features*. NeurIPS 2021.
"""

import math
from dataclasses import dataclass, replace

from .._base import rademacher
from ._ops import _row_norms, window_fold, window_patches

MODES = ("zero", "sigma", "theta", "sum")


@dataclass(frozen=True)
class FeatureSpec:
    """Host-side description of a feature state, used while drawing parameters.

    Attributes
    ----------
    height, width : int
        Map of positions.
    ge, gs, te, ts : int
        Real widths of the exact and sketched parts of :math:`g` and :math:`t` (0: absent).
    mode : {"zero", "sigma", "theta", "sum"}
        What :math:`t` estimates: :math:`\\Theta = 0` (no array), :math:`\\Theta = \\Sigma`
        (no array, :math:`t = g`), :math:`\\Theta`, or :math:`\\Sigma + \\Theta`.
    lower : float
        Lower end of the correlations: -1 at the input, 0 once a ReLU has run (its
        covariances are non-negative, and every later layer keeps them so).
    """

    height: int
    width: int
    ge: int
    gs: int
    te: int = 0
    ts: int = 0
    mode: str = "zero"
    lower: float = -1.0

    @property
    def n_positions(self):
        return self.height * self.width

    @property
    def g_width(self):
        return self.ge + self.gs

    @property
    def t_width(self):
        return self.te + self.ts

    def total_width(self):
        """Real width of everything the state stores per position."""
        return self.ge + self.gs + self.te + self.ts


@dataclass(frozen=True)
class SketchConfig:
    """Settings shared by every layer's draw: polynomial ``degree`` and sketch width ``m``.

    ``fuse`` and ``full_width`` are per-ReLU flags set by the loop (see
    :class:`~sklearn_ntk.layers.ReLU`); ``need_g``: whether later layers read :math:`g`;
    ``folded``: whether a convolution's signed window fold reads this ReLU's outputs (before
    the next ReLU re-sketches them). A fold is only accurate on wide, spread-out vectors, so
    exact monomial features, narrow and concentrated, are used only where nothing folds them.
    ``arccos``: an :class:`~sklearn_ntk.layers._arccos_features.ArccosRule` selects the
    random-feature rule of the ReLUs instead of the polynomial sketches (``degree`` and
    ``sketch_dim`` are then unused).
    """

    degree: int
    sketch_dim: int
    fuse: bool = False
    full_width: bool = False
    need_g: bool = True
    folded: bool = True
    arccos: object = None


class FeatureState:
    """Per-position features of a batch of ``n`` images (arrays of shape (n, H, W, k)).

    Attributes
    ----------
    ge, gs, te, ts : array or None
        Exact and sketched parts of :math:`g` and :math:`t` (``None``: absent).
    norms : array of shape (n, H, W, 1)
        Position variances :math:`N_p`.
    mode : str
        As in :class:`FeatureSpec`.
    """

    __slots__ = ("ge", "gs", "te", "ts", "norms", "mode")

    def __init__(self, ge, gs, te, ts, norms, mode):
        self.ge, self.gs, self.te, self.ts = ge, gs, te, ts
        self.norms, self.mode = norms, mode

    def replace(self, **changes):
        fields = {name: getattr(self, name) for name in self.__slots__}
        fields.update(changes)
        return FeatureState(**fields)

    @property
    def shape(self):
        """(n, H, W) of the map."""
        return tuple(self.norms.shape[:3])

    def ntk_parts(self):
        """The parts ``(exact, sketched)`` of :math:`t` (``g``'s in mode ``"sigma"``)."""
        if self.mode == "sigma":
            return self.ge, self.gs
        return self.te, self.ts


class FeatureContext:
    """Namespace, dtype, device and the cached device copies of the host parameters."""

    def __init__(self, xp, params):
        self.xp = xp
        self.params = params  # a layers._ops._Params cache

    @property
    def device(self):
        return self.params.device

    def get(self, array):
        return self.params.get(array)


def concat_parts(xp, parts):
    """Concatenate the non-None arrays of ``parts`` on the last axis (None if all are)."""
    parts = [p for p in parts if p is not None]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else xp.concat(parts, axis=-1)


def squared_norms(xp, parts):
    """:math:`\\sum` over the non-None parts of the squared row norms, shape (..., 1)."""
    total = None
    for part in parts:
        if part is None:
            continue
        value = xp.sum(part * part, axis=-1, keepdims=True)
        total = value if total is None else total + value
    return total


def position_rows(xp, state):
    """``(flat, spatial)``: reshape (n, H, W, k) arrays of ``state``'s map to (n H W, k)
    rows, one per position, and back."""
    n, height, width = state.shape
    rows = n * height * width

    def flat(V):
        return xp.reshape(V, (rows, V.shape[-1]))

    def spatial(V):
        return xp.reshape(V, (n, height, width, V.shape[-1]))

    return flat, spatial


def scale_part(part, factor):
    return None if part is None else part * factor


# --------------------------------------------------------------------------- linear layers


def draw_linear(rng, spec, filter_shape, bias):
    r"""Parameters and output widths of a Dense (``filter_shape=(1, 1)``) or Conv layer.

    The rule, for weight variance 2 and a window of :math:`F = f_h f_w` offsets:

    .. math::

        g'_p = [\beta,\ \sqrt{2/F}\ \textstyle\bigoplus_\delta g_{p+\delta}],\qquad
        t'_p = [g'_p,\ \sqrt{2/F}\ \textstyle\bigoplus_\delta t_{p+\delta}],

    since :math:`\Sigma' = \frac{2}{F}\sum_\delta \Sigma_{p+\delta, q+\delta} + \beta^2` and
    :math:`\Theta' = \Sigma' + \frac{2}{F}\sum_\delta\Theta_{p+\delta,q+\delta}`. The
    direct sum :math:`\bigoplus_\delta` is exact on the exact parts and a signed fold on the
    sketched parts (one independent pair of sign vectors per sketched part); with
    :math:`t` of :math:`\Sigma + \Theta` (mode ``"sum"``) the NTK rule is
    :math:`t' = [\beta, \sqrt{2/F}\bigoplus_\delta t_{p+\delta}]`.
    """
    fh, fw = filter_shape
    n_window = fh * fw
    has_bias = 1 if bias else 0
    params = {"bias": float(bias), "filter_shape": (fh, fw), "scale": math.sqrt(2.0 / n_window)}
    window = n_window > 1

    def fold_signs(width):
        if not window or width == 0:
            return None
        return (rademacher(rng, (fh, width)), rademacher(rng, (fw, width)))

    params["fold_g"] = fold_signs(spec.gs)
    ge, gs = has_bias + n_window * spec.ge, spec.gs
    if spec.mode == "zero":
        te = ts = 0
        mode = "sigma"
    elif spec.mode == "sigma":  # Theta = Sigma: t' = [g', sqrt(2/F) W(g)], W(g) reused
        te, ts, mode = ge + n_window * spec.ge, gs + spec.gs, "theta"
    elif spec.mode == "theta":
        params["fold_t"] = fold_signs(spec.ts)
        te, ts, mode = ge + n_window * spec.te, gs + spec.ts, "theta"
    else:  # "sum"
        params["fold_t"] = fold_signs(spec.ts)
        te, ts, mode = has_bias + n_window * spec.te, spec.ts, "theta"
    return params, replace(spec, ge=ge, gs=gs, te=te, ts=ts, mode=mode)


def linear_features(layer, ctx, state, params, padding):
    """Apply the rule of :func:`draw_linear` (``padding`` None for a Dense layer)."""
    xp = ctx.xp
    fh, fw = params["filter_shape"]
    scale, bias = params["scale"], params["bias"]
    window = fh * fw > 1

    def exact(V):
        if V is None:
            return None
        return (window_patches(xp, V, (fh, fw), padding) if window else V) * scale

    def sketched(V, signs):
        if V is None:
            return None
        if not window:
            return V * scale
        folded = window_fold(xp, V, (fh, fw), padding, tuple(ctx.get(s) for s in signs))
        # ratio estimator: the fold rescaled to the exact norm of the direct sum
        target = xp.sqrt(window_fold(xp, xp.sum(V * V, axis=-1, keepdims=True), (fh, fw),
                                     padding))
        norms = _row_norms(xp, folded)
        return folded * (scale * target / xp.where(norms > 0, norms, xp.ones_like(norms)))

    def window_sum(V):
        return window_fold(xp, V, (fh, fw), padding) if window else V

    norms = window_sum(state.norms) * (scale * scale)
    bias_part = None
    if bias:
        norms = norms + bias**2
        bias_part = xp.full(tuple(norms.shape), bias, dtype=norms.dtype, device=ctx.device)
    w_ge = exact(state.ge)
    w_gs = sketched(state.gs, params["fold_g"])
    ge, gs = concat_parts(xp, [bias_part, w_ge]), w_gs
    if state.mode == "zero":
        return FeatureState(ge, gs, None, None, norms, "sigma")
    if state.mode == "sigma":
        return FeatureState(ge, gs, concat_parts(xp, [ge, w_ge]), concat_parts(xp, [gs, w_gs]),
                            norms, "theta")
    w_te = exact(state.te)
    w_ts = sketched(state.ts, params["fold_t"])
    if state.mode == "theta":
        te, ts = concat_parts(xp, [ge, w_te]), concat_parts(xp, [gs, w_ts])
    else:
        te, ts = concat_parts(xp, [bias_part, w_te]), w_ts
    return FeatureState(ge, gs, te, ts, norms, "theta")


# --------------------------------------------------------------------------- ReLU


def draw_relu(rng, spec, config):
    r"""Polynomial fits, PolySketch and TensorSRHT of a ReLU layer; see :func:`relu_features`."""
    from .._monomials import count_monomials, monomial_plan
    from .._polyfit import fit_dot_product_polynomial
    from .._sketches import draw_polysketch, draw_srht
    from ._ops import _allocate, _allocate_capped

    if spec.mode == "sum":
        raise ValueError("internal error: a ReLU cannot follow a fused ReLU directly")
    m, q, lower = config.sketch_dim, config.degree, spec.lower
    fused = spec.mode == "sigma" and config.fuse
    need_g = config.need_g or not fused
    a, error_a = fit_dot_product_polynomial("kappa1", q, lower=lower)
    params = {"a": [float(v) for v in a], "errors": [float(error_a)], "need_g": need_g}
    params["deg1"] = [j for j in range(1, len(a)) if a[j] > 0]
    degrees = list(params["deg1"]) if need_g else []
    gs = 0
    if need_g and params["deg1"]:
        params["widths"] = ([m] * len(params["deg1"]) if config.full_width
                            else _allocate([a[j] for j in params["deg1"]], m))
        gs = 2 * sum(params["widths"])
    ge = 1 if need_g else 0
    te = ts = 0
    mode = spec.mode
    if fused:
        c, error_c = fit_dot_product_polynomial("ntk", q, depth=1, lower=lower)
        params["c"] = [float(v) for v in c]
        params["errors"].append(float(error_c))
        params["degc"] = [j for j in range(1, len(c)) if c[j] > 0]
        degrees += params["degc"]
        top = max(degrees + [1])
        if not config.folded and count_monomials(spec.g_width, top) <= 4 * m:
            # few inputs (a grey-scale 3x3 patch: 714 monomials up to degree 4): the exact
            # monomial features are narrower than the sketches they replace, cheaper to
            # compute and carry no sketching noise
            plan = params["monomials"] = monomial_plan(spec.g_width, top)
            gs = sum(plan[j - 1]["weight"].size for j in params["deg1"]) if need_g else 0
            ts = sum(plan[j - 1]["weight"].size for j in params["degc"])
            return params, replace(spec, ge=ge, gs=gs, te=1, ts=ts, mode="sum", lower=0.0)
        if params["degc"]:
            params["theta_widths"] = (
                [m] * len(params["degc"]) if config.full_width
                else _allocate_capped([c[j] for j in params["degc"]], 2 * m, m))
        te, ts, mode = 1, 2 * sum(params.get("theta_widths", [])), "sum"
    elif spec.mode in ("sigma", "theta"):
        b, error_b = fit_dot_product_polynomial("kappa0", q, lower=lower)
        params["b"] = [float(v) for v in b]
        params["errors"].append(float(error_b))
        params["deg0"] = [j for j in range(1, len(b)) if b[j] > 0]
        degrees += params["deg0"]
        params["dot_widths"] = _allocate([b[0]] + [b[j] for j in params["deg0"]], m)
        n_t = spec.g_width if spec.mode == "sigma" else spec.t_width
        params["psi_srht"] = draw_srht(rng, n_t, m)
        ts, mode = 2 * m, "theta"
    params["poly"] = draw_polysketch(rng, spec.g_width, m, max(degrees + [1]))
    return params, replace(spec, ge=ge, gs=gs, te=te, ts=ts, mode=mode, lower=0.0)


def relu_features(ctx, state, params):
    r"""Sketch of a ReLU layer (Zandieh et al. 2021).

    With :math:`\mu_p = g_p / \|g_p\|` and a PolySketch :math:`P_j(\mu_p) \approx
    \mu_p^{\otimes j}` shared by all polynomials, non-negative fits
    :math:`\kappa_1 \approx \sum_j a_j t^j`, :math:`\kappa_0 \approx \sum_j b_j t^j` give

    .. math::

        g'_p = \sqrt{N_p/2}\,[\sqrt{a_0}, \sqrt{a_j} P_j(\mu_p)]_j,\qquad
        t'_p = \mathrm{TensorSRHT}\big(t_p, \tfrac{1}{\sqrt 2}
            [\sqrt{b_0}, \sqrt{b_j} P_j(\mu_p)]_j\big),

    estimating :math:`\Sigma' = \tfrac12\sqrt{N_p N'_q}\kappa_1(
ho_{pq})` and
    :math:`\Theta' = \tfrac12\Theta_{pq}\kappa_0(
ho_{pq})`. Every degree block is
    rescaled to its exact norm (:math:`\sqrt{a_j N_p / 2}`, resp.
    :math:`\sqrt{b_j/2}\,\|t_p\|`): a ratio estimator. Fused mode (the first ReLU after
    the first linear layer, where :math:`\Theta = \Sigma`): :math:`t'` sketches
    :math:`\Sigma' + \Theta' = \tfrac12\sqrt{N_p N'_q}\,(\kappa_1 + 
ho\kappa_0)(
ho)` as one
    polynomial in the same powers, with no TensorSRHT.
    """
    from .._sketches import polysketch_powers
    from ._ops import _as_real, _degree_blocks, _tensor_sketch

    xp = ctx.xp
    flat, spatial = position_rows(xp, state)
    g = flat(concat_parts(xp, [state.ge, state.gs]))
    g_norm = xp.sqrt(xp.sum(g * g, axis=-1, keepdims=True))
    mu = g / xp.where(g_norm > 0, g_norm, xp.ones_like(g_norm))
    root = xp.sqrt(flat(state.norms) * 0.5)
    a = params["a"]
    if "monomials" in params:
        return _monomial_relu(ctx, state, params, mu, root, spatial)
    powers = polysketch_powers(xp, mu, params["poly"], ctx.device)
    ge = gs = te = ts = None
    if params["need_g"]:
        ge = spatial(root * math.sqrt(a[0]))
        if params["deg1"]:
            gs = spatial(_as_real(xp, xp.concat(_degree_blocks(
                xp, powers, a, params["deg1"], root, params["widths"]), axis=-1)))
    if "c" in params:
        c = params["c"]
        te = spatial(root * math.sqrt(c[0]))
        if params["degc"]:
            ts = spatial(_as_real(xp, xp.concat(_degree_blocks(
                xp, powers, c, params["degc"], root, params["theta_widths"]), axis=-1)))
        mode = "sum"
    elif "b" in params:
        t = flat(concat_parts(xp, list(state.ntk_parts())))
        t_norm = xp.sqrt(xp.sum(t * t, axis=-1, keepdims=True))
        tensor = _tensor_sketch(xp, t, powers, params, t_norm * math.sqrt(0.5), ctx.device)
        ts = spatial(_as_real(xp, tensor))
        mode = "theta"
    else:
        mode = state.mode  # Theta = 0 stays 0
    return FeatureState(ge, gs, te, ts, state.norms * 0.5, mode)


def _monomial_relu(ctx, state, params, mu, root, spatial):
    r"""The fused ReLU with exact monomial features :math:`M_j(\mu_p)` (``_monomials``).

    :math:`g'_p = \sqrt{N_p/2}\,[\sqrt{a_0}, \sqrt{a_j} M_j(\mu_p)]_j` and
    :math:`t'_p = \sqrt{N_p/2}\,[\sqrt{c_0}, \sqrt{c_j} M_j(\mu_p)]_j` have exactly the
    inner products of the fitted polynomials: no sketching noise, no ratio estimator.
    """
    from .._monomials import monomial_powers

    xp = ctx.xp
    powers = monomial_powers(xp, mu, params["monomials"], ctx.device)

    def polynomial(coef, degrees):
        exact = spatial(root * math.sqrt(coef[0]))
        blocks = [powers[j - 1] * (root * math.sqrt(coef[j])) for j in degrees]
        return exact, (spatial(xp.concat(blocks, axis=-1)) if blocks else None)

    ge = gs = None
    if params["need_g"]:
        ge, gs = polynomial(params["a"], params["deg1"])
    te, ts = polynomial(params["c"], params["degc"])
    return FeatureState(ge, gs, te, ts, state.norms * 0.5, "sum")


# --------------------------------------------------------------------------- pooling


def _pool_axis_features(xp, V, axis, window, stride, padding):
    """``out[q] = (1/k) sum_a V[s q + a - pad]`` along pixel ``axis`` (1 or 2) of (n, H, W, k)."""
    from ._geometry import _pool_slices

    n_out, windows = _pool_slices(V.shape[axis], window, stride, padding)
    shape = list(V.shape)
    shape[axis] = n_out
    out = xp.zeros(tuple(shape), dtype=V.dtype, device=V.device)

    def index(sl):
        return (slice(None),) * axis + (sl, ...)

    for _, out_sl, in_sl in windows:
        out[index(out_sl)] += V[index(in_sl)]
    return out * (1.0 / window)


def pool_features(ctx, state, window_shape, strides, padding):
    r"""Local average pooling: every part is averaged over each window (no randomness).

    The features stay unbiased for the pooled covariances. The position variances after
    the pooling are estimated as :math:`\|g'_q\|^2`, which makes the next ReLU's
    rescaling a ratio estimator (bias of order 1 / sketch width).
    """
    xp = ctx.xp
    (kh, kw), (sh, sw) = window_shape, strides

    def pool(V):
        if V is None:
            return None
        V = _pool_axis_features(xp, V, 1, kh, sh, padding)
        return _pool_axis_features(xp, V, 2, kw, sw, padding)

    return _pooled_state(xp, state, pool)


def _pooled_state(xp, state, pool):
    ge, gs, te, ts = (pool(V) for V in (state.ge, state.gs, state.te, state.ts))
    norms = squared_norms(xp, [ge, gs])
    if norms is None:  # g is not needed any more: keep the pooled norms' shape only
        norms = pool(state.norms)
    return FeatureState(ge, gs, te, ts, norms, state.mode)


def global_pool_features(ctx, state):
    """Global average pooling: the mean of every part over all positions."""
    xp = ctx.xp

    def pool(V):
        return None if V is None else xp.mean(V, axis=(1, 2), keepdims=True)

    return _pooled_state(xp, state, pool)


def flatten_features(ctx, state):
    r"""Flatten: concatenation of the positions scaled by :math:`1/\sqrt{HW}`.

    :math:`\langle g'(x), g'(y)
angle = \frac{1}{HW}\sum_p\langle g_p(x), g_p(y)
angle`,
    the same-position mean of the exact rule; the variance is the mean of the :math:`N_p`
    (exact when they are).
    """
    xp = ctx.xp
    n, height, width = state.shape
    scale = 1.0 / math.sqrt(height * width)

    def flat(V):
        return None if V is None else xp.reshape(V, (n, 1, 1, -1)) * scale

    norms = xp.mean(state.norms, axis=(1, 2), keepdims=True)
    return FeatureState(flat(state.ge), flat(state.gs), flat(state.te), flat(state.ts), norms,
                        state.mode)


def flatten_spec(spec):
    factor = spec.n_positions
    return replace(spec, height=1, width=1, ge=spec.ge * factor, gs=spec.gs * factor,
                   te=spec.te * factor, ts=spec.ts * factor)


# --------------------------------------------------------------------------- readout


def draw_readout(spec, bias, kind="ntk"):
    """Width of the readout vector :math:`\\varphi` (see :func:`readout_features`)."""
    if spec.n_positions != 1:
        raise ValueError("internal error: the readout needs a single position")
    width = 1 if bias else 0
    if kind == "nngp" or spec.mode in ("zero", "sigma"):
        width += spec.g_width
    elif spec.mode == "theta":
        width += spec.g_width + spec.t_width
    else:
        width += spec.t_width
    return width


def readout_features(ctx, state, bias, kind="ntk"):
    r"""NTK (or NNGP) features of the linear readout of weight variance 2 and bias :math:`\beta`.

    :math:`\mathrm{NNGP} = 2\Sigma + \beta^2`, so :math:`\varphi = [\beta, \sqrt2 g]`
    for ``kind="nngp"``. :math:`\mathrm{NTK} = 2\Sigma + \beta^2 + 2\Theta`, so
    :math:`\varphi = [\beta, \sqrt2 g, \sqrt2 t]` (:math:`[\beta, \sqrt 2 g]` when
    :math:`\Theta = 0`, :math:`[\beta, 2g]` when :math:`\Theta = \Sigma`,
    :math:`[\beta, \sqrt 2 t]` when :math:`t` estimates :math:`\Sigma + \Theta`).
    Returns an array of shape (n, width).
    """
    xp = ctx.xp
    n = state.shape[0]
    root2 = math.sqrt(2.0)
    bias_part = None
    if bias:
        bias_part = xp.full((n, 1, 1, 1), bias, dtype=state.norms.dtype, device=ctx.device)
    if kind == "nngp" or state.mode == "zero":
        parts = [bias_part, scale_part(state.ge, root2), scale_part(state.gs, root2)]
    elif state.mode == "sigma":
        parts = [bias_part, scale_part(state.ge, 2.0), scale_part(state.gs, 2.0)]
    elif state.mode == "theta":
        parts = [bias_part] + [scale_part(p, root2) for p in (state.ge, state.gs, state.te,
                                                              state.ts)]
    else:
        parts = [bias_part, scale_part(state.te, root2), scale_part(state.ts, root2)]
    out = concat_parts(xp, parts)
    return xp.reshape(out, (n, out.shape[-1]))


# --------------------------------------------------------------------------- memory


def layer_bytes(spec_in, spec_out, config=None, relu=False):
    """Rough peak float entries per image of one layer's features step (before itemsize).

    Input and output states (with a temporary copy each) plus, for a ReLU, the complex
    PolySketch levels and powers (calibrated against tracemalloc peaks on 28x28 images,
    where it overestimates by up to about 1.5x).
    """
    entries = 2 * (spec_in.n_positions * spec_in.total_width()
                   + spec_out.n_positions * spec_out.total_width())
    if relu and config.arccos is not None:
        from ._arccos_features import arccos_relu_bytes
        entries += arccos_relu_bytes(spec_in, config.arccos)
    elif relu:
        entries += spec_in.n_positions * 2 * config.sketch_dim * (config.degree + 2)
    return entries
