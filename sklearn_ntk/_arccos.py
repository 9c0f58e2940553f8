"""Arc-cosine functions of the ReLU and the depth-L NTK on the sphere.

Implements the arc-cosine functions and the homogeneous (bias-free) form of the fully
connected NTK recursion (see the Mathematics page of the documentation):

    kappa0(t) = (pi - arccos t) / pi
    kappa1(t) = (sqrt(1 - t^2) + t (pi - arccos t)) / pi

References
----------
Cho & Saul, *Kernel Methods for Deep Learning*, NeurIPS 2009.
Zandieh et al., *Scaling Neural Tangent Kernels via Sketching and Random Features*, NeurIPS 2021.
"""

import numpy as np


def kappa0(t):
    """Order-0 arc-cosine function (the ReLU derivative kernel) of a cosine ``t``.

    ``t`` is clipped to ``[-1, 1]`` first, so rounding just outside the range is harmless.
    """
    t = np.clip(t, -1.0, 1.0)
    return (np.pi - np.arccos(t)) / np.pi


def kappa1(t):
    """Order-1 arc-cosine function (the ReLU kernel) of a cosine ``t``; ``kappa1(1) = 1``."""
    t = np.clip(t, -1.0, 1.0)
    return (np.sqrt(np.maximum(1.0 - t * t, 0.0)) + t * (np.pi - np.arccos(t))) / np.pi


def ntk_on_sphere(t, depth):
    r"""Depth-``L`` bias-free ReLU NTK of two unit vectors with cosine ``t``.

    .. math::

        Y_0 = t,\quad Y_{i+1} = \kappa_1(Y_i),\quad
        K_L(t) = \sum_{i=0}^{L} Y_i \prod_{j=i}^{L-1} \kappa_0(Y_j),

    so that :math:`\Theta^{(L)}(x, y) = \|x\|\|y\| K_L(\langle x, y\rangle/\|x\|\|y\|)`
    and :math:`K_L(1) = L + 1`.
    """
    t = np.clip(np.asarray(t, dtype=np.float64), -1.0, 1.0)
    theta = t  # running NTK value Theta^(h), starts at Theta^(0) = Sigma^(0) = t
    sigma = t
    for _ in range(depth):
        dot = kappa0(sigma)
        sigma = kappa1(sigma)
        theta = theta * dot + sigma
    return theta


def nngp_on_sphere(t, depth):
    """Depth-``L`` bias-free ReLU NNGP kernel ``kappa1`` composed ``L`` times."""
    sigma = np.clip(np.asarray(t, dtype=np.float64), -1.0, 1.0)
    for _ in range(depth):
        sigma = kappa1(sigma)
    return sigma
