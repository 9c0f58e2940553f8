"""Which defaults for CNTKSketchClassifier: candidates called as a user calls them.

Every candidate is ``CNTKSketchClassifier(image_shape=..., random_state=0, **candidate)``:
the estimator's own GCV penalty, nothing tuned on the test set. Two real image sets:

- Fashion-MNIST 28x28, a balanced 6,000 training -> 2,000 test subset, pixels / 255;
- scikit-learn's digits 8x8, the first 1,000 -> the other 797, pixels / 16.

The reference is exact fully connected NTK kernel ridge (``ntk_kernel(depth=2)``, GCV on
the same relative grid as the estimators), what the issue compares the defaults against.
Time is end to end (features, solve, predict); each candidate's gap to the current default
comes with the paired standard error over the same test images.

Run: ``python benchmarks/bench_cntk_defaults.py [--quick]``; prints Markdown tables and
appends rows to ``benchmarks/_data/cntk_defaults.jsonl``.
"""

import argparse
import json
import os
import time

import numpy as np

from sklearn.pipeline import make_pipeline

from sklearn_ntk import CNTKSketchClassifier, ZCAWhitening, ntk_kernel
from sklearn_ntk._ridge import KernelRidgePath, automatic_alpha_factors

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "_data", "cntk_defaults.jsonl")

# (label, estimator parameters); the first is the estimators' default before 0.2, and
# ``dict()`` is what a user gets today.
CANDIDATES = [
    ("GAP depth 1, 1024, degree 4 (old default)",
     dict(architecture=None, n_components=1024)),
    ("pool_flatten depth 2, 1024, degree 4",
     dict(architecture="pool_flatten", depth=2, n_components=1024)),
    ("pool_flatten depth 2, 2048, degree 4",
     dict(architecture="pool_flatten", depth=2, n_components=2048)),
    ("pool_flatten depth 2, 4096, degree 4",
     dict(architecture="pool_flatten", depth=2, n_components=4096)),
    ("pool_flatten depth 1, 1024, degree 4",
     dict(architecture="pool_flatten", depth=1, n_components=1024)),
    ("defaults: pool_flatten depth 1, 2048, degree 4", dict()),
    ("pool_flatten depth 1, 4096, degree 4",
     dict(architecture="pool_flatten", depth=1, n_components=4096)),
    ("pool_flatten depth 1, 2048, degree 8",
     dict(architecture="pool_flatten", depth=1, n_components=2048, degree=8)),
    ("pool_flatten depth 2, 2048, degree 8",
     dict(architecture="pool_flatten", depth=2, n_components=2048, degree=8)),
    ("fc depth 2, 2048, degree 4",
     dict(architecture="fc", depth=2, n_components=2048)),
    ("myrtle depth 5, 1024, degree 4",
     dict(architecture="myrtle", n_components=1024)),
    ("defaults + flip_invariant (2048)", dict(flip_invariant=True)),
    ("pool_flatten depth 1, 4096, degree 4, flip_invariant",
     dict(n_components=4096, flip_invariant=True)),
    # ``zca``: the classifier behind ZCAWhitening(**zca) in a pipeline
    ("defaults + ZCA(0.01)", dict(zca=dict(regularization=0.01))),
    ("defaults + ZCA(0.1)", dict(zca=dict(regularization=0.1))),
    ("defaults + ZCA(1)", dict(zca=dict(regularization=1.0))),
    ("defaults + ZCA(100)", dict(zca=dict(regularization=100.0))),
    ("defaults + ZCA(0.1), no per-image standardisation",
     dict(zca=dict(regularization=0.1, standardize_images=False))),
    ("flatten depth 1, 2048 + ZCA(0.1)",
     dict(architecture="flatten", depth=1, zca=dict(regularization=0.1))),
    ("flatten depth 1, 2048", dict(architecture="flatten", depth=1)),
]


def fashion(n_train, n_test):
    from sklearn_ntk.datasets import load_fashion_mnist

    X_tr, y_tr = load_fashion_mnist("train", return_X_y=True)
    X_te, y_te = load_fashion_mnist("test", return_X_y=True)
    rng = np.random.default_rng(0)

    def subset(y, k):
        return np.sort(np.concatenate([rng.choice(np.flatnonzero(y == c), k, replace=False)
                                       for c in range(10)]))

    tr, te = subset(y_tr, n_train // 10), subset(y_te, n_test // 10)
    return X_tr[tr] / 255.0, y_tr[tr], X_te[te] / 255.0, y_te[te], (28, 28, 1)


def digits(n_train):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return X[:n_train] / 16.0, y[:n_train], X[n_train:] / 16.0, y[n_train:], (8, 8, 1)


def exact_fc(X_tr, y_tr, X_te):
    start = time.perf_counter()
    K = ntk_kernel(X_tr, depth=2)
    classes = np.unique(y_tr)
    Y = (y_tr[:, None] == classes[None, :]) - 1.0 / len(classes)
    n = len(K)
    scale = (np.trace(K) - K.sum() / n) / n  # mean diagonal of the centred kernel
    path = KernelRidgePath(K, Y, scale * automatic_alpha_factors(n))
    prediction = classes[np.argmax(path.decision_function(ntk_kernel(X_te, X_tr, depth=2)),
                                   axis=1)]
    return prediction, time.perf_counter() - start


def table(name, data, candidates):
    X_tr, y_tr, X_te, y_te, shape = data
    print(f"### {name}: {len(y_tr):,} -> {len(y_te):,} images {shape[0]}x{shape[1]}\n")
    print(f"| model | accuracy | vs {candidates[0][0]} (points) | paired SE | end to end | "
          "load |")
    print("|---|---|---|---|---|---|")
    prediction, seconds = exact_fc(X_tr, y_tr, X_te)
    print(f"| exact fully connected NTK, depth 2 (kernel ridge) | "
          f"{np.mean(prediction == y_te):.4f} | | | {seconds:.1f} s | "
          f"{os.getloadavg()[0]:.1f} |", flush=True)
    baseline = None
    for label, params in candidates:
        load = os.getloadavg()[0]
        start = time.perf_counter()
        params = dict(params)
        zca = params.pop("zca", None)
        model = CNTKSketchClassifier(image_shape=shape, random_state=0, **params)
        if zca is not None:
            model = make_pipeline(ZCAWhitening(**zca), model)
        prediction = model.fit(X_tr.astype(np.float32), y_tr).predict(X_te.astype(np.float32))
        seconds = time.perf_counter() - start
        if zca is not None:
            model = model[-1]
        right = (prediction == y_te).astype(float)
        if baseline is None:
            baseline = right
        diff = right - baseline
        se = diff.std(ddof=1) / np.sqrt(diff.size)
        print(f"| {label} | {right.mean():.4f} | {100 * diff.mean():+.2f} | {100 * se:.2f} | "
              f"{seconds:.1f} s | {load:.1f} |", flush=True)
        os.makedirs(os.path.dirname(OUT), exist_ok=True)
        with open(OUT, "a") as f:
            f.write(json.dumps(dict(data=name, label=label, accuracy=float(right.mean()),
                                    seconds=seconds, alpha=float(model.alpha_),
                                    load=load)) + "\n")
    print()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="600 -> 400 Fashion images, the old and the new defaults only")
    parser.add_argument("--only", nargs="+", default=None, metavar="TEXT",
                        help="only the candidates whose label contains one of these (the "
                             "baseline always runs, first)")
    parser.add_argument("--baseline", default=None, metavar="TEXT",
                        help="the paired baseline: the first candidate whose label contains "
                             "this (default: the old default)")
    args = parser.parse_args()
    candidates = [c for c in CANDIDATES if not c[1] or c is CANDIDATES[0]] if args.quick \
        else CANDIDATES
    if args.baseline:
        first = next(c for c in candidates if args.baseline in c[0])
        candidates = [first] + [c for c in candidates if c is not first]
    if args.only:
        candidates = candidates[:1] + [c for c in candidates[1:]
                                       if any(text in c[0] for text in args.only)]
    table("digits", digits(1000), candidates)
    table("Fashion-MNIST", fashion(600, 400) if args.quick else fashion(6000, 2000),
          candidates)


if __name__ == "__main__":
    main()
