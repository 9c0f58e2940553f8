"""Shared pieces of the layer core: the exact pair state, the map geometry, the layer base.

Every layer of :mod:`sklearn_ntk.layers` is an immutable specification that knows

* how it changes the spatial geometry of the per-position state (:meth:`Layer.out_shape`);
* how it maps the exact covariances of a pair of inputs (:meth:`Layer.kernel`);
* how it maps per-position random features of one input (:meth:`Layer.draw_features`
  on the host, :meth:`Layer.features` in the array namespace; see
  :mod:`sklearn_ntk.layers._features`).

The exact state of a pair of images ``(x, y)`` holds, for every pair of positions
``(p, q)`` (``p`` a pixel of ``x``'s map, ``q`` one of ``y``'s), the NNGP covariance
:math:`\\Sigma_{pq}(x, y)` and the NTK :math:`\\Theta_{pq}(x, y)` of one (any) channel of the
current layer's output, plus the position diagonals :math:`\\Sigma_{pp}(x, x)`,
:math:`\\Sigma_{qq}(y, y)` that a nonlinearity needs.
"""

import numbers
from dataclasses import dataclass

import numpy as np

from .._validation import check_bias_value


@dataclass(frozen=True)
class Shape:
    """Spatial geometry of a per-position state.

    Attributes
    ----------
    height, width : int
        Size of the map of positions.
    flat : bool
        True once a :class:`~sklearn_ntk.layers.Flatten` or
        :class:`~sklearn_ntk.layers.GlobalAvgPool` has removed the spatial axes: the state
        is then one position and spatial layers (convolution, pooling) no longer apply.
    """

    height: int
    width: int
    flat: bool = False

    @property
    def n_positions(self):
        return self.height * self.width


class PairState:
    """Exact covariances of a block of ``B`` input pairs (one pair per leading index).

    Attributes
    ----------
    sigma : ndarray of shape (B, H, H, W, W), or (B, H, 2 b_h + 1, W, 2 b_w + 1) if banded
        NNGP covariance :math:`\\Sigma_{pq}` laid out as (pair, row of p, row of q,
        column of p, column of q), so that window operations act on one pair of axes at a
        time. In the banded layout (``band = (b_h, b_w)``) the second and fourth axes are
        the offsets :math:`q - p` from :math:`-b` to :math:`b` instead of the rows and
        columns of :math:`q`; entries whose :math:`q` falls outside the map are zero.
    theta : ndarray of the same shape, or None
        NTK :math:`\\Theta_{pq}`; ``None`` stands for an all-zero NTK (the input layer) or,
        when ``ntk`` is False, for an NTK that is not tracked.
    ntk : bool
        Whether the NTK is tracked (``kind="ntk"``) or only the NNGP.
    norms_x, norms_y : ndarray of shape (B, H, W), or None
        Position diagonals :math:`\\Sigma_{pp}(x, x)` and :math:`\\Sigma_{qq}(y, y)`,
        supplied by the composition loop right before a layer that needs them (ReLU).
    bias_scale : ndarray of shape (B, 1, 1, 1, 1)
        Factor applied to every :math:`\\beta^2` term. The loop may store the covariances
        of a pair divided by :math:`s_x s_y` (images rescaled by powers of two to avoid
        overflow); a bias term :math:`\\beta^2` is then stored as
        :math:`\\beta^2 / (s_x s_y)`.
    self_pair : ndarray of shape (B,), bool
        Pairs whose two inputs are the same image: their position-diagonal correlations
        are exactly 1, which a nonlinearity uses instead of a rounded quotient.
    band : tuple (b_h, b_w), or None
        Banded layout: only position pairs with :math:`|q - p| \\le b` per axis are
        stored. Convolutions, dense layers and nonlinearities keep the offset
        :math:`q - p` of every pair (a convolution shifts both positions by the same
        amount), an average pooling of window ``k`` and stride ``s`` turns offsets up to
        :math:`s b + k - 1` into offsets up to :math:`b`, and a Flatten only reads the
        offset 0. A network that flattens without a global average pooling therefore
        needs only a band, which costs :math:`O(HW (2b+1)^2)` per image pair instead of
        :math:`O((HW)^2)` (``b = 0`` when nothing pools before the Flatten).
    """

    __slots__ = ("sigma", "theta", "ntk", "norms_x", "norms_y", "bias_scale", "self_pair",
                 "band")

    def __init__(self, sigma, theta=None, *, ntk=True, norms_x=None, norms_y=None,
                 bias_scale=None, self_pair=None, band=None):
        self.band = None if band is None else (int(band[0]), int(band[1]))
        self.sigma = sigma
        self.theta = theta
        self.ntk = bool(ntk)
        self.norms_x = norms_x
        self.norms_y = norms_y
        n_pairs = sigma.shape[0]
        self.bias_scale = (np.ones((n_pairs, 1, 1, 1, 1)) if bias_scale is None
                           else np.asarray(bias_scale, dtype=np.float64).reshape(-1, 1, 1, 1, 1))
        self.self_pair = (np.zeros(n_pairs, dtype=bool) if self_pair is None
                          else np.asarray(self_pair, dtype=bool))

    def replace(self, **changes):
        """A new state with some fields changed (the input state is never modified)."""
        fields = {name: getattr(self, name) for name in self.__slots__}
        fields.update(changes)
        sigma = fields.pop("sigma")
        theta = fields.pop("theta")
        return PairState(sigma, theta, **fields)

    @property
    def n_pairs(self):
        return self.sigma.shape[0]

    @property
    def spatial_shape(self):
        """(H, W) of the current map."""
        return self.sigma.shape[1], self.sigma.shape[3]

    def bias_term(self, bias, out):
        """:math:`\\beta^2` on every stored pair of a layer output ``out`` of this state.

        In the banded layout, zero for the offsets whose partner leaves the map.
        """
        term = bias**2 * self.bias_scale
        if self.band is not None:
            term = term * band_mask(out.shape[1], self.band[0], out.shape[3], self.band[1])
        return term


def band_mask(height, band_h, width, band_w):
    """(1, H, 2 b_h + 1, W, 2 b_w + 1) float mask: 1 where ``q = p + offset`` is in the map."""
    def axis(n, b):
        offsets = np.arange(-b, b + 1)
        q = np.arange(n)[:, None] + offsets[None, :]
        return (q >= 0) & (q < n)

    mask = axis(height, band_h)[:, :, None, None] & axis(width, band_w)[None, None, :, :]
    return mask[None].astype(np.float64)


def position_diagonal(A, band=None):
    """Same-position entries ``Sigma_pp`` of a pair array: shape (B, H, W), a copy."""
    if band is not None:
        return A[:, :, band[0], :, band[1]].copy()
    return np.einsum("biijj->bij", A).copy()


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def check_size_pair(value, name, *, allow_none=False):
    """An int ``>= 1`` or a pair of them, as the tuple ``(rows, columns)``.

    Raises a TypeError naming ``name`` for a wrong type and a ValueError for values < 1.
    """
    if value is None and allow_none:
        return None
    if _is_int(value):
        pair = (value, value)
    elif isinstance(value, (tuple, list)) and len(value) == 2 and all(map(_is_int, value)):
        pair = tuple(value)
    else:
        raise TypeError(
            f"{name} must be a positive integer or a pair (rows, columns) of positive "
            f"integers, got {value!r}.")
    if min(pair) < 1:
        raise ValueError(f"{name} must be >= 1, got {value!r}.")
    return int(pair[0]), int(pair[1])


def check_padding(padding, name="padding"):
    """``"same"`` or ``"valid"`` (any case); TypeError / ValueError naming the argument."""
    if not isinstance(padding, str):
        raise TypeError(f"{name} must be the string 'same' or 'valid', got {padding!r}.")
    if padding.lower() not in ("same", "valid"):
        raise ValueError(f"{name} must be 'same' or 'valid', got {padding!r}.")
    return padding.lower()


def check_bias(bias):
    """Bias standard deviation ``beta >= 0`` as a Python float (``None`` means 0)."""
    if bias is None:
        return 0.0
    if isinstance(bias, (bool, np.bool_)) or not isinstance(bias, numbers.Real):
        raise TypeError(f"bias must be a non-negative real number, got {bias!r}.")
    return check_bias_value(bias, "bias")


class Layer:
    """Base class of the layer specifications (immutable, compared by value).

    Subclasses implement

    ``out_shape(shape) -> Shape``
        the geometry after the layer, raising a ValueError when the layer cannot apply;
    ``kernel(state) -> PairState``
        the exact rule on position-pair covariances (a new state; the input is not modified).

    ``band_in(band_out) -> band``
        the offsets ``q - p`` of the input pairs the layer reads, given those it must
        produce (``None``: all pairs); the default keeps them.

    Class attributes: ``needs_norms`` (the layer reads the position diagonals of the state,
    as a nonlinearity does) and ``has_bias``.

    ``draw_features(rng, spec, config) -> (params, spec)``
        the host step of the feature (sketch) rule: random parameters drawn from ``rng``
        for a state of the widths ``spec`` (see :mod:`sklearn_ntk.layers._features`), and
        the widths after the layer (the loop sets the map size from :meth:`out_shape`);
    ``features(ctx, state, params) -> state``
        the randomised counterpart of :meth:`kernel`: per-position NNGP / NTK features
        whose inner products estimate the same covariances, in the array namespace
        ``ctx.xp``.
    """

    needs_norms = False

    @property
    def has_bias(self):
        return bool(getattr(self, "bias", 0.0))

    def out_shape(self, shape):  # pragma: no cover - abstract
        raise NotImplementedError

    def kernel(self, state):  # pragma: no cover - abstract
        raise NotImplementedError

    def band_in(self, band_out):
        """Offsets ``q - p`` of the input pairs needed for output offsets up to ``band_out``.

        ``None`` means every pair. The default (dense layers, convolutions, ReLU) keeps the
        offsets.
        """
        return band_out

    def draw_features(self, rng, spec, config):
        """Host step of the feature rule; the default (parameter-free layers) keeps ``spec``."""
        return None, spec

    def features(self, ctx, state, params):
        """Feature (sketch) rule of the layer."""
        raise NotImplementedError(
            f"{type(self).__name__} has no feature (sketch) rule; only its exact kernel "
            "rule is available.")


def require_spatial(layer, shape):
    """ValueError if ``shape`` has lost its spatial axes (after Flatten / GlobalAvgPool)."""
    if shape.flat:
        raise ValueError(
            f"{layer!r} needs a spatial map of positions, but a Flatten() or GlobalAvgPool() "
            "before it has removed the spatial axes.")


__all__ = ["Layer", "PairState", "Shape", "check_bias", "check_padding", "check_size_pair",
           "band_mask", "position_diagonal", "require_spatial"]
