"""Nyström on the exact NTK against exact NTK kernel ridge and the sketches; dual vs primal ridge.

(a) Fashion-MNIST flattened (784 pixels scaled to [0, 1]), the first 6,000 training images
    and the first 2,000 test images, fully connected NTK of depth 2: exact NTK kernel ridge
    (one eigendecomposition of the 6,000 x 6,000 kernel, the penalty chosen by the same GCV
    the estimators use, on centred one-hot targets) against ``NTKSketchClassifier`` with
    ``feature_map="nystroem"`` (RPCholesky and uniform landmarks), ``"sketch"`` and
    ``"random_features"``; test accuracy and end-to-end time (kernel/features + solve +
    predict) of each.
(b) The ridge solve alone with fewer samples than features, dual (n x n, chosen
    automatically) against primal (m x m statistics), same penalty grid, same coefficients.
(c) ``--seeds N``: NTKNystroem(2048) over N landmark draws against exact, with paired SEs.
(d) ``--penalties``: accuracy at GCV's penalty and at the best penalty of the grid, for the
    Nyström kernel and for it with the exact residual diagonal added (a correction that
    keeps each training row's exact variance).
(e) ``--selection``: other rules for choosing the penalty from the training rows alone
    (exact leave-one-out squared error, leave-one-out accuracy) against GCV, on a
    quarter-decade grid, for exact kernel ridge and the Nyström kernel.

Needs the Debian package ``dataset-fashion-mnist`` (see the README's Datasets section).
Run: ``python benchmarks/bench_nystroem.py [--quick] [--seeds N | --penalties | --selection]``; prints
Markdown tables.
"""

import argparse
import os
import time

import numpy as np

from sklearn_ntk import NTKSketchClassifier, ntk_kernel
from sklearn_ntk._ridge import (KernelRidgePath, RidgeStatistics, solve_ridge,
                               solve_ridge_dual)
from sklearn_ntk.datasets import load_fashion_mnist

ALPHAS = np.logspace(-6, 2, 17)


def exact_kernel_ridge(X_train, y_train, X_test, depth):
    """Exact NTK kernel ridge, penalty by GCV; returns (predictions, seconds, alpha)."""
    start = time.perf_counter()
    classes = np.unique(y_train)
    Y = (y_train[:, None] == classes[None, :]) - 1.0 / len(classes)
    path = KernelRidgePath(ntk_kernel(X_train, depth=depth), Y, ALPHAS)
    scores = path.decision_function(ntk_kernel(X_test, X_train, depth=depth))
    return classes[np.argmax(scores, axis=1)], time.perf_counter() - start, path.alpha


def timed_classifier(X_train, y_train, X_test, random_state=0, **params):
    start = time.perf_counter()
    model = NTKSketchClassifier(alphas=ALPHAS, random_state=random_state,
                                **params).fit(X_train, y_train)
    prediction = model.predict(X_test)
    return prediction, time.perf_counter() - start, model.alpha_


def accuracy_table(n_train, n_test, depth, widths):
    train, test = load_fashion_mnist("train"), load_fashion_mnist("test")
    X_train, y_train = train.data[:n_train] / 255.0, train.target[:n_train]
    X_test, y_test = test.data[:n_test] / 255.0, test.target[:n_test]
    print(f"## (a) Fashion-MNIST flattened, {n_train:,} train -> {n_test:,} test, depth {depth}\n")
    print("| model | test accuracy | GCV alpha | end to end |")
    print("|---|---|---|---|")
    prediction, seconds, alpha = exact_kernel_ridge(X_train, y_train, X_test, depth)
    exact = np.mean(prediction == y_test)
    print(f"| exact NTK kernel ridge | {exact:.4f} | {alpha:.0e} | {seconds:.1f} s |", flush=True)
    rows = [("NTKNystroem, RPCholesky", dict(feature_map="nystroem"), widths["nystroem"]),
            ("NTKNystroem, uniform", dict(feature_map="nystroem", landmarks="uniform"),
             widths["nystroem"]),
            ("NTKSketch", dict(feature_map="sketch"), widths["sketch"]),
            ("NTKRandomFeatures", dict(feature_map="random_features"), widths["sketch"])]
    for name, params, sizes in rows:
        for m in sizes:
            if params.get("landmarks") == "uniform":
                prediction, seconds, alpha = _uniform_nystroem(X_train, y_train, X_test, m,
                                                               depth)
            else:
                prediction, seconds, alpha = timed_classifier(
                    X_train, y_train, X_test, n_components=m, depth=depth, **params)
            accuracy = np.mean(prediction == y_test)
            print(f"| {name} ({m}) | {accuracy:.4f} ({(accuracy - exact) * 100:+.2f}) | "
                  f"{alpha:.0e} | {seconds:.1f} s |", flush=True)
    print()


def seed_table(n_train, n_test, depth, n_components, seeds):
    """NTKNystroem (RPCholesky) over several landmark draws against exact kernel ridge.

    The gap to exact is reported per seed and as the mean over seeds with its standard
    error; the paired standard error of one seed's gap comes from the per-image differences
    of correctness (the two models are scored on the same test images).
    """
    train, test = load_fashion_mnist("train"), load_fashion_mnist("test")
    X_train, y_train = train.data[:n_train] / 255.0, train.target[:n_train]
    X_test, y_test = test.data[:n_test] / 255.0, test.target[:n_test]
    print(f"## (c) NTKNystroem({n_components}) over {len(seeds)} landmark draws, Fashion-MNIST "
          f"flattened, {n_train:,} train -> {n_test:,} test, depth {depth}\n")
    load = [os.getloadavg()[0]]
    prediction, seconds, alpha = exact_kernel_ridge(X_train, y_train, X_test, depth)
    exact_right = prediction == y_test
    exact = exact_right.mean()
    print("| model | random_state | test accuracy | gap to exact (points) | paired SE | "
          "GCV alpha | end to end |")
    print("|---|---|---|---|---|---|---|")
    print(f"| exact NTK kernel ridge | | {exact:.4f} | | | {alpha:.0e} | {seconds:.1f} s |",
          flush=True)
    gaps, times = [], []
    for seed in seeds:
        load.append(os.getloadavg()[0])
        prediction, seconds, alpha = timed_classifier(
            X_train, y_train, X_test, random_state=seed, n_components=n_components,
            depth=depth, feature_map="nystroem")
        right = prediction == y_test
        diff = exact_right.astype(float) - right
        gap, se = 100 * diff.mean(), 100 * diff.std(ddof=1) / np.sqrt(diff.size)
        gaps.append(gap)
        times.append(seconds)
        print(f"| NTKNystroem ({n_components}) | {seed} | {right.mean():.4f} | {gap:.2f} | "
              f"{se:.2f} | {alpha:.0e} | {seconds:.1f} s |", flush=True)
    gaps = np.asarray(gaps)
    print(f"\nMean gap over {len(seeds)} draws: {gaps.mean():.2f} points (SE over draws "
          f"{gaps.std(ddof=1) / np.sqrt(gaps.size):.2f}); median end to end "
          f"{np.median(times):.1f} s. 1-minute load average {min(load):.1f}-{max(load):.1f} on "
          f"{os.cpu_count()} cores.\n")


def penalty_table(n_train, n_test, depth, n_components, seeds):
    """Where NTKNystroem's gap to exact comes from: the penalty, and the kernel it misses.

    For each landmark draw, kernel ridge on the Nyström kernel ``Z Z^T`` (what the estimator
    fits) scored at GCV's penalty and at the best penalty for the test set (an oracle no user
    has), and with the residual diagonal ``diag(K - Z Z^T)`` of the exact training kernel
    added to the training kernel (the "diagonal correction" of sparse Gaussian processes:
    each training row keeps its exact variance, predictions use ``Z_test Z^T``). The grid is
    the estimators' automatic one, relative to each kernel's scale.
    """
    from sklearn_ntk import NTKNystroem
    from sklearn_ntk._ridge import automatic_alpha_factors

    train, test = load_fashion_mnist("train"), load_fashion_mnist("test")
    X_train, y_train = train.data[:n_train] / 255.0, train.target[:n_train]
    X_test, y_test = test.data[:n_test] / 255.0, test.target[:n_test]
    classes = np.unique(y_train)
    Y = (y_train[:, None] == classes[None, :]) - 1.0 / len(classes)
    K = ntk_kernel(X_train, depth=depth)

    def scores(K_fit, K_eval):
        n = len(K_fit)
        scale = (np.trace(K_fit) - K_fit.sum() / n) / n
        path = KernelRidgePath(K_fit, Y, scale * automatic_alpha_factors(n))
        accuracy = [np.mean(classes[np.argmax(path.decision_function(K_eval, a), axis=1)]
                            == y_test) for a in path.alphas]
        return accuracy[int(np.argmin(path.gcv_scores))], max(accuracy), path.alpha

    gcv, best, _ = scores(K, ntk_kernel(X_test, X_train, depth=depth))
    print(f"## (d) NTKNystroem({n_components}): penalty and residual diagonal, {n_train:,} -> "
          f"{n_test:,}, depth {depth}\n")
    print("| kernel | random_state | accuracy at GCV's alpha | best accuracy over the grid "
          "(oracle) | GCV alpha |")
    print("|---|---|---|---|---|")
    print(f"| exact | | {gcv:.4f} | {best:.4f} | |", flush=True)
    for seed in seeds:
        nys = NTKNystroem(n_components, depth=depth, random_state=seed).fit(X_train)
        Z, Z_test = nys.transform(X_train), nys.transform(X_test)
        K_nys, K_eval = Z @ Z.T, Z_test @ Z.T
        residual = np.diag(K) - np.diag(K_nys)
        for name, K_fit in [("Nyström Z Z^T", K_nys),
                            ("Nyström + residual diagonal", K_nys + np.diag(residual))]:
            gcv, best, alpha = scores(K_fit, K_eval)
            print(f"| {name} | {seed} | {gcv:.4f} | {best:.4f} | {alpha:.1e} |", flush=True)
    print()


def selection_table(n_train, n_test, depth, n_components, seeds):
    """Does another penalty rule close NTKNystroem's gap? Each rule sees the training rows only.

    For exact kernel ridge and for the Nyström kernel ``Z Z^T`` of each landmark draw, one
    eigendecomposition scores every penalty of a quarter-decade grid (``1e-10`` to ``1e2``
    times the centred kernel's mean diagonal) by GCV, by the exact leave-one-out squared
    error, and by the leave-one-out accuracy (the class of each row's leave-one-out
    prediction), and reports the test accuracy at each rule's penalty and the best over the
    grid (an oracle).
    """
    from sklearn_ntk import NTKNystroem

    train, test = load_fashion_mnist("train"), load_fashion_mnist("test")
    X_train, y_train = train.data[:n_train] / 255.0, train.target[:n_train]
    X_test, y_test = test.data[:n_test] / 255.0, test.target[:n_test]
    classes = np.unique(y_train)
    Y = (y_train[:, None] == classes[None, :]) - 1.0 / len(classes)
    factors = 10.0 ** np.arange(-10, 2.01, 0.25)

    def rules(K_fit, K_eval):
        n = len(K_fit)
        scale = (np.trace(K_fit) - K_fit.sum() / n) / n
        path = KernelRidgePath(K_fit, Y, scale * factors)
        test_accuracy, loo_error, loo_accuracy = [], [], []
        for alpha in path.alphas:
            loo = path.leave_one_out(alpha)
            loo_error.append(np.mean((loo - Y) ** 2))
            loo_accuracy.append(np.mean(classes[np.argmax(loo, axis=1)] == y_train))
            test_accuracy.append(np.mean(
                classes[np.argmax(path.decision_function(K_eval, alpha), axis=1)] == y_test))
        # ties in leave-one-out accuracy go to the largest penalty (the simplest model)
        by_loo_accuracy = len(factors) - 1 - int(np.argmax(loo_accuracy[::-1]))
        chosen = {"GCV": int(np.argmin(path.gcv_scores)),
                  "LOO error": int(np.argmin(loo_error)),
                  "LOO accuracy": by_loo_accuracy}
        return ({rule: (test_accuracy[k], factors[k]) for rule, k in chosen.items()},
                max(test_accuracy))

    print(f"## (e) Penalty rules, NTKNystroem({n_components}) and exact, {n_train:,} -> "
          f"{n_test:,}, depth {depth}\n")
    print("| kernel | random_state | GCV | LOO squared error | LOO accuracy | oracle |")
    print("|---|---|---|---|---|---|")

    def row(name, seed, result):
        chosen, best = result
        cells = " | ".join(f"{accuracy:.4f} ({factor:.1e})"
                           for accuracy, factor in chosen.values())
        print(f"| {name} | {seed} | {cells} | {best:.4f} |", flush=True)

    K = ntk_kernel(X_train, depth=depth)
    row("exact", "", rules(K, ntk_kernel(X_test, X_train, depth=depth)))
    for seed in seeds:
        nys = NTKNystroem(n_components, depth=depth, random_state=seed).fit(X_train)
        Z, Z_test = nys.transform(X_train), nys.transform(X_test)
        row("Nyström Z Z^T", seed, rules(Z @ Z.T, Z_test @ Z.T))
    print("\nIn brackets: the penalty chosen, relative to the centred kernel's mean diagonal.\n")


def _uniform_nystroem(X_train, y_train, X_test, m, depth):
    """The estimator does not expose ``landmarks``: a pipeline of the map and ridge."""
    from sklearn.pipeline import make_pipeline

    from sklearn_ntk import NTKNystroem
    from sklearn_ntk.estimators import FeatureRidgeClassifier  # noqa: F401 (documentation)
    from sklearn.linear_model import RidgeClassifierCV

    start = time.perf_counter()
    model = make_pipeline(NTKNystroem(m, depth=depth, landmarks="uniform", random_state=0),
                          RidgeClassifierCV(alphas=ALPHAS)).fit(X_train, y_train)
    prediction = model.predict(X_test)
    return prediction, time.perf_counter() - start, model[-1].alpha_


def dual_vs_primal(n, m, repeat=2):
    rng = np.random.RandomState(0)
    Z = rng.randn(n, m)
    Y = rng.randn(n, 10)
    print(f"## (b) Ridge solve with n = {n:,} < m = {m:,} ({len(ALPHAS)} alphas by GCV)\n")
    print("| path | time (best of 2) |")
    print("|---|---|")
    stats = RidgeStatistics.from_chunk(Z.copy(), Y)
    Zc, Yc = Z - stats.feature_mean, Y - stats.target_mean
    times = {}
    for name, solve in [("primal (m x m eigendecomposition)",
                         lambda: solve_ridge(stats, ALPHAS)),
                        ("dual (n x n eigendecomposition)",
                         lambda: solve_ridge_dual(stats, Zc, Yc, ALPHAS))]:
        best = np.inf
        for _ in range(repeat):
            start = time.perf_counter()
            solution = solve()
            best = min(best, time.perf_counter() - start)
        times[name] = (best, solution)
        print(f"| {name} | {best:.2f} s |", flush=True)
    (tp, sp), (td, sd) = times.values()
    print(f"\ndual {tp / td:.1f}x faster; max coefficient difference "
          f"{np.abs(sp.coef - sd.coef).max():.1e} (max |coef| {np.abs(sp.coef).max():.1e})\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="1,000 -> 500 images and smaller widths")
    parser.add_argument("--seeds", type=int, default=0,
                        help="only the landmark-draw table: NTKNystroem(2048) with "
                             "random_state 0 .. SEEDS-1 against exact (6,000 -> 2,000)")
    parser.add_argument("--penalties", action="store_true",
                        help="only the penalty / residual-diagonal table (6,000 -> 2,000, "
                             "NTKNystroem(2048), random_state 0 and 1)")
    parser.add_argument("--selection", action="store_true",
                        help="only the penalty-rule table: GCV, leave-one-out error and "
                             "accuracy (6,000 -> 2,000, NTKNystroem(2048), random_state 0-2)")
    args = parser.parse_args()
    if args.selection:
        selection_table(1000, 500, 2, 256, [0]) if args.quick else \
            selection_table(6000, 2000, 2, 2048, [0, 1, 2])
    elif args.penalties:
        penalty_table(1000, 500, 2, 256, [0]) if args.quick else \
            penalty_table(6000, 2000, 2, 2048, [0, 1])
    elif args.seeds:
        seed_table(1000, 500, 2, 256, range(args.seeds)) if args.quick else \
            seed_table(6000, 2000, 2, 2048, range(args.seeds))
    elif args.quick:
        dual_vs_primal(500, 2048)
        accuracy_table(1000, 500, 2, {"nystroem": [512], "sketch": [1024]})
    else:
        dual_vs_primal(2000, 4096)
        accuracy_table(6000, 2000, 2, {"nystroem": [1024, 2048, 4096], "sketch": [4096, 8192]})


if __name__ == "__main__":
    main()
