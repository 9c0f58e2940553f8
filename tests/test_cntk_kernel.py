"""Tests of the exact CNTK-GAP kernel (doc/mathematics.rst) and the image helpers."""

import math
import warnings
from pathlib import Path

import numpy as np
import pytest

from sklearn_ntk._arccos import kappa0, kappa1, nngp_on_sphere, ntk_on_sphere
from sklearn_ntk._cntk_kernel import _relu_kernels, cntk_kernel
from sklearn_ntk._ntk_kernel import ntk_kernel
from sklearn_ntk._images import (
    as_images,
    check_conv_geometry,
    check_image_shape,
    check_padding,
    extract_patches,
    window_offsets,
)

_REFERENCE_NAME = "cntk_gap_conv3x3_L2.npz"
# neural-tangents values, shipped with the tests (see tests/data/README.md).
_REFERENCE_PATH = Path(__file__).resolve().parent / "data" / _REFERENCE_NAME


def _rel_err(a, b):
    return np.max(np.abs(a - b)) / np.max(np.abs(b))


# --------------------------------------------------------------------------------------------
# Independent pixel-by-pixel reference of the CNTK recursion (doc/mathematics.rst; tiny images).
# --------------------------------------------------------------------------------------------
def _brute_offsets(f, padding):
    if padding == "same":  # window i - floor((f-1)/2) .. i + ceil((f-1)/2)
        return list(range(-((f - 1) // 2), -(-(f - 1) // 2) + 1))
    return list(range(f))


def _brute_window(values, shape, f, padding, diagonal):
    """(1/f^2)-free window sum of a pixel-pair matrix (or of a per-pixel vector)."""
    height, width = shape
    offs = _brute_offsets(f, padding)
    h_out = height if padding == "same" else height - f + 1
    w_out = width if padding == "same" else width - f + 1
    pix = [(i, j) for i in range(h_out) for j in range(w_out)]

    def index(i, j):
        return i * width + j if 0 <= i < height and 0 <= j < width else None

    if diagonal:
        out = np.zeros(len(pix))
        for a, (i, j) in enumerate(pix):
            for di in offs:
                for dj in offs:
                    s = index(i + di, j + dj)
                    if s is not None:
                        out[a] += values[s]
    else:
        out = np.zeros((len(pix), len(pix)))
        for a, (i, j) in enumerate(pix):
            for b, (k, m) in enumerate(pix):
                for di in offs:
                    for dj in offs:
                        s, t = index(i + di, j + dj), index(k + di, m + dj)
                        if s is not None and t is not None:
                            out[a, b] += values[s, t]
    return out, (h_out, w_out)


def _brute_cntk(x, y, depth, f, padding, kind):
    """CNTK / CNNGP of two (H, W, C) images straight from the definitions."""
    height, width, _ = x.shape
    gram_xy = x.reshape(height * width, -1) @ y.reshape(height * width, -1).T
    sq_x = np.sum(x.reshape(height * width, -1) ** 2, axis=1)
    sq_y = np.sum(y.reshape(height * width, -1) ** 2, axis=1)
    sigma, shape = _brute_window(gram_xy, (height, width), f, padding, diagonal=False)
    norm_x, _ = _brute_window(sq_x, (height, width), f, padding, diagonal=True)
    norm_y, _ = _brute_window(sq_y, (height, width), f, padding, diagonal=True)
    theta = sigma.copy()
    for h in range(1, depth + 1):
        scale = np.sqrt(np.outer(norm_x, norm_y))
        rho = np.divide(sigma, scale, out=np.zeros_like(sigma), where=scale > 0)
        gamma = scale * kappa1(rho)
        gamma_dot = kappa0(rho)
        nxt = theta * gamma_dot + gamma
        if h == depth:
            final = nxt if kind == "ntk" else gamma
            return final.mean()
        gamma_xx = norm_x * kappa1(np.ones_like(norm_x))  # Gamma_pp(x, x), rho = 1
        gamma_yy = norm_y * kappa1(np.ones_like(norm_y))
        sigma, new_shape = _brute_window(gamma, shape, f, padding, diagonal=False)
        theta, _ = _brute_window(nxt, shape, f, padding, diagonal=False)
        norm_x, _ = _brute_window(gamma_xx, shape, f, padding, diagonal=True)
        norm_y, _ = _brute_window(gamma_yy, shape, f, padding, diagonal=True)
        sigma, theta = sigma / f**2, theta / f**2
        norm_x, norm_y = norm_x / f**2, norm_y / f**2
        shape = new_shape


# --------------------------------------------------------------------------------------------
# neural-tangents reference
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["ntk", "nngp"])
def test_matches_neural_tangents_reference(kind):
    ref = np.load(_REFERENCE_PATH)
    X, Y = ref["X"], ref["Y"]  # NHWC, 8x8x3
    f, channels = 3, 3
    factor = 2.0 / (f**2 * channels)
    flat_x, flat_y = X.reshape(len(X), -1), Y.reshape(len(Y), -1)

    K_xy = factor * cntk_kernel(flat_x, flat_y, depth=2, filter_size=f, image_shape=(8, 8, 3),
                                padding="same", kind=kind)
    assert _rel_err(K_xy, ref[f"{kind}_xy"]) <= 1e-12

    K_xx = factor * cntk_kernel(X, depth=2, filter_size=f, kind=kind)  # 4-D input
    ref_xx = ref[f"{kind}_xx"]
    off = ~np.eye(len(X), dtype=bool)
    assert np.max(np.abs(K_xx - ref_xx)[off]) / np.max(np.abs(ref_xx)) <= 1e-12
    assert np.max(np.abs(np.diag(K_xx) - np.diag(ref_xx)) / np.diag(ref_xx)) <= 1e-7


# --------------------------------------------------------------------------------------------
# structural properties
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["ntk", "nngp"])
def test_symmetric_positive_semidefinite(kind):
    rng = np.random.default_rng(10)
    X = rng.standard_normal((12, 6 * 5 * 2))
    K = cntk_kernel(X, depth=2, filter_size=3, image_shape=(6, 5, 2), kind=kind)
    assert K.shape == (12, 12) and K.dtype == np.float64
    np.testing.assert_array_equal(K, K.T)
    eig = np.linalg.eigvalsh(K)
    assert eig.min() >= -1e-10 * eig.max()


@pytest.mark.parametrize("kind", ["ntk", "nngp"])
def test_y_none_equals_explicit_y(kind):
    rng = np.random.default_rng(11)
    X = rng.standard_normal((7, 5 * 4 * 2))
    opts = dict(depth=3, filter_size=3, image_shape=(5, 4, 2), kind=kind)
    np.testing.assert_allclose(cntk_kernel(X, **opts), cntk_kernel(X, X, **opts),
                               rtol=1e-13, atol=0)


def test_diagonal_closed_form_fully_connected_limit():
    # For a 1x1 image and f = 1 the diagonal is (L + 1) ||x||^2 exactly (rho = 1 special case).
    rng = np.random.default_rng(12)
    X = rng.standard_normal((5, 4))
    K = cntk_kernel(X, depth=3, filter_size=1, image_shape=(1, 1, 4))
    np.testing.assert_allclose(np.diag(K), 4 * np.sum(X**2, axis=1), rtol=1e-14)


@pytest.mark.parametrize("kind", ["ntk", "nngp"])
def test_positive_homogeneity_and_rounding_at_correlation_one(kind):
    # K(x, c y) = c K(x, y) for c > 0. Scaled copies of the same image have correlations 1 up
    # to rounding (not special-cased, the images differ), which must be clipped, not NaN.
    rng = np.random.default_rng(20)
    X = rng.standard_normal((6, 3 * 4 * 3))
    opts = dict(depth=3, filter_size=3, image_shape=(3, 4, 3), kind=kind)
    K = cntk_kernel(X, **opts)
    for c in (0.1, 3.0, 7.3):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            K_c = cntk_kernel(X, c * X, **opts)
        assert np.all(np.isfinite(K_c))
        np.testing.assert_allclose(K_c, c * K, rtol=1e-7)


@pytest.mark.parametrize("symmetric", [True, False])
def test_max_memory_does_not_change_result(symmetric, monkeypatch):
    import sklearn_ntk._cntk_kernel as module

    rng = np.random.default_rng(13)
    X = rng.standard_normal((6, 25))
    Y = None if symmetric else rng.standard_normal((4, 25))
    n_pairs = 6 * 7 // 2 if symmetric else 6 * 4
    calls = []
    real = module._pair_block

    def counting(*args, **kwargs):
        calls.append(len(args[0]))  # pairs in this block
        return real(*args, **kwargs)

    monkeypatch.setattr(module, "_pair_block", counting)
    base = cntk_kernel(X, Y, depth=2, filter_size=2)
    assert len(calls) == 1 and calls[0] == n_pairs  # the default budget takes one block
    # one pair of 5x5 images holds 6 work arrays of 25^2 float64 per thread: 1 byte forces
    # blocks of one pair, and the result must not depend on the blocking
    calls.clear()
    K = cntk_kernel(X, Y, depth=2, filter_size=2, max_memory=1)
    assert calls == [1] * n_pairs
    np.testing.assert_allclose(K, base, rtol=1e-14, atol=0)


@pytest.mark.parametrize("architecture", [None, "flatten", "pool_flatten"])
def test_peak_memory_is_output_plus_budget_plus_per_image_arrays(architecture):
    """Many small images: the output dominates, and nothing of the size of all pairs but
    the output may be held (the pair index arrays and a second n x n array for the final
    rescaling once took five times the output). The bound is the documented one."""
    import tracemalloc

    n, shape, budget = 1500, (2, 2, 1), 2**20
    X = np.random.default_rng(3).standard_normal((n, 4))
    X[7] = X[3]  # a repeated image: its pair takes the self pair's value
    image_bytes = X.nbytes
    per_image = 3 * image_bytes + 8 * n * 4 + 300 * n  # one ReLU at 2 x 2 positions
    if architecture is None:  # the GAP network: patches of 3 x 3 windows, twice
        per_image += 16 * 9 * image_bytes
    tracemalloc.start()
    try:
        K = cntk_kernel(X, architecture=architecture, image_shape=shape, max_memory=budget)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak - K.nbytes <= budget + per_image
    assert K[3, 7] == K[3, 3] == K[7, 7] == K[7, 3]
    np.testing.assert_allclose(K[:40, :40], cntk_kernel(X[:40], X[:40], architecture=architecture,
                                                        image_shape=shape), rtol=1e-12)


@pytest.mark.parametrize("architecture", [None, "flatten"])
def test_many_copies_of_one_image_hold_no_list_of_their_pairs(architecture):
    """1,000 copies of one image: every pair is a pair of identical images, set to the
    self pair's value without materialising the million pairs."""
    import tracemalloc

    n, budget = 1000, 2**20
    X = np.tile(np.random.default_rng(4).standard_normal((1, 16)), (n, 1))
    tracemalloc.start()
    try:
        K = cntk_kernel(X, architecture=architecture, image_shape=(4, 4, 1),
                        max_memory=budget)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    per_image = 3 * X.nbytes + 8 * n * 16 + 300 * n + 16 * 9 * X.nbytes
    assert peak - K.nbytes <= budget + per_image
    assert np.all(K == K[0, 0])


def test_batch_size_is_deprecated_and_still_honoured():
    rng = np.random.default_rng(13)
    X = rng.standard_normal((6, 25))
    base = cntk_kernel(X, depth=2, filter_size=2)
    for batch_size in (1, 5):
        with pytest.warns(FutureWarning, match="batch_size is deprecated"):
            K = cntk_kernel(X, depth=2, filter_size=2, batch_size=batch_size)
        np.testing.assert_allclose(K, base, rtol=1e-14, atol=0)


def test_four_d_input_equals_flat_input():
    rng = np.random.default_rng(14)
    X = rng.standard_normal((3, 4, 5, 2))
    Y = rng.standard_normal((2, 4, 5, 2))
    K4 = cntk_kernel(X, Y, depth=2)
    K2 = cntk_kernel(X.reshape(3, -1), Y.reshape(2, -1), depth=2, image_shape=(4, 5, 2))
    np.testing.assert_array_equal(K4, K2)


# --------------------------------------------------------------------------------------------
# against the brute-force definition
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "shape, f, padding, depth",
    [
        ((4, 5, 2), 2, "same", 1),
        ((4, 5, 2), 2, "same", 2),
        ((4, 5, 2), 4, "same", 1),
        ((4, 5, 2), 4, "same", 2),
        ((4, 5, 2), 3, "same", 2),
        ((4, 5, 2), 3, "valid", 1),
        ((5, 6, 2), 3, "valid", 2),
        ((4, 5, 2), 2, "valid", 2),
        ((5, 4, 1), 4, "valid", 1),
    ],
)
@pytest.mark.parametrize("kind", ["ntk", "nngp"])
def test_matches_brute_force(shape, f, padding, depth, kind):
    rng = np.random.default_rng([*shape, f, depth, padding == "same"])
    n_features = math.prod(shape)
    X = rng.standard_normal((3, n_features))
    Y = rng.standard_normal((2, n_features))
    K = cntk_kernel(X, Y, depth=depth, filter_size=f, image_shape=shape, padding=padding,
                    kind=kind)
    expected = np.array([[_brute_cntk(x.reshape(shape), y.reshape(shape), depth, f, padding,
                                      kind) for y in Y] for x in X])
    np.testing.assert_allclose(K, expected, rtol=1e-12, atol=0)


def test_brute_force_sees_even_filter_alignment():
    # The even-filter window is asymmetric (lax convention); mirroring the images must change
    # the kernel, otherwise the brute-force tests above could not tell the two alignments apart.
    rng = np.random.default_rng(15)
    X = rng.standard_normal((2, 4, 5, 1))
    K = cntk_kernel(X[:1], X[1:], depth=2, filter_size=2)
    K_flip = cntk_kernel(X[:1, ::-1, ::-1], X[1:, ::-1, ::-1], depth=2, filter_size=2)
    assert abs(K - K_flip).max() > 1e-6 * abs(K).max()


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_one_pixel_filter_one_reduces_to_fully_connected_ntk(depth):
    rng = np.random.default_rng(16)
    X = rng.standard_normal((5, 6))
    Y = rng.standard_normal((4, 6))
    nx, ny = np.linalg.norm(X, axis=1), np.linalg.norm(Y, axis=1)
    cos = (X @ Y.T) / np.outer(nx, ny)
    for padding in ("same", "valid"):
        K = cntk_kernel(X, Y, depth=depth, filter_size=1, image_shape=(1, 1, 6),
                        padding=padding)
        np.testing.assert_allclose(K, np.outer(nx, ny) * ntk_on_sphere(cos, depth),
                                   rtol=1e-13)
        G = cntk_kernel(X, Y, depth=depth, filter_size=1, image_shape=(1, 1, 6),
                        padding=padding, kind="nngp")
        np.testing.assert_allclose(G, np.outer(nx, ny) * nngp_on_sphere(cos, depth),
                                   rtol=1e-13)


def test_relu_kernels_match_arccos_helpers():
    t = np.concatenate([np.linspace(-1, 1, 2001), [1 - 1e-16, -1 + 1e-16, 0.0]])
    k0, k1 = np.empty_like(t), np.empty_like(t)
    _relu_kernels(t.copy(), k0, k1)
    np.testing.assert_allclose(k0, kappa0(t), rtol=0, atol=1e-15)
    np.testing.assert_allclose(k1, kappa1(t), rtol=0, atol=1e-15)


# --------------------------------------------------------------------------------------------
# degenerate inputs
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["ntk", "nngp"])
def test_zero_images_give_zero_rows_without_nan(kind):
    rng = np.random.default_rng(17)
    X = rng.standard_normal((4, 36))
    X[1] = 0.0
    X[3, :18] = 0.0  # half an image zero: zero-norm pixels inside a non-zero image
    Y = rng.standard_normal((3, 36))
    Y[2] = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        K = cntk_kernel(X, depth=2, kind=kind, image_shape=(6, 6))
        K_xy = cntk_kernel(X, Y, depth=2, kind=kind, padding="valid",
                           image_shape=(6, 6))
    assert np.all(np.isfinite(K)) and np.all(np.isfinite(K_xy))
    assert np.all(K[1] == 0) and np.all(K[:, 1] == 0)
    assert np.all(K_xy[1] == 0) and np.all(K_xy[:, 2] == 0)
    assert K[3, 3] > 0
    eig = np.linalg.eigvalsh(K)
    assert eig.min() >= -1e-10 * eig.max()


# --------------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(depth=0), "depth"),
        (dict(depth=1.5), "depth"),
        (dict(depth=True), "depth"),
        (dict(filter_size=0), "filter_size"),
        (dict(filter_size=2.0), "filter_size"),
        (dict(padding="full"), "padding"),
        (dict(padding=None), "padding"),
        (dict(kind="cntk"), "kind"),
        (dict(image_shape=(3, 3)), "image_shape"),
        (dict(image_shape=(4, -4)), "image_shape"),
        (dict(image_shape=(4, 4, 1, 1)), "image_shape"),
        (dict(image_shape="4x4"), "image_shape"),
        (dict(max_memory=0), "max_memory"),
        (dict(max_memory=2.5), "max_memory"),
        (dict(padding="valid", filter_size=3, depth=2), "filter_size.*depth"),
        (dict(padding="valid", filter_size=5), "filter_size"),
    ],
)
def test_invalid_parameters_raise(kwargs, match):
    X = np.random.default_rng(18).standard_normal((2, 16))  # 4x4x1 by default
    with pytest.raises(ValueError, match=match):
        cntk_kernel(X, **kwargs)


def test_invalid_data_raise():
    rng = np.random.default_rng(19)
    X = rng.standard_normal((3, 16))
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="X"):
        cntk_kernel(bad)
    bad[0, 0] = np.inf
    with pytest.raises(ValueError, match="Y"):
        cntk_kernel(X, bad)
    with pytest.raises(ValueError, match="X has 16 features but Y has 9"):
        cntk_kernel(X, rng.standard_normal((2, 9)))
    with pytest.raises(ValueError, match="X"):
        cntk_kernel(X.reshape(3, 4, 4))
    with pytest.raises(ValueError, match="image_shape"):
        cntk_kernel(X.reshape(3, 4, 4, 1), image_shape=(2, 8))


@pytest.mark.parametrize("depth", [1, 2, 3])
@pytest.mark.parametrize("filter_size", [1, 3, 4])
def test_default_image_shape_gives_fully_connected_ntk(depth, filter_size):
    """image_shape=None: a 1x1 image, whose CNTK is the FC NTK times f**(-2 (L - 1))."""
    rng = np.random.default_rng(100 * depth + filter_size)
    X, Y = rng.standard_normal((6, 7)), rng.standard_normal((4, 7))
    expected = ntk_kernel(X, Y, depth=depth) / filter_size ** (2 * (depth - 1))
    np.testing.assert_allclose(cntk_kernel(X, Y, depth=depth, filter_size=filter_size),
                               expected, rtol=1e-12)


# --------------------------------------------------------------------------------------------
# image helpers
# --------------------------------------------------------------------------------------------
def test_check_image_shape():
    # No guessing of a spatial layout: one pixel whose channels are the features.
    assert check_image_shape(None, 49) == (1, 1, 49)
    assert check_image_shape(None, 12) == (1, 1, 12)
    assert check_image_shape((3, 4), 12) == (3, 4, 1)
    assert check_image_shape((2, 3, 2), 12) == (2, 3, 2)
    with pytest.raises(ValueError, match=r"image_shape.*18.*12"):
        check_image_shape((3, 3, 2), 12)


def test_as_images_and_patches():
    X = np.arange(2 * 3 * 4 * 2, dtype=float).reshape(2, -1)
    imgs = as_images(X, (3, 4, 2))
    assert imgs.shape == (2, 3, 4, 2) and np.shares_memory(imgs, X)
    np.testing.assert_array_equal(imgs[1, 2, 3], X[1, -2:])  # row-major (H, W, C)
    assert as_images(imgs, None) is imgs
    with pytest.raises(ValueError, match="image_shape"):
        as_images(imgs, (4, 3, 2))
    # patches realise <u_p(x), u_q(y)> = sum_delta <x_{p+delta}, y_{q+delta}>
    for padding in ("same", "valid"):
        u = extract_patches(imgs, 2, padding)
        expected_hw = (3, 4) if padding == "same" else (2, 3)
        assert u.shape == (2,) + expected_hw + (2 * 2 * 2,)
    u = extract_patches(imgs, 2, "same")
    np.testing.assert_array_equal(u[0, 2, 3], np.concatenate(
        [imgs[0, 2, 3], np.zeros(6)]))  # offsets (0,0),(0,1),(1,0),(1,1); only (0,0) inside


def test_window_offsets_and_geometry():
    assert list(window_offsets(3, "same")) == [-1, 0, 1]
    assert list(window_offsets(2, "same")) == [0, 1]
    assert list(window_offsets(4, "same")) == [-1, 0, 1, 2]
    assert list(window_offsets(3, "valid")) == [0, 1, 2]
    assert check_padding("SAME") == "same"
    assert check_conv_geometry((7, 9, 1), 3, 2, "valid") == (3, 5)
    assert check_conv_geometry((7, 9, 1), 3, 5, "same") == (7, 9)
    with pytest.raises(ValueError, match="filter_size.*depth"):
        check_conv_geometry((7, 9, 1), 3, 4, "valid")


@pytest.mark.parametrize("architecture", [None, "flatten"])
def test_verbose_reports_progress_over_pair_blocks(architecture, capsys):
    rng = np.random.default_rng(21)
    X = rng.standard_normal((6, 16))
    quiet = cntk_kernel(X, depth=2, architecture=architecture)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    # max_memory=1: one pair per block, so there are several blocks to report
    K = cntk_kernel(X, depth=2, architecture=architecture, verbose=2, max_memory=1)
    captured = capsys.readouterr()
    assert "cntk_kernel" in captured.out + captured.err
    np.testing.assert_allclose(K, quiet, rtol=1e-14, atol=0)
