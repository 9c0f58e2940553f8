"""Stride-1 two-dimensional convolution."""

from dataclasses import dataclass

from ._base import Layer, Shape, check_bias, check_padding, check_size_pair, require_spatial
from ._base import band_mask
from ._features import draw_linear, linear_features
from ._geometry import conv_axis_banded, conv_axis_pair, conv_output_size


@dataclass(frozen=True)
class Conv(Layer):
    r"""Infinitely wide stride-1 convolution, NTK parameterisation, weight variance 2.

    As neural-tangents' ``stax.Conv(width, (f, f), padding=padding, W_std=sqrt(2),
    b_std=bias)``; note the default padding, ``"same"`` here and ``"VALID"`` in ``stax``.
    An output unit at position :math:`p` sees the window :math:`\{p + \delta\}` of
    :math:`f_h f_w` input positions (all channels), so with the covariances taken per
    channel

    .. math::

        \Sigma'_{pq} = \frac{2}{f_h f_w}\sum_{\delta}\Sigma_{p+\delta,\,q+\delta}
            + \beta^2,\qquad
        \Theta'_{pq} = \Sigma'_{pq}
            + \frac{2}{f_h f_w}\sum_{\delta}\Theta_{p+\delta,\,q+\delta}:

    both positions move by the *same* offset (the same weight multiplies both), and
    positions outside the map (zero padding) contribute nothing.

    Parameters
    ----------
    filter_size : int or (int, int)
        Filter side ``f`` (square) or ``(rows, columns)``; each ``>= 1``, odd or even.
        ``(f, f)`` is stored as ``f``.
    padding : {"same", "valid"}, default="same"
        ``"same"`` keeps the map size; for an even filter its window covers
        ``i - floor((f-1)/2) .. i + ceil((f-1)/2)`` (the ``lax`` / neural-tangents
        convention). ``"valid"`` keeps only windows inside the map (size ``n - f + 1``).
    bias : float, default=0.0
        Bias standard deviation :math:`\beta \ge 0`; ``None`` means 0.
    """

    filter_size: object
    padding: str = "same"
    bias: float = 0.0

    def __post_init__(self):
        check_size_pair(self.filter_size, "filter_size")
        fs = self.filter_size
        if isinstance(fs, (tuple, list)):  # (f, f) is stored as f: equal convolutions
            fs = tuple(int(v) for v in fs)   # compare equal
            fs = fs[0] if fs[0] == fs[1] else fs
        object.__setattr__(self, "filter_size", int(fs) if not isinstance(fs, tuple) else fs)
        object.__setattr__(self, "padding", check_padding(self.padding))
        object.__setattr__(self, "bias", check_bias(self.bias))

    @property
    def filter_shape(self):
        """``(f_h, f_w)``."""
        return check_size_pair(self.filter_size, "filter_size")

    def out_shape(self, shape):
        require_spatial(self, shape)
        fh, fw = self.filter_shape
        h = conv_output_size(shape.height, fh, self.padding)
        w = conv_output_size(shape.width, fw, self.padding)
        if h < 1 or w < 1:
            raise ValueError(
                f"{self!r} with padding='valid' does not fit the {shape.height}x{shape.width} "
                "map before it: use a smaller filter_size or padding='same'.")
        return Shape(h, w)

    def _window(self, A, band):
        fh, fw = self.filter_shape
        if band is None:
            out = conv_axis_pair(A, 1, fh, self.padding)
            out = conv_axis_pair(out, 3, fw, self.padding)
        else:
            out = conv_axis_banded(A, 1, fh, self.padding)
            out = conv_axis_banded(out, 3, fw, self.padding)
            # a partner q + delta inside the input map can belong to a q outside the output
            out *= band_mask(out.shape[1], band[0], out.shape[3], band[1])
        out *= 2.0 / (fh * fw)
        return out

    def draw_features(self, rng, spec, config):
        """Sign vectors of the window folds; see
        :func:`~sklearn_ntk.layers._features.draw_linear`."""
        return draw_linear(rng, spec, self.filter_shape, self.bias)

    def features(self, ctx, state, params):
        r"""Feature rule: window aggregation, :math:`g'_p = [\beta, \sqrt{2/F}
        \bigoplus_\delta g_{p+\delta}]` and :math:`t'_p = [g'_p, \sqrt{2/F}
        \bigoplus_\delta t_{p+\delta}]` (:math:`F = f_h f_w`). The direct sums are exact on
        the few exactly carried coordinates and signed folds
        :math:`\sum_\delta D_\delta \odot v_{p+\delta}` (independent Rademacher
        :math:`D_\delta = R_a \odot C_b`, unbiased, same width) on the sketched ones; each
        fold is rescaled to the exact norm of its direct sum (a ratio estimator)."""
        return linear_features(self, ctx, state, params, self.padding)

    def kernel(self, state):
        sigma = self._window(state.sigma, state.band)
        if self.bias:
            sigma += state.bias_term(self.bias, sigma)
        theta = None
        if state.ntk:
            theta = sigma if state.theta is None else sigma + self._window(state.theta,
                                                                           state.band)
        return state.replace(sigma=sigma, theta=theta)
