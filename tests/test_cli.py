"""The command line: ``python -m sklearn_ntk`` / ``sklearn-ntk`` (--version, info, demo)."""

import argparse
import configparser
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest

import sklearn_ntk
from sklearn_ntk import __main__ as cli

ROOT = Path(__file__).resolve().parents[1]


# One BLAS/OpenMP thread: on a busy machine spinning BLAS threads make small timings erratic.
_ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _run(*args, timeout=120):
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **_ONE_THREAD}
    return subprocess.run([sys.executable, "-m", "sklearn_ntk", *args], capture_output=True,
                          text=True, timeout=timeout, env=env, cwd=ROOT)


def test_version_subprocess():
    result = _run("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"sklearn-ntk {sklearn_ntk.__version__}"


def test_version_and_help_from_main(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--version"])
    assert exit_info.value.code == 0
    assert sklearn_ntk.__version__ in capsys.readouterr().out
    for argv in (["--help"], ["demo", "--help"], ["info", "--help"]):
        with pytest.raises(SystemExit) as exit_info:
            cli.main(argv)
        assert exit_info.value.code == 0
        assert "usage: sklearn-ntk" in capsys.readouterr().out


def test_command_is_required_and_arguments_are_checked(capsys):
    for argv in ([], ["train"], ["demo", "--depth", "0"], ["demo", "--n-components", "x"],
                 ["demo", "--feature-map", "exact"]):
        with pytest.raises(SystemExit) as exit_info:
            cli.main(argv)
        assert exit_info.value.code == 2, argv
    capsys.readouterr()


def _all_actions(parser):
    for action in parser._actions:
        yield parser.prog, action
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                yield parser.prog, choice
            for sub in action.choices.values():
                yield from _all_actions(sub)


def test_every_option_and_command_has_help():
    actions = list(_all_actions(cli.build_parser()))
    assert len(actions) > 10
    for prog, action in actions:
        assert action.help and action.help != argparse.SUPPRESS, (prog, action)
        assert len(action.help) >= 10, (prog, action.dest, action.help)


def test_console_script_declared():
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    scripts = config["options.entry_points"]["console_scripts"]
    assert re.search(r"^\s*sklearn-ntk\s*=\s*sklearn_ntk\.__main__:main\s*$", scripts, re.M)


def test_console_script_installed():
    points = [ep for ep in importlib.metadata.entry_points(group="console_scripts")
              if ep.name == "sklearn-ntk"]
    if not points:
        pytest.skip("package installed without its entry points (reinstall: pip install -e .)")
    assert points[0].load() is cli.main
    executable = shutil.which("sklearn-ntk")
    if executable is not None:
        result = subprocess.run([executable, "--version"], capture_output=True, text=True,
                                timeout=60)
        assert result.returncode == 0, result.stderr
        assert sklearn_ntk.__version__ in result.stdout


def test_info_reports_versions_threads_libraries_and_gpu(capsys):
    assert cli.main(["info"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"sklearn-ntk {sklearn_ntk.__version__}\n")
    for heading in ("Dependencies:", "Optional libraries", "Threads:", "GPU:"):
        assert heading in out
    import numpy
    import sklearn

    assert re.search(rf"numpy\s+{re.escape(numpy.__version__)}", out)
    assert re.search(rf"scikit-learn\s+{re.escape(sklearn.__version__)}", out)
    for name in ("array-api-strict", "torch", "cupy", "dask"):
        assert re.search(rf"^  {name}\s+\S", out, re.M), name
    assert "CPU cores (os.cpu_count)" in out
    assert re.search(r"GPU: (found|none found)", out)


def test_info_survives_broken_optional_libraries(monkeypatch, capsys):
    """A library that is found but fails on use (no driver, broken install) is reported."""

    class Broken(types.ModuleType):
        def __getattr__(self, name):
            raise RuntimeError("driver not loaded")

    for name in ("cupy", "torch"):
        monkeypatch.setitem(sys.modules, name, Broken(name))
    real_find_spec = cli._find_spec
    monkeypatch.setattr(cli, "_find_spec", lambda module: (
        object() if module in ("cupy", "torch") else real_find_spec(module)))
    report = cli.info()
    out = capsys.readouterr().out
    assert report["gpu"] is False
    assert "cupy: no usable GPU (RuntimeError: driver not loaded)" in out
    assert "torch: could not query CUDA (RuntimeError: driver not loaded)" in out
    assert report["cupy"] is not None  # "found", whatever its metadata says


def test_info_subprocess_does_not_import_missing_or_heavy_libraries():
    code = ("import sys; from sklearn_ntk.__main__ import info; info(); "
            "print('IMPORTED', sorted(m for m in ('dask', 'zarr', 'array_api_strict', 'tqdm', "
            "'dask_ml', 'distributed') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert "IMPORTED []" in result.stdout


DEMO_SECTIONS = ("[1/3] Accuracy at equal data", "[2/3] Fit + predict time",
                 "[3/3] Summary", "Crossover (measured):", "At 60,000 training rows:",
                 "Demo finished in")


def test_quick_demo_output_and_results(capsys):
    """One quick demo run (in process, one BLAS thread): the printed report and the results."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    with threadpoolctl.threadpool_limits(1):
        assert cli.main(["demo", "--quick", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    positions = [out.index(section) for section in DEMO_SECTIONS]
    assert positions == sorted(positions)
    assert "random_state=1" in out
    assert re.search(r"exact NTK kernel ridge\s+accuracy 0\.\d{4}", out)
    assert re.search(r"NTKRandomFeatures\(256\)\s+\+ ridge\s+accuracy 0\.\d{4}", out)
    # one table row per size, exact timed at the first three, the sketch at all four
    rows = re.findall(r"^\s+([\d,]+)\s+(-|[\d.]+ s)\s.*?([\d.]+ s)\s+(\S.*)$", out, re.M)
    assert [row[0] for row in rows] == ["250", "500", "1,000", "4,000"]
    assert rows[-1][1] == "-" and rows[-1][3] == "(sketch only)"
    assert re.search(r"sketch \((measured|extrapolated linearly)\): ", out)
    assert "28.8 GB" in out  # the exact kernel at 60,000 rows
    assert re.search(r"the sketch is about [\d,]+x faster at 60,000 rows", out)


def test_quick_demo_results_and_time_budget(capsys):
    """demo() returns its measurements; a tiny budget skips sizes but still reports."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    with threadpoolctl.threadpool_limits(1):
        results = cli.demo(quick=True, n_components=64, time_budget=0.0)
    out = capsys.readouterr().out
    assert "skipped: about" in out and "--time-budget" in out
    assert results["n_components"] == 64 and results["feature_map"] == "random_features"
    assert 0.5 <= results["exact_accuracy"] <= 1.0
    assert 0.5 <= results["sketch_accuracy"] <= 1.0
    ((n, t_exact, t_sketch),) = results["timings"]  # only the first size runs
    assert n == 250 and t_exact > 0 and t_sketch > 0
    assert results["exact_seconds_60k"] > 0 and results["sketch_seconds_60k"] > 0
    assert not results["sketch_60k_measured"]
