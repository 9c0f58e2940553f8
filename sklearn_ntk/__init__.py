"""sklearn-ntk: Neural Tangent Kernel sketches and random features for scikit-learn."""

__version__ = "0.1.0.dev0"
