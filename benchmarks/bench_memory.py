"""Peak memory of predict, transform and fit against what the documentation promises.

Measures the peak resident set size (RSS) of each call, above the RSS just before it, on
generated data (no download). On Linux the kernel's peak counter (``VmHWM``) is reset before
each call by writing ``5`` to ``/proc/self/clear_refs``, so one process measures many calls.

The promises checked (see the ``max_memory`` parameter and ``sklearn_ntk._ridge``):

- ``predict``: the features are computed and multiplied in ``max_memory`` batches, so the peak
  above the input does not grow with ``n_samples`` (only the 8-byte-per-row result does);
- ``transform``: peak <= output + ``max_memory`` + a small constant;
- ``fit``: peak <= 1.5 ``max_memory`` + three m x m float64 matrices (``ridge_memory_bytes``).

Usage::

    python benchmarks/bench_memory.py            # 10^4 .. 10^6 rows, about 3 minutes
    python benchmarks/bench_memory.py --quick    # up to 10^5 rows
"""

import argparse
import time

import numpy as np

from sklearn_ntk import NTKRandomFeatures, NTKSketchRegressor
from sklearn_ntk._ridge import ridge_memory_bytes

MiB = 2**20


def _rss_kib(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def peak_above_start(function, *args):
    """(seconds, peak RSS above the RSS at the call, in bytes, result)."""
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # reset the peak RSS counter to the current RSS
    start = _rss_kib("VmRSS")
    began = time.perf_counter()
    result = function(*args)
    seconds = time.perf_counter() - began
    return seconds, (_rss_kib("VmHWM") - start) * 1024, result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="stop at 10^5 rows")
    parser.add_argument("--n-components", type=int, default=512,
                        help="features of the model (default 512)")
    parser.add_argument("--max-memory-mib", type=int, default=64,
                        help="the max_memory budget in MiB (default 64)")
    args = parser.parse_args()
    m, budget = args.n_components, args.max_memory_mib * MiB
    d = 16
    rng = np.random.RandomState(0)
    sizes = [10**4, 10**5] if args.quick else [10**4, 10**5, 10**6]

    X_train = rng.randn(20000, d)
    y_train = np.sin(X_train[:, 0]) + X_train[:, 1]
    model = NTKSketchRegressor(m, depth=2, feature_map="random_features", max_memory=budget,
                               alphas=[0.1, 1.0, 10.0], random_state=0)
    seconds, peak, _ = peak_above_start(model.fit, X_train, y_train)
    bound = 1.5 * budget + ridge_memory_bytes(m)
    print(f"fit      n=20,000  m={m}: {seconds:6.1f} s  peak +{peak / MiB:7.1f} MiB  "
          f"(documented bound 1.5 max_memory + 3 m^2 x 8 B = {bound / MiB:.1f} MiB)")

    print(f"predict (max_memory {budget / MiB:.0f} MiB, peak above the input; "
          "the result itself is 8 B per row):")
    for n in sizes:
        X = rng.randn(n, d)
        seconds, peak, prediction = peak_above_start(model.predict, X)
        print(f"  n={n:>9,}: {seconds:7.1f} s  {n / seconds:9,.0f} rows/s  "
              f"peak +{peak / MiB:7.1f} MiB  (result {prediction.nbytes / MiB:.1f} MiB, "
              f"full feature matrix would be {n * m * 8 / MiB:,.0f} MiB)")
        del X, prediction

    feature_map = NTKRandomFeatures(m, depth=2, max_memory=budget, random_state=0).fit(
        X_train[:1])
    print("transform (peak above the input; bound = output + max_memory):")
    for n in sizes[:2] + ([2 * 10**5] if not args.quick else []):
        X = rng.randn(n, d)
        seconds, peak, Z = peak_above_start(feature_map.transform, X)
        print(f"  n={n:>9,}: {seconds:7.1f} s  peak +{peak / MiB:7.1f} MiB  output "
              f"{Z.nbytes / MiB:7.1f} MiB  -> peak - output = {(peak - Z.nbytes) / MiB:6.1f} "
              f"MiB (budget {budget / MiB:.0f} MiB)")
        del X, Z


if __name__ == "__main__":
    main()
