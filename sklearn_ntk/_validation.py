"""Parameter checks shared by the kernels, feature maps and estimators."""

import math
import numbers

import numpy as np


def check_int(value, name, *, min_value=1):
    """Return ``value`` as an int >= ``min_value`` or raise a ValueError naming ``name``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer >= {min_value}, got {value!r}.")
    if value < min_value:
        raise ValueError(f"{name} must be an integer >= {min_value}, got {value!r}.")
    return int(value)


def check_nonnegative_float(value, name):
    """Return ``value`` as a finite Python float >= 0 or raise a ValueError naming ``name``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a non-negative real number, got {value!r}.")
    value = float(value)
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a non-negative real number, got {value!r}.")
    return value


#: The largest bias standard deviation accepted (about 8.4e152): beta^2 must be a float64
#: with room for the sums over layers that add it, and Python's ``beta ** 2`` must not
#: overflow. Any bias a network would use is many orders of magnitude smaller.
MAX_BIAS = math.sqrt(float(np.finfo(np.float64).max)) / 16.0


def max_bias(depth=None):
    r"""The largest bias for a fully connected network of ``depth`` hidden layers.

    With bias :math:`\beta`, every layer adds :math:`\beta^2` to :math:`\Sigma` and the NTK
    sums the :math:`\Sigma` of all layers, so its diagonal grows like
    :math:`\tfrac12 (L+1)(L+2)\,\beta^2`; that must stay inside float64 with the same
    margin as :data:`MAX_BIAS`.
    """
    if depth is None:
        return MAX_BIAS
    terms = (depth + 1) * (depth + 2) / 2
    return min(MAX_BIAS, math.sqrt(float(np.finfo(np.float64).max) / 256.0 / terms))


def check_bias_value(value, name="bias", depth=None):
    """Return a bias as a Python float in ``[0, max_bias(depth)]``; ValueError naming ``name``."""
    value = check_nonnegative_float(value, name)
    limit = max_bias(depth)
    if value > limit:
        at = "" if depth is None else f" at depth {depth}"
        raise ValueError(f"{name} must be at most {limit:.3g}{at} (its square is summed over "
                         f"layers in float64), got {value!r}.")
    return value


def check_kind(kind):
    if kind not in ("ntk", "nngp"):
        raise ValueError(f"kind must be 'ntk' or 'nngp', got {kind!r}.")
    return kind
