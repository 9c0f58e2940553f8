"""Parameter checks shared by the kernels, feature maps and estimators."""

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


def check_kind(kind):
    if kind not in ("ntk", "nngp"):
        raise ValueError(f"kind must be 'ntk' or 'nngp', got {kind!r}.")
    return kind
