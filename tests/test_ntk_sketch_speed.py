"""Tests of the fast NTKSketch path (issue 12, item 1): per-power root blocks instead of a final
SRHT, fixed frequency pairings above the leaves, row chunks and the default internal width.

Unbiasedness is checked statistically, as in ``tests/test_sketches.py``: the mean of many
independent estimates lies within five standard errors of the exact value, and the standard
error is small enough for that to matter.
"""

import zlib

import numpy as np
import pytest
from array_api_compat import numpy as xp

from sklearn_ntk import NTKSketch, ntk_kernel
from sklearn_ntk._sketches import (
    allocate_widths,
    draw_polysketch_blocks,
    polysketch_blocks,
    prepare_polysketch_blocks,
)
from sklearn_ntk.feature_maps import default_sketch_dim


@pytest.fixture
def rng(request):
    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))


def test_allocate_widths_sums_and_follows_the_weights():
    widths = allocate_widths([0.5, 0.3, 0.15, 0.05], 1000)
    assert sum(widths) == 1000 and min(widths) >= 1
    np.testing.assert_allclose(widths, [500, 300, 150, 50], atol=1)
    # every power keeps one output however small its weight
    assert allocate_widths([1.0, 1e-9, 1e-9], 3) == [1, 1, 1]
    assert sum(allocate_widths([1.0, 1e-9, 2.0], 7)) == 7
    with pytest.raises(ValueError):
        allocate_widths([1.0, 1.0], 1)


@pytest.mark.parametrize("degree, n_out", [(2, 16), (3, 16), (5, 12), (8, 8)])
def test_polysketch_blocks_unbiased_for_every_power(degree, n_out, rng):
    """E Re<S_j(x), S_j(y)> = m_j <x, y>^j for every power, at every tree shape."""
    d = 6
    X = rng.standard_normal((3, d))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    X[1] = X[0] + 0.4 * X[1]
    X[1] /= np.linalg.norm(X[1])
    X[2] *= 1.2
    widths = {j: 3 + j % 3 for j in range(1, degree + 1)}
    estimates = {j: [] for j in widths}
    for seed in range(1500):
        params = draw_polysketch_blocks(np.random.RandomState(seed), d, n_out, degree, widths)
        blocks = polysketch_blocks(xp, X, prepare_polysketch_blocks(xp, params, None,
                                                                    xp.float64))
        for j, block in zip(sorted(widths), blocks):
            assert block.shape == (3, widths[j])
            estimates[j].append(np.real(block @ np.conj(block).T) / widths[j])
    G = X @ X.T
    for j in widths:
        values = np.asarray(estimates[j])
        mean = values.mean(axis=0)
        se = values.std(axis=0, ddof=1) / np.sqrt(len(values))
        target = G ** j
        assert se.max() <= 0.1 * np.abs(target).max(), (j, se.max())
        np.testing.assert_array_less(np.abs(mean - target), 5 * se + 1e-12)


def test_blocks_write_equals_returned_blocks(rng):
    X = rng.standard_normal((5, 7))
    widths = {2: 9, 3: 4, 4: 11}
    params = prepare_polysketch_blocks(
        xp, draw_polysketch_blocks(np.random.RandomState(0), 7, 16, 4, widths), None,
        xp.float64)
    returned = polysketch_blocks(xp, X, params)
    written = {}
    polysketch_blocks(xp, X, params, write=lambda k, a, b: written.__setitem__(k, a * b))
    for k, block in enumerate(returned):
        np.testing.assert_allclose(written[k], block, rtol=1e-14)


def test_float32_stays_single_precision(rng):
    X = rng.standard_normal((4, 9)).astype(np.float32)
    widths = {2: 5, 3: 5}
    params = prepare_polysketch_blocks(
        xp, draw_polysketch_blocks(np.random.RandomState(0), 9, 16, 3, widths), None,
        xp.float32)
    assert all(b.dtype == np.complex64 for b in polysketch_blocks(xp, X, params))


def test_default_sketch_dim():
    assert default_sketch_dim(4096) == 1024
    assert default_sketch_dim(256) == 64
    assert default_sketch_dim(100) == 64
    assert default_sketch_dim(10) == 10
    fm = NTKSketch(4096, random_state=0).fit(np.ones((2, 3)))
    assert fm._sketch_dim == 1024
    assert NTKSketch(4096, sketch_dim=300, random_state=0).fit(np.ones((2, 3)))._sketch_dim == 300


def test_chunks_do_not_change_the_features(rng):
    """Features are a function of (random_state, row): any chunking gives the same values."""
    X = rng.standard_normal((300, 20))
    fm = NTKSketch(512, depth=2, random_state=0).fit(X)
    Z = fm.transform(X)
    step = fm._chunk_rows()
    assert step < len(X)  # the chunk loop is exercised
    one_by_one = np.vstack([fm.transform(X[i:i + 1]) for i in range(0, 300, 37)])
    np.testing.assert_allclose(one_by_one, Z[::37], rtol=0, atol=1e-12 * np.abs(Z).max())
    small = NTKSketch(512, depth=2, random_state=0, max_memory=50_000).fit(X).transform(X)
    np.testing.assert_allclose(small, Z, rtol=0, atol=1e-12 * np.abs(Z).max())


@pytest.mark.parametrize("degree", [2, 4, 8])
def test_block_widths_fill_the_output(degree, rng):
    X = rng.standard_normal((6, 16))
    for n_components in (64, 65, 4096, 4097):
        fm = NTKSketch(n_components, degree=degree, random_state=0).fit(X)
        n_real = n_components - 1 - 16 * fm.exact_linear_
        assert 2 * sum(fm._widths.values()) == n_real - n_real % 2
        assert fm.transform(X).shape == (6, n_components)


@pytest.mark.slow
def test_error_at_4096_for_degree_4(rng):
    """Degree 4 (used where speed matters) also meets the 0.10 bound at every depth."""
    X = rng.standard_normal((300, 16))
    for depth in (1, 2, 3):
        K = ntk_kernel(X, depth=depth)
        errors = []
        for seed in range(3):
            Z = NTKSketch(4096, depth=depth, degree=4, random_state=seed).fit_transform(X)
            errors.append(np.linalg.norm(Z @ Z.T - K) / np.linalg.norm(K))
        assert np.mean(errors) <= 0.10, (depth, errors)
