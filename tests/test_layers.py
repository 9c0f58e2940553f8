"""Tests of the layer core (sklearn_ntk.layers) and of cntk_kernel(architecture=...)."""

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest

from sklearn_ntk import cntk_kernel, layers
from sklearn_ntk._arccos import kappa0, kappa1
from sklearn_ntk._ntk_kernel import ntk_kernel
from sklearn_ntk.layers import (
    AvgPool,
    Conv,
    Dense,
    Flatten,
    GlobalAvgPool,
    ReLU,
    fc,
    flatten,
    gap,
    myrtle,
    pool_flatten,
)
from sklearn_ntk.layers._serial import exact_kernel

DATA = Path(__file__).resolve().parent / "data"


# --------------------------------------------------------------------------------------------
# Brute force: the covariances of a pair of images as explicit position-by-position loops.
# --------------------------------------------------------------------------------------------
def _conv_offsets(f, padding):
    if padding == "same":
        lo = (f - 1) // 2
        return list(range(-lo, f - lo))
    return list(range(f))


def _pool_index_sets(n, k, s, padding):
    """For each output index, the input indices of its window (padded ones left out)."""
    if padding == "valid":
        n_out, lo = (n - k) // s + 1, 0
    else:
        n_out = math.ceil(n / s)
        lo = max((n_out - 1) * s + k - n, 0) // 2
    return [[q * s + a - lo for a in range(k) if 0 <= q * s + a - lo < n] for q in range(n_out)]


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


class _Brute:
    """Sigma / Theta of the pairs (x, y), (x, x), (y, y) as dicts {(p, q): value}."""

    def __init__(self, x, y):
        self.shape = x.shape[:2]
        channels = x.shape[2]
        pos = [(i, j) for i in range(self.shape[0]) for j in range(self.shape[1])]
        self.S, self.T = {}, {}
        for name, (a, b) in {"xy": (x, y), "xx": (x, x), "yy": (y, y)}.items():
            self.S[name] = {(p, q): float(np.dot(a[p], b[q])) / channels
                            for p in pos for q in pos}
            self.T[name] = {key: 0.0 for key in self.S[name]}

    def positions(self):
        return [(i, j) for i in range(self.shape[0]) for j in range(self.shape[1])]

    def apply(self, layer):
        getattr(self, "_" + type(layer).__name__.lower())(layer)

    def _dense(self, layer):
        for name in self.S:
            for key in self.S[name]:
                s = 2 * self.S[name][key] + layer.bias**2
                self.T[name][key] = s + 2 * self.T[name][key]
                self.S[name][key] = s

    def _conv(self, layer):
        (fh, fw), padding = _pair(layer.filter_size), layer.padding
        h, w = self.shape
        h_out = h if padding == "same" else h - fh + 1
        w_out = w if padding == "same" else w - fw + 1
        out_pos = [(i, j) for i in range(h_out) for j in range(w_out)]
        for name in self.S:
            S, T = self.S[name], self.T[name]
            newS, newT = {}, {}
            for p in out_pos:
                for q in out_pos:
                    s = t = 0.0
                    for a in _conv_offsets(fh, padding):
                        for b in _conv_offsets(fw, padding):
                            pp, qq = (p[0] + a, p[1] + b), (q[0] + a, q[1] + b)
                            if (pp, qq) in S:
                                s += S[pp, qq]
                                t += T[pp, qq]
                    newS[p, q] = 2 * s / (fh * fw) + layer.bias**2
                    newT[p, q] = newS[p, q] + 2 * t / (fh * fw)
            self.S[name], self.T[name] = newS, newT
        self.shape = (h_out, w_out)

    def _relu(self, layer):
        nx = {p: self.S["xx"][p, p] for p in self.positions()}
        ny = {p: self.S["yy"][p, p] for p in self.positions()}
        for name, (na, nb) in {"xy": (nx, ny), "xx": (nx, nx), "yy": (ny, ny)}.items():
            for (p, q), s in list(self.S[name].items()):
                scale = math.sqrt(na[p] * nb[q])
                rho = s / scale if scale > 0 else 0.0
                if name != "xy" and p == q and scale > 0:
                    rho = 1.0
                self.S[name][p, q] = scale * float(kappa1(rho)) / 2
                self.T[name][p, q] = self.T[name][p, q] * float(kappa0(rho)) / 2

    def _avgpool(self, layer):
        (kh, kw) = _pair(layer.window)
        (sh, sw) = _pair(layer.stride) if layer.stride is not None else (kh, kw)
        rows = _pool_index_sets(self.shape[0], kh, sh, layer.padding)
        cols = _pool_index_sets(self.shape[1], kw, sw, layer.padding)
        windows = {(a, b): [(i, j) for i in rows[a] for j in cols[b]]
                   for a in range(len(rows)) for b in range(len(cols))}
        for name in self.S:
            for D in (self.S, self.T):
                old = D[name]
                D[name] = {(u, v): sum(old[p, q] for p in windows[u] for q in windows[v])
                           / (kh * kw) ** 2 for u in windows for v in windows}
        self.shape = (len(rows), len(cols))

    def _globalavgpool(self, layer):
        for name in self.S:
            for D in (self.S, self.T):
                D[name] = {((0, 0), (0, 0)): sum(D[name].values()) / len(D[name])}
        self.shape = (1, 1)

    def _flatten(self, layer):
        pos = self.positions()
        for name in self.S:
            for D in (self.S, self.T):
                D[name] = {((0, 0), (0, 0)): sum(D[name][p, p] for p in pos) / len(pos)}
        self.shape = (1, 1)


def _brute_kernel(arch, x, y, kind):
    arch = list(arch)
    if not (arch and isinstance(arch[-1], Dense)):
        arch.append(Dense())
    state = _Brute(x, y)
    for layer in arch:
        state.apply(layer)
    key = ((0, 0), (0, 0))
    return state.T["xy"][key] if kind == "ntk" else state.S["xy"][key]


_ARCHS = {
    "dense": [Dense(0.3), ReLU(), Dense(), ReLU(), GlobalAvgPool(), Dense(0.2)],
    "conv_same_odd_bias": [Conv(3, bias=0.2), ReLU(), Flatten()],
    "conv_even_rect": [Conv((2, 3)), ReLU(), Conv(2), ReLU(), GlobalAvgPool()],
    "conv_valid": [Conv(2, "valid", 0.1), ReLU(), Conv((1, 3), "valid"), Flatten()],
    "relu_first": [ReLU(), Conv(2), ReLU(), ReLU(), Flatten()],
    "avgpool_valid": [Conv(3), ReLU(), AvgPool(2), Flatten()],
    "avgpool_same_stride": [Conv(2), ReLU(), AvgPool(3, stride=2, padding="same"), Flatten()],
    "avgpool_rect_overlap": [Conv(3), ReLU(), AvgPool((2, 3), stride=1), ReLU(), Flatten()],
    "gap": [Conv(3, "same", 0.5), ReLU(), GlobalAvgPool()],
    "flatten": [Conv(3, "valid"), ReLU(), Flatten(), Dense(0.4), ReLU()],
    "mixed": [Conv(3, bias=0.1), ReLU(), AvgPool(2, padding="same"), Conv(2, "valid"), ReLU(),
              Flatten(), Dense(0.2), ReLU(), Dense(0.1)],
}


@pytest.mark.parametrize("kind", ["ntk", "nngp"])
@pytest.mark.parametrize("name", sorted(_ARCHS))
def test_every_layer_matches_brute_force(name, kind):
    rng = np.random.default_rng(sorted(_ARCHS).index(name))
    X = rng.standard_normal((3, 5, 4, 2))
    Y = rng.standard_normal((2, 5, 4, 2))
    arch = _ARCHS[name]
    K = cntk_kernel(X, Y, architecture=arch, kind=kind)
    brute = np.array([[_brute_kernel(arch, x, y, kind) for y in Y] for x in X])
    np.testing.assert_allclose(K, brute, rtol=1e-12, atol=0)
    K_xx = cntk_kernel(X, architecture=arch, kind=kind)
    brute_xx = np.array([[_brute_kernel(arch, x, y, kind) for y in X] for x in X])
    np.testing.assert_allclose(K_xx, brute_xx, rtol=1e-12, atol=0)


# --------------------------------------------------------------------------------------------
# neural-tangents reference values
# --------------------------------------------------------------------------------------------
_REFERENCES = {
    "arch_myrtle_conv3_pool.npz": [Conv(3), ReLU(), Conv(3), ReLU(), AvgPool(2), Conv(3), ReLU(),
                                   AvgPool(2), Flatten()],
    "arch_conv_bias_flatten.npz": [Conv(3, bias=0.1), ReLU(), Conv(3, bias=0.1), ReLU(),
                                   Flatten()],
    "cntk_gap_conv3x3_L2.npz": gap(2, 3, "same"),
    "fc_relu_L2_b0p1.npz": fc(2, 0.1),
}


def _check_reference(ref, kind, K_xy, K_xx):
    """xy block and off-diagonal to 1e-12; the reference diagonal carries ~1e-8 rounding."""
    ref_xy, ref_xx = ref[f"{kind}_xy"], ref[f"{kind}_xx"]
    assert np.max(np.abs(K_xy - ref_xy) / np.abs(ref_xy)) <= 1e-12
    off = ~np.eye(len(ref_xx), dtype=bool)
    assert np.max(np.abs(K_xx - ref_xx)[off] / np.abs(ref_xx)[off]) <= 1e-12
    assert np.max(np.abs(np.diag(K_xx) - np.diag(ref_xx)) / np.diag(ref_xx)) <= 1e-7


@pytest.mark.parametrize("kind", ["ntk", "nngp"])
@pytest.mark.parametrize("fname", sorted(_REFERENCES))
def test_reproduces_neural_tangents_references(fname, kind):
    ref = np.load(DATA / fname)
    X, Y, arch = ref["X"], ref["Y"], _REFERENCES[fname]
    K_xy = cntk_kernel(X, Y, architecture=arch, kind=kind)
    K_xx = cntk_kernel(X, architecture=arch, kind=kind)
    _check_reference(ref, kind, K_xy, K_xx)
    # the general loop, also where cntk_kernel takes the GAP fast path
    if X.ndim == 2:
        X, Y = X[:, None, None, :], Y[:, None, None, :]
    _check_reference(ref, kind, exact_kernel(X, Y, arch, kind), exact_kernel(X, None, arch, kind))


@pytest.mark.parametrize("kind", ["ntk", "nngp"])
def test_reference_by_preset_name(kind):
    ref = np.load(DATA / "cntk_gap_conv3x3_L2.npz")
    X, Y = ref["X"], ref["Y"]
    flat = X.reshape(len(X), -1), Y.reshape(len(Y), -1)
    K_xy = cntk_kernel(*flat, architecture="gap", depth=2, image_shape=(8, 8, 3), kind=kind)
    _check_reference(ref, kind, K_xy, cntk_kernel(X, architecture="gap", depth=2, kind=kind))
    ref = np.load(DATA / "fc_relu_L2_b0p1.npz")
    K_xy = cntk_kernel(ref["X"], ref["Y"], architecture=fc(2), kind=kind)
    K_fc = cntk_kernel(ref["X"], ref["Y"], architecture="fc", depth=2, kind=kind)
    np.testing.assert_array_equal(K_xy, K_fc)


@pytest.mark.parametrize("depth", [1, 2, 3])
@pytest.mark.parametrize("kind", ["ntk", "nngp"])
def test_fc_preset_equals_ntk_kernel_on_rescaled_inputs(depth, kind):
    """NT's fully connected net is ntk_kernel on x sqrt(2/d), diagonal included."""
    rng = np.random.default_rng(depth)
    X, Y = rng.standard_normal((7, 5)), rng.standard_normal((4, 5))
    scale = math.sqrt(2 / 5)
    for bias in (0.0, 0.1, 1.0):
        K = cntk_kernel(X, Y, architecture=fc(depth, bias), kind=kind)
        expected = ntk_kernel(X * scale, Y * scale, depth=depth, bias=bias, kind=kind)
        np.testing.assert_allclose(K, expected, rtol=1e-13)
        K = cntk_kernel(X, architecture=fc(depth, bias), kind=kind)
        expected = ntk_kernel(X * scale, depth=depth, bias=bias, kind=kind)
        np.testing.assert_allclose(K, expected, rtol=1e-13)


# --------------------------------------------------------------------------------------------
# GAP preset == the specialised CNTK-GAP code
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["ntk", "nngp"])
@pytest.mark.parametrize("depth, f, padding", [(1, 3, "same"), (2, 2, "same"), (3, 1, "same"),
                                               (2, 3, "valid"), (1, 4, "same")])
def test_gap_preset_equals_existing_gap_kernel(depth, f, padding, kind):
    rng = np.random.default_rng(depth * 10 + f)
    X, Y = rng.standard_normal((4, 6, 5, 2)), rng.standard_normal((3, 6, 5, 2))
    legacy = cntk_kernel(X, Y, depth=depth, filter_size=f, padding=padding, kind=kind)
    factor = 2.0 / (f**2 * 2)
    arch = gap(depth, f, padding)
    fast = cntk_kernel(X, Y, architecture=arch, kind=kind)
    np.testing.assert_allclose(fast, factor * legacy, rtol=1e-15)
    named = cntk_kernel(X, Y, architecture="gap", depth=depth, filter_size=f, padding=padding,
                        kind=kind)
    np.testing.assert_array_equal(named, fast)
    general = exact_kernel(X, Y, arch, kind)
    np.testing.assert_allclose(general, factor * legacy, rtol=1e-12)
    general_xx = exact_kernel(X, None, arch + [Dense()], kind)
    np.testing.assert_allclose(general_xx, factor * cntk_kernel(
        X, depth=depth, filter_size=f, padding=padding, kind=kind), rtol=1e-12)


def test_gap_network_detection():
    from sklearn_ntk._cntk_kernel import _as_gap_network

    assert _as_gap_network(gap(3, 2, "valid")) == (3, 2, "valid")
    assert _as_gap_network(gap(2, (3, 3)) + [Dense()]) == (2, 3, "same")
    assert _as_gap_network([Conv(3), ReLU(), Conv((3, 3)), ReLU(), GlobalAvgPool()]) == (
        2, 3, "same")
    for arch in (gap(2, 3, bias=0.1), gap(1, (2, 3)), gap(1) + [Dense(0.1)], flatten(2),
                 [Conv(3), ReLU(), Conv(2), ReLU(), GlobalAvgPool()],
                 [Conv(3), ReLU(), Conv(3, "valid"), ReLU(), GlobalAvgPool()],
                 [Conv(3), ReLU(), ReLU(), Conv(3), GlobalAvgPool()],
                 [Conv(3), GlobalAvgPool()]):
        assert _as_gap_network(arch) is None


def test_gap_with_bias_takes_the_general_loop():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((3, 4, 4, 1))
    K0 = cntk_kernel(X, architecture=gap(2, 3, bias=0.0))
    K1 = cntk_kernel(X, architecture=gap(2, 3, bias=0.5))
    assert np.all(K1 > K0)
    brute = np.array([[_brute_kernel(gap(2, 3, bias=0.5), x, y, "ntk") for y in X] for x in X])
    np.testing.assert_allclose(K1, brute, rtol=1e-12)


# --------------------------------------------------------------------------------------------
# presets
# --------------------------------------------------------------------------------------------
def test_preset_layer_lists():
    assert gap(2, 3) == [Conv(3), ReLU(), Conv(3), ReLU(), GlobalAvgPool()]
    assert flatten(1, 5, "valid", 0.1) == [Conv(5, "valid", 0.1), ReLU(), Flatten()]
    assert fc(2, 0.1) == [Flatten(), Dense(0.1), ReLU(), Dense(0.1), ReLU(), Dense(0.1)]
    c, r, p = Conv(3), ReLU(), AvgPool(2, padding="same")
    assert myrtle(5, (32, 32)) == [c, r, c, r, p, c, r, p, c, r, GlobalAvgPool()]
    assert myrtle(7, (32, 32)).count(c) == 6 and myrtle(10, (32, 32, 3)).count(c) == 9
    assert myrtle(10, (32, 32))[:7] == [c, r, c, r, c, r, p]
    assert myrtle(5, (1, 1)) == [c, r, c, r, c, r, c, r, GlobalAvgPool()]  # no room to pool
    assert myrtle(5, (3, 2)).count(p) == 1  # 3x2 -> 2x1, then no more
    assert myrtle(8, (8, 8)).count(c) == 7


def test_pool_flatten_pools_the_input_to_at_most_16_a_side():
    pooled = [Conv(3), ReLU(), Flatten()]
    assert pool_flatten() == pooled  # one position: no pooling, a fully connected NTK
    assert pool_flatten(image_shape=(16, 16)) == pooled
    assert pool_flatten(image_shape=(28, 28, 1)) == [AvgPool(2, padding="same")] + pooled
    assert pool_flatten(image_shape=(17, 30))[0] == AvgPool(2, padding="same")
    assert pool_flatten(image_shape=(64, 40))[0] == AvgPool(4, padding="same")
    # a window per axis: a thin image is not averaged across its short side
    assert pool_flatten(image_shape=(17, 3))[0] == AvgPool((2, 1), padding="same")
    assert pool_flatten(image_shape=(65, 8))[0] == AvgPool((8, 1), padding="same")
    assert pool_flatten(image_shape=(1, 100))[0] == AvgPool((1, 8), padding="same")
    assert pool_flatten(1, (8, 8), 5, "valid", 0.1) == [Conv(5, "valid", 0.1), ReLU(),
                                                        Flatten()]

@pytest.mark.parametrize("image_shape", ["28x28", b"ab", (28.9, 28), (28, 28, 1, 9),
                                         (28, 28, -1), (True, 30), (float("inf"), 2), 5])
def test_presets_sized_to_images_reject_bad_image_shapes(image_shape):
    for build in (pool_flatten, myrtle):
        with pytest.raises(ValueError, match="image_shape"):
            build(image_shape=image_shape)


@pytest.mark.parametrize("name, shape, by_name, as_list", [
    ("myrtle", (7, 6, 2), {}, myrtle(5, (7, 6))),
    ("pool_flatten", (20, 18, 2), {}, [AvgPool(2, padding="same"), Conv(3), ReLU(), Flatten()]),
    ("pool_flatten", (20, 18, 2), dict(depth=2, filter_size=5),
     [AvgPool(2, padding="same"), Conv(5), ReLU(), Conv(5), ReLU(), Flatten()]),
])
def test_presets_by_name_are_sized_to_the_images(name, shape, by_name, as_list):
    X = np.random.default_rng(6).standard_normal((3, int(np.prod(shape))))
    K = cntk_kernel(X, architecture=name, image_shape=shape, **by_name)
    np.testing.assert_array_equal(K, cntk_kernel(X, architecture=as_list, image_shape=shape))


def test_myrtle_nngp_by_name_at_another_depth():
    X = np.random.default_rng(6).standard_normal((3, 7 * 6 * 2))
    K7 = cntk_kernel(X, architecture="myrtle", depth=7, image_shape=(7, 6, 2), kind="nngp")
    assert K7.shape == (3, 3) and np.all(np.isfinite(K7))


def test_myrtle_pooling_to_one_pixel_equals_global_average_pooling():
    rng = np.random.default_rng(7)
    X = rng.standard_normal((3, 4, 4, 2))
    head = [Conv(3), ReLU(), AvgPool(2), Conv(3), ReLU()]
    a = cntk_kernel(X, architecture=head + [AvgPool(2), Flatten()])
    b = cntk_kernel(X, architecture=head + [GlobalAvgPool()])
    np.testing.assert_allclose(a, b, rtol=1e-13)


# --------------------------------------------------------------------------------------------
# structural properties of the general loop
# --------------------------------------------------------------------------------------------
def test_dense_acts_per_position_like_a_one_by_one_convolution():
    rng = np.random.default_rng(8)
    X = rng.standard_normal((3, 4, 3, 2))
    a = cntk_kernel(X, architecture=[Dense(0.2), ReLU(), Flatten()])
    b = cntk_kernel(X, architecture=[Conv(1, bias=0.2), ReLU(), Flatten()])
    np.testing.assert_allclose(a, b, rtol=1e-14)


@pytest.mark.parametrize("kind", ["ntk", "nngp"])
def test_general_loop_symmetric_psd_batch_invariant(kind):
    rng = np.random.default_rng(9)
    X = rng.standard_normal((7, 5, 5, 2))
    arch = _ARCHS["mixed"]
    K = cntk_kernel(X, architecture=arch, kind=kind)
    np.testing.assert_array_equal(K, K.T)
    eig = np.linalg.eigvalsh(K)
    assert eig.min() >= -1e-12 * eig.max()
    np.testing.assert_allclose(K, cntk_kernel(X, X, architecture=arch, kind=kind), rtol=1e-13)
    for max_memory in (1, 200_000, None):
        np.testing.assert_allclose(
            cntk_kernel(X, X[:3], architecture=arch, kind=kind, max_memory=max_memory),
            K[:, :3], rtol=1e-13)
    for batch_size in (1, 3, 100):
        np.testing.assert_allclose(exact_kernel(X, X[:3], arch, kind, batch_size=batch_size),
                                   K[:, :3], rtol=1e-13)
    for n_threads in (1, 2):
        np.testing.assert_allclose(exact_kernel(X, None, arch, kind, n_threads=n_threads), K,
                                   rtol=1e-15)


@pytest.mark.parametrize("kind", ["ntk", "nngp"])
@pytest.mark.parametrize("name", ["conv_same_odd_bias", "conv_valid", "relu_first", "flatten",
                                  "dense_flatten", "avgpool_valid", "avgpool_same_stride",
                                  "avgpool_rect_overlap", "mixed", "two_pools", "pool_odd"])
def test_band_of_position_pairs_suffices_before_flatten(name, kind):
    """Without a global average pooling only a band of offsets q - p is computed."""
    extra = {
        "dense_flatten": [Dense(0.1), ReLU(), Conv(2, bias=0.3), ReLU(), Flatten(), ReLU()],
        "two_pools": [Conv(3, bias=0.2), ReLU(), AvgPool(2), Conv(2), ReLU(),
                      AvgPool(2, 1, "same"), Flatten()],
        "pool_odd": [Conv(2, "valid"), ReLU(), AvgPool((3, 2), (1, 2), "same"), ReLU(),
                     Conv(3, "valid", 0.1), Flatten()],
    }
    arch = _ARCHS.get(name) or extra[name]
    rng = np.random.default_rng(16)
    X, Y = rng.standard_normal((4, 9, 10, 3)), rng.standard_normal((3, 9, 10, 3))
    from sklearn_ntk.layers._serial import Serial

    assert Serial(arch, X.shape[1:]).band is not None
    for Y_ in (Y, None):
        fast = exact_kernel(X, Y_, arch, kind)
        full = exact_kernel(X, Y_, arch, kind, banded=False)
        np.testing.assert_allclose(fast, full, rtol=1e-13)
    assert Serial(_ARCHS["conv_valid"], X.shape[1:]).band == (0, 0)
    assert Serial(_ARCHS["avgpool_valid"], X.shape[1:]).band == (1, 1)
    assert Serial(_ARCHS["avgpool_same_stride"], X.shape[1:]).band == (2, 2)
    assert Serial(_ARCHS["gap"], X.shape[1:]).band is None
    assert Serial([AvgPool(8), Flatten()], (8, 8, 1)).band is None  # no saving


def test_identical_images_get_the_exact_self_value():
    rng = np.random.default_rng(10)
    X = rng.standard_normal((3, 4, 4, 2))
    Y = np.concatenate([X[1:2], rng.standard_normal((1, 4, 4, 2)), X[0:1]])
    arch = _ARCHS["mixed"]
    K_xx = cntk_kernel(X, architecture=arch)
    K_xy = cntk_kernel(X, Y, architecture=arch)
    assert K_xy[1, 0] == K_xx[1, 1] and K_xy[0, 2] == K_xx[0, 0]


def test_zero_images_give_zero_rows_without_nan():
    rng = np.random.default_rng(11)
    X = rng.standard_normal((3, 4, 4, 2))
    X[1] = 0
    for arch in (_ARCHS["mixed"], _ARCHS["avgpool_valid"], gap(2, 3, bias=0.0)):
        K = cntk_kernel(X, architecture=arch)
        assert np.all(np.isfinite(K))
        if not any(layer.has_bias for layer in arch):
            assert np.all(K[1] == 0) and np.all(K[:, 1] == 0)


@pytest.mark.parametrize("arch", [gap(2, 3), _ARCHS["avgpool_valid"], flatten(2, 2)],
                         ids=["gap", "pool", "flatten"])
def test_huge_and_tiny_inputs_bias_free(arch):
    """Positive homogeneity: K(a x, b y) = a b K(x, y), with no overflow on the way."""
    rng = np.random.default_rng(12)
    X, Y = rng.standard_normal((3, 4, 4, 2)), rng.standard_normal((2, 4, 4, 2))
    K = cntk_kernel(X, Y, architecture=arch)
    for a, b in [(1e200, 1e-200), (1e300, 1e-290), (1e-200, 1e-100), (1e150, 1e150)]:
        K_ab = cntk_kernel(a * X, b * Y, architecture=arch)
        np.testing.assert_allclose(K_ab, (a * b) * K, rtol=1e-13)
    with pytest.warns(RuntimeWarning, match="overflow"):
        K_huge = cntk_kernel(1e200 * X, architecture=arch)  # 1e400: not representable
    assert not np.any(np.isnan(K_huge)) and np.all(np.isinf(np.diag(K_huge)))


def test_huge_inputs_default_gap_path():
    rng = np.random.default_rng(13)
    X, Y = rng.standard_normal((3, 36)), rng.standard_normal((2, 36))
    opts = dict(depth=2, image_shape=(6, 6, 1))
    K = cntk_kernel(X, Y, **opts)
    np.testing.assert_allclose(cntk_kernel(1e200 * X, 1e-200 * Y, **opts), K, rtol=1e-13)
    np.testing.assert_allclose(cntk_kernel(1e200 * X, 1e-100 * Y, **opts), 1e100 * K,
                               rtol=1e-13)
    K_xx = cntk_kernel(1e-160 * X, **opts)
    np.testing.assert_allclose(K_xx, 1e-320 * cntk_kernel(X, **opts), rtol=1e-2)  # subnormal
    with pytest.warns(RuntimeWarning, match="overflow"):
        K_huge = cntk_kernel(1e200 * X, **opts)  # K(x, x) ~ 1e400: not representable
    assert not np.any(np.isnan(K_huge)) and np.all(np.isinf(np.diag(K_huge)))


def test_huge_inputs_with_bias():
    """With a bias the kernel is not homogeneous; it must still stay finite and accurate."""
    rng = np.random.default_rng(14)
    X, Y = rng.standard_normal((3, 4, 4, 2)), rng.standard_normal((2, 4, 4, 2))
    arch = _ARCHS["mixed"]
    bias_free = [dataclasses.replace(layer, bias=0.0) if layer.has_bias else layer
                 for layer in arch]
    c = 1e150  # c^2 K stays representable; the bias is then negligible
    K = cntk_kernel(c * X, c * Y, architecture=arch)
    assert np.all(np.isfinite(K))
    np.testing.assert_allclose(K / c**2, cntk_kernel(X, Y, architecture=bias_free), rtol=1e-12)
    K = cntk_kernel(1e200 * X, 1e-200 * Y, architecture=arch)
    assert np.all(np.isfinite(K)) and np.all(K > 0)
    # tiny inputs: only the bias is left
    K_tiny = cntk_kernel(1e-200 * X, 1e-200 * Y, architecture=arch)
    K_zero = cntk_kernel(0 * X, 0 * Y, architecture=arch)
    np.testing.assert_allclose(K_tiny, K_zero, rtol=1e-13)
    assert np.all(K_zero > 0)


# --------------------------------------------------------------------------------------------
# layer specs: immutability, equality, validation
# --------------------------------------------------------------------------------------------
def test_layers_are_immutable_values():
    conv = Conv(3, "SAME", 0.1)
    assert conv == Conv(3, "same", 0.1) and hash(conv) == hash(Conv(3, "same", 0.1))
    assert conv.padding == "same" and isinstance(conv.bias, float)
    assert Conv([2, 3]).filter_size == (2, 3) and AvgPool(2).strides == (2, 2)
    assert Dense(None).bias == 0.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        conv.bias = 1.0
    assert "Conv(filter_size=3" in repr(conv)
    # a layer type without a feature rule says so (the base class of every layer)
    from sklearn_ntk.layers._base import Layer

    with pytest.raises(NotImplementedError, match="feature"):
        Layer().features(None, None, None)


@pytest.mark.parametrize(
    "make, error, match",
    [
        (lambda: Conv(0), ValueError, "filter_size"),
        (lambda: Conv("3"), TypeError, "filter_size"),
        (lambda: Conv(3.0), TypeError, "filter_size"),
        (lambda: Conv((3, 3, 3)), TypeError, "filter_size"),
        (lambda: Conv(True), TypeError, "filter_size"),
        (lambda: Conv(3, padding="full"), ValueError, "padding"),
        (lambda: Conv(3, padding=1), TypeError, "padding"),
        (lambda: Conv(3, bias=-0.1), ValueError, "bias"),
        (lambda: Conv(3, bias=float("inf")), ValueError, "bias"),
        (lambda: Dense(bias="0.1"), TypeError, "bias"),
        (lambda: AvgPool(0), ValueError, "window"),
        (lambda: AvgPool(2, stride=0), ValueError, "stride"),
        (lambda: AvgPool(2, stride=1.5), TypeError, "stride"),
        (lambda: AvgPool(2, padding="circular"), ValueError, "padding"),
        (lambda: myrtle(3, (8, 8)), ValueError, "depth"),
        (lambda: myrtle(5, None), ValueError, "image_shape"),
        (lambda: fc(0), ValueError, "depth"),
        (lambda: fc(1, bias=-1), ValueError, "bias"),
        (lambda: gap(1, 0), ValueError, "filter_size"),
        (lambda: flatten(1, 3, "full"), ValueError, "padding"),
    ],
)
def test_layer_parameter_validation(make, error, match):
    with pytest.raises(error, match=match):
        make()


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(architecture="resnet"), ValueError, "architecture"),
        (dict(architecture=3), TypeError, "architecture"),
        (dict(architecture=[Conv]), TypeError, "instance"),
        (dict(architecture=[Conv(3), "relu"]), TypeError, "architecture"),
        (dict(architecture=[Conv(3), ReLU()]), ValueError, "Flatten"),
        (dict(architecture=[Flatten(), Conv(3)]), ValueError, "spatial"),
        (dict(architecture=[GlobalAvgPool(), AvgPool(2)]), ValueError, "spatial"),
        (dict(architecture=[Conv(5, "valid"), Flatten()]), ValueError, "filter_size"),
        (dict(architecture=[AvgPool(5), Flatten()]), ValueError, "window"),
        (dict(architecture=[Conv(3), Flatten()], depth=2), ValueError, "depth"),
        (dict(architecture=[Conv(3), Flatten()], padding="valid"), ValueError, "padding"),
        (dict(architecture="myrtle", filter_size=5), ValueError, "filter_size"),
        (dict(architecture="gap", depth=0), ValueError, "depth"),
        (dict(architecture="gap", padding="valid", filter_size=5), ValueError, "filter_size"),
        (dict(architecture="flatten", kind="cntk"), ValueError, "kind"),
    ],
)
def test_cntk_kernel_architecture_validation(kwargs, error, match):
    X = np.random.default_rng(15).standard_normal((2, 4, 4, 1))
    with pytest.raises(error, match=match):
        cntk_kernel(X, **kwargs)


def test_public_names():
    import sklearn_ntk

    assert sklearn_ntk.layers is layers
    for name in layers.__all__:
        assert getattr(layers, name).__doc__


def test_layers_without_rules_are_refused_naming_architecture():
    from sklearn_ntk import CNTKSketch, cntk_kernel
    from sklearn_ntk.layers._base import Layer

    X = np.random.default_rng(0).random((4, 16))
    with pytest.raises(TypeError, match="architecture.*out_shape and kernel"):
        cntk_kernel(X, architecture=[Layer(), Flatten()], image_shape=(4, 4, 1))

    class Identity(Layer):  # an exact rule only
        def out_shape(self, shape):
            return shape

        def kernel(self, state):
            return state

    net = [Conv(3), Identity(), ReLU(), Flatten()]
    np.testing.assert_allclose(cntk_kernel(X, architecture=net, image_shape=(4, 4, 1)),
                               cntk_kernel(X, architecture=[Conv(3), ReLU(), Flatten()],
                                           image_shape=(4, 4, 1)))
    with pytest.raises(TypeError, match="architecture.*no feature"):
        CNTKSketch(16, architecture=net, image_shape=(4, 4, 1)).fit(X)


def test_equal_layers_compare_equal():
    assert Conv(3) == Conv((3, 3)) and Conv((3, 1)) != Conv(3)
    assert AvgPool(2) == AvgPool((2, 2), stride=(2, 2)) == AvgPool(2, stride=2)
    assert AvgPool(2, stride=1) != AvgPool(2)
    assert hash(Conv(3)) == hash(Conv((3, 3)))
