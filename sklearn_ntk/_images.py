"""Image-shape and convolution-window helpers shared by the image kernels and sketches.

Conventions (the CNTK section of the Mathematics page of the documentation): images are stored as rows of length ``H * W * C``,
flattened row-major in ``(H, W, C)`` order, i.e. ``X.reshape(n, H, W, C)`` is the NHWC batch.
Convolutions are square ``f x f``, stride 1, with zero padding ``"same"`` or ``"valid"``. An
output pixel ``i`` of a layer reads the input pixels ``i + d`` for the window offsets ``d``:

* ``"same"``: ``d = -floor((f - 1) / 2) .. ceil((f - 1) / 2)`` (the ``lax`` / neural-tangents
  convention, which matters for even ``f``), output length = input length, out-of-image
  inputs count as zero;
* ``"valid"``: ``d = 0 .. f - 1``, output length = input length - f + 1.
"""

import numbers

import numpy as np

from ._validation import check_int

__all__ = [
    "as_images",
    "check_conv_geometry",
    "check_filter_size",
    "check_image_shape",
    "check_padding",
    "extract_patches",
    "output_size",
    "window_offsets",
    "window_slices",
]


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def default_image_shape(n_features):
    """Shape assumed when ``image_shape=None``.

    One pixel whose ``n_features`` channels are the features, ``(1, 1, n_features)``. Every
    window then holds the centre pixel only, and the CNTK of depth ``L`` is the fully
    connected ReLU NTK of depth ``L`` of §2 times :math:`f^{-2(L-1)}`, so plain
    tabular data gets a meaningful kernel. Guessing a spatial layout from the width alone
    (e.g. "a perfect square is a square image") would silently convolve over unrelated
    features; images need an explicit ``image_shape``.
    """
    return (1, 1, int(n_features))


def image_shape_tuple(image_shape):
    """``(H, W, C)`` of an ``image_shape`` of 2 or 3 positive integers (``(H, W)``: ``C = 1``).

    Raises ValueError naming ``image_shape`` for anything else (strings and bytes included,
    which would otherwise iterate into characters or byte values).
    """
    shape = None
    if not isinstance(image_shape, (str, bytes)):
        try:
            shape = tuple(image_shape)
        except TypeError:
            pass
    if shape is None or len(shape) not in (2, 3) or not all(_is_int(s) and s >= 1
                                                             for s in shape):
        raise ValueError(
            f"image_shape must be a tuple (H, W) or (H, W, C) of positive integers, "
            f"got {image_shape!r}.")
    return tuple(int(s) for s in shape) + ((1,) if len(shape) == 2 else ())


def check_image_shape(image_shape, n_features):
    """Validate ``image_shape`` against the number of features of the flattened rows.

    Parameters
    ----------
    image_shape : tuple of int (H, W) or (H, W, C), or None
        ``(H, W)`` means one channel. ``None`` selects :func:`default_image_shape`: one pixel
        with ``n_features`` channels, ``(1, 1, n_features)``.
    n_features : int
        Length of one flattened row; must equal ``H * W * C``.

    Returns
    -------
    shape : tuple of int (H, W, C)

    Raises
    ------
    ValueError
        If ``image_shape`` is not 2 or 3 positive integers or ``H * W * C != n_features``.
    """
    if image_shape is None:
        if n_features < 1:
            raise ValueError(f"image_shape cannot be inferred from {n_features} features.")
        return default_image_shape(int(n_features))
    shape = image_shape_tuple(image_shape)
    size = shape[0] * shape[1] * shape[2]
    if size != n_features:
        raise ValueError(
            f"image_shape {shape} has H*W*C = {size} values but the input has "
            f"{n_features} features.")
    return shape


def as_images(X, image_shape=None):
    """View the rows of ``X`` as an NHWC image batch.

    Parameters
    ----------
    X : ndarray of shape (n, H*W*C) or (n, H, W, C)
        Flattened rows (row-major ``(H, W, C)``) or an image batch.
    image_shape : tuple or None
        As in :func:`check_image_shape`. For 4-D ``X``, ``None`` keeps ``X.shape[1:]`` and a
        given shape must equal it.

    Returns
    -------
    images : ndarray of shape (n, H, W, C)
        A view of ``X`` (no copy) when ``X`` is contiguous.
    """
    X = np.asarray(X)
    if X.ndim == 4:
        if image_shape is not None:
            shape = check_image_shape(image_shape, int(np.prod(X.shape[1:])))
            if shape != X.shape[1:]:
                raise ValueError(
                    f"image_shape {shape} does not match the input images of shape "
                    f"{X.shape[1:]}.")
        return X
    if X.ndim != 2:
        raise ValueError(
            f"Expected a 2-D array (n_samples, H*W*C) or a 4-D NHWC array, got {X.ndim} "
            "dimensions.")
    shape = check_image_shape(image_shape, X.shape[1])
    return X.reshape((X.shape[0],) + shape)


def check_filter_size(filter_size):
    """Return ``filter_size`` as an int >= 1 or raise a ValueError naming it."""
    return check_int(filter_size, "filter_size")


def check_padding(padding):
    """Return ``"same"`` or ``"valid"`` (case-insensitive input) or raise a ValueError."""
    if isinstance(padding, str) and padding.lower() in ("same", "valid"):
        return padding.lower()
    raise ValueError(f"padding must be 'same' or 'valid', got {padding!r}.")


def window_offsets(filter_size, padding):
    """Offsets ``d`` such that output pixel ``i`` reads input pixel ``i + d`` (one axis).

    ``"same"``: ``-floor((f-1)/2) .. ceil((f-1)/2)``; ``"valid"``: ``0 .. f-1``.
    """
    if padding == "same":
        lo = (filter_size - 1) // 2
        return range(-lo, filter_size - lo)
    return range(filter_size)


def output_size(n_in, filter_size, padding):
    """Length of a layer's output along one axis of input length ``n_in``."""
    return n_in if padding == "same" else n_in - filter_size + 1


def window_slices(n_in, filter_size, padding):
    """Slices realising a zero-padded window along one axis.

    Returns ``(n_out, pairs)`` where ``pairs`` lists, for every offset ``d`` of
    :func:`window_offsets`, ``(out_slice, in_slice)`` with ``in_slice`` = ``out_slice + d``
    restricted to in-image positions; out-of-image inputs are zero, so they are just skipped.
    Offsets whose slices are empty are dropped.
    """
    n_out = output_size(n_in, filter_size, padding)
    pairs = [sl for sl in _all_offset_slices(n_in, filter_size, padding) if sl is not None]
    return n_out, pairs


def check_conv_geometry(image_shape, filter_size, depth, padding):
    """Output map size ``(H_L, W_L)`` after ``depth`` convolutions, validated.

    With ``"valid"`` padding each layer shrinks the map by ``filter_size - 1``; a map that would
    shrink to nothing raises a ValueError naming ``filter_size`` and ``depth``.
    """
    height, width = image_shape[0], image_shape[1]
    if padding == "same":
        return height, width
    shrink = depth * (filter_size - 1)
    if height - shrink < 1 or width - shrink < 1:
        raise ValueError(
            f"With padding='valid', filter_size={filter_size} and depth={depth} shrink the "
            f"{height}x{width} image by {shrink} pixels per axis to nothing; use a smaller "
            "filter_size or depth, or padding='same'.")
    return height - shrink, width - shrink


def extract_patches(images, filter_size, padding):
    """Concatenated window of every output pixel (the input ``u_p`` of the CNTKSketch recursion).

    Parameters
    ----------
    images : ndarray of shape (n, H, W, C)
    filter_size : int
    padding : {"same", "valid"}

    Returns
    -------
    patches : ndarray of shape (n, H_out, W_out, f * f * C)
        ``patches[:, i, j]`` is ``concat_{(a, b)} images[:, i + a, j + b]`` over the window
        offsets in row-major ``(a, b)`` order, zero where the window leaves the image, so that
        ``<u_p(x), u_q(y)> = sum_delta <x_{p+delta}, y_{q+delta}>``.
    """
    n, height, width, channels = images.shape
    h_out = output_size(height, filter_size, padding)
    w_out = output_size(width, filter_size, padding)
    f = filter_size
    patches = np.zeros((n, h_out, w_out, f, f, channels), dtype=images.dtype)
    # Enumerate all f offsets (including fully-outside ones, which stay zero) so the channel
    # layout of the patch does not depend on the image size.
    row_all = _all_offset_slices(height, filter_size, padding)
    col_all = _all_offset_slices(width, filter_size, padding)
    for a, rs in enumerate(row_all):
        if rs is None:
            continue
        for b, cs in enumerate(col_all):
            if cs is None:
                continue
            patches[:, rs[0], cs[0], a, b] = images[:, rs[1], cs[1]]
    return patches.reshape(n, h_out, w_out, f * f * channels)


def _all_offset_slices(n_in, filter_size, padding):
    """Like :func:`window_slices` but keeps one entry (``None`` if empty) per offset."""
    n_out = output_size(n_in, filter_size, padding)
    out = []
    for d in window_offsets(filter_size, padding):
        start, stop = max(0, -d), min(n_out, n_in - d)
        out.append((slice(start, stop), slice(start + d, stop + d)) if stop > start else None)
    return out
