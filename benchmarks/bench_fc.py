"""Fully connected NTK benchmarks: approximation error, transform throughput, end-to-end accuracy.

(a) relative Frobenius error ||ZZ^T - K||_F / ||K||_F of NTKSketch and NTKRandomFeatures against
    the exact ntk_kernel, n = 300 standard-normal rows, d = 16, depths 1-3, 3 seeds;
(b) transform throughput at n = 10,000, d = 384, n_components = 4096, depth 2, interleaved with
    scikit-learn's PolynomialCountSketch(n_components=4096, degree=2) (the throughput targets of the project,
    item 1; median of repeated runs, float64 and float32), with each map's error at 4096 as in
    (a) and the FFT floor (one rfft per row) measured in the same run;
(c) end to end on a real regression dataset (ggplot2 diamonds, log price): exact ntk_kernel +
    KernelRidge vs NTKSketchRegressor at equal n, then the sketch on the full training set.

Run: ``python benchmarks/bench_fc.py [--quick]``; it prints Markdown for benchmarks/RESULTS.md.
"""

import argparse
import os
import platform
import time

import numpy as np
from sklearn.kernel_approximation import PolynomialCountSketch
from sklearn.kernel_ridge import KernelRidge
from sklearn.metrics import r2_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from sklearn_ntk import NTKRandomFeatures, NTKSketch, NTKSketchRegressor, ntk_kernel


def relative_error(Z, K):
    return np.linalg.norm(Z @ Z.T - K) / np.linalg.norm(K)


def error_curve(components, depths=(1, 2, 3), seeds=(0, 1, 2)):
    print("## (a) Approximation error vs n_components (n=300, d=16, mean of 3 seeds)\n")
    print("| map | depth | " + " | ".join(str(c) for c in components) + " |")
    print("|---|---|" + "---|" * len(components))
    for name, make in [("NTKSketch", lambda c, L, s: NTKSketch(c, depth=L, random_state=s)),
                       ("NTKRandomFeatures",
                        lambda c, L, s: NTKRandomFeatures(c, depth=L, random_state=s))]:
        for depth in depths:
            row = []
            for c in components:
                errors = []
                for seed in seeds:
                    X = np.random.default_rng(1000 + seed).standard_normal((300, 16))
                    K = ntk_kernel(X, depth=depth)
                    errors.append(relative_error(make(c, depth, seed).fit_transform(X), K))
                row.append(np.mean(errors))
            print(f"| {name} | {depth} | " + " | ".join(f"{e:.4f}" for e in row) + " |")
    print()


def _fft_floor(n_rows, length, dtype):
    """One real FFT of ``length`` per row: the least an FFT-based sketch of that width does."""
    import scipy.fft

    A = np.random.default_rng(0).standard_normal((n_rows, length)).astype(dtype)
    return lambda: scipy.fft.rfft(A, axis=-1, workers=-1)


def _throughput_maps(n_components):
    return [
        ("PolynomialCountSketch(degree=2) [scikit-learn]",
         lambda: PolynomialCountSketch(n_components=n_components, degree=2, random_state=0)),
        ("NTKSketch(degree=2)", lambda: NTKSketch(n_components, depth=2, degree=2,
                                                  random_state=0)),
        ("NTKSketch(degree=4)", lambda: NTKSketch(n_components, depth=2, degree=4,
                                                  random_state=0)),
        ("NTKSketch() [default: degree=8]", lambda: NTKSketch(n_components, depth=2,
                                                              random_state=0)),
        (f"NTKSketch(degree=8, sketch_dim={n_components})",
         lambda: NTKSketch(n_components, depth=2, sketch_dim=n_components, random_state=0)),
        ("NTKRandomFeatures()", lambda: NTKRandomFeatures(n_components, depth=2,
                                                          random_state=0)),
    ]


def _error_at(make, n_components, depths=(1, 2, 3), seeds=(0, 1, 2)):
    """Mean relative error of Z Z^T at ``n_components`` (n=300, d=16), as the tests measure."""
    import warnings

    errors = []
    for depth in depths:
        values = []
        for seed in seeds:
            X = np.random.default_rng(1000 + seed).standard_normal((300, 16))
            est = make()
            est.set_params(n_components=n_components, random_state=seed)
            if "depth" in est.get_params():
                est.set_params(depth=depth)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the degree-2 fit warns about its bias
                Z = est.fit_transform(X)
            values.append(relative_error(Z, ntk_kernel(X, depth=depth)))
        errors.append(float(np.mean(values)))
    return errors


def throughput(n=10_000, d=384, n_components=4096, repeat=5):
    """Throughput ratios to PolynomialCountSketch, measured interleaved.

    Every repetition times each map once, in turn, on the same data (the second of two
    back-to-back calls, so that no map pays another's page faults); a ratio is taken within
    each repetition (so load that drifts between repetitions cancels) and the median over
    the repetitions is reported, with the median rows/s.
    """
    print(f"## (b) Transform throughput, n={n}, d={d}, n_components={n_components}, depth 2 "
          f"(median of {repeat} interleaved repetitions, same run)\n")
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, d))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    maps = _throughput_maps(n_components)
    errors = {name: _error_at(make, n_components) for name, make in maps[1:]}
    internal = NTKSketch(n_components).fit(X[:2])._sketch_dim
    print("| feature map | dtype | rows/s | ratio to PolynomialCountSketch | "
          f"relative error at {n_components}, depth 1 / 2 / 3 |")
    print("|---|---|---|---|---|")
    load = []
    for dtype in (np.float64, np.float32):
        Xd = X.astype(dtype)
        timed = [(name, make().fit(Xd[:10]).transform) for name, make in maps]
        timed += [(f"FFT floor: one rfft of length {length} per row", _fft_floor(n, length, dtype))
                  for length in sorted({n_components, internal})]
        rates = {name: [] for name, _ in timed}
        for _ in range(repeat):
            load.append(os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan"))
            for name, function in timed:
                # Each map runs twice back to back and the second call is timed: the first
                # call after another map's large arrays were freed pays the page faults of
                # fresh memory (PolynomialCountSketch's first call runs about 4x slower).
                for _ in range(2):
                    start = time.perf_counter()
                    function(Xd) if "floor" not in name else function()
                rates[name].append(n / (time.perf_counter() - start))
        base = np.asarray(rates[timed[0][0]])
        for name, _ in timed:
            rate = np.asarray(rates[name])
            error = errors.get(name)
            error = " / ".join(f"{e:.4f}" for e in error) if error else ""
            print(f"| {name} | {np.dtype(dtype).name} | {np.median(rate):,.0f} | "
                  f"{np.median(rate / base):.3f} | {error} |")
    print(f"\n1-minute load average during the repetitions: {min(load):.1f}-{max(load):.1f} "
          f"on {os.cpu_count()} cores. Default internal width: sketch_dim={internal}.\n")


def end_to_end(n_exact, depth=2, n_components=4096, seed=0):
    from sklearn_ntk.datasets import load_diamonds

    X, y = load_diamonds(return_X_y=True)
    X_train_full, X_test, y_train_full, y_test = train_test_split(
        X, y, test_size=0.2, random_state=seed)
    scaler = StandardScaler().fit(X_train_full)
    X_train_full, X_test = scaler.transform(X_train_full), scaler.transform(X_test)
    alphas = np.logspace(-3, 2, 11)
    print(f"## (c) End to end on ggplot2 `diamonds` (log price; {X.shape[1]} features; "
          f"{X_test.shape[0]} test rows), depth {depth}\n")
    print("| method | n_train | alpha | test R^2 | fit + predict time (s) |")
    print("|---|---|---|---|---|")

    rng = np.random.default_rng(seed)
    subset = rng.choice(X_train_full.shape[0], n_exact, replace=False)
    X_sub, y_sub = X_train_full[subset], y_train_full[subset]
    # exact: alpha chosen on a validation split of the subset, then refit on the subset
    X_fit, X_val, y_fit, y_val = train_test_split(X_sub, y_sub, test_size=0.2,
                                                  random_state=seed)
    K_fit, K_val = ntk_kernel(X_fit, depth=depth), ntk_kernel(X_val, X_fit, depth=depth)
    y_mean = y_fit.mean()
    val_scores = [r2_score(y_val, KernelRidge(alpha=a, kernel="precomputed")
                           .fit(K_fit, y_fit - y_mean).predict(K_val) + y_mean)
                  for a in alphas]
    alpha_exact = float(alphas[int(np.argmax(val_scores))])
    start = time.perf_counter()
    K = ntk_kernel(X_sub, depth=depth)
    model = KernelRidge(alpha=alpha_exact, kernel="precomputed").fit(K, y_sub - y_sub.mean())
    pred = model.predict(ntk_kernel(X_test, X_sub, depth=depth)) + y_sub.mean()
    t_exact = time.perf_counter() - start
    print(f"| exact NTK + KernelRidge | {n_exact} | {alpha_exact:.3g} | "
          f"{r2_score(y_test, pred):.4f} | {t_exact:.2f} |")

    for X_tr, y_tr in [(X_sub, y_sub), (X_train_full, y_train_full)]:
        start = time.perf_counter()
        model = NTKSketchRegressor(n_components=n_components, depth=depth, alphas=alphas,
                                   random_state=seed).fit(X_tr, y_tr)
        pred = model.predict(X_test)
        elapsed = time.perf_counter() - start
        print(f"| NTKSketchRegressor({n_components}), GCV alpha | {X_tr.shape[0]} | "
              f"{model.alpha_:.3g} | {r2_score(y_test, pred):.4f} | {elapsed:.2f} |")
    print()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--only", choices=["a", "b", "c"], default=None)
    parser.add_argument("--repeat", type=int, default=5, help="repetitions in (b)")
    args = parser.parse_args()
    print(f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, NumPy {np.__version__}\n")
    if args.only in (None, "a"):
        error_curve([256, 4096] if args.quick else [256, 512, 1024, 2048, 4096])
    if args.only in (None, "b"):
        throughput(n=1000 if args.quick else 10_000, repeat=1 if args.quick else args.repeat)
    if args.only in (None, "c"):
        end_to_end(n_exact=1000 if args.quick else 6000,
                   n_components=512 if args.quick else 4096)


if __name__ == "__main__":
    main()
