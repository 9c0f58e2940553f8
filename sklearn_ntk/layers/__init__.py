"""Composable layers of infinitely wide networks, in the spirit of neural-tangents' ``stax``.

An architecture is a list of immutable layer specifications,

>>> from sklearn_ntk.layers import Conv, ReLU, AvgPool, Flatten
>>> net = [Conv(3), ReLU(), AvgPool(2), Conv(3), ReLU(), Flatten()]

followed by a linear readout (the list's last layer if it is a :class:`Dense`, otherwise a
bias-free ``Dense()`` is appended). Pass it as ``architecture=`` to
:func:`sklearn_ntk.cntk_kernel` for the exact NTK or NNGP, or to
:class:`sklearn_ntk.CNTKSketch` (and its estimators) for random features whose inner
products approximate the same NTK.

Conventions are those of neural-tangents (NTK parameterisation, weight standard deviation
:math:`\\sqrt 2`, bias standard deviation ``bias``), so the kernels of the same layer list
agree with ``stax.serial(...)`` of the same layers to rounding. Two *defaults* differ from
``stax``'s, so spell them out when porting a network: ``Conv``'s ``padding`` defaults to
``"same"`` (``stax.Conv``: ``"VALID"``), and ``AvgPool``'s ``stride=None`` means
non-overlapping windows, stride = window (``stax.AvgPool``: stride 1). The input state of a
pair of images is the per-channel covariance :math:`\\Sigma_{pq} = \\langle x_p, y_q\\rangle / C`
of every pair of pixel positions, with :math:`\\Theta = 0`; each layer maps the pair of
matrices :math:`(\\Sigma, \\Theta)` (see each class), and the readout returns
:math:`2\\Sigma + \\beta^2` (NNGP) and :math:`2\\Sigma + \\beta^2 + 2\\Theta` (NTK).

Every layer also has a feature (sketch) rule, the randomised counterpart of its kernel
rule, acting on per-position features of one image: NNGP features :math:`g_p` and NTK
features :math:`t_p` whose inner products estimate :math:`\\Sigma_{pq}` and
:math:`\\Theta_{pq}`, and the position variances :math:`N_p`. Linear layers (``Dense``,
``Conv``, the poolings, ``Flatten``) map them linearly (a convolution's window direct sum
is sketched by a signed fold where the features are already random), a ``ReLU`` sketches
the polynomial approximations of its arc-cosine kernels (PolySketch and TensorSRHT,
Zandieh et al. 2021) or, in :class:`~sklearn_ntk.NTKRandomFeatures`, draws arc-cosine
random features (the ``fc`` preset with the random-feature rule). After a pooling the
variances are estimated from the pooled features, which makes the next ReLU's rescaling a
ratio estimator (bias of order one over the sketch width). The cost is linear in the number
of positions, at each layer's resolution.

Presets: :func:`gap`, :func:`flatten`, :func:`pool_flatten`, :func:`myrtle`, :func:`fc`.

References
----------
Novak, Xiao, Hron, Lee, Alemi, Sohl-Dickstein & Schoenholz, *Neural Tangents: Fast and Easy
Infinite Neural Networks in Python*, ICLR 2020.
Arora, Du, Hu, Li, Salakhutdinov & Wang, *On Exact Computation with an Infinitely Wide
Neural Net*, NeurIPS 2019.
Zandieh, Han, Avron, Shoham, Kim & Shin, *Scaling Neural Tangent Kernels via Sketching and
Random Features*, NeurIPS 2021.
"""

from ._base import Layer
from ._conv import Conv
from ._dense import Dense
from ._flatten import Flatten
from ._pool import AvgPool, GlobalAvgPool
from ._relu import ReLU
from .presets import fc, flatten, gap, myrtle, pool_flatten

__all__ = [
    "AvgPool",
    "Conv",
    "Dense",
    "Flatten",
    "GlobalAvgPool",
    "Layer",
    "ReLU",
    "fc",
    "flatten",
    "gap",
    "myrtle",
    "pool_flatten",
]
