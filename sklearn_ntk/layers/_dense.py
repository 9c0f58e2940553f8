"""Fully connected layer (acts on the channels of every position)."""

from dataclasses import dataclass

from ._base import Layer, check_bias
from ._features import draw_linear, linear_features


@dataclass(frozen=True)
class Dense(Layer):
    r"""Infinitely wide fully connected layer, NTK parameterisation, weight variance 2.

    As in neural-tangents' ``stax.Dense(width, W_std=sqrt(2), b_std=bias)`` the layer acts
    on the channel axis of every position (on images it is a 1x1 convolution); put a
    :class:`Flatten` before it for a fully connected layer on whole images. With the
    NTK parameterisation a unit computes
    :math:`z = \sqrt{2/n}\,W h + \beta b` with standard normal :math:`W, b` and fan-in
    :math:`n`, so that, with the covariances taken per channel (averaged over the fan-in),

    .. math::

        \Sigma'_{pq} = 2\,\Sigma_{pq} + \beta^2,\qquad
        \Theta'_{pq} = \Sigma'_{pq} + 2\,\Theta_{pq}.

    The second term of :math:`\Theta'` is the contribution of the earlier layers' parameters
    (their gradients pass through :math:`W`), the first that of this layer's own ``W`` and
    ``b``.

    Parameters
    ----------
    bias : float, default=0.0
        Standard deviation :math:`\beta \ge 0` of the bias (``b_std`` of neural-tangents);
        ``None`` means 0.

    Notes
    -----
    When a layer list ends with a ``Dense``, that layer is the network's linear readout;
    otherwise a bias-free ``Dense()`` readout is appended.
    """

    bias: float = 0.0

    def __post_init__(self):
        object.__setattr__(self, "bias", check_bias(self.bias))

    def out_shape(self, shape):
        return shape

    def kernel(self, state):
        sigma = 2.0 * state.sigma
        if self.bias:
            sigma += state.bias_term(self.bias, sigma)
        theta = None
        if state.ntk:
            theta = sigma if state.theta is None else sigma + 2.0 * state.theta
        return state.replace(sigma=sigma, theta=theta)

    def draw_features(self, rng, spec, config):
        """No random parameters: see :func:`~sklearn_ntk.layers._features.draw_linear`."""
        return draw_linear(rng, spec, (1, 1), self.bias)

    def features(self, ctx, state, params):
        r"""Feature rule: :math:`g' = [\beta, \sqrt 2 g]`, :math:`t' = [g', \sqrt 2 t]`
        per position (exact, no randomness)."""
        return linear_features(self, ctx, state, params, None)

    def readout(self, state):
        """Scalar NNGP and NTK of a one-position state after this layer: two (B,) arrays."""
        if state.sigma.shape[1:] != (1, 1, 1, 1):
            raise ValueError(
                "The readout needs a single position: end the architecture with Flatten() "
                "or GlobalAvgPool() (or pool the map down to 1x1) before the readout, got a "
                f"{state.spatial_shape[0]}x{state.spatial_shape[1]} map.")
        out = self.kernel(state)
        nngp = out.sigma.reshape(-1)
        ntk = nngp if out.theta is None else out.theta.reshape(-1)
        return nngp, ntk
