"""
How the cost grows with the number of samples
=============================================

Exact kernel ridge regression with the NTK needs the :math:`n \\times n` kernel matrix
(:math:`O(n^2)` memory and kernel evaluations) and a solve with it (:math:`O(n^3)` time).
Ridge regression on ``n_components`` features :math:`Z = \\varphi(X)` needs :math:`O(n)`
featurisation, the :math:`m \\times m` Gram matrix :math:`Z^\\top Z` accumulated in batches
(:math:`O(n m^2)`) and one :math:`m^3` eigendecomposition, independent of :math:`n`.

This example times both on generated regression data with 32 features (fit + predict on 1,000
test rows) at growing :math:`n`, and then fits the sketch out of core on a chunked Dask array,
with Dask's progress bar, when Dask is installed. Times depend on the machine; the slopes
are what carries over.
"""

import time

import matplotlib.pyplot as plt
import numpy as np
import scipy.linalg

from sklearn_ntk import NTKSketchRegressor, ntk_kernel

rng = np.random.default_rng(0)
n_features = 32


def make_data(n):
    X = rng.standard_normal((n, n_features)) / np.sqrt(n_features)
    y = np.sin(3 * X[:, 0]) + X[:, 1] * X[:, 2] + 0.1 * rng.standard_normal(n)
    return X, y


X_test, y_test = make_data(1000)


def time_exact(X, y, alpha=1e-2):
    start = time.perf_counter()
    K = ntk_kernel(X, depth=2)
    K[np.diag_indices_from(K)] += alpha
    dual = scipy.linalg.solve(K, y - y.mean(), assume_a="pos", overwrite_a=True)
    ntk_kernel(X_test, X, depth=2) @ dual + y.mean()
    return time.perf_counter() - start


def time_sketch(X, y):
    start = time.perf_counter()
    model = NTKSketchRegressor(n_components=512, depth=2, feature_map="random_features",
                               alphas=[1e-3, 1e-2, 1e-1, 1.0], random_state=0).fit(X, y)
    model.predict(X_test)
    return time.perf_counter() - start


# %%
# Timings
# -------
exact_sizes = [500, 1000, 2000, 3000]
sketch_sizes = [500, 1000, 2000, 4000, 8000, 16000]
time_sketch(*make_data(200))  # warm-up, not timed


def quick_best_of_two(timer, data):
    """On a busy machine a timing of a fraction of a second is noisy: repeat those."""
    seconds = timer(*data)
    return min(seconds, timer(*data)) if seconds < 1.0 else seconds


exact_times = [quick_best_of_two(time_exact, make_data(n)) for n in exact_sizes]
sketch_times = [quick_best_of_two(time_sketch, make_data(n)) for n in sketch_sizes]
for n, t in zip(exact_sizes, exact_times):
    print(f"exact  n={n:>6}: {t:6.2f} s")
for n, t in zip(sketch_sizes, sketch_times):
    print(f"sketch n={n:>6}: {t:6.2f} s")

# %%
# The plot, with the memory each method needs for its largest matrices
# --------------------------------------------------------------------
fig, (ax, ax_mem) = plt.subplots(1, 2, figsize=(11, 4.3))
ax.plot(exact_sizes, exact_times, "ks-", label="exact NTK kernel ridge")
ax.plot(sketch_sizes, sketch_times, "o-", label="NTKSketchRegressor (512 random features)")
n_line = np.array([exact_sizes[-1], 60000])
ax.plot(n_line, exact_times[-1] * (n_line / n_line[0]) ** 3, "k:", lw=1,
        label=r"exact, extrapolated $\propto n^3$")
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_xlabel("training rows n")
ax.set_ylabel("fit + predict time (s)")
ax.set_title("Time")
ax.grid(True, which="both", alpha=0.3)
ax.legend(fontsize=8)

n_all = np.geomspace(500, 1e6, 50)
ax_mem.plot(n_all, n_all ** 2 * 8 / 2 ** 30, "k-", label="exact: n x n float64 kernel")
ax_mem.plot(n_all, np.full_like(n_all, 512 ** 2 * 8 / 2 ** 30) + 256 / 1024, "C0-",
            label="sketch: Gram 512 x 512 + one 256 MiB batch")
ax_mem.set_xscale("log")
ax_mem.set_yscale("log")
ax_mem.set_xlabel("training rows n")
ax_mem.set_ylabel("GiB")
ax_mem.set_title("Memory of the largest intermediates")
ax_mem.grid(True, which="both", alpha=0.3)
ax_mem.legend(fontsize=8)
fig.tight_layout()
plt.show()

# %%
# Out of core with Dask
# ---------------------
# ``fit`` on a row-chunked Dask array accumulates the ridge statistics chunk by chunk, so
# only one chunk of features is in memory at a time; the result equals the in-memory fit up
# to rounding. ``dask.diagnostics.ProgressBar`` shows the progress of the computation. (With
# data on disk, ``dask.array.from_zarr`` would take the place of ``from_array``.)
try:
    import dask.array as da
    from dask.diagnostics import ProgressBar
except ImportError:
    print("Dask is not installed: pip install 'dask[array]' to run this part")
else:
    X, y = make_data(12000)
    X_dask = da.from_array(X, chunks=(1500, n_features))
    y_dask = da.from_array(y, chunks=1500)
    params = dict(n_components=512, depth=2, feature_map="random_features",
                  alphas=[1e-3, 1e-2, 1e-1, 1.0], random_state=0)
    with ProgressBar(dt=1):  # redraw once a second
        out_of_core = NTKSketchRegressor(**params).fit(X_dask, y_dask)
    in_memory = NTKSketchRegressor(**params).fit(X, y)
    difference = np.max(np.abs(out_of_core.coef_ - in_memory.coef_))
    print(f"{X_dask.numblocks[0]} chunks; largest coefficient difference to the in-memory "
          f"fit: {difference:.1e}; test R^2 {out_of_core.score(X_test, y_test):.3f}")
