"""Local and global average pooling."""

from dataclasses import dataclass

from ._base import Layer, Shape, band_mask, check_padding, check_size_pair, require_spatial
from ._features import global_pool_features, pool_features
from ._geometry import pool_axis, pool_axis_banded, pool_geometry


@dataclass(frozen=True)
class AvgPool(Layer):
    r"""Average pooling over ``window`` positions with a ``stride``.

    As neural-tangents' ``stax.AvgPool(window, stride, padding)``, except the default
    stride: ``None`` means the window here (non-overlapping windows, as in most CNNs) but
    stride 1 in ``stax``; pass ``stride=1`` for ``stax``'s default. The output at position
    :math:`a` is the mean of the inputs over its window :math:`w(a)`; being linear with no
    parameters, it averages *each* position of a pair over its own window:

    .. math::

        \Sigma'_{ab} = \frac{1}{|w|^2}\sum_{p \in w(a)}\sum_{q \in w(b)}\Sigma_{pq},

    and :math:`\Theta` likewise. Unlike a convolution, the two windows move independently,
    so pooling mixes covariances of *different* positions.

    Parameters
    ----------
    window : int or (int, int)
        Window side ``k`` (square) or ``(rows, columns)``, each ``>= 1``.
    stride : int or (int, int), default=None
        Step between windows; ``None`` means the window (non-overlapping windows). A
        stride equal to the window is stored as ``None``, so equal pools compare equal.
    padding : {"valid", "same"}, default="valid"
        ``"valid"``: only windows inside the map, output size ``floor((n - k) / s) + 1``;
        positions beyond the last full window are dropped. ``"same"``: output size
        ``ceil(n / s)``, zero padding split with the smaller half first; padded positions
        count as zeros in the average (the divisor is always ``|w|``, neural-tangents'
        default).
    """

    window: object
    stride: object = None
    padding: str = "valid"

    def __post_init__(self):
        def norm(value):  # (k, k) is stored as k, so equal pools compare equal
            if not isinstance(value, (tuple, list)):
                return int(value)
            pair = tuple(int(v) for v in value)
            return pair[0] if pair[0] == pair[1] else pair

        check_size_pair(self.window, "window")
        check_size_pair(self.stride, "stride", allow_none=True)
        object.__setattr__(self, "window", norm(self.window))
        if self.stride is not None:
            object.__setattr__(self, "stride", norm(self.stride))
            if check_size_pair(self.stride, "stride") == self.window_shape:
                object.__setattr__(self, "stride", None)
        object.__setattr__(self, "padding", check_padding(self.padding))

    @property
    def window_shape(self):
        return check_size_pair(self.window, "window")

    @property
    def strides(self):
        if self.stride is None:
            return self.window_shape
        return check_size_pair(self.stride, "stride")

    def out_shape(self, shape):
        require_spatial(self, shape)
        (kh, kw), (sh, sw) = self.window_shape, self.strides
        if self.padding == "valid" and (kh > shape.height or kw > shape.width):
            raise ValueError(
                f"{self!r} does not fit the {shape.height}x{shape.width} map before it: use "
                "a smaller window or padding='same'.")
        h = pool_geometry(shape.height, kh, sh, self.padding)[0]
        w = pool_geometry(shape.width, kw, sw, self.padding)[0]
        return Shape(h, w)

    def band_in(self, band_out):
        """Offsets up to ``s b + k - 1`` pool into offsets up to ``b``."""
        if band_out is None:
            return None
        (kh, kw), (sh, sw) = self.window_shape, self.strides
        return sh * band_out[0] + kh - 1, sw * band_out[1] + kw - 1

    def _band_out(self, band):
        (kh, kw), (sh, sw) = self.window_shape, self.strides
        return (band[0] - kh + 1) // sh, (band[1] - kw + 1) // sw

    def _pool(self, A, band):
        (kh, kw), (sh, sw) = self.window_shape, self.strides
        if band is None:
            for axis in (1, 2):
                A = pool_axis(A, axis, kh, sh, self.padding)
            for axis in (3, 4):
                A = pool_axis(A, axis, kw, sw, self.padding)
            return A
        bh, bw = self._band_out(band)
        A = pool_axis_banded(A, 1, kh, sh, self.padding, bh)
        A = pool_axis_banded(A, 3, kw, sw, self.padding, bw)
        A *= band_mask(A.shape[1], bh, A.shape[3], bw)
        return A

    def features(self, ctx, state, params):
        """Feature rule: every position's features averaged over its window (exact, linear);
        the next ReLU's variances become estimates (see
        :func:`~sklearn_ntk.layers._features.pool_features`)."""
        return pool_features(ctx, state, self.window_shape, self.strides, self.padding)

    def kernel(self, state):
        theta = None if state.theta is None else self._pool(state.theta, state.band)
        band = None if state.band is None else self._band_out(state.band)
        return state.replace(sigma=self._pool(state.sigma, state.band), theta=theta,
                             band=band)


@dataclass(frozen=True)
class GlobalAvgPool(Layer):
    r"""Mean over all positions; the spatial axes disappear.

    As neural-tangents' ``stax.GlobalAvgPool()``: the output is
    :math:`\bar h = \frac{1}{HW}\sum_p h_p`, so

    .. math::

        \Sigma' = \frac{1}{(HW)^2}\sum_{p, q}\Sigma_{pq}

    (every pair of positions, one of each image), and :math:`\Theta` likewise. The kernel
    is then invariant to translations of the last feature map (up to edge effects).
    """

    def out_shape(self, shape):
        require_spatial(self, shape)
        return Shape(1, 1, flat=True)

    def band_in(self, band_out):
        """Every position pair is read."""
        return None

    def features(self, ctx, state, params):
        """Feature rule: the mean of the features over all positions (exact, linear)."""
        return global_pool_features(ctx, state)

    def kernel(self, state):
        _require_all_pairs(self, state)

        def mean(A):
            return A.mean(axis=(1, 2, 3, 4), keepdims=True)

        theta = None if state.theta is None else mean(state.theta)
        return state.replace(sigma=mean(state.sigma), theta=theta)


def _require_all_pairs(layer, state):
    if state.band is not None:
        raise ValueError(f"{layer!r} needs every position pair, not a band of them.")
