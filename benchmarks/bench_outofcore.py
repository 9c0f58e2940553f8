"""Out-of-core fit: zarr on disk -> dask -> NTKSketchRegressor, with measured peak memory.

For each size, a child process opens the zarr array with ``da.from_zarr``, fits
``NTKSketchRegressor(n_components=2048)`` (one pass, per-chunk float64 sufficient statistics,
tree-reduced) and reports wall time, rows/s and its peak resident memory (``ru_maxrss``, which
includes the Python interpreter and all libraries). The same data is then fitted through a
2-worker ``distributed.LocalCluster`` (processes); there the peak of the client and of each
worker is reported.

Run: ``python benchmarks/bench_outofcore.py [--sizes 1000000 2000000] [--feature-map ...]``.
Data goes to ``benchmarks/_data`` (git-ignored; float32, 256 MB per 10^6 rows).
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

DATA = Path(__file__).parent / "_data"
N_FEATURES = 64
CHUNK_ROWS = 10_000


def make_data(n_rows):
    """Write X (n, 64) float32 and y to zarr, chunk by chunk (never all in memory)."""
    import zarr

    path = DATA / f"regression_{n_rows}.zarr"
    if (path / "done").exists():
        return path
    root = zarr.open_group(str(path), mode="w")
    X = root.create_array("X", shape=(n_rows, N_FEATURES), chunks=(CHUNK_ROWS, N_FEATURES),
                          dtype="float32")
    y = root.create_array("y", shape=(n_rows,), chunks=(CHUNK_ROWS,), dtype="float32")
    direction = np.random.default_rng(0).standard_normal(N_FEATURES) / np.sqrt(N_FEATURES)
    for start in range(0, n_rows, CHUNK_ROWS):
        stop = min(start + CHUNK_ROWS, n_rows)
        rng = np.random.default_rng(start)
        block = rng.standard_normal((stop - start, N_FEATURES)).astype(np.float32)
        X[start:stop] = block
        t = block @ direction
        y[start:stop] = (np.sin(2 * t) + 0.5 * t ** 2 + 0.1 * rng.standard_normal(stop - start)
                         ).astype(np.float32)
    (path / "done").touch()
    return path


def child(path, feature_map, cluster):
    """Runs in a fresh process: fit from zarr, print a JSON line of measurements."""
    import resource

    import dask.array as da

    from sklearn_ntk import NTKSketchRegressor

    X = da.from_zarr(str(path), component="X")
    y = da.from_zarr(str(path), component="y")
    model = NTKSketchRegressor(n_components=2048, depth=2, feature_map=feature_map,
                               alphas=np.logspace(-2, 3, 6), random_state=0)
    result = {"n_rows": int(X.shape[0]), "feature_map": feature_map, "cluster": cluster}
    if cluster:
        from distributed import Client, LocalCluster

        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                          memory_limit="4GiB", dashboard_address=None) as lc, Client(lc) as client:
            start = time.perf_counter()
            model.fit(X, y)
            result["seconds"] = time.perf_counter() - start
            peaks = client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
            result["worker_peak_mib"] = [v / 1024 for v in peaks.values()]
    else:
        start = time.perf_counter()
        model.fit(X, y)
        result["seconds"] = time.perf_counter() - start
    result["client_peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result["rows_per_second"] = result["n_rows"] / result["seconds"]
    result["alpha"] = model.alpha_
    # sanity: the fitted model predicts held-out rows of the same distribution
    test = np.asarray(X[:20_000]), np.asarray(y[:20_000])
    result["r2_first_20000_rows"] = float(model.score(*test))
    print(json.dumps(result), flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 2_000_000])
    parser.add_argument("--feature-map", default="random_features",
                        choices=["sketch", "random_features"])
    parser.add_argument("--cluster-size", type=int, default=None,
                        help="rows for the LocalCluster run (default: largest size)")
    parser.add_argument("--child", nargs=3, metavar=("PATH", "MAP", "CLUSTER"))
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], args.child[2] == "1")
        return
    DATA.mkdir(exist_ok=True)
    runs = [(n, False) for n in args.sizes] + [(args.cluster_size or max(args.sizes), True)]
    print(f"{os.cpu_count()} cores; NTKSketchRegressor(n_components=2048, depth=2, "
          f"feature_map={args.feature_map!r}), zarr chunks of {CHUNK_ROWS} rows x "
          f"{N_FEATURES} float32\n")
    print("| rows | scheduler | fit seconds | rows/s | peak RSS (MiB) | GCV alpha | R^2 |")
    print("|---|---|---|---|---|---|---|")
    for n_rows, cluster in runs:
        path = make_data(n_rows)
        out = subprocess.run([sys.executable, __file__, "--child", str(path), args.feature_map,
                              "1" if cluster else "0"], capture_output=True, text=True,
                             check=True)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        peak = f"{result['client_peak_mib']:.0f}"
        if cluster:
            peak = (f"client {peak}, workers "
                    + ", ".join(f"{v:.0f}" for v in result["worker_peak_mib"]))
        print(f"| {n_rows:,} | {'LocalCluster 2 processes' if cluster else 'threaded'} | "
              f"{result['seconds']:.1f} | {result['rows_per_second']:,.0f} | {peak} | "
              f"{result['alpha']:.3g} | {result['r2_first_20000_rows']:.4f} |", flush=True)


if __name__ == "__main__":
    main()
