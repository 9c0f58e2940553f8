"""Array namespace helpers: one code path for NumPy, CuPy, torch and ``array_api_strict``.

Random parameters are always drawn on the host with NumPy (so every backend computes the same
features for the same ``random_state``) and moved to the input's namespace/device when used.
"""

import numpy as np
import scipy.fft
from sklearn.utils._array_api import _convert_to_numpy, get_namespace_and_device


def namespace_of(*arrays):
    """Return ``(xp, device)`` of the arrays, honouring scikit-learn's ``array_api_dispatch``."""
    xp, _, device = get_namespace_and_device(*arrays)
    return xp, device


def check_same_namespace(X, estimator, *, attribute, method):
    """Raise a ``ValueError`` when ``X`` is not in the namespace/device of a fitted array.

    Only under ``array_api_dispatch``: without it every input is converted to NumPy. NumPy
    inputs (and array-likes) pass for a NumPy-fitted estimator. The message follows the
    wording scikit-learn's array API estimator checks look for.
    """
    from sklearn import get_config

    if not get_config().get("array_api_dispatch", False):
        return
    fitted_xp, _, fitted_device = get_namespace_and_device(getattr(estimator, attribute))
    X_xp, _, X_device = get_namespace_and_device(X)
    if (X_xp == fitted_xp and X_device == fitted_device) or (
            _is_numpy(fitted_xp) and _is_numpy(X_xp)):
        return
    raise ValueError(
        f"Inputs passed to {type(estimator).__name__}.{method}() must use the same namespace "
        f"and the same device as those passed to fit(): fitted with {fitted_xp.__name__} on "
        f"{fitted_device!r}, got {X_xp.__name__} on {X_device!r}. Convert X, or refit on "
        "arrays of its namespace.")


def to_device(xp, array, device, dtype=None):
    """Copy a host NumPy parameter to namespace ``xp`` on ``device`` (optionally cast)."""
    out = xp.asarray(np.ascontiguousarray(array), device=device)
    if dtype is not None and out.dtype != dtype:
        out = xp.astype(out, dtype)
    return out


def to_numpy(xp, array):
    """Copy an array of namespace ``xp`` to a host NumPy array."""
    return _convert_to_numpy(array, xp=xp)


def complex_dtype_for(xp, real_dtype):
    """complex64 for float32 input, complex128 otherwise."""
    return xp.complex64 if real_dtype == xp.float32 else xp.complex128


def is_complex(xp, array):
    return array.dtype in (xp.complex64, xp.complex128)


def _is_numpy(xp):
    return xp.__name__ in ("numpy", "array_api_compat.numpy", "sklearn.externals.array_api_compat.numpy")


def fft_last(xp, array, overwrite=False):
    """FFT along the last axis.

    NumPy input goes through ``scipy.fft`` with all cores: it is multi-threaded and has a real
    single-precision kernel (``numpy.fft`` computes complex64 slower than complex128).
    ``overwrite=True`` lets it reuse the input's memory (pass only temporaries).
    """
    if _is_numpy(xp):
        return scipy.fft.fft(np.asarray(array), axis=-1, workers=-1, overwrite_x=overwrite)
    return xp.fft.fft(array, axis=-1)


def rfft_last(xp, array):
    """Real-input FFT along the last axis (half spectrum); see :func:`fft_last`."""
    if _is_numpy(xp):
        return scipy.fft.rfft(np.asarray(array), axis=-1, workers=-1)
    return xp.fft.rfft(array, axis=-1)
