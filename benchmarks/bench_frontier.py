"""The accuracy-time frontier of the fully connected NTK maps against what a user would pick.

On real data (offline; see the README's Datasets section): Fashion-MNIST flattened (784 pixels
in [0, 1], classification), UCI letter (16 features, standardised, 26 classes) and ggplot2
diamonds (26 features, standardised, regression of log price). For each map and width:
``NTKSketch``, ``NTKRandomFeatures`` and ``NTKNystroem`` (through ``NTKSketchClassifier`` /
``NTKSketchRegressor``, depth 2), scikit-learn's ``Nystroem(kernel="rbf", gamma="scale"-like
1 / (d var X))`` and ``PolynomialCountSketch(degree=2)`` followed by the same ridge with
the same GCV grid (our estimators' solver, through ``FeatureRidge*`` on a fitted map), and exact
NTK kernel ridge on a training subset that fits in memory. Each row records test accuracy
(or R^2) and the end-to-end time (featurise + fit + predict) on this machine.

Results are appended as JSON lines to ``--out`` (default ``benchmarks/_data/frontier.jsonl``);
``report`` prints the Markdown table and draws ``benchmarks/frontier.png``.

Run::

    python benchmarks/bench_frontier.py run --dataset letter
    python benchmarks/bench_frontier.py run --dataset diamonds
    python benchmarks/bench_frontier.py run --dataset fashion --n-train 60000
    python benchmarks/bench_frontier.py report
"""

import argparse
import json
import os
import time

import numpy as np
from sklearn.base import clone
from sklearn.kernel_approximation import Nystroem, PolynomialCountSketch
from sklearn.preprocessing import StandardScaler

from sklearn_ntk import NTKSketchClassifier, NTKSketchRegressor, ntk_kernel
from sklearn_ntk.datasets import load_diamonds, load_fashion_mnist, load_letter
from sklearn_ntk._ridge import KernelRidgePath
from sklearn_ntk.estimators import FeatureRidgeClassifier, FeatureRidgeRegressor

ALPHAS = np.logspace(-6, 2, 9)
HERE = os.path.dirname(os.path.abspath(__file__))


def load(name, n_train):
    """(X_train, y_train, X_test, y_test, is_classification)."""
    if name == "fashion":
        train, test = load_fashion_mnist("train"), load_fashion_mnist("test")
        return (train.data[:n_train] / 255.0, train.target[:n_train], test.data / 255.0,
                test.target, True)
    rng = np.random.RandomState(0)
    data = load_letter() if name == "letter" else load_diamonds()
    order = rng.permutation(len(data.target))
    n_test = len(order) // 5
    test, train = order[:n_test], order[n_test:][:n_train]
    scaler = StandardScaler().fit(data.data[train])
    return (scaler.transform(data.data[train]), data.target[train],
            scaler.transform(data.data[test]), data.target[test], name == "letter")


def _ridge_on(transformer, classification):
    """Our ridge (GCV over ALPHAS, dual path when n < m) on an arbitrary transformer."""
    base = FeatureRidgeClassifier if classification else FeatureRidgeRegressor

    class RidgeOnMap(base):
        def __init__(self, transformer=None, alphas=None):
            self.transformer = transformer
            self.alphas = alphas
            self.alpha = 1.0
            self.fit_intercept = True
            self.random_state = None
            self.max_memory = None
            self.n_components = transformer.n_components  # for the up-front memory check

        def _make_feature_map(self):
            return _Adapter(clone(self.transformer))

    return RidgeOnMap(transformer, ALPHAS)


class _Adapter:
    """Gives a scikit-learn transformer the private hooks our estimators use."""

    _fit_reads_data = True

    def __init__(self, transformer):
        self.transformer = transformer

    def get_params(self, deep=True):
        return {"transformer": self.transformer}

    def set_params(self, **params):
        self.transformer = params["transformer"]
        return self

    def fit(self, X, y=None):
        self.transformer.fit(X)
        self._n_features_out = self.transformer.transform(X[:1]).shape[1]
        return self

    def transform(self, X):
        return self.transformer.transform(X)

    def _bytes_per_row(self, itemsize):
        return 4 * itemsize * self._n_features_out

    def _batch_multiple(self, xp):
        return 1


def run_one(name, make, X_train, y_train, X_test, y_test, classification):
    start = time.perf_counter()
    model = make().fit(X_train, y_train)
    prediction = model.predict(X_test)
    seconds = time.perf_counter() - start
    if classification:
        score = float(np.mean(prediction == y_test))
    else:
        score = float(1 - np.sum((prediction - y_test) ** 2) / np.sum((y_test - y_test.mean())**2))
    return {"model": name, "score": score, "seconds": seconds,
            "alpha": float(getattr(model, "alpha_", np.nan))}


def exact_ntk(X_train, y_train, X_test, y_test, classification, depth=2):
    """Exact NTK kernel ridge (penalty by GCV on the centred problem)."""
    start = time.perf_counter()
    if classification:
        classes = np.unique(y_train)
        Y = (y_train[:, None] == classes[None, :]) - 1.0 / len(classes)
    else:
        Y = y_train[:, None].astype(float)
    path = KernelRidgePath(ntk_kernel(X_train, depth=depth), Y, ALPHAS)
    out = path.decision_function(ntk_kernel(X_test, X_train, depth=depth))
    alpha = path.alpha
    seconds = time.perf_counter() - start
    if classification:
        score = float(np.mean(classes[np.argmax(out, axis=1)] == y_test))
    else:
        score = float(1 - np.sum((out[:, 0] - y_test) ** 2) / np.sum((y_test - y_test.mean())**2))
    return {"model": "exact NTK", "score": score, "seconds": seconds, "alpha": float(alpha)}


def run(args):
    X_train, y_train, X_test, y_test, classification = load(args.dataset, args.n_train)
    Estimator = NTKSketchClassifier if classification else NTKSketchRegressor
    gamma = 1.0 / (X_train.shape[1] * X_train.var())
    os.makedirs(os.path.dirname(args.out), exist_ok=True)

    def record(row, n_train, width):
        row.update(dataset=args.dataset, n_train=int(n_train), n_test=int(len(y_test)),
                   width=width, date=time.strftime("%Y-%m-%d"))
        print(json.dumps(row), flush=True)
        with open(args.out, "a") as out:
            out.write(json.dumps(row) + "\n")

    if args.exact_n:
        n = min(args.exact_n, len(y_train))
        record(exact_ntk(X_train[:n], y_train[:n], X_test, y_test, classification), n, None)
    for width in args.widths:
        candidates = [
            ("NTKNystroem", lambda: Estimator(width, feature_map="nystroem", depth=2,
                                              alphas=ALPHAS, random_state=0)),
            ("NTKRandomFeatures", lambda: Estimator(width, feature_map="random_features",
                                                    depth=2, alphas=ALPHAS, random_state=0)),
            ("NTKSketch", lambda: Estimator(width, depth=2, alphas=ALPHAS, random_state=0)),
            ("sklearn Nystroem(rbf)", lambda: _ridge_on(
                Nystroem(kernel="rbf", gamma=gamma, n_components=width, random_state=0),
                classification)),
            ("sklearn PolynomialCountSketch(2)", lambda: _ridge_on(
                PolynomialCountSketch(degree=2, n_components=width, random_state=0),
                classification)),
        ]
        for name, make in candidates:
            if args.only and name not in args.only:
                continue
            record(run_one(name, make, X_train, y_train, X_test, y_test, classification),
                   len(y_train), width)


def report(args):
    rows = [json.loads(line) for line in open(args.out)]
    for dataset in sorted({r["dataset"] for r in rows}):
        part = [r for r in rows if r["dataset"] == dataset]
        metric = "R²" if dataset == "diamonds" else "accuracy"
        print(f"### {dataset}\n\n| model | width | n_train | test {metric} | end to end |")
        print("|---|---|---|---|---|")
        for r in sorted(part, key=lambda r: (r["model"], r["width"] or 0)):
            print(f"| {r['model']} | {r['width'] or '-'} | {r['n_train']:,} | "
                  f"{r['score']:.4f} | {r['seconds']:.1f} s |")
        print()
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    datasets = sorted({r["dataset"] for r in rows})
    fig, axes = plt.subplots(1, len(datasets), figsize=(5 * len(datasets), 4), squeeze=False)
    for ax, dataset in zip(axes[0], datasets):
        part = [r for r in rows if r["dataset"] == dataset]
        for model in sorted({r["model"] for r in part}):
            points = sorted((r["seconds"], r["score"]) for r in part if r["model"] == model)
            ax.plot(*zip(*points), "o-" if len(points) > 1 else "*", label=model)
        scores = sorted(r["score"] for r in part)
        low = scores[len(scores) // 5]  # keep far-off models (e.g. R^2 0.29) from flattening
        if low - scores[0] > 0.1:
            ax.set_ylim(low - 0.01, scores[-1] + 0.005)
            ax.text(0.02, 0.02, "models below the axis are off-scale", transform=ax.transAxes,
                    fontsize=7)
        ax.set_xscale("log")
        ax.set_xlabel("end-to-end seconds (2 cores)")
        ax.set_ylabel("test R²" if dataset == "diamonds" else "test accuracy")
        ax.set_title(dataset)
        ax.grid(alpha=0.3)
    axes[0][-1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(HERE, "frontier.png"), dpi=110)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run_parser = sub.add_parser("run", help="measure one dataset, append JSON lines")
    run_parser.add_argument("--dataset", choices=["fashion", "letter", "diamonds"],
                            required=True, help="which real dataset")
    run_parser.add_argument("--n-train", type=int, default=None,
                            help="training rows (default: all)")
    run_parser.add_argument("--widths", type=int, nargs="+", default=[1024, 2048, 4096],
                            help="n_components of every map")
    run_parser.add_argument("--exact-n", type=int, default=0,
                            help="also exact NTK kernel ridge on this many training rows")
    run_parser.add_argument("--only", nargs="*", default=None, help="model names to run")
    for p in (run_parser, sub.add_parser("report", help="Markdown table and plot")):
        p.add_argument("--out", default=os.path.join(HERE, "_data", "frontier.jsonl"),
                       help="JSON-lines results file")
    args = parser.parse_args()
    (run if args.command == "run" else report)(args)


if __name__ == "__main__":
    main()
