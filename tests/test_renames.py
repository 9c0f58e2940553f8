"""Renamed parameters and attributes keep working for one release, with a FutureWarning."""

import warnings

import numpy as np
import pytest

from sklearn_ntk import CNTKSketch, NTKSketch, cntk_kernel, ntk_kernel


@pytest.fixture
def images():
    return np.random.default_rng(0).standard_normal((6, 4 * 4 * 2))


def _no_warning(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return fn()


@pytest.mark.parametrize("make", [
    lambda: NTKSketch(64, depth=2, random_state=0),
    lambda: CNTKSketch(64, depth=2, image_shape=(4, 4, 2), random_state=0),
    lambda: CNTKSketch(64, architecture="flatten", depth=2, image_shape=(4, 4, 2),
                       random_state=0),
], ids=["NTKSketch", "CNTKSketch", "CNTKSketch-layers"])
def test_polynomial_coef_replaces_coef(make, images):
    fm = make()
    # unfitted: neither name exists, and asking does not warn
    assert not _no_warning(lambda: hasattr(fm, "coef_"))
    assert not hasattr(fm, "polynomial_coef_")
    fm.fit(images)
    new = _no_warning(lambda: np.asarray(fm.polynomial_coef_))
    assert new.ndim in (1, 3) and np.all(new >= 0) and new.sum() > 0
    with pytest.warns(FutureWarning, match="coef_ was renamed to polynomial_coef_"):
        old = np.asarray(fm.coef_)
    np.testing.assert_array_equal(old, new)
    # the fitted attributes scikit-learn sees are the new names only
    assert "coef_" not in vars(fm) and "polynomial_coef_" in vars(fm)


@pytest.mark.parametrize("architecture", [None, "flatten"])
def test_cntk_fit_errors(architecture, images):
    fm = CNTKSketch(64, depth=2, architecture=architecture, image_shape=(4, 4, 2),
                    random_state=0).fit(images)
    per_layer = _no_warning(lambda: fm.layer_fit_errors_)
    assert len(per_layer) == 2
    # fit_error_ means what it means on NTKSketch: the worst error of any fit in use
    assert fm.fit_error_ == max(max(e) for e in per_layer) > 0
    with pytest.warns(FutureWarning, match="fit_errors_ was renamed to layer_fit_errors_"):
        assert fm.fit_errors_ == per_layer


def test_ntk_sketch_fit_error_is_a_float(images):
    fm = NTKSketch(64, depth=2, random_state=0).fit(images)
    assert isinstance(fm.fit_error_, float) and 0 < fm.fit_error_ < 0.1


def test_exact_kernels_share_max_memory(images):
    """Both exact kernels take max_memory; the old block knobs warn and give the same K."""
    X = images
    for fn, old in ((ntk_kernel, {"block_size": 2}), (cntk_kernel, {"batch_size": 2})):
        kwargs = {"image_shape": (4, 4, 2)} if fn is cntk_kernel else {}
        base = _no_warning(lambda: fn(X, **kwargs))
        tight = _no_warning(lambda: fn(X, max_memory=1, **kwargs))
        np.testing.assert_allclose(tight, base, rtol=1e-14, atol=0)
        with pytest.warns(FutureWarning, match="deprecated"):
            np.testing.assert_allclose(fn(X, **old, **kwargs), base, rtol=1e-14, atol=0)
