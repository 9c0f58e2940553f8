"""Named architectures as layer lists.

Every preset returns a plain list of layers, so it can be inspected, edited and passed on
like any hand-written architecture.
"""

from .._images import image_shape_tuple
from .._validation import check_int
from ._base import check_bias, check_padding, check_size_pair
from ._conv import Conv
from ._dense import Dense
from ._flatten import Flatten
from ._pool import AvgPool, GlobalAvgPool
from ._relu import ReLU

PRESETS = ("gap", "flatten", "pool_flatten", "myrtle", "fc")
#: The presets built from ``filter_size`` and ``padding`` (the others take their defaults).
FILTER_PRESETS = ("gap", "flatten", "pool_flatten")

#: :func:`pool_flatten` averages the input down until its longer side is at most this.
POOLED_SIDE = 16


def gap(depth=1, filter_size=3, padding="same", bias=0.0):
    """Convolutional network with global average pooling (the CNTK-GAP of Arora et al.).

    ``[Conv(filter_size, padding, bias), ReLU()] * depth + [GlobalAvgPool()]``, then the
    bias-free linear readout. The kernel is translation invariant at the last layer.

    Parameters
    ----------
    depth : int, default=1
        Number of convolution + ReLU layers, ``>= 1``.
    filter_size : int or (int, int), default=3
    padding : {"same", "valid"}, default="same"
    bias : float, default=0.0
        Bias standard deviation of the convolutions.

    Returns
    -------
    layers : list of Layer

    References
    ----------
    Arora, Du, Hu, Li, Salakhutdinov & Wang, *On Exact Computation with an Infinitely Wide
    Neural Net*, NeurIPS 2019.
    """
    return _conv_relu(depth, filter_size, padding, bias) + [GlobalAvgPool()]


def flatten(depth=1, filter_size=3, padding="same", bias=0.0):
    """Convolutional network with a flattening readout (the "vanilla" CNTK).

    ``[Conv(filter_size, padding, bias), ReLU()] * depth + [Flatten()]``, then the bias-free
    linear readout. The kernel only compares the two images' features at the same position.

    Parameters
    ----------
    depth, filter_size, padding, bias
        As in :func:`gap`.

    Returns
    -------
    layers : list of Layer
    """
    return _conv_relu(depth, filter_size, padding, bias) + [Flatten()]


def pool_flatten(depth=1, image_shape=None, filter_size=3, padding="same", bias=0.0):
    """Average-pool the input to at most 16 positions a side, then a flattening CNN.

    ``[AvgPool((k_H, k_W), padding="same")]``, with ``k`` per axis the smallest power of two
    for which the pooled side ``ceil(side / k)`` is at most ``POOLED_SIDE`` (16), left out
    when both are 1; then :func:`flatten` of ``depth``. On images larger than 16 a side,
    pooling first makes every later layer run on a quarter of the positions or fewer, and the
    flattening readout keeps where things are in the image, which global average pooling
    throws away. With ``"same"`` padding a side that the window does not divide keeps its
    last, partly empty windows (zeros count in the average). It is the default network of
    the CNTK estimators, chosen by measurement (the benchmark page,
    ``benchmarks/RESULTS.md``, section (f)).

    On a single position (``image_shape=None`` or ``(1, 1, d)``) no pooling is added and
    every convolution sees only the centre pixel: the fully connected NTK of ``depth``
    hidden layers, divided by ``filter_size**2`` (the fan-in of a window of which only the
    centre is non-zero).

    Parameters
    ----------
    depth : int, default=1
        Number of convolution + ReLU layers after the pooling, ``>= 1``. At equal width a
        second layer added 0.05-0.2 points on Fashion-MNIST and cost 2.5-4 times as much to
        sketch (the benchmark page).
    image_shape : tuple (H, W) or (H, W, C), default=None
        Shape of the input images, which decides the pooling window; ``None``: one position.
    filter_size, padding, bias
        As in :func:`flatten`.

    Returns
    -------
    layers : list of Layer
    """
    sides = image_shape_tuple(image_shape)[:2] if image_shape is not None else (1, 1)
    window = tuple(_pooling_window(side) for side in sides)
    if window[0] == window[1]:
        window = window[0]
    pool = [AvgPool(window, padding="same")] if window != 1 else []
    return pool + flatten(depth, filter_size, padding, bias)


def _pooling_window(side):
    """The smallest power of two ``k`` with ``ceil(side / k) <= POOLED_SIDE``."""
    window = 1
    while -(-side // window) > POOLED_SIDE:
        window *= 2
    return window


def myrtle(depth=5, image_shape=(32, 32)):
    """Myrtle network: three stages of 3x3 convolutions with 2x2 average pooling between.

    The ``depth - 1`` convolution + ReLU layers (``"same"`` padding, no bias) are shared
    out over three stages, the earlier stages taking the remainder: depth 5 gives stages of
    2, 1, 1 convolutions, depth 7 gives 2, 2, 2 and depth 10 gives 3, 3, 3, the networks of
    Shankar et al. A 2x2 average pooling (stride 2) follows the first and the second stage
    when the map is at least 2x2 (with ``"same"`` padding, so an odd side keeps its last row
    or column as a half-empty window), and a global average pooling ends the network, which
    for a map of side ``2^k`` is the same as pooling 2x2 down to 1x1 and flattening.

    Parameters
    ----------
    depth : int, default=5
        Number of layers with weights, the readout included (``>= 4``).
    image_shape : tuple (H, W) or (H, W, C), default=(32, 32)
        Shape of the input images, which decides where pooling still fits.

    Returns
    -------
    layers : list of Layer

    References
    ----------
    Shankar, Fang, Guo, Fridovich-Keil, Schmidt, Ragan-Kelley & Recht, *Neural Kernels
    Without Tangents*, ICML 2020.
    """
    depth = check_int(depth, "depth", min_value=4)
    height, width = image_shape_tuple(image_shape)[:2]
    n_conv = depth - 1
    stages = [n_conv // 3 + (1 if k < n_conv % 3 else 0) for k in range(3)]
    layers = []
    for k, n in enumerate(stages):
        layers += [Conv(3, "same"), ReLU()] * n
        if k < 2 and min(height, width) >= 2:
            layers.append(AvgPool(2, padding="same"))
            height, width = -(-height // 2), -(-width // 2)
    return layers + [GlobalAvgPool()]


def fc(depth=1, bias=0.0):
    """Fully connected ReLU network on the flattened input.

    ``[Flatten()] + [Dense(bias), ReLU()] * depth + [Dense(bias)]``: the readout has the bias
    too, so on vectors :math:`x \\in \\mathbb{R}^d` this is the fully connected NTK of
    depth ``depth`` with bias ``bias`` evaluated on :math:`x\\sqrt{2/d}`.

    Parameters
    ----------
    depth : int, default=1
        Number of hidden layers, ``>= 1``.
    bias : float, default=0.0

    Returns
    -------
    layers : list of Layer
    """
    depth = check_int(depth, "depth")
    bias = check_bias(bias)
    return [Flatten()] + [Dense(bias), ReLU()] * depth + [Dense(bias)]


def _conv_relu(depth, filter_size, padding, bias):
    depth = check_int(depth, "depth")
    check_size_pair(filter_size, "filter_size")
    padding = check_padding(padding)
    bias = check_bias(bias)
    return [Conv(filter_size, padding, bias), ReLU()] * depth


def preset(name, *, depth=None, filter_size=3, padding="same", bias=0.0, image_shape=None):
    """Layer list of a preset by name (``"gap"``, ``"flatten"``, ``"pool_flatten"``,
    ``"myrtle"``, ``"fc"``).

    ``depth=None`` is each preset's default (5 for ``"myrtle"``, 1 otherwise); arguments a
    preset does not take are ignored.
    """
    if not isinstance(name, str) or name.lower() not in PRESETS:
        raise ValueError(
            f"architecture must be one of {', '.join(map(repr, PRESETS))} or a list of "
            f"layers, got {name!r}.")
    name = name.lower()
    if name == "myrtle":
        return myrtle(5 if depth is None else depth,
                      (32, 32) if image_shape is None else image_shape)
    if name == "pool_flatten":
        return pool_flatten(1 if depth is None else depth, image_shape, filter_size, padding,
                            bias)
    depth = 1 if depth is None else depth
    if name == "fc":
        return fc(depth, bias)
    return (gap if name == "gap" else flatten)(depth, filter_size, padding, bias)
