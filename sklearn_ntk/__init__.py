"""sklearn-ntk: Neural Tangent Kernel sketches and random features for scikit-learn.

Exact NTK/CNTK kernels, feature maps :math:`Z = \\varphi(X)` with :math:`ZZ^T \\approx` NTK
(Zandieh et al., NeurIPS 2021), and ridge estimators on them.
"""

from .cntk_estimators import CNTKSketchClassifier, CNTKSketchRegressor
from .cntk_sketch import CNTKSketch
from .estimators import NTKSketchClassifier, NTKSketchRegressor
from .feature_maps import NTKRandomFeatures, NTKSketch
from .kernels import cntk_kernel, ntk_kernel
from . import layers
from .nystroem import NTKNystroem
from .preprocessing import ZCAWhitening

__version__ = "0.1.0.dev0"

__all__ = [
    "CNTKSketch",
    "CNTKSketchClassifier",
    "CNTKSketchRegressor",
    "NTKNystroem",
    "NTKRandomFeatures",
    "NTKSketch",
    "NTKSketchClassifier",
    "NTKSketchRegressor",
    "ZCAWhitening",
    "cntk_kernel",
    "ntk_kernel",
]
