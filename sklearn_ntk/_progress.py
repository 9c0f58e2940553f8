"""A small progress reporter for batched loops (feature maps, exact kernels, demos).

``progress(total, verbose, desc)`` returns an object with ``update(n_done)`` and ``close()``:

- ``verbose=0`` (or ``False``/``None``): a shared do-nothing object; nothing is printed and the
  calls cost one method call each.
- ``verbose>=1`` with `tqdm <https://tqdm.github.io>`_ installed: a ``tqdm`` bar (on stderr).
- ``verbose>=1`` without ``tqdm`` (or ``backend="plain"``): plain lines on stdout, in the manner
  of scikit-learn's ``verbose`` output::

      [NTKSketch.transform] batch 3/10 (30%) | 1.2 s elapsed | 2.5 batches/s | 2.8 s left

  At ``verbose=1`` a line is printed at most about every 10 % of ``total`` (and at the end); at
  ``verbose>=2``, after every update.

Usage::

    bar = progress(n_batches, verbose, "NTKSketch.transform")
    for i, batch in enumerate(batches, start=1):
        ...
        bar.update(i)          # number of batches done so far (or bar.update() for one more)
    bar.close()

The object is also a context manager (``with progress(...) as bar:``) that closes itself.
"""

import sys
import time

import numpy as np

__all__ = ["progress"]


def _format_seconds(seconds):
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


class _NullProgress:
    """Progress reporter for ``verbose=0``: every call does nothing."""

    __slots__ = ()
    n_done = 0

    def update(self, n_done=None):
        pass

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


_NULL = _NullProgress()


class _PlainProgress:
    """Prints ``batch i/total (p%) | elapsed | rate | time left`` lines."""

    def __init__(self, total, verbose, desc, file, clock):
        self.total = None if total is None else int(total)
        self.verbose = int(verbose)
        self.desc = desc
        self.file = file
        self.clock = clock
        self.n_done = 0
        self._start = clock()
        self._last_printed = 0
        self._closed = False
        if self.total is not None and self.total > 0 and self.verbose < 2:
            self._step = max(1, -(-self.total // 10))  # about every 10 %
        else:
            self._step = 1

    def _line(self):
        elapsed = self.clock() - self._start
        prefix = f"[{self.desc}] " if self.desc else ""
        if self.total:
            done = f"batch {self.n_done}/{self.total} ({100 * self.n_done / self.total:.0f}%)"
        else:
            done = f"batch {self.n_done}"
        parts = [prefix + done, f"{_format_seconds(elapsed)} elapsed"]
        if elapsed > 0 and self.n_done > 0:
            rate = self.n_done / elapsed
            parts.append(f"{rate:.3g} batches/s")
            if self.total and self.n_done < self.total:
                parts.append(f"{_format_seconds((self.total - self.n_done) / rate)} left")
        return " | ".join(parts)

    def update(self, n_done=None):
        """Record progress: ``n_done`` batches done so far (``None``: one more than before)."""
        self.n_done = self.n_done + 1 if n_done is None else int(n_done)
        finished = self.total is not None and self.n_done >= self.total
        if finished or self.n_done - self._last_printed >= self._step:
            self._last_printed = self.n_done
            print(self._line(), file=self.file, flush=True)

    def close(self):
        """Print a final line if the last update was not printed; later calls do nothing."""
        if self._closed:
            return
        self._closed = True
        if self.n_done != self._last_printed:
            self._last_printed = self.n_done
            print(self._line(), file=self.file, flush=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


class _TqdmProgress:
    """Adapter from the absolute ``update(n_done)`` to ``tqdm``'s increments."""

    def __init__(self, tqdm, total, desc, file):
        self._bar = tqdm(total=total, desc=desc, unit="batch", file=file, leave=True)
        self.n_done = 0

    def update(self, n_done=None):
        """Record progress: ``n_done`` batches done so far (``None``: one more than before)."""
        n_done = self.n_done + 1 if n_done is None else int(n_done)
        if n_done > self.n_done:
            self._bar.update(n_done - self.n_done)
        self.n_done = n_done

    def close(self):
        self._bar.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def _import_tqdm():
    try:
        from tqdm.auto import tqdm
    except Exception:  # not installed, or broken: fall back to plain lines
        return None
    return tqdm


def progress(total, verbose=0, desc=None, *, backend="auto", file=None, clock=time.perf_counter):
    """Return a progress reporter for a loop of ``total`` batches.

    Parameters
    ----------
    total : int or None
        Number of batches (``None`` if unknown: no percentage or time left).
    verbose : int or bool, default=0
        0: report nothing (a shared no-op object is returned); 1: a ``tqdm`` bar when
        ``tqdm`` is installed, else a plain line about every 10 % of ``total``; 2 and more:
        with plain lines, one line per update.
    desc : str, default=None
        Label of the loop, e.g. ``"NTKSketch.transform"``.
    backend : {"auto", "tqdm", "plain"}, default="auto"
        ``"auto"`` uses ``tqdm`` when it can be imported; ``"plain"`` never does.
    file : file-like, default=None
        Stream to write to (``None``: ``sys.stdout`` for plain lines, ``tqdm``'s default,
        ``sys.stderr``, for the bar).
    clock : callable, default=time.perf_counter
        Source of time in seconds (for tests).

    Returns
    -------
    reporter
        An object with ``update(n_done=None)`` (``n_done`` batches done so far; ``None``:
        one more) and ``close()``; also a context manager.

    Examples
    --------
    >>> bar = progress(4, verbose=2, desc="demo", backend="plain", clock=lambda: 0.0)
    >>> for i in range(1, 5):
    ...     bar.update(i)
    [demo] batch 1/4 (25%) | 0.0 s elapsed
    [demo] batch 2/4 (50%) | 0.0 s elapsed
    [demo] batch 3/4 (75%) | 0.0 s elapsed
    [demo] batch 4/4 (100%) | 0.0 s elapsed
    >>> bar.close()
    >>> progress(4, verbose=0).update(1)  # prints nothing
    """
    if verbose is not None and (not isinstance(verbose, (int, np.integer, bool, np.bool_))
                                or verbose < 0):
        raise ValueError(f"verbose must be a non-negative integer, got {verbose!r}.")
    if not verbose:
        return _NULL
    if backend not in ("auto", "tqdm", "plain"):
        raise ValueError(f"backend must be 'auto', 'tqdm' or 'plain', got {backend!r}")
    if backend != "plain":
        tqdm = _import_tqdm()
        if tqdm is not None:
            return _TqdmProgress(tqdm, total, desc, file)
        if backend == "tqdm":
            raise ImportError("backend='tqdm' needs tqdm: pip install tqdm")
    return _PlainProgress(total, verbose, desc, sys.stdout if file is None else file, clock)
