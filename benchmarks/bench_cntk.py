"""CNTK benchmarks: (a) throughput of CNTKSketch vs the exact per-pair cost.

(a) images/s of ``CNTKSketch.transform`` at 28x28x1 and 32x32x3 for n_components 1024 and
    4096 (depth 3, filter 4, degree 2: the settings of the reference PyTorch figures), in
    float64 and float32, side by side in one run with the exact ``cntk_kernel`` cost per
    image pair; the ratio to the reference figures (0.15 s / image at 1024 and 0.55-0.87 s at
    4096 for 32x32x3 on a 2-core machine) and the accuracy at those settings (relative
    Frobenius error of ZZ^T against the exact kernel on 16 random images) are printed
    beside them, so speed is never bought with accuracy.
(b), (c): ``benchmarks/bench_cntk_fashion.py`` (Fashion-MNIST, long).

Run ``python benchmarks/bench_cntk.py [--quick]``; it prints Markdown for RESULTS.md.
"""

import argparse
import contextlib
import os
import platform
import threading
import time
from unittest import mock

import numpy as np

from sklearn_ntk import CNTKSketch, cntk_kernel
from sklearn_ntk import _sketches, cntk_sketch
from sklearn_ntk.layers import _features, _ops

REFERENCE_SECONDS = {1024: (0.15, 0.15), 4096: (0.55, 0.87), 16384: (3.3, 3.3)}


def best_of(function, repeat=2):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def relative_error(Z, K):
    return float(np.linalg.norm(Z @ Z.T - K) / np.linalg.norm(K))


def throughput(quick):
    depth, filter_size, degree = 3, 4, 2
    shapes = [(28, 28, 1), (32, 32, 3)]
    components = [1024, 4096]
    n_images = 16 if quick else 64
    rng = np.random.default_rng(0)
    print("## (a) CNTKSketch throughput vs exact CNTK (depth 3, filter 4, degree 2)\n")
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
          f"{n_images} random images per timing (best of 2); exact: seconds per image pair "
          "(kernel of 8 x 8 images, off-diagonal pairs).\n")
    print("| image | n_components | sketch_dim | dtype | s / image | images/s | "
          "vs reference | rel. error (16 imgs) | exact s / pair | sketch / exact pair |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for shape in shapes:
        d = int(np.prod(shape))
        X = rng.standard_normal((n_images, d))
        X_pairs = rng.standard_normal((16, d))
        exact_seconds = best_of(lambda: cntk_kernel(X_pairs[:8], X_pairs[8:], depth=depth,
                                                    filter_size=filter_size,
                                                    image_shape=shape), 1) / 64
        K = cntk_kernel(X_pairs, depth=depth, filter_size=filter_size, image_shape=shape)
        for m in components:
            for dtype in (np.float64, np.float32):
                sketch = CNTKSketch(m, depth=depth, filter_size=filter_size, degree=degree,
                                    image_shape=shape, random_state=0).fit(X)
                Xd = X.astype(dtype)
                seconds = best_of(lambda: sketch.transform(Xd)) / n_images
                error = relative_error(
                    sketch.transform(X_pairs.astype(dtype)).astype(np.float64), K)
                if shape == (32, 32, 3):
                    low, high = REFERENCE_SECONDS[m]
                    ref = (f"{low / seconds:.1f}x" if low == high
                           else f"{low / seconds:.1f}-{high / seconds:.1f}x")
                else:
                    ref = "-"
                print(f"| {'x'.join(map(str, shape))} | {m} | {sketch.sketch_dim_} | "
                      f"{np.dtype(dtype).name} | {seconds:.4f} | {1 / seconds:.1f} | {ref} | "
                      f"{error:.3f} | {exact_seconds:.4f} | {seconds / exact_seconds:.1f} |",
                      flush=True)
    print("\n'vs reference' = reference seconds / our seconds (> 1: faster). The exact "
          "kernel costs one 'exact s / pair' per pair, so n images cost n^2/2 pairs; the "
          "sketch costs 's / image' per image.\n")


# --------------------------------------------------------------------- ablation: each idea off


@contextlib.contextmanager
def no_threads():
    """One thread for the element-wise work (the FFTs stay multi-threaded)."""
    with mock.patch.object(cntk_sketch, "_n_threads", lambda xp: 1):
        yield


@contextlib.contextmanager
def complex_fft_for_real_input():
    """Full complex FFT of real input instead of the half-length real FFT."""
    def rfft_via_fft(xp, array):
        n = array.shape[-1]
        return _sketches.fft_last(xp, xp.astype(array, xp.complex128 if array.dtype == xp.float64
                                                else xp.complex64))[..., :n // 2 + 1]
    with mock.patch.object(_sketches, "rfft_last", rfft_via_fft):
        yield


@contextlib.contextmanager
def numpy_fft():
    """numpy.fft (single-threaded, complex64 computed in complex128) instead of scipy.fft."""
    with mock.patch.object(_sketches, "fft_last", lambda xp, a: np.fft.fft(a, axis=-1)), \
            mock.patch.object(_sketches, "rfft_last", lambda xp, a: np.fft.rfft(a, axis=-1)):
        yield


@contextlib.contextmanager
def window_by_srht():
    """Window aggregation by the SRHT of the f^2-times longer direct
    sum of the window (instead of one signed fold). Same width out; parameters drawn once
    per input width from a fixed seed."""
    original = _features.window_fold
    cache, lock = {}, threading.Lock()  # the transform runs image groups in threads

    def fold(xp, V, filter_size, padding, signs=None):
        if signs is None:
            return original(xp, V, filter_size, padding)
        U = _ops.window_patches(xp, V, filter_size, padding)
        k = V.shape[-1]
        key = (U.shape[-1], k)
        with lock:
            if key not in cache:
                cache[key] = _sketches.draw_srht(np.random.RandomState(len(cache)),
                                                 U.shape[-1], k // 2)
        S = _sketches.srht(xp, np.reshape(U, (-1, U.shape[-1])), cache[key])
        return np.reshape(_ops._as_real(xp, S), U.shape[:-1] + (k,))

    with mock.patch.object(_features, "window_fold", fold):
        yield


def ablation(quick):
    shape, m, depth, filter_size, degree = (32, 32, 3), 4096, 3, 4, 2
    n_images = 8 if quick else 32
    rng = np.random.default_rng(1)
    X = rng.standard_normal((n_images, int(np.prod(shape))))
    X_pairs = rng.standard_normal((16, int(np.prod(shape))))
    K = cntk_kernel(X_pairs, depth=depth, filter_size=filter_size, image_shape=shape)
    print("## (a2) Throughput ideas, one at a time (32x32x3, n_components 4096, depth 3, "
          "filter 4, degree 2)\n")
    print(f"Seconds per image (best of 2, {n_images} images) with every idea on, then with "
          "one idea replaced by the simpler alternative; error = relative Frobenius error on "
          "16 random images (mean of seeds 0-2).\n")
    print("| variant | float64 s/img | float32 s/img | error (float32) |")
    print("|---|---|---|---|")
    variants = [("all ideas on (shipped)", contextlib.nullcontext),
                ("one thread for element-wise work", no_threads),
                ("complex FFT of real input (no rfft)", complex_fft_for_real_input),
                ("numpy.fft instead of multi-threaded scipy.fft", numpy_fft),
                ("window by SRHT of the f^2-long direct sum (no fold)", window_by_srht)]
    for name, context in variants:
        with context():
            row = []
            for dtype in (np.float64, np.float32):
                sketch = CNTKSketch(m, depth=depth, filter_size=filter_size, degree=degree,
                                    image_shape=shape, random_state=0).fit(X)
                Xd = X.astype(dtype)
                row.append(best_of(lambda: sketch.transform(Xd)) / n_images)
            errors = [relative_error(CNTKSketch(
                m, depth=depth, filter_size=filter_size, degree=degree, image_shape=shape,
                random_state=seed).fit_transform(X_pairs.astype(np.float32)).astype(
                    np.float64), K) for seed in range(3)]
        print(f"| {name} | {row[0]:.4f} | {row[1]:.4f} | {np.mean(errors):.3f} |", flush=True)
    print()


ERROR_SETTINGS = [((28, 28, 1), 3, 4, 1024, 2), ((32, 32, 3), 3, 4, 1024, 2),
                  ((16, 16, 1), 2, 3, 1024, 4), ((16, 16, 1), 3, 3, 1024, 4),
                  ((8, 8, 3), 2, 3, 4096, 4)]


def error_table(n_seeds=6):
    """Relative Frobenius error of Z Z^T against the exact GAP CNTK, mean +- SE over seeds."""
    rng = np.random.default_rng(0)
    print("| image, depth, filter, n_components, degree | relative error (mean +- SE, "
          f"{n_seeds} seeds) |")
    print("|---|---|")
    for shape, depth, filter_size, m, degree in ERROR_SETTINGS:
        X = rng.standard_normal((16, int(np.prod(shape))))
        K = cntk_kernel(X, depth=depth, filter_size=filter_size, image_shape=shape)
        errors = [relative_error(CNTKSketch(
            m, depth=depth, filter_size=filter_size, degree=degree, image_shape=shape,
            random_state=seed).fit(X).transform(X), K) for seed in range(n_seeds)]
        print(f"| {'x'.join(map(str, shape))}, {depth}, {filter_size}, {m}, {degree} | "
              f"{np.mean(errors):.3f} +- {np.std(errors) / np.sqrt(n_seeds):.3f} |", flush=True)
    print()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", choices=["throughput", "ablation", "error"], default=None)
    args = parser.parse_args()
    if args.only in (None, "throughput"):
        throughput(args.quick)
    if args.only in (None, "ablation"):
        ablation(args.quick)
    if args.only in (None, "error"):
        error_table()


if __name__ == "__main__":
    main()
