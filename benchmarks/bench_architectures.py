"""Fashion-MNIST 28x28: which CNTK architecture, exact kernel against sketch at equal data.

What is measured, on balanced subsets of Fashion-MNIST at full resolution (28x28, pixels
standardised with the training subset's mean and standard deviation):

- ``sketch``: ``CNTKSketchClassifier(architecture=A, n_components=M, degree=Q)`` exactly as a
  user would call it (its default GCV penalty grid), fitted on the training subset and
  scored on the test subset; time is end to end (featurise, solve, predict).
- ``exact``: exact kernel ridge with ``cntk_kernel(architecture=A)`` on the same images, the
  penalty chosen by GCV on the same relative grid (the mean diagonal of the centred
  training kernel times ``automatic_alpha_factors(n)``, what the estimators use on features);
  time is the kernel matrices plus the solve.

Test predictions are saved (``benchmarks/_data/architectures.jsonl``), so ``report`` gives
each sketch's gap to exact with a paired standard error.

Reproduce::

    python benchmarks/bench_architectures.py sketch --arch flatten2 conv_pool --seeds 0 1 2
    python benchmarks/bench_architectures.py exact --arch flatten2
    python benchmarks/bench_architectures.py report
    python benchmarks/bench_architectures.py full --arch pool_conv   # all 60,000 -> 10,000
    python benchmarks/bench_architectures.py full --arch rbf         # the RBF baseline
    python benchmarks/bench_architectures.py full --arch svc --dtype float64  # exact RBF SVC
    python benchmarks/bench_architectures.py frontier    # table of the full-scale runs
"""

import argparse
import json
import os
import resource
import time

import numpy as np

from sklearn_ntk import CNTKSketchClassifier, cntk_kernel
from sklearn_ntk._ridge import KernelRidgePath, automatic_alpha_factors
from sklearn_ntk.datasets import load_fashion_mnist
from sklearn_ntk.layers import AvgPool, Conv, Flatten, ReLU

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "_data", "architectures.jsonl")
SHAPE = (28, 28, 1)


def architectures():
    """Candidate architectures by name (a preset name, or a layer list)."""
    return {
        "gap1": dict(architecture=None, depth=1),  # the legacy default: CNTK-GAP, depth 1
        "flatten1": dict(architecture="flatten", depth=1),
        "flatten2": dict(architecture="flatten", depth=2),
        "conv_pool": dict(architecture=[Conv(3), ReLU(), AvgPool(2), Conv(3), ReLU(),
                                        Flatten()]),
        "pool_conv": dict(architecture=[AvgPool(2), Conv(3), ReLU(), Conv(3), ReLU(),
                                        Flatten()]),
        "myrtle5": dict(architecture="myrtle", depth=5),
        # the CNTK estimators' default network: AvgPool(2), Conv(3), ReLU(), Flatten()
        "pool_flatten1": dict(architecture="pool_flatten", depth=1),
        "pool_flatten1_flip": dict(architecture="pool_flatten", depth=1, flip_invariant=True),
        "pool_conv_flip": dict(architecture=[AvgPool(2), Conv(3), ReLU(), Conv(3), ReLU(),
                                             Flatten()], flip_invariant=True),
    }


def load(per_class, test_per_class, seed=0):
    X_tr, y_tr = load_fashion_mnist("train", return_X_y=True)
    X_te, y_te = load_fashion_mnist("test", return_X_y=True)
    rng = np.random.default_rng(seed)

    def subset(y, k):
        return np.sort(np.concatenate([rng.choice(np.flatnonzero(y == c), k, replace=False)
                                       for c in range(10)]))

    tr, te = subset(y_tr, per_class), subset(y_te, test_per_class)
    X_tr, X_te = X_tr[tr].astype(np.float64), X_te[te].astype(np.float64)
    mean, std = X_tr.mean(), X_tr.std()
    return (X_tr - mean) / std, y_tr[tr], (X_te - mean) / std, y_te[te]


def record(row):
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "a") as f:
        f.write(json.dumps(row) + "\n")
    shown = {k: v for k, v in row.items() if k != "predictions"}
    print(json.dumps(shown), flush=True)


def run_sketch(args):
    X_tr, y_tr, X_te, y_te = load(args.per_class, args.test_per_class)
    for name in args.arch:
        for seed in args.seeds:
            model = CNTKSketchClassifier(n_components=args.n_components, degree=args.degree,
                                         image_shape=SHAPE, random_state=seed,
                                         **architectures()[name])
            load_avg = os.getloadavg()[0]
            start = time.perf_counter()
            model.fit(X_tr.astype(args.dtype), y_tr)
            prediction = model.predict(X_te.astype(args.dtype))
            seconds = time.perf_counter() - start
            record(dict(model="sketch", arch=name, n_train=len(y_tr), n_test=len(y_te),
                        n_components=args.n_components, degree=args.degree, seed=seed,
                        dtype=args.dtype, accuracy=float(np.mean(prediction == y_te)),
                        alpha=float(model.alpha_), seconds=seconds, load=load_avg,
                        predictions=prediction.tolist()))


def load_full(n_train=0):
    """All 60,000 training and 10,000 test images (or a balanced ``n_train`` subset)."""
    if n_train:
        return load(n_train // 10, 1000)
    X_tr, y_tr = load_fashion_mnist("train", return_X_y=True)
    X_te, y_te = load_fashion_mnist("test", return_X_y=True)
    mean, std = float(X_tr.mean()), float(X_tr.std())
    return (X_tr - mean) / std, y_tr, (X_te - mean) / std, y_te


def run_full(args):
    """One model per process, so that the peak RSS is that model's."""
    X_tr, y_tr, X_te, y_te = load_full(args.n_train)
    X_tr, X_te = X_tr.astype(args.dtype), X_te.astype(args.dtype)
    name = args.arch[0]
    if name == "svc":
        # The exact RBF kernel machine a practitioner would try (libsvm, one core): the
        # setting of Fashion-MNIST's benchmark table (C=10, RBF), gamma="scale".
        from sklearn.svm import SVC
        model = SVC(kernel="rbf", C=10.0, gamma="scale", cache_size=4000)
        args.n_components = 0
    elif name == "rbf":
        # What a practitioner tries first: an RBF kernel at the same width, gamma as
        # scikit-learn's SVC(gamma="scale"), the same ridge with GCV over the same grid.
        from bench_frontier import _ridge_on  # its ridge carries the frontier's alpha grid
        from sklearn.kernel_approximation import Nystroem
        gamma = 1.0 / (X_tr.shape[1] * float(X_tr.var()))
        model = _ridge_on(Nystroem(kernel="rbf", gamma=gamma, n_components=args.n_components,
                                   random_state=args.seeds[0]), True)
    else:
        model = CNTKSketchClassifier(n_components=args.n_components, degree=args.degree,
                                     image_shape=SHAPE, random_state=args.seeds[0],
                                     verbose=1, **architectures()[name])
    load_avg = os.getloadavg()[0]
    start = time.perf_counter()
    model.fit(X_tr, y_tr)
    t_fit = time.perf_counter() - start
    prediction = model.predict(X_te)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB -> MiB
    record(dict(model="full", arch=name, n_train=len(y_tr), n_test=len(y_te),
                n_components=args.n_components, degree=args.degree, seed=args.seeds[0],
                dtype=args.dtype, accuracy=float(np.mean(prediction == y_te)),
                alpha=float(getattr(model, "alpha_", np.nan)), seconds=seconds,
                seconds_fit=t_fit,
                peak_rss_mib=peak, load=load_avg, predictions=prediction.tolist()))


def run_exact(args):
    X_tr, y_tr, X_te, y_te = load(args.per_class, args.test_per_class)
    for name in args.arch:
        params = dict(architectures()[name])
        if params["architecture"] is None:
            params["architecture"] = "gap"
        load_avg = os.getloadavg()[0]
        start = time.perf_counter()
        K_tr = cntk_kernel(X_tr, image_shape=SHAPE, verbose=1, **params)
        t_train = time.perf_counter() - start
        K_te = cntk_kernel(X_te, X_tr, image_shape=SHAPE, verbose=1, **params)
        t_kernels = time.perf_counter() - start
        classes = np.unique(y_tr)
        Y = (y_tr[:, None] == classes[None, :]) - 1.0 / len(classes)
        n = len(K_tr)
        scale = (np.trace(K_tr) - K_tr.sum() / n) / n  # mean diagonal of the centred kernel
        path = KernelRidgePath(K_tr, Y, scale * automatic_alpha_factors(n))
        prediction = classes[np.argmax(path.decision_function(K_te), axis=1)]
        seconds = time.perf_counter() - start
        record(dict(model="exact", arch=name, n_train=len(y_tr), n_test=len(y_te),
                    accuracy=float(np.mean(prediction == y_te)), alpha=path.alpha,
                    seconds=seconds, seconds_train_kernel=t_train, seconds_kernels=t_kernels,
                    load=load_avg, predictions=prediction.tolist()))


def report(args):
    rows = [json.loads(line) for line in open(OUT)]
    _, _, _, y_te = load(args.per_class, args.test_per_class)
    exact = {r["arch"]: r for r in rows if r["model"] == "exact"
             and r["n_train"] == 10 * args.per_class}
    print("| architecture | model | n_components | degree | seeds | accuracy (mean) | "
          "gap to exact (points) | paired SE | time (s, median) | exact / sketch time |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    groups = {}
    for r in rows:
        if r["n_train"] != 10 * args.per_class or r["model"] != "sketch":
            continue
        groups.setdefault((r["arch"], r["n_components"], r["degree"]), []).append(r)
    for name, r in exact.items():
        print(f"| {name} | exact | | | | {r['accuracy']:.4f} | | | {r['seconds']:.0f} | |")
    for (name, m, q), runs in sorted(groups.items()):
        accuracy = np.mean([r["accuracy"] for r in runs])
        seconds = float(np.median([r["seconds"] for r in runs]))
        gap = se = ratio = ""
        if name in exact:
            right = np.asarray(exact[name]["predictions"]) == y_te
            diffs = [right.astype(float) - (np.asarray(r["predictions"]) == y_te)
                     for r in runs]
            mean_diff = np.mean(diffs, axis=0)  # per image, averaged over seeds
            gap = f"{100 * mean_diff.mean():.2f}"
            se = f"{100 * mean_diff.std(ddof=1) / np.sqrt(mean_diff.size):.2f}"
            ratio = f"{exact[name]['seconds'] / seconds:.1f}x"
        print(f"| {name} | sketch | {m} | {q} | {len(runs)} | {accuracy:.4f} | {gap} | {se} "
              f"| {seconds:.0f} | {ratio} |")


def frontier(args):
    """The full-scale rows (60,000 -> 10,000) as an accuracy-time table per architecture."""
    rows = [json.loads(line) for line in open(OUT)]
    groups = {}
    for r in rows:
        if r["model"] == "full" and r["n_train"] == 60000:
            groups.setdefault((r["arch"], r["n_components"]), []).append(r)
    print("| model | features | runs | test accuracy (mean) | GCV alpha | fit + predict "
          "(median) | peak RSS | 1-min load at start |")
    print("|---|---|---|---|---|---|---|---|")
    for (name, m), runs in sorted(groups.items()):
        label = {"rbf": "Nystroem(rbf) + ridge",
                 "svc": "SVC(rbf, C=10), exact kernel"}.get(name, f"`{name}`")
        accuracy = np.mean([r["accuracy"] for r in runs])
        alphas = ", ".join(f"{r['alpha']:.2g}" for r in runs)
        seconds = float(np.median([r["seconds"] for r in runs]))
        peak = max(r["peak_rss_mib"] for r in runs)
        loads = ", ".join(f"{r['load']:.1f}" for r in runs)
        print(f"| {label} | {m} | {len(runs)} | {accuracy:.4f} | {alphas} | {seconds:.0f} s "
              f"| {peak:,.0f} MiB | {loads} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=["sketch", "exact", "full", "report", "frontier"],
                        help="sketch / exact: 2,000 -> 2,000 images; full: all 60,000 -> "
                             "10,000 (one model per call); report: the equal-data table; "
                             "frontier: the table of the full-scale runs")
    parser.add_argument("--arch", nargs="+", default=["flatten2"],
                        choices=sorted(architectures()) + ["rbf", "svc"],
                        help="architectures by name; 'rbf' (full only): scikit-learn "
                             "Nystroem(kernel='rbf') + the same ridge; 'svc' (full only): "
                             "scikit-learn SVC(kernel='rbf', C=10, gamma='scale')")
    parser.add_argument("--n-train", type=int, default=0,
                        help="full: a balanced training subset of this size (0: all 60,000)")
    parser.add_argument("--per-class", type=int, default=200,
                        help="training images per class (default 200: 2,000 images)")
    parser.add_argument("--test-per-class", type=int, default=200,
                        help="test images per class (default 200: 2,000 images)")
    parser.add_argument("--n-components", type=int, default=4096)
    parser.add_argument("--degree", type=int, default=4)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--dtype", default="float32")
    args = parser.parse_args()
    {"sketch": run_sketch, "exact": run_exact, "full": run_full, "report": report,
     "frontier": frontier}[args.what](args)


if __name__ == "__main__":
    main()
