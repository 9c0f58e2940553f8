"""
Exact and sketched kernel matrices, side by side
================================================

The kernel matrix of 150 handwritten digits (scikit-learn's bundled 8x8 images, 15 per class,
sorted by class), computed three ways for each kernel:

* top row: the exact fully connected NTK (:func:`~sklearn_ntk.ntk_kernel`, depth 2, on
  standardised pixels) and :math:`ZZ^\\top` for :class:`~sklearn_ntk.NTKSketch` with 1024
  features;
* bottom row: the exact convolutional NTK with global average pooling
  (:func:`~sklearn_ntk.cntk_kernel`, depth 2, 3x3 filters) and :math:`ZZ^\\top` for
  :class:`~sklearn_ntk.CNTKSketch` with 1024 features;

and, on the right, the difference. The block structure along the diagonal (images of the
same digit are more similar to one another) is what a kernel machine uses; the sketch keeps it,
and its error looks like unstructured noise.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler

from sklearn_ntk import CNTKSketch, NTKSketch, cntk_kernel, ntk_kernel

X, y = load_digits(return_X_y=True)
index = np.concatenate([np.flatnonzero(y == digit)[:15] for digit in range(10)])
X, y = X[index], y[index]

# %%
# Fully connected NTK on standardised pixels
X_std = StandardScaler().fit_transform(X)
K_fc = ntk_kernel(X_std, depth=2)
Z_fc = NTKSketch(n_components=1024, depth=2, random_state=0).fit_transform(X_std)

# %%
# Convolutional NTK on the images (pixels scaled to [0, 1])
images = X / 16.0
K_conv = cntk_kernel(images, depth=2, filter_size=3, image_shape=(8, 8))
Z_conv = CNTKSketch(n_components=1024, depth=2, filter_size=3, image_shape=(8, 8),
                    random_state=0).fit_transform(images)

# %%
# The figure: each row shares one colour scale; the differences use their own.
rows = [("NTK, depth 2", K_fc, Z_fc @ Z_fc.T, "NTKSketch(1024)"),
        ("CNTK (GAP), depth 2", K_conv, Z_conv @ Z_conv.T, "CNTKSketch(1024)")]
fig, axes = plt.subplots(2, 3, figsize=(11, 7.2))
for (title, K, K_sketch, name), row_axes in zip(rows, axes):
    low, high = np.percentile(K, [1, 99])
    error = np.linalg.norm(K_sketch - K) / np.linalg.norm(K)
    diff = K_sketch - K
    limit = np.percentile(np.abs(diff), 99)
    panels = [(K, f"exact {title}", "viridis", (low, high)),
              (K_sketch, f"{name}: $ZZ^T$", "viridis", (low, high)),
              (diff, f"difference (relative error {error:.3f})", "RdBu_r", (-limit, limit))]
    for ax, (matrix, label, cmap, (vmin, vmax)) in zip(row_axes, panels):
        image = ax.imshow(matrix, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
        ax.set_title(label, fontsize=10)
        ax.set_xticks(np.arange(10) * 15 + 7)
        ax.set_xticklabels(range(10), fontsize=7)
        ax.set_yticks(np.arange(10) * 15 + 7)
        ax.set_yticklabels(range(10), fontsize=7)
        fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
fig.suptitle("150 digits sorted by class (tick labels: the digit)")
fig.tight_layout()
plt.show()

for title, K, K_sketch, name in rows:
    error = np.linalg.norm(K_sketch - K) / np.linalg.norm(K)
    print(f"{name}: relative Frobenius error {error:.4f}")
