"""
Approximation error against ``n_components``
============================================

How close is :math:`ZZ^\\top` to the exact kernel matrix, and how fast does it get closer as the
number of features grows? For each feature map we compute the relative Frobenius error

.. math::

    \\frac{\\|\\varphi(X)\\varphi(X)^\\top - K\\|_F}{\\|K\\|_F}

against the exact kernel :math:`K`:

* :class:`~sklearn_ntk.NTKSketch` and :class:`~sklearn_ntk.NTKRandomFeatures` against
  :func:`~sklearn_ntk.ntk_kernel` (fully connected ReLU network of depth 2) on 300 Gaussian
  points in 16 dimensions;
* :class:`~sklearn_ntk.CNTKSketch` against :func:`~sklearn_ntk.cntk_kernel` (two 3x3
  convolution + ReLU layers, global average pooling) on 40 of scikit-learn's 8x8 digit images.

Every point is the mean over three ``random_state`` values. A Monte Carlo estimate would shrink
like :math:`1/\\sqrt{m}`; the dashed line shows that rate for reference. See :ref:`mathematics`
for what each map computes.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits

from sklearn_ntk import CNTKSketch, NTKRandomFeatures, NTKSketch, cntk_kernel, ntk_kernel


def relative_error(Z, K):
    return np.linalg.norm(Z @ Z.T - K) / np.linalg.norm(K)


def mean_error(make_map, X, K, n_components, seeds=(0, 1, 2)):
    return np.mean([relative_error(make_map(n_components, seed).fit_transform(X), K)
                    for seed in seeds])


# %%
# Fully connected NTK, depth 2
# ----------------------------
rng = np.random.default_rng(0)
X = rng.standard_normal((300, 16))
K = ntk_kernel(X, depth=2)

sizes = [128, 256, 512, 1024, 2048, 4096]
errors = {
    "NTKSketch": [mean_error(lambda m, s: NTKSketch(m, depth=2, random_state=s), X, K, m)
                  for m in sizes],
    "NTKRandomFeatures": [
        mean_error(lambda m, s: NTKRandomFeatures(m, depth=2, random_state=s), X, K, m)
        for m in sizes],
}

# %%
# Convolutional NTK, depth 2, on 8x8 digits
# -----------------------------------------
# At depth 2 and more the CNTKSketch error is heavy-tailed across seeds (one random scale
# shared by all pairs of a draw dominates the Frobenius norm), so every seed is shown, with
# the median.
images = load_digits().data[:40] / 16.0
K_images = cntk_kernel(images, depth=2, filter_size=3, image_shape=(8, 8))
cntk_sizes = [128, 256, 512, 1024, 2048]
cntk_seeds = range(6)
cntk_errors = np.array([
    [relative_error(CNTKSketch(m, depth=2, filter_size=3, image_shape=(8, 8),
                               random_state=s).fit_transform(images), K_images)
     for s in cntk_seeds]
    for m in cntk_sizes])

for name, values in errors.items():
    print(f"{name:>18}: " + ", ".join(f"{e:.3f}" for e in values))
print(f"{'CNTKSketch median':>18}: " + ", ".join(f"{e:.3f}" for e in np.median(cntk_errors, 1)))

# %%
# The plot
# --------
fig, (ax, ax2) = plt.subplots(1, 2, figsize=(10, 4.2), sharey=True)
for (name, values), marker in zip(errors.items(), "os"):
    ax.plot(sizes, values, marker=marker, label=name)
reference = errors["NTKSketch"][0] * np.sqrt(sizes[0] / np.array(sizes))
ax.plot(sizes, reference, "k--", lw=1, label=r"$\propto 1/\sqrt{n_{components}}$")
ax.set_title("Fully connected NTK, depth 2 (mean of 3 seeds)")
ax.set_ylabel(r"relative error $\|ZZ^T - K\|_F / \|K\|_F$")
for m, row in zip(cntk_sizes, cntk_errors):
    ax2.scatter([m] * len(row), row, color="C2", alpha=0.4, s=18)
ax2.plot(cntk_sizes, np.median(cntk_errors, axis=1), "D-", color="C2",
         label="CNTKSketch, median of 6 seeds")
ax2.set_title("CNTK (GAP), depth 2, 40 digit images")
for axis in (ax, ax2):
    axis.set_xscale("log", base=2)
    axis.set_yscale("log")
    axis.set_xlabel("n_components")
    axis.grid(True, which="both", alpha=0.3)
    axis.legend()
fig.tight_layout()
plt.show()

# %%
# At equal width, :class:`~sklearn_ntk.NTKSketch` is about twice as accurate as
# :class:`~sklearn_ntk.NTKRandomFeatures` here; the random features are cheaper per row and are
# the map that handles a bias term. Both errors fall roughly like :math:`1/\sqrt{m}`, as for
# any unbiased random-feature estimate. :class:`~sklearn_ntk.CNTKSketch` improves with width
# too, but single draws scatter widely; its per-pixel width ``sketch_dim`` (by default
# ``n_components // 8``, at least 64) sets most of the variance.
