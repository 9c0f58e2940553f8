"""Ridge regression and classification on CNTKSketch features."""

from ._base import store_params
from .cntk_sketch import CNTKSketch
from .estimators import RIDGE_PARAMS_DOC, FeatureRidgeClassifier, FeatureRidgeRegressor, \
    attributes_doc

__all__ = ["CNTKSketchClassifier", "CNTKSketchRegressor"]

# the map's own constraints (its random_state and max_memory are the ridge's too)
_SKETCH_PARAMS = CNTKSketch._parameter_constraints


class _CNTKFeatureMixin:
    """The CNTK estimators' parameters, and the :class:`CNTKSketch` they name."""

    def __init__(self, n_components=2048, *, architecture="pool_flatten", depth=None,
                 filter_size=3, padding="same", degree=4, sketch_dim=None, image_shape=None,
                 flip_invariant=False, alpha=None, alphas=None, fit_intercept=True,
                 random_state=None, max_memory=None, verbose=0):
        store_params(self, locals())

    def _make_feature_map(self):
        return CNTKSketch(n_components=self.n_components, architecture=self.architecture,
                          depth=self.depth,
                          filter_size=self.filter_size, padding=self.padding,
                          degree=self.degree, sketch_dim=self.sketch_dim,
                          image_shape=self.image_shape, flip_invariant=self.flip_invariant,
                          random_state=self.random_state, max_memory=self.max_memory)


_COMMON_DOC = r"""
    Parameters
    ----------
    n_components : int, default=2048
        Number of CNTKSketch features.
    architecture : str, list of layers or None, default="pool_flatten"
        The network whose NTK is sketched; see :class:`CNTKSketch`. The default,
        :func:`~sklearn_ntk.layers.pool_flatten`, averages the images down to at most 16
        positions a side, then one 3x3 convolution + ReLU and a flattening readout; on a
        single position (``image_shape=None``) it is the fully connected NTK of one hidden
        layer. ``architecture=None``: the global average pooling network of ``depth``,
        ``filter_size`` and ``padding`` (the former default). Other preset names: ``"gap"``,
        ``"flatten"``, ``"myrtle"``, ``"fc"``. A list of :mod:`sklearn_ntk.layers` must
        leave ``depth``, ``filter_size`` and ``padding`` at their defaults.
    depth : int, default=None
        Number ``L`` of convolution + ReLU layers (``None``: 1) for ``"pool_flatten"``,
        ``None``, ``"gap"`` and ``"flatten"``; the Myrtle depth for ``"myrtle"``
        (``None``: 5); hidden layers for ``"fc"``.
    filter_size : int, default=3
        Side ``f`` of the square filters (stride 1), for ``"pool_flatten"``,
        ``architecture=None``, ``"gap"`` and ``"flatten"``.
    padding : {"same", "valid"}, default="same"
        Zero padding of the convolutions.
    degree : int, default=4
        Degree of the polynomial approximations of the ReLU kernels; see
        :class:`CNTKSketch` (8 removes most of a bias that 4 leaves, at about 2x the cost).
    sketch_dim : int, default=None
        Width of the per-pixel sketches; ``None``: ``n_components // 8`` clipped to
        ``[64, 512]``, or ``n_components // 2`` when every ReLU acts on a single position
        (see :class:`CNTKSketch`).
    image_shape : tuple (H, W) or (H, W, C), default=None
        Shape of one image (rows of ``X`` are flattened row-major ``(H, W, C)``); ``None``:
        ``(1, 1, n_features)``, one pixel with the features as channels (a fully connected
        NTK); always pass it for images.
    flip_invariant : bool, default=False
        Features averaged over each image and its mirror image (see :class:`CNTKSketch`):
        the kernel of the network averaged over horizontal flips, at twice the
        featurisation cost.
""" + RIDGE_PARAMS_DOC

_DEFAULTS_DOC = """
    The defaults (``pool_flatten`` of depth 1, 2,048 features, degree 4, the penalty by
    GCV) were chosen by measurement on Fashion-MNIST and scikit-learn's digits
    (``benchmarks/RESULTS.md``, sections (f) and (f2)): of the candidates that cost about
    as much as the former default (CNTK-GAP of depth 1, 1,024 features) they were the most
    accurate, 5.6-5.8 points above it on Fashion-MNIST. They differ from :class:`CNTKSketch`'s, which
    approximates :func:`~sklearn_ntk.cntk_kernel`'s default kernel. Featurisation costs time
    linear in the images and in the pooled positions.
"""

_REFERENCES = """
    References
    ----------
    A. Zandieh, I. Han, H. Avron, N. Shoham, C. Kim, J. Shin. *Scaling Neural Tangent Kernels via
    Sketching and Random Features*. NeurIPS 2021. S. Arora et al. *On Exact Computation with an
    Infinitely Wide Neural Net*. NeurIPS 2019.
"""


class CNTKSketchRegressor(_CNTKFeatureMixin, FeatureRidgeRegressor):
    __doc__ = r"""Ridge regression on CNTKSketch features: approximate CNTK regression.

    Fits :math:`\min_w \|Zw - y\|^2 + \alpha\|w\|^2` on :math:`Z = \varphi(X)`, the
    :class:`CNTKSketch` features with :math:`ZZ^T \approx` the convolutional NTK of the ReLU
    network ``architecture``; the cost is linear in the number of images and of pixels.
    """ + _DEFAULTS_DOC + _COMMON_DOC + attributes_doc("CNTKSketch") + _REFERENCES + """
    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_ntk import CNTKSketchRegressor
    >>> rng = np.random.RandomState(0)
    >>> X = rng.rand(40, 6 * 6); y = X[:, :18].sum(axis=1)
    >>> model = CNTKSketchRegressor(n_components=128, image_shape=(6, 6),
    ...                             random_state=0).fit(X, y)
    >>> model.predict(X[:2]).shape
    (2,)
    """

    _parameter_constraints = {**FeatureRidgeRegressor._parameter_constraints, **_SKETCH_PARAMS}


class CNTKSketchClassifier(_CNTKFeatureMixin, FeatureRidgeClassifier):
    __doc__ = r"""Classification by ridge regression of centred one-hot targets on CNTKSketch features.

    As in Zandieh et al. (2021): targets are the class indicators minus ``1/k`` (``k``
    classes), regressed on the :class:`CNTKSketch` features :math:`Z = \varphi(X)`
    (:math:`ZZ^T \approx` the CNTK of ``architecture``); ``decision_function``
    returns the regression scores and ``predict`` their argmax.
    """ + _DEFAULTS_DOC + _COMMON_DOC + attributes_doc("CNTKSketch", classifier=True) \
        + _REFERENCES + """
    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_ntk import CNTKSketchClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = CNTKSketchClassifier(n_components=512, image_shape=(8, 8), alpha=0.1,
    ...                            random_state=0).fit(X[:500], y[:500])
    >>> float(clf.score(X[500:700], y[500:700])) > 0.9
    True
    """

    _parameter_constraints = {**FeatureRidgeClassifier._parameter_constraints, **_SKETCH_PARAMS}
