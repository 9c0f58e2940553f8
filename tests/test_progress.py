"""Tests of the private progress reporter sklearn_ntk._progress."""

import sys
import types

import pytest

from sklearn_ntk import _progress
from sklearn_ntk._progress import progress


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_verbose_zero_prints_nothing_and_is_shared(capsys):
    bar = progress(10, verbose=0, desc="x")
    assert bar is progress(5, verbose=False) is progress(None, verbose=None)
    for i in range(1, 11):
        bar.update(i)
    bar.update()
    bar.close()
    with progress(3, 0) as other:
        other.update(1)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_plain_lines_every_update_at_verbose_2(capsys):
    clock = FakeClock()
    bar = progress(4, verbose=2, desc="NTKSketch.transform", backend="plain", clock=clock)
    for i in range(1, 5):
        clock.now = 0.5 * i
        bar.update(i)
    bar.close()
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4
    assert lines[0] == ("[NTKSketch.transform] batch 1/4 (25%) | 0.5 s elapsed | "
                        "2 batches/s | 1.5 s left")
    assert lines[2].startswith("[NTKSketch.transform] batch 3/4 (75%)")
    assert lines[2].endswith("0.5 s left")
    # finished: no time left
    assert lines[3] == "[NTKSketch.transform] batch 4/4 (100%) | 2.0 s elapsed | 2 batches/s"


def test_plain_lines_about_every_tenth_at_verbose_1(capsys):
    clock = FakeClock()
    bar = progress(100, verbose=1, desc="k", backend="plain", clock=clock)
    for i in range(1, 101):
        clock.now = float(i)
        bar.update(i)
    bar.close()
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 10
    assert [line.split()[2] for line in lines] == [f"{10 * k}/100" for k in range(1, 11)]
    assert "1 batches/s" in lines[0] and "1.5 min left" in lines[0]


def test_increment_update_and_close_prints_last_state(capsys):
    clock = FakeClock()
    bar = progress(30, verbose=1, backend="plain", clock=clock)
    for _ in range(4):  # increments of one; with total 30 a line is printed every 3
        clock.now += 1.0
        bar.update()
    assert bar.n_done == 4
    bar.close()
    bar.close()  # second close does nothing
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["batch 3/30 (10%) | 3.0 s elapsed | 1 batches/s | 27.0 s left",
                     "batch 4/30 (13%) | 4.0 s elapsed | 1 batches/s | 26.0 s left"]


def test_unknown_total_and_long_times(capsys):
    clock = FakeClock()
    with progress(None, verbose=1, desc="stream", backend="plain", clock=clock) as bar:
        clock.now = 7200.0
        bar.update(2)
    out = capsys.readouterr().out
    assert out == "[stream] batch 2 | 2.0 h elapsed | 0.000278 batches/s\n"


def test_custom_file(capsys):
    import io

    stream = io.StringIO()
    bar = progress(1, verbose=1, backend="plain", file=stream, clock=lambda: 1.0)
    bar.update(1)
    bar.close()
    assert stream.getvalue().startswith("batch 1/1 (100%)")
    assert capsys.readouterr().out == ""


def test_bad_backend():
    with pytest.raises(ValueError, match="backend"):
        progress(3, verbose=1, backend="rich")


class _FakeTqdm:
    instances = []

    def __init__(self, total, desc, unit, file, leave):
        self.total, self.desc, self.unit = total, desc, unit
        self.n = 0
        self.closed = False
        _FakeTqdm.instances.append(self)

    def update(self, k):
        self.n += k

    def close(self):
        self.closed = True


@pytest.fixture
def fake_tqdm(monkeypatch):
    auto = types.ModuleType("tqdm.auto")
    auto.tqdm = _FakeTqdm
    package = types.ModuleType("tqdm")
    package.auto = auto
    monkeypatch.setitem(sys.modules, "tqdm", package)
    monkeypatch.setitem(sys.modules, "tqdm.auto", auto)
    _FakeTqdm.instances.clear()
    return _FakeTqdm


def test_tqdm_used_when_installed(fake_tqdm, capsys):
    bar = progress(5, verbose=1, desc="CNTKSketch.transform")
    bar.update(2)
    bar.update(2)  # no change: not counted twice
    bar.update()
    bar.update(5)
    bar.close()
    (instance,) = fake_tqdm.instances
    assert (instance.total, instance.desc, instance.unit) == (5, "CNTKSketch.transform", "batch")
    assert instance.n == 5 and instance.closed
    assert capsys.readouterr().out == ""  # no plain lines as well


def test_plain_backend_ignores_tqdm(fake_tqdm, capsys):
    progress(2, verbose=1, backend="plain", clock=lambda: 0.0).update(2)
    assert not fake_tqdm.instances
    assert capsys.readouterr().out.startswith("batch 2/2")


def test_without_tqdm_falls_back_to_plain(monkeypatch, capsys):
    monkeypatch.setattr(_progress, "_import_tqdm", lambda: None)
    progress(2, verbose=1, clock=lambda: 0.0).update(2)
    assert capsys.readouterr().out.startswith("batch 2/2 (100%)")
    with pytest.raises(ImportError, match="tqdm"):
        progress(2, verbose=1, backend="tqdm")


@pytest.mark.parametrize("verbose", ["x", -1, 1.5])
def test_malformed_verbose_names_verbose(verbose):
    with pytest.raises(ValueError, match="verbose"):
        progress(3, verbose)


def test_numpy_bool_and_integer_verbose_are_accepted():
    import numpy as np

    assert progress(3, np.False_) is progress(3, np.int64(0))
    progress(3, np.True_, backend="plain").close()
