"""NTKRandomFeatures from a given source tree: kernel error and transform throughput.

Run it once per source tree (for example the current checkout and a git worktree of an
older commit) to compare two implementations side by side in one session::

    git worktree add /tmp/former <commit>
    for tree in /tmp/former .; do
        python benchmarks/bench_random_features_loop.py $tree error
        python benchmarks/bench_random_features_loop.py $tree float64
        python benchmarks/bench_random_features_loop.py $tree float32
    done

``error``: relative Frobenius error of Z Z^T against ``ntk_kernel`` at 4,096 columns,
n = 300 Gaussian rows, d = 16, mean of seeds 0-2, depths 1-3, bias 0 and 0.5 (the measure of
the tests). ``float64`` / ``float32``: rows per second of the second of two back-to-back
transforms of 10,000 unit rows, d = 384, 4,096 columns, depth 2 (the protocol of
``bench_fc.py --only b``).
"""

import json
import os
import sys
import time

tree = os.path.abspath(sys.argv[1])
sys.path.insert(0, tree)

import numpy as np  # noqa: E402

import sklearn_ntk  # noqa: E402
from sklearn_ntk import NTKRandomFeatures, ntk_kernel  # noqa: E402

if not sklearn_ntk.__file__.startswith(tree):
    raise SystemExit(f"imported {sklearn_ntk.__file__}, not the tree {tree}")

what = sys.argv[2]
if what == "error":
    result = {}
    for bias in (0.0, 0.5):
        for depth in (1, 2, 3):
            errors = []
            for seed in range(3):
                X = np.random.RandomState(seed).standard_normal((300, 16))
                K = ntk_kernel(X, depth=depth, bias=bias)
                Z = NTKRandomFeatures(4096, depth=depth, bias=bias,
                                      random_state=seed).fit_transform(X)
                errors.append(np.linalg.norm(Z @ Z.T - K) / np.linalg.norm(K))
            result[f"bias={bias} depth={depth}"] = round(float(np.mean(errors)), 4)
else:
    dtype = {"float64": np.float64, "float32": np.float32}[what]
    X = np.random.RandomState(0).standard_normal((10000, 384))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    X = X.astype(dtype)
    feature_map = NTKRandomFeatures(4096, depth=2, random_state=0).fit(X)
    feature_map.transform(X)
    start = time.perf_counter()
    feature_map.transform(X)
    result = {"rows_per_s": round(10000 / (time.perf_counter() - start))}
print(json.dumps({"tree": tree, "what": what, **result}))
