"""Fashion-MNIST: exact CNTK kernel ridge vs CNTKSketch + ridge, at equal data and on the full set.

``equal``  -- (b) images 2x2-mean-pooled to 14x14, balanced subsets (``--per-class`` train and
              ``--test-per-class`` test images per class; larger subsets contain the smaller
              ones, so exact kernel blocks are computed once and cached). Every model gets the
              same data and the same alpha selection: mean validation accuracy over 5
              stratified folds of the training subset, then a refit on the whole subset.
              ``--model exact``: the exact CNTK (train x train, test x train) and kernel ridge
              for every alpha from one eigendecomposition; ``--model sketch``: CNTKSketch
              features and the same ridge on them; ``--model poly`` (depth 1): the exact
              kernel of the sketch's polynomial approximations, to separate their bias from
              the sketching noise. Each run writes JSON to ``benchmarks/_data/``.
``kernel-error`` -- centred kernel error of CNTKSketch against its noiseless polynomial
              kernel for several widths (depth 1, 300 images).
``full``   -- (c) CNTKSketchClassifier on all 60,000 28x28 training images, scored on the
              10,000 test images; wall time per stage and peak resident memory.

Run ``python benchmarks/bench_cntk_fashion.py equal --model exact --per-class 200
--test-per-class 200`` (about an hour; the 100-per-class blocks first, then the rest), then
``... equal --model sketch ...`` with the same subset and ``... full``; ``report`` prints the
Markdown for RESULTS.md.
"""

import argparse
import json
import os
import platform
import resource
import time

import numpy as np

from sklearn_ntk import CNTKSketch, CNTKSketchClassifier, cntk_kernel
from sklearn_ntk._ridge import KernelRidgePath
from sklearn_ntk.datasets import load_fashion_mnist, mean_pool_images

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_data")
ALPHAS = np.logspace(-7, 2, 19)
# The full run's GCV chose the lowest alpha of ALPHAS at 20,000 images: go further down there.
ALPHAS_FULL = np.logspace(-11, 2, 27)


def cpu_seconds():
    """User + system CPU time of this process (all threads): the cost on a loaded machine."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def balanced_subset(y, per_class, seed):
    rng = np.random.default_rng(seed)
    return np.sort(np.concatenate([rng.choice(np.flatnonzero(y == c), per_class, replace=False)
                                   for c in np.unique(y)]))


def choose_alpha(scores_on_split, y, classes, n_folds=5):
    """Alpha with the best mean validation accuracy over stratified folds of the training set.

    ``scores_on_split(fit, val)`` returns one score array per alpha for the rows ``val`` of a
    model fitted on the rows ``fit``. Several folds, not one small split: with a single 20%
    split of 1,000 images the choice was noisy enough to move test accuracy by 2-3 points.
    """
    from sklearn.model_selection import StratifiedKFold

    accuracy = np.zeros(len(ALPHAS))
    for fit, val in StratifiedKFold(n_folds, shuffle=True, random_state=0).split(y, y):
        accuracy += [np.mean(classes[s.argmax(axis=1)] == y[val])
                     for s in scores_on_split(fit, val)]
    accuracy /= n_folds
    return float(ALPHAS[int(np.argmax(accuracy))]), accuracy.tolist()


def centred_one_hot(y, classes):
    Y = (y[:, None] == classes[None, :]).astype(np.float64)
    return Y - 1.0 / len(classes)


def kernel_ridge_scores(K_fit, K_eval, y_fit, classes, alphas):
    """Kernel ridge with an intercept for every alpha (the library's solver, one
    eigendecomposition). Returns the decision scores on the evaluation rows, one per alpha."""
    path = KernelRidgePath(K_fit, centred_one_hot(y_fit, classes), alphas)
    return [path.decision_function(K_eval, alpha) for alpha in alphas]


# The smallest equal-data subset. Larger ones contain it (nested draws), so the exact kernel
# blocks already computed for it are reused. Every subset is standardised with the training
# statistics of the base subset: the CNTK is not shift-invariant, so the blocks only fit
# together under one fixed preprocessing.
BASE_PER_CLASS = 100


def nested_balanced_subset(y, per_class, seed):
    """``balanced_subset(y, BASE_PER_CLASS, seed)`` plus ``per_class - BASE_PER_CLASS`` more
    images per class drawn from the rest (``per_class >= BASE_PER_CLASS``)."""
    base = balanced_subset(y, BASE_PER_CLASS, seed)
    if per_class == BASE_PER_CLASS:
        return base
    rest = np.setdiff1d(np.arange(len(y)), base)
    extra = rest[balanced_subset(y[rest], per_class - BASE_PER_CLASS, seed + 100)]
    return np.concatenate([base, np.sort(extra)])


def load_equal(per_class, test_per_class=BASE_PER_CLASS, seed=0):
    """Train (``per_class`` per class) and test (``test_per_class`` per class) images, both
    nested over the base subsets, 14x14, standardised with the base training statistics."""
    for name, value in (("per_class", per_class), ("test_per_class", test_per_class)):
        if value < BASE_PER_CLASS:
            raise ValueError(f"{name} must be >= {BASE_PER_CLASS}, got {value}")
    X_tr, y_tr = load_fashion_mnist("train", return_X_y=True)
    X_te, y_te = load_fashion_mnist("test", return_X_y=True)
    tr = nested_balanced_subset(y_tr, per_class, seed)
    te = nested_balanced_subset(y_te, test_per_class, seed + 1)
    X_tr = mean_pool_images(X_tr[tr], (28, 28), 2).astype(np.float64)
    X_te = mean_pool_images(X_te[te], (28, 28), 2).astype(np.float64)
    base = X_tr[:BASE_PER_CLASS * 10]
    mean, std = base.mean(), base.std()
    return (X_tr - mean) / std, y_tr[tr], (X_te - mean) / std, y_te[te]


def subset_tag(args):
    """File-name tag of an equal-data subset: train per class, then 't' test per class."""
    test = "" if args.test_per_class == BASE_PER_CLASS else f"t{args.test_per_class}"
    return f"{args.per_class}{test}"


def exact_kernels_blockwise(X_tr, X_te, geometry, depth):
    """Train and test CNTK matrices, assembled from blocks of BASE_PER_CLASS * 10 images.

    Every block is cached in ``benchmarks/_data`` with its compute time as soon as it is
    done (a run that is stopped keeps its blocks), and blocks of nested subsets are shared
    between runs. Returns the matrices and the summed compute times of all their blocks: the
    cost of computing the whole kernel, even when parts came from the cache.
    """
    size = BASE_PER_CLASS * 10
    n_tr, n_te = len(X_tr) // size, len(X_te) // size
    K_tr, K_te = np.empty((len(X_tr), len(X_tr))), np.empty((len(X_te), len(X_tr)))
    t_train = t_test = 0.0

    def block(kind, i, j):
        path = os.path.join(DATA, f"fashion_exact_block_d{depth}_{kind}{i}_train{j}.npz")
        if kind == "train" and i == 0 and j == 0:  # the base run's kernels, saved whole
            path_base = os.path.join(DATA, f"fashion_equal_exact_kernels_{BASE_PER_CLASS}_d{depth}.npz")
            if os.path.exists(path_base) and not os.path.exists(path):
                saved = np.load(path_base)
                np.savez(path, K=saved["K_train"], t=float(saved["t_train"]))
                np.savez(os.path.join(DATA, f"fashion_exact_block_d{depth}_test0_train0.npz"),
                         K=saved["K_test"], t=float(saved["t_test"]))
        if os.path.exists(path):
            saved = np.load(path)
            return saved["K"], float(saved["t"])
        rows = (X_tr if kind == "train" else X_te)[i * size:(i + 1) * size]
        cols = X_tr[j * size:(j + 1) * size]
        start = time.perf_counter()
        K = cntk_kernel(rows, **geometry) if (kind, i) == ("train", j) else \
            cntk_kernel(rows, cols, **geometry)
        elapsed = time.perf_counter() - start
        os.makedirs(DATA, exist_ok=True)
        np.savez(path, K=K, t=elapsed)
        print(f"block {kind}{i} x train{j}: {elapsed:.0f} s", flush=True)
        return K, elapsed

    for i in range(n_tr):
        for j in range(i + 1):
            K, t = block("train", i, j)
            K_tr[i * size:(i + 1) * size, j * size:(j + 1) * size] = K
            K_tr[j * size:(j + 1) * size, i * size:(i + 1) * size] = K.T
            t_train += t
    for i in range(n_te):
        for j in range(n_tr):
            K, t = block("test", i, j)
            K_te[i * size:(i + 1) * size, j * size:(j + 1) * size] = K
            t_test += t
    return K_tr, K_te, t_train, t_test


def run_equal_exact(args):
    X_tr, y_tr, X_te, y_te = load_equal(args.per_class, args.test_per_class)
    classes = np.unique(y_tr)
    geometry = dict(depth=args.depth, filter_size=args.filter_size, image_shape=(14, 14, 1))
    if args.per_class == args.test_per_class == BASE_PER_CLASS:
        cache = os.path.join(DATA, f"fashion_equal_exact_kernels_{args.per_class}_d{args.depth}.npz")
    else:
        cache = None
    start = time.perf_counter()
    if cache and args.reuse and os.path.exists(cache):  # re-solve only; kernel times saved
        saved = np.load(cache)
        K_tr, K_te = saved["K_train"], saved["K_test"]
        t_train_kernel, t_test_kernel = float(saved["t_train"]), float(saved["t_test"])
    elif cache is None:
        K_tr, K_te, t_train_kernel, t_test_kernel = exact_kernels_blockwise(
            X_tr, X_te, geometry, args.depth)
    else:
        K_tr = cntk_kernel(X_tr, **geometry)
        t_train_kernel = time.perf_counter() - start
        start_test = time.perf_counter()
        K_te = cntk_kernel(X_te, X_tr, **geometry)
        t_test_kernel = time.perf_counter() - start_test
        os.makedirs(DATA, exist_ok=True)
        np.savez(cache, K_train=K_tr, K_test=K_te, t_train=t_train_kernel, t_test=t_test_kernel)
    start_solve = time.perf_counter()
    alpha, val_acc = choose_alpha(lambda fit, val: kernel_ridge_scores(
        K_tr[np.ix_(fit, fit)], K_tr[np.ix_(val, fit)], y_tr[fit], classes, ALPHAS),
        y_tr, classes)
    (score,) = kernel_ridge_scores(K_tr, K_te, y_tr, classes, [alpha])
    t_solve = time.perf_counter() - start_solve
    result = dict(model="exact", per_class=args.per_class,
                  test_per_class=args.test_per_class, n_train=len(y_tr), n_test=len(y_te),
                  **{k: v for k, v in geometry.items() if k != "image_shape"},
                  alpha=alpha, alphas=ALPHAS.tolist(), val_accuracy=val_acc,
                  test_accuracy=float(np.mean(classes[score.argmax(axis=1)] == y_te)),
                  test_predictions=classes[score.argmax(axis=1)].tolist(),
                  test_labels=y_te.tolist(),
                  time_train_kernel=t_train_kernel, time_test_kernel=t_test_kernel,
                  time_solve=t_solve,
                  time_total=t_train_kernel + t_test_kernel + t_solve,
                  peak_rss_mib=peak_rss_mib())
    save(f"fashion_equal_exact_{subset_tag(args)}_d{args.depth}.json", result)


def feature_ridge_scores(Z_fit, Z_eval, y_fit, classes, alphas):
    """Ridge with an intercept on features, every alpha from one eigendecomposition: kernel
    ridge on ``Z Z^T`` (whose centring is that of the features), the same predictions as the
    primal solve for these subset sizes (at most a few thousand rows)."""
    Z_fit, Z_eval = Z_fit.astype(np.float64), Z_eval.astype(np.float64)
    return kernel_ridge_scores(Z_fit @ Z_fit.T, Z_eval @ Z_fit.T, y_fit, classes, alphas)


def run_equal_sketch(args):
    X_tr, y_tr, X_te, y_te = load_equal(args.per_class, args.test_per_class)
    classes = np.unique(y_tr)
    params = dict(n_components=args.n_components, depth=args.depth,
                  filter_size=args.filter_size, degree=args.degree, image_shape=(14, 14, 1),
                  sketch_dim=args.sketch_dim, random_state=args.seed)
    X_tr, X_te = X_tr.astype(args.dtype), X_te.astype(args.dtype)
    start = time.perf_counter()
    # One featurisation of the training subset; alpha chosen on the validation split with
    # the same features, as for the exact model (whose kernel is computed once too).
    sketch = CNTKSketch(**params).fit(X_tr)
    Z_tr = sketch.transform(X_tr)
    t_features = time.perf_counter() - start
    alpha, val_acc = choose_alpha(lambda fit, val: feature_ridge_scores(
        Z_tr[fit], Z_tr[val], y_tr[fit], classes, ALPHAS), y_tr, classes)
    (score,) = feature_ridge_scores(Z_tr, sketch.transform(X_te), y_tr, classes, [alpha])
    total = time.perf_counter() - start
    result = dict(model="sketch", per_class=args.per_class,
                  test_per_class=args.test_per_class, n_train=len(y_tr),
                  n_test=len(y_te), **{k: v for k, v in params.items() if k != "image_shape"},
                  dtype=args.dtype, sketch_dim_used=sketch.sketch_dim_, alpha=alpha,
                  alphas=ALPHAS.tolist(), val_accuracy=val_acc,
                  test_accuracy=float(np.mean(classes[score.argmax(axis=1)] == y_te)),
                  test_predictions=classes[score.argmax(axis=1)].tolist(),
                  time_train_features=t_features, time_total=total,
                  peak_rss_mib=peak_rss_mib())
    save(f"fashion_equal_sketch_{subset_tag(args)}_d{args.depth}_{args.n_components}"
         f"_deg{args.degree}_sd{sketch.sketch_dim_}_s{args.seed}.json", result)


def run_full(args):
    start = time.perf_counter()
    X_tr, y_tr = load_fashion_mnist("train", return_X_y=True)
    X_te, y_te = load_fashion_mnist("test", return_X_y=True)
    if args.n_train:
        keep = balanced_subset(y_tr, args.n_train // 10, 0)
        X_tr, y_tr = X_tr[keep], y_tr[keep]
    mean, std = X_tr.mean(), X_tr.std()
    X_tr = ((X_tr - mean) / std).astype(args.dtype)
    X_te = ((X_te - mean) / std).astype(args.dtype)
    t_load = time.perf_counter() - start
    # The library estimator as a user would run it: alpha by GCV from one eigendecomposition.
    # architecture=None: the global average pooling network of (c), set explicitly because
    # the estimators default to "pool_flatten".
    model = CNTKSketchClassifier(n_components=args.n_components, architecture=None,
                                 depth=args.depth,
                                 filter_size=args.filter_size, degree=args.degree,
                                 sketch_dim=args.sketch_dim, image_shape=(28, 28, 1),
                                 alphas=ALPHAS_FULL, random_state=0)
    start = time.perf_counter()
    model.fit(X_tr, y_tr)
    t_fit = time.perf_counter() - start
    start = time.perf_counter()
    accuracy = float(model.score(X_te, y_te))
    t_predict = time.perf_counter() - start
    result = dict(model="sketch-full", n_train=len(y_tr), n_test=len(y_te),
                  n_components=args.n_components, depth=args.depth,
                  filter_size=args.filter_size, degree=args.degree, dtype=args.dtype,
                  sketch_dim=model.feature_map_.sketch_dim_,
                  n_pooled=model.feature_map_.n_pooled_, alpha=float(model.alpha_),
                  test_accuracy=accuracy, time_load=t_load, time_fit=t_fit,
                  time_predict=t_predict, train_images_per_s=len(y_tr) / t_fit,
                  time_total=t_load + t_fit + t_predict, peak_rss_mib=peak_rss_mib())
    save(f"fashion_full_d{args.depth}_{args.n_components}_sd{model.feature_map_.sketch_dim_}"
         f"_deg{args.degree}_{len(y_tr)}.json", result)


def symmetric_power_features(X, coef, image_shape=(14, 14, 1), filter_size=3, batch=20):
    r"""Explicit features of the depth-1 CNTK with kappa0/kappa1 replaced by polynomials.

    At depth 1, with patches :math:`u_p` (norm :math:`n_p`, direction :math:`\mu_p`) and
    P pixels, the CNTK-GAP is :math:`\frac{1}{P^2}\sum_{p,p'} n_p n'_{p'}
    g(\langle\mu_p, \mu'_{p'}\rangle)` with :math:`g(t) = t\kappa_0(t) + \kappa_1(t)`.
    For a polynomial :math:`g(t) = \sum_k c_k t^k` this is :math:`\sum_k c_k \langle F_k,
    F'_k\rangle` with :math:`F_k = \frac1P \sum_p n_p\, \mu_p^{\otimes k}`, stored as
    symmetric tensors: one coordinate per multiset of k of the patch's coordinates, scaled
    by the square root of its multinomial coefficient. This is the kernel the sketch would
    estimate with unlimited width: it separates the polynomial bias from the sketching noise.
    """
    from collections import Counter
    from itertools import combinations_with_replacement
    from math import factorial

    from sklearn_ntk._images import extract_patches

    def features(block):
        patches = extract_patches(block.reshape((-1,) + image_shape), filter_size, "same")
        patches = patches.reshape(len(block), -1, patches.shape[-1])
        norms = np.linalg.norm(patches, axis=2)
        mu = patches / np.where(norms > 0, norms, 1.0)[..., None]
        weights = norms / patches.shape[1]
        out = [np.sqrt(coef[0]) * weights.sum(axis=1, keepdims=True)]
        index, values = {(): 0}, np.ones(mu.shape[:2] + (1,))
        for k in range(1, len(coef)):
            keys = list(combinations_with_replacement(range(mu.shape[2]), k))
            parent = np.array([index[key[:-1]] for key in keys])
            values = values[:, :, parent] * mu[:, :, [key[-1] for key in keys]]
            multinomial = np.array([factorial(k) / np.prod([factorial(c) for c in
                                                             Counter(key).values()])
                                    for key in keys])
            if coef[k] > 0:
                out.append(np.sqrt(coef[k] * multinomial)
                           * np.einsum("np,npm->nm", weights, values))
            index = {key: i for i, key in enumerate(keys)}
        return np.hstack(out)

    return np.vstack([features(X[i:i + batch]) for i in range(0, len(X), batch)])


def sketch_polynomial(degree):
    """The polynomial g(t) ~ kappa1(t) + t kappa0(t) that CNTKSketch uses at depth 1, and
    its max error (the first layer's ``coef_[0, 1]``)."""
    from sklearn_ntk._polyfit import fit_dot_product_polynomial

    c, error = fit_dot_product_polynomial("ntk", degree, depth=1, lower=-1.0)
    return np.asarray(c), error


def run_polynomial_kernel(args):
    """Exact kernel ridge with the sketch's polynomial kernel (depth 1, no sketching)."""
    if args.depth != 1:
        raise ValueError("poly: depth 1 only")
    X_tr, y_tr, X_te, y_te = load_equal(args.per_class, args.test_per_class)
    classes = np.unique(y_tr)
    coef, error = sketch_polynomial(args.degree)
    errors = [error]
    start = time.perf_counter()
    F_tr = symmetric_power_features(X_tr, coef)
    F_te = symmetric_power_features(X_te, coef)
    K_tr, K_te = F_tr @ F_tr.T, F_te @ F_tr.T
    alpha, val_acc = choose_alpha(lambda fit, val: kernel_ridge_scores(
        K_tr[np.ix_(fit, fit)], K_tr[np.ix_(val, fit)], y_tr[fit], classes, ALPHAS),
        y_tr, classes)
    (score,) = kernel_ridge_scores(K_tr, K_te, y_tr, classes, [alpha])
    result = dict(model="polynomial kernel", per_class=args.per_class,
                  test_per_class=args.test_per_class, n_train=len(y_tr), n_test=len(y_te),
                  depth=1, degree=args.degree, fit_errors=[float(e) for e in errors],
                  n_features=F_tr.shape[1], alpha=alpha, val_accuracy=val_acc,
                  test_accuracy=float(np.mean(classes[score.argmax(axis=1)] == y_te)),
                  test_predictions=classes[score.argmax(axis=1)].tolist(),
                  time_total=time.perf_counter() - start, peak_rss_mib=peak_rss_mib())
    save(f"fashion_equal_poly_{subset_tag(args)}_d1_deg{args.degree}.json", result)


def run_kernel_error(args):
    """Centred relative Frobenius error of the sketch's Z Z^T against its noiseless kernel.

    On the first 300 training images of the base subset (depth 1), for several
    (n_components, sketch_dim) widths, mean over seeds 0 and 1: how fast the sketching noise
    vanishes with each width (ridge with an intercept only sees the centred kernel).
    """
    X = load_equal(BASE_PER_CLASS)[0][:300]
    coef, _ = sketch_polynomial(args.degree)
    F = symmetric_power_features(X, coef)
    centre = np.eye(len(X)) - 1.0 / len(X)
    K = centre @ (F @ F.T) @ centre
    print(f"degree {args.degree}, {len(X)} images: centred relative Frobenius error")
    for n_components, sketch_dim in [(2048, 256), (8192, 1024), (32768, 256), (32768, 1024),
                                     (8192, 4096), (32768, 4096)]:
        errors = []
        for seed in (0, 1):
            sketch = CNTKSketch(n_components, degree=args.degree, sketch_dim=sketch_dim,
                                image_shape=(14, 14, 1), random_state=seed).fit(X)
            Z = sketch.transform(X.astype(args.dtype)).astype(np.float64)
            errors.append(np.linalg.norm(centre @ (Z @ Z.T) @ centre - K) / np.linalg.norm(K))
        print(f"n_components {n_components:6d} sketch_dim {sketch_dim:5d}: "
              f"{np.mean(errors):.4f}", flush=True)


def save(name, result):
    result["cpu_seconds_process"] = cpu_seconds()
    result["machine"] = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    os.makedirs(DATA, exist_ok=True)
    with open(os.path.join(DATA, name), "w") as handle:
        json.dump(result, handle, indent=1)
    print(json.dumps(result, indent=1))


def print_gap_summary(exact, sketches, key):
    """One line per sketch configuration: accuracy over seeds and the gap to exact."""
    groups = {}
    for r in sketches:
        config = key(r) + (r["n_components"], r["degree"], r["sketch_dim_used"], r["dtype"])
        groups.setdefault(config, []).append(r)
    print("Gap to exact per sketch configuration, over random_state seeds (points of accuracy; "
          "paired SE from the per-image differences, shown for the mean over seeds):\n")
    print("| n train / test | n_components | degree | sketch_dim | seeds | accuracy per seed | "
          "mean | gap to exact | paired SE | time per run (s, median) | exact / sketch time |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for config, runs in sorted(groups.items()):
        ref = exact.get(config[:3])
        accs = [r["test_accuracy"] for r in runs]
        gap = se = "-"
        if ref is not None and all("test_predictions" in r for r in runs + [ref]):
            y_test = np.asarray(ref["test_labels"]) if "test_labels" in ref else None
            if y_test is not None:
                # The mean over seeds of per-image correctness, paired with exact's.
                correct = np.mean([np.asarray(r["test_predictions"]) == y_test for r in runs],
                                  axis=0)
                d = (np.asarray(ref["test_predictions"]) == y_test) - correct
                gap = f"{100 * d.mean():.2f}"
                se = f"{100 * d.std(ddof=1) / np.sqrt(len(d)):.2f}"
        if gap == "-" and ref is not None:
            gap = f"{100 * (ref['test_accuracy'] - np.mean(accs)):.2f}"
        seconds = float(np.median([r["time_total"] for r in runs]))
        ratio = f"{ref['time_total'] / seconds:.0f}x" if ref is not None else "-"
        print(f"| {config[0]} / {config[1]} | {config[3]} | {config[4]} | {config[5]} | "
              f"{len(runs)} | {', '.join(f'{a:.4f}' for a in accs)} | {np.mean(accs):.4f} | "
              f"{gap} | {se} | {seconds:.0f} | {ratio} |")
    print()


def report():
    """Markdown for RESULTS.md from the JSON files in benchmarks/_data."""
    import glob

    def load(pattern):
        return [json.load(open(path)) for path in sorted(glob.glob(os.path.join(DATA, pattern)))]

    def key(r):
        return r["n_train"], r["n_test"], r["depth"]

    exact = {key(r): r for r in load("fashion_equal_exact_*_d*.json") if "time_solve" in r}
    print("## (b) Fashion-MNIST 14x14, exact CNTK vs CNTKSketch + ridge at equal data\n")
    print("Balanced subsets (per class: train / test), 2x2 mean-pooled images, pixels "
          "standardised; alpha by mean validation accuracy over 5 stratified folds of the "
          "training subset, then refit on all of it. Exact: cntk_kernel (threads over pair "
          "blocks) + kernel ridge from one eigendecomposition; sketch: CNTKSketch features + "
          "primal ridge from one eigendecomposition. Times are wall-clock, end to end.\n")
    print("| model | n train / test | depth | n_components | test accuracy | alpha | "
          "time (s) | CPU s | time ratio exact/sketch | extrapolated to 60k+10k |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in load("fashion_equal_exact_*_d*.json"):
        if "time_solve" not in r:
            continue
        pairs = r["n_train"] ** 2 / 2 + r["n_train"] * r["n_test"]
        per_pair = (r["time_train_kernel"] + r["time_test_kernel"]) / pairs
        full = per_pair * (60000 ** 2 / 2 + 60000 * 10000)
        print(f"| exact CNTK | {r['n_train']} / {r['n_test']} | {r['depth']} | - | "
              f"{r['test_accuracy']:.4f} | {r['alpha']:.0e} | {r['time_total']:.0f} | "
              f"{r['cpu_seconds_process']:.0f} | 1 | {full / 86400:.1f} days of kernel "
              "entries (n^2), plus an O(n^3) solve |")
    for r in load("fashion_equal_sketch_*_d*_*.json"):
        ref = exact.get(key(r))
        ratio = f"{ref['time_total'] / r['time_total']:.0f}x" if ref else "-"
        full = r["time_total"] / (r["n_train"] + r["n_test"]) * 70000
        print(f"| CNTKSketch ({r['dtype']}, degree {r['degree']}, sketch_dim "
              f"{r['sketch_dim_used']}, seed {r['random_state']}) | "
              f"{r['n_train']} / {r['n_test']} | {r['depth']} | "
              f"{r['n_components']} | {r['test_accuracy']:.4f} | {r['alpha']:.0e} | "
              f"{r['time_total']:.0f} | {r['cpu_seconds_process']:.0f} | {ratio} | "
              f"{full / 60:.0f} min (n) |")
    print()
    print_gap_summary(exact, load("fashion_equal_sketch_*_d*_*.json"), key)
    polys = load("fashion_equal_poly_*.json")
    if polys:
        print("The sketch's polynomial kernel without sketching (depth 1: exact kernel ridge on "
              "explicit symmetric-tensor features), same subsets and alpha selection:\n")
        print("| n train / test | degree | max fit error of kappa1 + t kappa0 | test accuracy | "
              "alpha | gap to exact |")
        print("|---|---|---|---|---|---|")
        for r in polys:
            ref = exact.get(key(r))
            gap = f"{100 * (ref['test_accuracy'] - r['test_accuracy']):.2f}" if ref else "-"
            print(f"| {r['n_train']} / {r['n_test']} | {r['degree']} | "
                  f"{r['fit_errors'][0]:.4f} | "
                  f"{r['test_accuracy']:.4f} | {r['alpha']:.0e} | {gap} |")
        print()
    runs = load("fashion_full_*.json")
    if runs:
        print("## (c) Fashion-MNIST full: CNTKSketchClassifier on 60,000 28x28 images\n")
        print("| train images | depth | n_components | sketch_dim | pooled width (rank bound) | "
              "degree | dtype | test accuracy | alpha (GCV) | "
              "fit (s) | train images/s | predict 10k (s) | total (s) | peak RSS (MiB) |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for r in runs:
            print(f"| {r['n_train']} | {r['depth']} | {r['n_components']} | {r['sketch_dim']} | "
                  f"{r.get('n_pooled', '-')} | {r['degree']} | "
                  f"{r['dtype']} | {r['test_accuracy']:.4f} | {r['alpha']:.0e} | "
                  f"{r['time_fit']:.0f} | {r['train_images_per_s']:.1f} | "
                  f"{r['time_predict']:.0f} | {r['time_total']:.0f} | "
                  f"{r['peak_rss_mib']:.0f} |")
        print()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["equal", "full", "report", "kernel-error"])
    parser.add_argument("--model", choices=["exact", "sketch", "poly"], default="sketch",
                        help="equal: exact CNTK, CNTKSketch, or (depth 1) the exact kernel of "
                             "the sketch's polynomials")
    parser.add_argument("--per-class", type=int, default=BASE_PER_CLASS,
                        help="equal: training images per class (nested subsets)")
    parser.add_argument("--test-per-class", type=int, default=BASE_PER_CLASS,
                        help="equal: test images per class (nested subsets)")
    parser.add_argument("--depth", type=int, default=1)
    parser.add_argument("--filter-size", type=int, default=3)
    parser.add_argument("--degree", type=int, default=4)
    parser.add_argument("--n-components", type=int, default=4096)
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--sketch-dim", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0, help="random_state of the sketch")
    parser.add_argument("--reuse", action="store_true",
                        help="equal --model exact: re-solve from the saved kernels")
    parser.add_argument("--n-train", type=int, default=0, help="full: balanced subset (0: all)")
    args = parser.parse_args()
    if args.what == "report":
        report()
    elif args.what == "kernel-error":
        run_kernel_error(args)
    elif args.what == "full":
        run_full(args)
    elif args.model == "exact":
        run_equal_exact(args)
    elif args.model == "poly":
        run_polynomial_kernel(args)
    else:
        run_equal_sketch(args)


if __name__ == "__main__":
    main()
