"""Command line: ``python -m sklearn_ntk`` (or the ``sklearn-ntk`` console script).

Subcommands:

``demo``
    Where sketching pays: exact NTK kernel ridge against NTK random features + ridge on
    scikit-learn's bundled digits data (no download), first accuracy at equal data, then fit +
    predict time at growing training sizes, the measured crossover, and the cost of both at
    60,000 training rows. Prints each measurement as it finishes; about a minute on 2 cores
    (``--quick``: a few seconds, for smoke tests).
``info``
    Versions of the package and its dependencies, BLAS/OpenMP thread pools, the optional array
    libraries that are installed, and whether a GPU is visible.
"""

import argparse
import importlib.metadata
import importlib.util
import os
import platform
import sys
import time

# --------------------------------------------------------------------------------------------
# info
# --------------------------------------------------------------------------------------------

_REQUIRED = ["numpy", "scipy", "scikit-learn", "array-api-compat"]
# (distribution name, import name)
_OPTIONAL = [
    ("array-api-strict", "array_api_strict"),
    ("torch", "torch"),
    ("cupy", "cupy"),
    ("dask", "dask"),
    ("distributed", "distributed"),
    ("dask-ml", "dask_ml"),
    ("zarr", "zarr"),
    ("threadpoolctl", "threadpoolctl"),
    ("tqdm", "tqdm"),
]
_CUPY_DISTRIBUTIONS = ["cupy", "cupy-cuda12x", "cupy-cuda11x", "cupy-cuda13x", "cupy-rocm-6-0"]


def _version_of(distribution, module):
    """Installed version, read from package metadata without importing the package.

    Returns None when the module cannot be found at all.
    """
    if _find_spec(module) is None:
        return None
    candidates = _CUPY_DISTRIBUTIONS if module == "cupy" else [distribution]
    for name in candidates:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return "installed (version unknown)"


def _find_spec(module):
    try:
        return importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None


def _gpu_report():
    """Lines saying which GPUs are visible; every probe is guarded, nothing may raise."""
    lines = []
    found = False
    if _find_spec("cupy") is not None:
        try:
            import cupy

            count = cupy.cuda.runtime.getDeviceCount()
            names = []
            for i in range(count):
                name = cupy.cuda.runtime.getDeviceProperties(i)["name"]
                names.append(name.decode() if isinstance(name, bytes) else str(name))
            found = found or count > 0
            lines.append(f"cupy: {count} device(s)" + (f": {', '.join(names)}" if names else ""))
        except Exception as exc:  # no driver, no device, broken install
            lines.append(f"cupy: no usable GPU ({type(exc).__name__}: {exc})")
    if _find_spec("torch") is not None:
        try:
            import torch

            if torch.cuda.is_available():
                names = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
                found = found or bool(names)
                lines.append(f"torch: {len(names)} CUDA device(s): {', '.join(names)}")
            else:
                lines.append("torch: no CUDA device")
        except Exception as exc:
            lines.append(f"torch: could not query CUDA ({type(exc).__name__}: {exc})")
    if os.path.isdir("/proc/driver/nvidia/gpus"):
        try:
            count = len(os.listdir("/proc/driver/nvidia/gpus"))
            found = found or count > 0
            lines.append(f"NVIDIA driver: {count} GPU(s) listed in /proc/driver/nvidia/gpus")
        except OSError:
            pass
    if not lines:
        lines.append("neither CuPy nor torch is installed, and no NVIDIA driver is loaded")
    return found, lines


def _thread_report():
    lines = [f"CPU cores (os.cpu_count): {os.cpu_count()}"]
    if hasattr(os, "sched_getaffinity"):
        lines.append(f"CPU cores usable by this process: {len(os.sched_getaffinity(0))}")
    try:
        import numpy  # noqa: F401  (load the BLAS so that threadpoolctl sees it)
        import scipy.linalg  # noqa: F401
        from threadpoolctl import threadpool_info
    except Exception as exc:
        lines.append(f"thread pools: threadpoolctl not available ({exc})")
        return lines
    for pool in threadpool_info():
        lines.append(f"{pool.get('user_api', '?')} ({pool.get('internal_api', '?')}, "
                     f"{pool.get('prefix', '?')}): {pool.get('num_threads', '?')} threads")
    return lines


def info(file=None):
    """Print versions, thread pools, optional array libraries and GPUs; return them as a dict."""
    file = sys.stdout if file is None else file
    from . import __version__

    report = {"sklearn-ntk": __version__, "python": platform.python_version()}
    print(f"sklearn-ntk {__version__}", file=file)
    print(f"python      {platform.python_version()} ({sys.executable})", file=file)
    print(f"platform    {platform.platform()}", file=file)
    print("\nDependencies:", file=file)
    for name in _REQUIRED:
        module = name.replace("-", "_").replace("scikit_learn", "sklearn")
        version = _version_of(name, module)
        report[name] = version
        print(f"  {name:<18} {version or 'NOT FOUND'}", file=file)
    print("\nOptional libraries (looked up without importing them; versions from package "
          "metadata):",
          file=file)
    for name, module in _OPTIONAL:
        version = _version_of(name, module)
        report[name] = version
        print(f"  {name:<18} {version or 'not installed'}", file=file)
    print("\nThreads:", file=file)
    for line in _thread_report():
        print(f"  {line}", file=file)
    found, lines = _gpu_report()
    report["gpu"] = found
    print(f"\nGPU: {'found' if found else 'none found'}", file=file)
    for line in lines:
        print(f"  {line}", file=file)
    if os.environ.get("SCIPY_ARRAY_API") != "1":
        print("\nNote: SCIPY_ARRAY_API is not set to 1; scikit-learn's array_api_dispatch "
              "(torch, CuPy inputs) needs it at import time.", file=file)
    return report


# --------------------------------------------------------------------------------------------
# demo
# --------------------------------------------------------------------------------------------

_TARGET_ROWS = 60_000
_ALPHAS = tuple(10.0 ** k for k in range(-3, 3))  # 1e-3 .. 1e2, for every model


def _fmt_time(seconds):
    if seconds < 100:
        return f"{seconds:.2f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.1f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def _say(*args, end="\n"):
    print(*args, end=end, flush=True)


def _load_digits_split(seed):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, random_state=seed, stratify=y)
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


def _centred_one_hot(y, classes):
    return (y[:, None] == classes[None, :]) - 1.0 / len(classes)


def _exact_gcv_fit_predict(X_train, y_train, X_test, depth, alphas):
    """Exact NTK kernel ridge; alpha by GCV from one eigendecomposition of the kernel."""
    import numpy as np

    from . import ntk_kernel

    classes = np.unique(y_train)
    Y = _centred_one_hot(y_train, classes)
    K = ntk_kernel(X_train, depth=depth)
    eigval, eigvec = np.linalg.eigh(K)
    eigval = np.clip(eigval, 0.0, None)
    QY = eigvec.T @ Y
    best = None
    for alpha in alphas:
        shrink = eigval / (eigval + alpha)
        resid = Y - eigvec @ (shrink[:, None] * QY)
        score = np.mean(resid ** 2) / (1.0 - shrink.mean()) ** 2
        if best is None or score < best[0]:
            best = (score, alpha)
    alpha = best[1]
    dual = eigvec @ (QY / (eigval + alpha)[:, None])
    scores = ntk_kernel(X_test, X_train, depth=depth) @ dual
    return classes[np.argmax(scores, axis=1)], alpha


def _best_of(function, repeat_below=2.0, max_runs=2):
    """Run ``function`` (which returns a tuple of times) again while a run is this quick.

    Returns the tuple of the fastest run: short timings are dominated by noise.
    """
    best = function()
    for _ in range(max_runs - 1):
        if sum(best) >= repeat_below:
            break
        again = function()
        if sum(again) < sum(best):
            best = again
    return best


def _exact_fit_predict_timed(X_train, y_train, X_test, depth, alpha):
    """Exact NTK kernel ridge at one alpha (Cholesky solve): times of kernel, solve, predict."""
    import numpy as np
    import scipy.linalg

    from . import ntk_kernel

    classes = np.unique(y_train)
    Y = _centred_one_hot(y_train, classes)
    start = time.perf_counter()
    K = ntk_kernel(X_train, depth=depth)
    t_kernel = time.perf_counter() - start
    start = time.perf_counter()
    K[np.diag_indices_from(K)] += alpha
    dual = scipy.linalg.solve(K, Y, assume_a="pos", overwrite_a=True, check_finite=False)
    del K
    t_solve = time.perf_counter() - start
    start = time.perf_counter()
    classes[np.argmax(ntk_kernel(X_test, X_train, depth=depth) @ dual, axis=1)]
    t_predict = time.perf_counter() - start
    return t_kernel, t_solve, t_predict


def _sketch_model(feature_map, n_components, depth, seed):
    from . import NTKSketchClassifier

    return NTKSketchClassifier(n_components=n_components, depth=depth, feature_map=feature_map,
                               alphas=list(_ALPHAS), random_state=seed)


def _sketch_fit_predict_timed(model, X_train, y_train, X_test):
    start = time.perf_counter()
    model.fit(X_train, y_train).predict(X_test)
    return (time.perf_counter() - start,)


def _line_through(rows):
    """Slope and intercept of the sketch times against n (through the origin for one point)."""
    import numpy as np

    ns = np.array([n for n, _, _ in rows], dtype=float)
    ts = np.array([t for _, _, t in rows])
    if len(set(ns)) < 2:
        return ts.mean() / ns.mean(), 0.0
    slope, intercept = np.polyfit(ns, ts, 1)
    return slope, intercept


def _resampled_digits(X, y, n, rng):
    """``n`` rows drawn with replacement from the digits, each with a little Gaussian noise."""
    index = rng.integers(0, len(X), size=n)
    return X[index] + 0.1 * rng.standard_normal((n, X.shape[1])), y[index]


def demo(quick=False, depth=2, n_components=None, feature_map="random_features", seed=0,
         max_exact_seconds=40.0, time_budget=90.0):
    """Run the demo and return its measurements as a dict (see the module docstring)."""
    import numpy as np

    if n_components is None:
        n_components = 256 if quick else 1024
    exact_sizes = (250, 500, 1000) if quick else (1000, 2000, 4000, 6000)
    sketch_only_sizes = (4000,) if quick else (16_000, _TARGET_ROWS)
    map_name = {"random_features": "NTKRandomFeatures", "sketch": "NTKSketch"}[feature_map]
    results = {"n_components": n_components, "feature_map": feature_map, "depth": depth}
    total_start = time.perf_counter()

    _say(f"sklearn-ntk demo: exact NTK kernel ridge vs {map_name}({n_components}) + ridge "
         f"(NTKSketchClassifier), fully connected ReLU NTK of depth {depth}")
    _say(f"{os.cpu_count()} CPU cores; fixed random_state={seed}; scikit-learn's bundled "
         "load_digits data (no download)" + ("; --quick: reduced sizes" if quick else ""))

    # ---- 1. accuracy at equal data ---------------------------------------------------------
    X_train, X_test, y_train, y_test = _load_digits_split(seed)
    if quick:
        X_train, y_train, X_test, y_test = X_train[:400], y_train[:400], X_test[:200], y_test[:200]
    _say(f"\n[1/3] Accuracy at equal data: {len(X_train):,} train / {len(X_test):,} test digits "
         f"(64 pixels); alpha for both chosen by GCV on {len(_ALPHAS)} values 1e-3 .. 1e2")
    start = time.perf_counter()
    pred, alpha_exact = _exact_gcv_fit_predict(X_train, y_train, X_test, depth, _ALPHAS)
    t_exact = time.perf_counter() - start
    acc_exact = float(np.mean(pred == y_test))
    _say(f"  exact NTK kernel ridge             accuracy {acc_exact:.4f}  "
         f"(alpha {alpha_exact:.0e})  {_fmt_time(t_exact):>9}")
    model = _sketch_model(feature_map, n_components, depth, seed)
    start = time.perf_counter()
    acc_sketch = float(model.fit(X_train, y_train).score(X_test, y_test))
    t_sketch = time.perf_counter() - start
    _say(f"  {map_name + f'({n_components})':<24} + ridge  accuracy {acc_sketch:.4f}  "
         f"(alpha {model.alpha_:.0e})  {_fmt_time(t_sketch):>9}")
    gap = 100 * (acc_exact - acc_sketch)
    results.update(n_accuracy=len(X_train), exact_accuracy=acc_exact,
                   sketch_accuracy=acc_sketch, accuracy_gap_points=gap,
                   exact_alpha=alpha_exact)

    # ---- 2. time vs n ----------------------------------------------------------------------
    rng = np.random.default_rng(seed)
    X_all, y_all = np.vstack([X_train, X_test]), np.concatenate([y_train, y_test])
    _say(f"\n[2/3] Fit + predict time vs training rows n: digits rows resampled with small noise; "
         f"predict {len(X_test):,} test rows.\n"
         f"      exact = NTK kernel + one Cholesky solve at alpha {alpha_exact:.0e} (no tuning, "
         "its cheapest form); sketch = featurise + ridge with GCV over the alphas")
    _say(f"  {'n':>7}  {'exact':>9}  {'(kernel':>9} {'solve)':>8}  {'sketch':>9}  "
         f"{'exact / sketch':>14}")
    rows = []
    last_exact = None
    # warm-up (first calls load BLAS kernels, FFT plans, ...), not timed
    _exact_fit_predict_timed(X_train[:100], y_train[:100], X_test[:10], depth, alpha_exact)
    _sketch_fit_predict_timed(_sketch_model(feature_map, n_components, depth, seed),
                              X_train[:100], y_train[:100], X_test[:10])
    last_sketch = None
    for n in exact_sizes + sketch_only_sizes:
        elapsed = time.perf_counter() - total_start
        # cost of this size, predicted pessimistically from the previous one
        predicted_sketch = 0.0 if last_sketch is None else last_sketch[1] * n / last_sketch[0]
        if last_sketch is not None and elapsed + predicted_sketch > time_budget:
            _say(f"  {n:>7,}  skipped: about {_fmt_time(predicted_sketch)} more would exceed "
                 f"the {time_budget:.0f} s budget (--time-budget)")
            continue
        X_n, y_n = _resampled_digits(X_all, y_all, n, rng)
        _say(f"  {n:>7,}", end="")  # the row is completed as its measurements finish
        exact_parts = None
        predicted_exact = (0.0 if last_exact is None
                           else sum(last_exact[1]) * (n / last_exact[0]) ** 3)
        if n in exact_sizes and (last_exact is None or (  # the first size always runs
                predicted_exact <= max_exact_seconds
                and elapsed + predicted_exact + predicted_sketch <= time_budget)):
            exact_parts = _best_of(lambda: _exact_fit_predict_timed(X_n, y_n, X_test, depth,
                                                                    alpha_exact))
            last_exact = (n, exact_parts)
            _say(f"  {_fmt_time(sum(exact_parts)):>9}  {_fmt_time(exact_parts[0]):>9} "
                 f"{_fmt_time(exact_parts[1]):>8}", end="")
        else:
            _say(f"  {'-':>9}  {'':>9} {'':>8}", end="")
        (t_sk,) = _best_of(lambda: _sketch_fit_predict_timed(
            _sketch_model(feature_map, n_components, depth, seed), X_n, y_n, X_test))
        last_sketch = (n, t_sk)
        if exact_parts is None:
            _say(f"  {_fmt_time(t_sk):>9}  {'(sketch only)':>14}")
            rows.append((n, None, t_sk))
        else:
            t_ex = sum(exact_parts)
            ratio = t_ex / t_sk
            _say(f"  {_fmt_time(t_sk):>9}  {ratio:>13.{1 if ratio >= 1 else 2}f}x")
            rows.append((n, t_ex, t_sk))
    results["timings"] = rows

    # ---- 3. crossover and 60,000 rows ------------------------------------------------------
    _say("\n[3/3] Summary")
    both = [(n, te, ts) for n, te, ts in rows if te is not None]
    exact_wins = [n for n, te, ts in both if te < ts]
    if not exact_wins:
        crossover = (f"the sketch is faster at every size where both were timed "
                     f"(n = {both[0][0]:,} .. {both[-1][0]:,})")
        results["crossover"] = (None, both[0][0])
    elif max(exact_wins) == both[-1][0]:
        crossover = (f"exact kernel ridge is still faster at the largest size where both were "
                     f"timed (n = {both[-1][0]:,}); see the extrapolation below")
        results["crossover"] = (both[-1][0], None)
    else:
        below = max(exact_wins)
        above = min(n for n, _, _ in both if n > below)
        last_n, last_te, last_ts = both[-1]
        crossover = (f"exact kernel ridge is faster up to n = {below:,}; from n = {above:,} on "
                     f"the sketch is faster ({last_te / last_ts:.1f}x at n = {last_n:,})")
        results["crossover"] = (below, above)
    _say(f"  Crossover (measured): {crossover}.")

    n_ex, (t_kernel, t_solve, t_predict) = last_exact
    ratio = _TARGET_ROWS / n_ex
    exact_60k = t_kernel * ratio ** 2 + t_solve * ratio ** 3 + t_predict * ratio
    memory_gb = _TARGET_ROWS ** 2 * 8 / 1e9
    measured_60k = [ts for n, te, ts in rows if n == _TARGET_ROWS]
    if measured_60k:
        sketch_60k, how = measured_60k[0], "measured"
    else:  # straight line through the sketch timings (quick mode)
        slope, intercept = _line_through(rows)
        sketch_60k = max(intercept + slope * _TARGET_ROWS, max(t for _, _, t in rows))
        how = "extrapolated linearly"
    if results["crossover"][1] is None:  # exact still faster: where the two models cross
        slope, intercept = _line_through(rows)
        grid = np.geomspace(n_ex, 10 * _TARGET_ROWS, 400)
        r = grid / n_ex
        exact_model = t_kernel * r ** 2 + t_solve * r ** 3 + t_predict * r
        later = grid[exact_model > intercept + slope * grid]
        if len(later):
            _say(f"  Crossover (extrapolated): the sketch becomes faster near "
                 f"n = {later[0]:,.0f}.")
    results.update(exact_seconds_60k=exact_60k, sketch_seconds_60k=sketch_60k,
                   sketch_60k_measured=bool(measured_60k))
    _say(f"  At {_TARGET_ROWS:,} training rows:")
    _say(f"    sketch ({how}): {_fmt_time(sketch_60k)}; memory: the data, one batch of "
         f"features and a {n_components} x {n_components} Gram matrix")
    _say(f"    exact (extrapolated from n = {n_ex:,}: kernel x (n ratio)^2, solve x (n ratio)^3): "
         f"{_fmt_time(exact_60k)}, and a {_TARGET_ROWS:,} x {_TARGET_ROWS:,} float64 kernel of "
         f"{memory_gb:.1f} GB")
    _say(f"    => the sketch is about {exact_60k / sketch_60k:,.0f}x faster at "
         f"{_TARGET_ROWS:,} rows")
    _say(f"  Accuracy at equal data ({results['n_accuracy']:,} digits): exact {acc_exact:.4f}, "
         f"sketch {acc_sketch:.4f} ({gap:+.2f} points for exact); more components "
         "(--n-components) narrow the gap at linear cost.")
    if quick:
        _say("  (--quick: sizes this small make the timings and extrapolations rough; run the "
             "full demo for the real comparison.)")
    _say("  Images (convolutional NTK, Fashion-MNIST): benchmarks/RESULTS.md in the repository.")
    results["total_seconds"] = time.perf_counter() - total_start
    _say(f"\nDemo finished in {_fmt_time(results['total_seconds'])}.")
    return results


# --------------------------------------------------------------------------------------------
# argument parsing
# --------------------------------------------------------------------------------------------

def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def build_parser():
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="sklearn-ntk",
        description="Neural Tangent Kernel sketches and random features for scikit-learn: "
                    "demo and environment report. Also runs as 'python -m sklearn_ntk'.")
    parser.add_argument("--version", action="version", version=f"sklearn-ntk {__version__}",
                        help="print the package version and exit")
    commands = parser.add_subparsers(
        dest="command", metavar="COMMAND",
        help="demo or info ('sklearn-ntk COMMAND --help' lists its options)")
    commands.required = True

    demo_parser = commands.add_parser(
        "demo", help="compare exact NTK kernel ridge with the sketch: accuracy, time vs n, "
                     "crossover, cost at 60,000 rows (about a minute on 2 cores)",
        description="Exact NTK kernel ridge against NTK random features + ridge on "
                    "scikit-learn's bundled digits data: accuracy at equal data, fit + predict "
                    "time at growing n, the crossover and both costs at 60,000 rows.")
    demo_parser.add_argument("--quick", action="store_true",
                             help="small sizes only (a few seconds; for smoke tests)")
    demo_parser.add_argument("--seed", type=int, default=0,
                             help="random_state of the data split, resampling and feature map "
                                  "(default: 0)")
    demo_parser.add_argument("--depth", type=_positive_int, default=2,
                             help="number of hidden ReLU layers of the NTK (default: 2)")
    demo_parser.add_argument("--n-components", type=_positive_int, default=None,
                             help="number of features of the sketch (default: 1024, "
                                  "256 with --quick)")
    demo_parser.add_argument("--feature-map", choices=["random_features", "sketch"],
                             default="random_features",
                             help="random_features: NTKRandomFeatures (fastest); sketch: "
                                  "NTKSketch (degree-8 PolySketch, slower per row) "
                                  "(default: random_features)")
    demo_parser.add_argument("--max-exact-seconds", type=float, default=40.0,
                             help="skip the exact method at sizes where its predicted time "
                                  "(the previous size's, times the cube of the size ratio) "
                                  "exceeds this (default: 40)")
    demo_parser.add_argument("--time-budget", type=float, default=90.0,
                             help="skip the remaining sizes once their predicted time would "
                                  "take the demo past this many seconds; their costs are then "
                                  "extrapolated (default: 90)")

    commands.add_parser("info", help="print versions, thread pools, optional array libraries "
                                     "and GPUs found",
                        description="Versions of sklearn-ntk and its dependencies, BLAS/OpenMP "
                                    "thread counts (threadpoolctl), which optional array "
                                    "libraries are installed and whether a GPU is visible.")
    return parser


def main(argv=None):
    """Entry point of ``python -m sklearn_ntk`` and of the ``sklearn-ntk`` console script."""
    args = build_parser().parse_args(argv)
    if args.command == "demo":
        demo(quick=args.quick, depth=args.depth, n_components=args.n_components,
             feature_map=args.feature_map, seed=args.seed,
             max_exact_seconds=args.max_exact_seconds, time_budget=args.time_budget)
    elif args.command == "info":
        info()
    return 0


if __name__ == "__main__":
    sys.exit(main())
