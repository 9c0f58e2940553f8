"""Flatten the map of positions into one vector."""

from dataclasses import dataclass

import numpy as np

from ._base import Layer, Shape
from ._features import flatten_features, flatten_spec


@dataclass(frozen=True)
class Flatten(Layer):
    r"""Concatenate all positions into one vector (the spatial axes disappear).

    As neural-tangents' ``stax.Flatten()``. The flattened vector has :math:`HW` times as
    many entries; a following linear layer averages over all of them, so the per-entry
    covariance of two flattened inputs is

    .. math::

        \Sigma' = \frac{1}{HW}\sum_p \Sigma_{pp},

    the mean over *same-position* pairs only: entry :math:`p` of one vector only ever meets
    entry :math:`p` of the other. :math:`\Theta` likewise. Unlike
    :class:`GlobalAvgPool`, the kernel keeps track of where things are. On a state without
    spatial axes (or a single position) it changes nothing.
    """

    def out_shape(self, shape):
        return Shape(1, 1, flat=True)

    def draw_features(self, rng, spec, config):
        """No parameters; the widths multiply by the number of positions."""
        return None, flatten_spec(spec)

    def features(self, ctx, state, params):
        r"""Feature rule: the positions concatenated and scaled by :math:`1/\sqrt{HW}`, so
        inner products are same-position means (exact, no randomness)."""
        return flatten_features(ctx, state)

    def kernel(self, state):
        def diag_mean(A):
            if state.band is not None:
                bh, bw = state.band
                return A[:, :, bh, :, bw].mean(axis=(1, 2)).reshape(-1, 1, 1, 1, 1)
            h, w = A.shape[1], A.shape[3]
            return (np.einsum("biijj->b", A) / (h * w)).reshape(-1, 1, 1, 1, 1)

        theta = None if state.theta is None else diag_mean(state.theta)
        return state.replace(sigma=diag_mean(state.sigma), theta=theta, band=None)

    def band_in(self, band_out):
        """Only same-position pairs are read."""
        return (0, 0)
