"""
NTK sketch vs exact NTK: kernel approximation and regression
============================================================

Shows the two sides of the library on small data:

1. how well ``Z Z^T`` of :class:`sklearn_ntk.NTKSketch` and
   :class:`sklearn_ntk.NTKRandomFeatures` approximates the exact :func:`sklearn_ntk.ntk_kernel`
   as ``n_components`` grows;
2. ridge regression on sketch features (:class:`sklearn_ntk.NTKSketchRegressor`, penalty chosen
   by generalised cross-validation) against exact NTK kernel ridge regression, on scikit-learn's
   bundled diabetes data, inside a ``Pipeline`` with ``StandardScaler``.

Run: ``python examples/ntk_sketch_vs_exact.py``
"""

import time

import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.kernel_ridge import KernelRidge
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_ntk import NTKRandomFeatures, NTKSketch, NTKSketchRegressor, ntk_kernel

# --- 1. kernel approximation error -------------------------------------------------------
rng = np.random.default_rng(0)
X = rng.standard_normal((300, 16))
K = ntk_kernel(X, depth=2)
print("relative Frobenius error ||ZZ^T - K|| / ||K||, depth 2")
print(f"{'n_components':>12} {'NTKSketch':>10} {'NTKRandomFeatures':>18}")
for n_components in (128, 512, 2048):
    errors = []
    for feature_map in (NTKSketch(n_components, depth=2, random_state=0),
                        NTKRandomFeatures(n_components, depth=2, random_state=0)):
        Z = feature_map.fit_transform(X)
        errors.append(np.linalg.norm(Z @ Z.T - K) / np.linalg.norm(K))
    print(f"{n_components:>12} {errors[0]:>10.4f} {errors[1]:>18.4f}")

# --- 2. regression: sketch vs exact ------------------------------------------------------
X, y = load_diabetes(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
scaler = StandardScaler().fit(X_train)

start = time.perf_counter()
K_train = ntk_kernel(scaler.transform(X_train), depth=2)
K_test = ntk_kernel(scaler.transform(X_test), scaler.transform(X_train), depth=2)
exact = KernelRidge(alpha=10.0, kernel="precomputed").fit(K_train, y_train - y_train.mean())
r2_exact = 1 - np.sum((exact.predict(K_test) + y_train.mean() - y_test) ** 2) / np.sum(
    (y_test - y_test.mean()) ** 2)
t_exact = time.perf_counter() - start

start = time.perf_counter()
model = make_pipeline(StandardScaler(), NTKSketchRegressor(
    n_components=2048, depth=2, alphas=np.logspace(-2, 3, 11), random_state=0))
model.fit(X_train, y_train)
r2_sketch = model.score(X_test, y_test)
t_sketch = time.perf_counter() - start
print(f"\nexact NTK kernel ridge (alpha=10): R^2 = {r2_exact:.3f} ({t_exact:.2f} s)")
print(f"NTKSketchRegressor (GCV alpha={model[-1].alpha_:.3g}): R^2 = {r2_sketch:.3f} "
      f"({t_sketch:.2f} s)")
