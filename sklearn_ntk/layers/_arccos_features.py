r"""Random-feature rule of a ReLU: arc-cosine features and a TensorSRHT (no polynomial).

The alternative to the PolySketch rule of :func:`~sklearn_ntk.layers._features.relu_features`
(selected by :class:`ArccosRule` in the loop's settings). For a standard normal vector
:math:`w` and two vectors :math:`u, v` at correlation :math:`\rho` (Cho & Saul 2009),

.. math::

    E_w[\mathrm{ReLU}(w^T u)\,\mathrm{ReLU}(w^T v)] = \tfrac12\|u\|\|v\|\,\kappa_1(\rho),
    \qquad
    E_w[1(w^T u > 0)\,1(w^T v > 0)] = \tfrac12\,\kappa_0(\rho),

which are the two factors of the exact ReLU rule (:class:`~sklearn_ntk.layers.ReLU`):
:math:`\Sigma' = \tfrac12\sqrt{N_p N'_q}\,\kappa_1(\rho_{pq})` and
:math:`\Theta' = \tfrac12\,\Theta_{pq}\,\kappa_0(\rho_{pq})`. So, with :math:`m_1` and
:math:`m_0` independent directions :math:`W_1, W_0` shared by all positions,

.. math::

    g'_p = m_1^{-1/2}\,\mathrm{ReLU}(W_1^T g_p),\qquad
    a_p = m_0^{-1/2}\,1(W_0^T g_p > 0),\qquad
    t'_p = \mathrm{TensorSRHT}(t_p, a_p),

estimate :math:`\Sigma'` and :math:`\Theta'` without bias (the TensorSRHT of two
independent factors is unbiased for the product of their inner products). Unlike the
polynomial rule there is no approximation of :math:`\kappa_0, \kappa_1` at all; the price
is Monte Carlo noise of order :math:`m^{-1/2}` in each factor. With ``exact_norms`` each row
of :math:`g'` and :math:`t'` is rescaled to its exact norm, :math:`\sqrt{N_p/2}` and
:math:`\|t_p\|/\sqrt2` (:math:`\kappa_0(1) = \kappa_1(1) = 1`): the diagonal of the
kernel becomes exact and the norm noise of every row disappears, at the price of a ratio
estimator (off-diagonal bias of order :math:`1/m`).

Leverage sampling (Han et al. 2021) draws the order-1 directions from
:math:`p(w) \propto \|w\|^2 N(w; 0, I)` (a uniform direction with radius
:math:`\chi_{d+2}`) and weights each by :math:`\sqrt d/\|w\|`, which keeps every
expectation above unchanged.

References
----------
Y. Cho, L. Saul. *Kernel Methods for Deep Learning*. NeurIPS 2009.
I. Han, H. Avron, N. Shoham, C. Kim, J. Shin. *Random Features for the Neural Tangent
Kernel*. 2021.
A. Zandieh et al. *Scaling Neural Tangent Kernels via Sketching and Random Features*.
NeurIPS 2021.
"""

import math
from dataclasses import dataclass, replace

import numpy as np

from .._sketches import draw_tensor_srht, tensor_srht
from ._features import FeatureState, concat_parts, position_rows
from ._ops import _as_real, _row_norms, _with_norms


@dataclass(frozen=True)
class ArccosRule:
    """Widths and options of the random-feature ReLU rule (the same for every ReLU).

    Attributes
    ----------
    n_arccos : int
        :math:`m_1`, order-1 features per position (the width of :math:`g'`).
    n_step : int
        :math:`m_0`, order-0 (step) features per position.
    n_sketch : int
        Complex width of the TensorSRHT (:math:`t'` has ``2 * n_sketch`` real columns).
    leverage : bool
        Leverage-score sampling of the order-1 directions.
    exact_norms : bool
        Rescale :math:`g'` and :math:`t'` to their exact row norms (a ratio estimator).
    """

    n_arccos: int
    n_step: int
    n_sketch: int
    leverage: bool = False
    exact_norms: bool = True


def draw_arccos_weights(rng, n_in, n_out, leverage):
    """Gaussian directions, or leverage-score directions with their importance weights.

    Returns ``(W, weights)``: ``W`` of shape (n_in, n_out) and ``None``, or per-column
    weights :math:`\\sqrt{n_{in}}/\\|w\\|` of the leverage-score draw (radius
    :math:`\\chi_{n_{in}+2}`, uniform direction): then
    :math:`E_p[\\mathrm{weight}^2 f(w)] = E_N[f(w)]` for every ``f``.
    """
    G = rng.standard_normal((n_in, n_out))
    if not leverage:
        return G, None
    radius = np.sqrt(rng.chisquare(n_in + 2, size=n_out))
    G *= radius / np.linalg.norm(G, axis=0)
    return G, math.sqrt(n_in) / radius


def draw_relu_arccos(rng, spec, rule):
    """Host step: directions :math:`W_1` (and :math:`W_0` and a TensorSRHT when the NTK is
    tracked), and the widths after the ReLU."""
    n_in = spec.g_width
    W1, weights = draw_arccos_weights(rng, n_in, rule.n_arccos, rule.leverage)
    scale = 1.0 / math.sqrt(rule.n_arccos)
    params = {"W1": W1, "scale1": scale if weights is None else scale * weights,
              "exact_norms": bool(rule.exact_norms)}
    ts, mode = 0, "zero"
    if spec.mode in ("sigma", "theta"):
        params["W0"] = rng.standard_normal((n_in, rule.n_step))
        params["scale0"] = 1.0 / math.sqrt(rule.n_step)
        n_t = spec.g_width if spec.mode == "sigma" else spec.t_width
        params["tensor"] = draw_tensor_srht(rng, n_t, rule.n_step, rule.n_sketch)
        ts, mode = 2 * rule.n_sketch, "theta"
    elif spec.mode != "zero":
        raise ValueError("internal error: the random-feature ReLU rule needs the NTK "
                         "features of the state, not those of Sigma + Theta")
    return params, replace(spec, ge=0, gs=rule.n_arccos, te=0, ts=ts, mode=mode, lower=0.0)


def relu_arccos_features(ctx, state, params):
    """Apply the rule of the module docstring to every position of a feature state."""
    xp = ctx.xp
    flat, spatial = position_rows(xp, state)
    g = flat(concat_parts(xp, [state.ge, state.gs]))
    zero = xp.zeros((), dtype=g.dtype, device=ctx.device)
    scale1 = params["scale1"]
    if not isinstance(scale1, float):
        scale1 = ctx.get(scale1)
    g_new = xp.maximum(g @ ctx.get(params["W1"]), zero) * scale1
    norms = state.norms * 0.5
    exact = params["exact_norms"]
    if exact:
        g_new = _with_norms(xp, g_new, xp.sqrt(flat(norms)))
    ts, mode = None, "zero"
    if "W0" in params:
        step = xp.astype(g @ ctx.get(params["W0"]) > 0, g.dtype) * params["scale0"]
        t = flat(concat_parts(xp, list(state.ntk_parts())))
        sketch = tensor_srht(xp, t, step, params["tensor"], ctx.device)
        if exact:
            sketch = _with_norms(xp, sketch, _row_norms(xp, t) * math.sqrt(0.5))
        ts, mode = spatial(_as_real(xp, sketch)), "theta"
    return FeatureState(None, spatial(g_new), None, ts, norms, mode)


def arccos_relu_bytes(spec_in, rule):
    """Extra float entries per image of the rule's temporaries (products, spectra)."""
    n_t = max(spec_in.g_width, spec_in.t_width)
    return spec_in.n_positions * (rule.n_arccos + rule.n_step + 2 * (n_t + rule.n_step)
                                  + 8 * rule.n_sketch)
