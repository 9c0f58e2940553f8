"""Command-line entry point: ``python -m sklearn_ntk demo``.

The demo compares NTK-sketch ridge classification with exact NTK kernel ridge on scikit-learn's
bundled ``load_digits`` data (always available offline), then CNTKSketchClassifier with exact
CNTK kernel ridge on the same digits as 8x8 images, and prints accuracy and time.
"""

import argparse
import sys
import time

import numpy as np


def _timed(function):
    start = time.perf_counter()
    result = function()
    return result, time.perf_counter() - start


def demo_fully_connected(depth=2, n_components=4096, seed=0):
    """Exact NTK kernel ridge vs NTKSketchClassifier on load_digits (fully connected)."""
    from sklearn.datasets import load_digits
    from sklearn.kernel_ridge import KernelRidge
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    from . import NTKSketchClassifier, ntk_kernel

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, random_state=seed, stratify=y)
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    alphas = np.logspace(-3, 2, 11)
    print(f"load_digits: {X_train.shape[0]} train / {X_test.shape[0]} test images, "
          f"{X.shape[1]} features; fully-connected ReLU NTK, depth {depth}")

    def exact():
        K_train = ntk_kernel(X_train, depth=depth)
        K_test = ntk_kernel(X_test, X_train, depth=depth)
        classes = np.unique(y_train)
        Y = (y_train[:, None] == classes[None, :]) - 1.0 / len(classes)
        model = KernelRidge(alpha=1.0, kernel="precomputed").fit(K_train, Y)
        return classes[np.argmax(model.predict(K_test), axis=1)]

    pred, t_exact = _timed(exact)
    acc_exact = float(np.mean(pred == y_test))
    print(f"  exact NTK kernel ridge (alpha=1):            accuracy {acc_exact:.4f}  "
          f"time {t_exact:6.2f} s")

    def sketch():
        model = NTKSketchClassifier(n_components=n_components, depth=depth, alphas=alphas,
                                    random_state=seed).fit(X_train, y_train)
        return model, model.predict(X_test)

    (model, pred), t_sketch = _timed(sketch)
    acc_sketch = float(np.mean(pred == y_test))
    print(f"  NTKSketchClassifier (n_components={n_components}, "
          f"GCV alpha={model.alpha_:.3g}): accuracy {acc_sketch:.4f}  time {t_sketch:6.2f} s")
    return {"exact_accuracy": acc_exact, "sketch_accuracy": acc_sketch,
            "exact_seconds": t_exact, "sketch_seconds": t_sketch}


def demo_images(depth=2, n_components=2048, seed=0):
    """Exact CNTK kernel ridge vs CNTKSketchClassifier on 8x8 load_digits images."""
    from sklearn.datasets import load_digits
    from sklearn.kernel_ridge import KernelRidge
    from sklearn.model_selection import train_test_split

    from . import CNTKSketchClassifier, cntk_kernel

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, train_size=500, test_size=300, random_state=seed, stratify=y)
    print(f"\nload_digits as 8x8 images: {X_train.shape[0]} train / {X_test.shape[0]} test; "
          f"CNTK with global average pooling, depth {depth}, 3x3 filters")

    def exact():
        kw = dict(depth=depth, filter_size=3, image_shape=(8, 8, 1))
        K_train = cntk_kernel(X_train, **kw)
        K_test = cntk_kernel(X_test, X_train, **kw)
        classes = np.unique(y_train)
        Y = (y_train[:, None] == classes[None, :]) - 1.0 / len(classes)
        model = KernelRidge(alpha=1e-3 * np.trace(K_train) / len(K_train),
                            kernel="precomputed").fit(K_train, Y)
        return classes[np.argmax(model.predict(K_test), axis=1)]

    pred, t_exact = _timed(exact)
    acc_exact = float(np.mean(pred == y_test))
    print(f"  exact CNTK kernel ridge:          accuracy {acc_exact:.4f}  time {t_exact:6.2f} s")

    def sketch():
        model = CNTKSketchClassifier(n_components=n_components, depth=depth, filter_size=3,
                                     image_shape=(8, 8, 1), alphas=np.logspace(-4, 2, 13),
                                     random_state=seed).fit(X_train, y_train)
        return model.predict(X_test)

    pred, t_sketch = _timed(sketch)
    acc_sketch = float(np.mean(pred == y_test))
    print(f"  CNTKSketchClassifier ({n_components}):     accuracy {acc_sketch:.4f}  "
          f"time {t_sketch:6.2f} s")
    print("  Real-size images (Fashion-MNIST: exact vs sketch at equal data, and all 60,000 "
          "training images): benchmarks/bench_cntk_fashion.py, results in "
          "benchmarks/RESULTS.md")
    return {"exact_accuracy": acc_exact, "sketch_accuracy": acc_sketch}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m sklearn_ntk",
                                     description="sklearn-ntk demos")
    parser.add_argument("command", choices=["demo"], help="what to run")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.command == "demo":
        demo_fully_connected(seed=args.seed)
        demo_images(seed=args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
