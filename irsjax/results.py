"""Results files: ``results.json`` (the public contract), tidy ``results.csv`` and ``figure.png``.

Everything a figure needs is in results.json, so ``plot_results(json.load(...))``
redraws it (``irsjax plot DIR``).
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
import platform
import shutil
import sys
import tempfile
import time
import uuid

import numpy as np


def environment_meta() -> dict:
    """Versions, backend and devices (for ``results.json['meta']``)."""
    import jax
    import jaxlib

    import irsjax

    devs = jax.devices()
    return {
        "irsjax_version": irsjax.__version__,
        "jax_version": jax.__version__,
        "jaxlib_version": jaxlib.__version__,
        "numpy_version": np.__version__,
        "python_version": platform.python_version(),
        "platform": platform.platform(),
        "backend": jax.default_backend(),
        "device_count": jax.device_count(),
        "devices": [str(d) for d in devs],
        "x64": bool(jax.config.jax_enable_x64),
        "prng_impl": str(jax.config.jax_default_prng_impl),
        "command": " ".join([os.path.basename(sys.argv[0])] + sys.argv[1:]),
    }


def _clean(o):
    """JSON-safe: NaN/inf -> None, numpy scalars -> Python."""
    if isinstance(o, dict):
        return {str(k): _clean(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_clean(v) for v in o]
    if isinstance(o, (np.floating, float)):
        f = float(o)
        return f if math.isfinite(f) else None
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.ndarray):
        return _clean(o.tolist())
    return o


_TMP = ".irsjax-tmp-"  # prefix of a file being written (removed by the next commit if a run was killed)


def _fsync_dir(path):
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_file(path, data: bytes):
    """Create ``path`` (it must not exist) with the usual mode, ``0666 & ~umask``, and flush it to disk."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _atomic_write(path, data: bytes):
    """Replace ``path`` by ``data`` atomically (a temporary file in the same directory, then a rename)."""
    d = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(d, f"{_TMP}{uuid.uuid4().hex[:12]}-{os.path.basename(path)}")
    try:
        _write_file(tmp, data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.lexists(tmp):
            os.remove(tmp)
        raise
    _fsync_dir(d)


def new_run_id() -> str:
    """A unique, time-ordered run id, e.g. ``20250102T030405-1a2b3c4d``."""
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + "-" + uuid.uuid4().hex[:8]


RUN_ID_KEY = "irsjax-run-id"
RESULT_FILES = ("results.csv", "figure.png", "results.json")  # the order of their links: results.json last
STATE_DIR = ".irsjax-results"


class OutputError(ValueError):
    """An output directory that cannot be used (one line naming it)."""


def results_csv(results: dict) -> str:
    """Tidy CSV: one row per (series, x)."""
    buf = io.StringIO()
    w = csv.writer(buf)
    cols = ["scenario", "x_name", "x", "series", "mean", "ci_low", "ci_high", "std_err", "num_samples", "analytical"]
    w.writerow(cols)
    xs = results["x"]["values"]
    for label, s in results["series"].items():
        for i, x in enumerate(xs):
            def g(k):
                v = s.get(k)
                if v is None:
                    return ""
                v = v[i]
                return "" if v is None else v
            w.writerow([results["scenario"], results["x"]["name"], x, label, g("mean"), g("ci_low"), g("ci_high"),
                        g("std_err"), g("num_samples"), int(bool(s.get("analytical", False)))])
    return buf.getvalue()


def plot_results(results: dict, path: str | None = None):
    """Draw the figure of a results dictionary (:func:`irsjax.figures.draw`: one panel per panel of the
    scenario, human legend names, Monte Carlo CIs, zero-event points as upper bounds); save to ``path``
    (png, atomically)."""
    import matplotlib

    if path is not None:
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from irsjax import figures

    fig = figures.draw(results)
    if path is not None:
        data = _png(fig, results)
        plt.close(fig)
        _atomic_write(path, data)
    return fig


def _png(fig, results) -> bytes:
    buf = io.BytesIO()
    run_id = (results.get("meta") or {}).get("run_id")
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight", metadata={RUN_ID_KEY: run_id} if run_id else None)
    return buf.getvalue()


def figure_png(results: dict) -> bytes:
    """``figure.png`` of a results dictionary as bytes (the run id in its metadata, key ``irsjax-run-id``)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig = plot_results(results)
    try:
        return _png(fig, results)
    finally:
        plt.close(fig)


class OutputDir:
    """The output directory of a run, written so that a finished result is never lost or mixed.

    Layout (``DIR`` is ``--out``)::

        DIR/results.json -> .irsjax-results/current/results.json
        DIR/results.csv  -> .irsjax-results/current/results.csv
        DIR/figure.png   -> .irsjax-results/current/figure.png
        DIR/.irsjax-results/current -> RUN_ID      (one symbolic link names the current result)
        DIR/.irsjax-results/RUN_ID/{results.json,results.csv,figure.png}

    A new result is written in full into its own ``RUN_ID`` directory, then ``current`` is replaced by
    one atomic rename: at every moment (also under ``kill -9``, and whatever the run's failure) the three
    names show either the previous complete result or the new one, never a mix, and a run that fails
    leaves the previous result untouched. A result directory of an older irsjax (plain files) is taken
    over without a moment where it is incomplete. Where the file system has no symbolic links the files
    are replaced one by one (results.json last, every file carrying the run id: ``meta.run_id`` in
    results.json, ``irsjax-run-id`` in figure.png's metadata).

    Nothing is created before :meth:`prepare` (called at the run's first checkpoint or at
    :meth:`commit`); a lock (``.irsjax-results/lock``) keeps two runs from writing the same directory;
    :meth:`abandon` removes what a failed run created.
    """

    def __init__(self, path: str):
        self.path = str(path)
        self.state = os.path.join(self.path, STATE_DIR)
        self._abs_state = os.path.abspath(self.state)
        self._created: list = []  # directories this run created, outermost first
        self._lock_fd = None

    # ------------------------------------------------------------------ checks (no writes)
    @staticmethod
    def validate(path) -> None:
        """Raise :class:`OutputError` unless ``path`` can hold results; creates nothing (a probe directory
        is made and removed next to it)."""
        p = str(path)
        if not p.strip():
            raise OutputError("--out must name a directory, got ''")
        if os.path.lexists(p) and not os.path.isdir(p):
            raise OutputError(f"--out: output directory '{p}' is not writable (a file of that name exists)")
        if os.path.isdir(p):
            for name in RESULT_FILES:
                q = os.path.join(p, name)
                if os.path.isdir(q) and not os.path.islink(q):
                    raise OutputError(f"--out: output directory '{p}' is not writable ('{name}' in it is a "
                                      f"directory)")
            target = p
        else:
            target = os.path.dirname(os.path.abspath(p))
            while not os.path.lexists(target):
                target = os.path.dirname(target)
            if not os.path.isdir(target):
                raise OutputError(f"--out: output directory '{p}' is not writable ('{target}' is a file)")
        try:
            probe = tempfile.mkdtemp(prefix=".irsjax-probe-", dir=target)
            os.rmdir(probe)
        except OSError as e:
            where = "" if target == p else f" (in '{target}')"
            raise OutputError(f"--out: output directory '{p}' is not writable{where} ({e.strerror or e})") from None
        holder = OutputDir(p)._lock_holder()
        if holder is not None:
            raise OutputError(f"--out '{p}' is being written by another irsjax run ({holder}); wait for it or "
                              f"choose another --out")

    def _lock_holder(self):
        """A description of the process holding the lock, or None."""
        lock = os.path.join(self.state, "lock")
        if not os.path.exists(lock):
            return None
        try:
            import fcntl
        except ImportError:  # pragma: no cover - no advisory locks (Windows)
            return None
        try:
            fd = os.open(lock, os.O_RDONLY)
        except OSError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            with open(lock) as f:
                return f"pid {f.read().strip() or '?'}"
        finally:
            os.close(fd)
        return None

    # ------------------------------------------------------------------ writing
    def prepare(self):
        """Create the directory (remembering what this run created) and take the lock."""
        if self._lock_fd is not None:
            return
        missing = []
        d = os.path.abspath(self.path)
        while not os.path.isdir(d):
            missing.append(d)
            d = os.path.dirname(d)
        for d in reversed(missing):
            try:
                os.mkdir(d)
            except FileExistsError:
                continue
            except OSError as e:
                raise OutputError(f"output directory '{self.path}' cannot be created ({e.strerror or e})") from None
            self._created.append(d)
        if not os.path.isdir(self.state):
            os.mkdir(self.state)
            self._created.append(self._abs_state)
        lock = os.path.join(self.state, "lock")
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            import fcntl

            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                raise OutputError(f"--out '{self.path}' is being written by another irsjax run "
                                  f"({self._lock_holder() or 'unknown process'})") from None
        except ImportError:  # pragma: no cover
            pass
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._lock_fd = fd

    def release(self):
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def _links_supported(self) -> bool:
        test = os.path.join(self.state, f".linktest-{uuid.uuid4().hex[:8]}")
        try:
            os.symlink("x", test)
        except (OSError, NotImplementedError):
            return False
        os.remove(test)
        return True

    def _link(self, name, target):
        """Make ``name`` (in the state dir or the output dir) a symbolic link to ``target`` by one atomic rename."""
        tmp = os.path.join(os.path.dirname(name), f"{_TMP}{uuid.uuid4().hex[:8]}-{os.path.basename(name)}")
        os.symlink(target, tmp)
        try:
            os.replace(tmp, name)
        except BaseException:
            if os.path.lexists(tmp):
                os.remove(tmp)
            raise

    def _ours(self, name) -> bool:
        top = os.path.join(self.path, name)
        return os.path.islink(top) and os.readlink(top) == os.path.join(STATE_DIR, "current", name)

    def _adopt_plain_files(self):
        """Take over result files written as plain files (an older irsjax, or a file system without links):
        copy what each name shows into a run directory, point ``current`` at it, then turn each name into a
        link; every name shows the same content at every moment."""
        foreign = [n for n in RESULT_FILES if os.path.lexists(os.path.join(self.path, n)) and not self._ours(n)]
        if not foreign:
            return
        rid = "adopted-" + new_run_id()
        tmp = os.path.join(self.state, f".tmp-{rid}")
        os.mkdir(tmp)
        for n in RESULT_FILES:
            src = os.path.join(self.path, n)
            if os.path.exists(src):  # (a dangling link shows nothing: nothing to keep)
                try:
                    os.link(os.path.realpath(src), os.path.join(tmp, n))
                except OSError:
                    shutil.copy2(src, os.path.join(tmp, n))
        os.rename(tmp, os.path.join(self.state, rid))
        _fsync_dir(self.state)
        self._link(os.path.join(self.state, "current"), rid)
        for n in foreign:
            self._link(os.path.join(self.path, n), os.path.join(STATE_DIR, "current", n))
        _fsync_dir(self.path)

    def commit(self, results: dict, *, plot: bool = True) -> dict:
        """Write the result files (``results["meta"]["run_id"]`` is set if missing) and make them current
        atomically. Returns ``{"json": path, "csv": path[, "figure": path]}`` (the user-facing names)."""
        self.prepare()
        results.setdefault("meta", {}).setdefault("run_id", new_run_id())
        clean = _clean(results)
        rid = clean["meta"]["run_id"]
        files = {"results.csv": results_csv(clean).encode()}
        if plot:
            files["figure.png"] = figure_png(clean)
        files["results.json"] = (json.dumps(clean, indent=1, allow_nan=False) + "\n").encode()
        paths = {"json": os.path.join(self.path, "results.json"), "csv": os.path.join(self.path, "results.csv")}
        if plot:
            paths["figure"] = os.path.join(self.path, "figure.png")
        if not self._links_supported():
            for name in RESULT_FILES:  # results.json last: its presence marks a complete run
                if name in files:
                    _atomic_write(os.path.join(self.path, name), files[name])
            stale = os.path.join(self.path, "figure.png")
            if not plot and os.path.lexists(stale):
                os.remove(stale)
            self._cleanup(keep=None)
            return paths
        self._adopt_plain_files()
        stage = os.path.join(self.state, f".tmp-{rid}")
        os.mkdir(stage)
        for name, data in files.items():
            _write_file(os.path.join(stage, name), data)
        _fsync_dir(stage)
        os.rename(stage, os.path.join(self.state, rid))
        _fsync_dir(self.state)
        for name in RESULT_FILES:  # links for the new files (they show the old result until the switch)
            if name in files and not self._ours(name):
                self._link(os.path.join(self.path, name), os.path.join(STATE_DIR, "current", name))
        _fsync_dir(self.path)
        self._link(os.path.join(self.state, "current"), rid)  # the switch: one atomic rename
        _fsync_dir(self.state)
        for name in RESULT_FILES:  # a name the new result does not have (figure.png after --no-plot)
            if name not in files and self._ours(name):
                os.remove(os.path.join(self.path, name))
        self._cleanup(keep=rid)
        return paths

    def _cleanup(self, keep):
        """Remove every run directory but ``keep`` and every leftover of an interrupted commit."""
        if not os.path.isdir(self.state):
            return
        for entry in os.listdir(self.state):
            if entry in ("lock", "current", keep):
                continue
            p = os.path.join(self.state, entry)
            if os.path.isdir(p) and not os.path.islink(p):
                shutil.rmtree(p, ignore_errors=True)
            else:
                try:
                    os.remove(p)
                except OSError:
                    pass
        for entry in os.listdir(self.path):  # leftovers of _link / _atomic_write
            if entry.startswith(_TMP):
                try:
                    os.remove(os.path.join(self.path, entry))
                except OSError:
                    pass

    def abandon(self, *, keep=()):
        """After a failed run: remove what this run created, except the paths in ``keep`` (e.g. a resume
        file with finished work); directories it created are removed when nothing else is in them."""
        keep = {os.path.abspath(k) for k in keep}
        self.release()
        current = os.path.lexists(os.path.join(self.state, "current"))  # a committed result: never removed
        if os.path.isdir(self.state) and self._abs_state in self._created and not current:
            if not any(os.path.abspath(os.path.join(self.state, e)) in keep for e in os.listdir(self.state)):
                shutil.rmtree(self.state, ignore_errors=True)
        for d in reversed(self._created):
            if d == self._abs_state:
                continue
            try:
                os.rmdir(d)
            except OSError:
                break
        self._created = []


def write_results(results: dict, out_dir: str, *, plot: bool = True) -> dict:
    """Write results.json, results.csv and (if ``plot``) figure.png to ``out_dir`` as one atomic change
    (:class:`OutputDir`); returns the paths."""
    out = OutputDir(out_dir)
    try:
        return out.commit(results, plot=plot)
    finally:
        out.release()


def plot_to_dir(out_dir: str) -> str:
    """Redraw ``out_dir/figure.png`` from ``out_dir/results.json`` (into the current result's directory,
    so the figure belongs to the same run); returns its path."""
    res = load_results(out_dir)
    out = OutputDir(out_dir)
    path = os.path.join(out_dir, "figure.png")
    current = os.path.join(out.state, "current")
    if os.path.islink(current) and out._ours("results.json"):
        _atomic_write(os.path.join(os.path.realpath(current), "figure.png"), figure_png(res))
        if not out._ours("figure.png"):
            out._link(path, os.path.join(STATE_DIR, "current", "figure.png"))
    else:
        _atomic_write(path, figure_png(res))
    return path


def load_results(out_dir_or_file: str) -> dict:
    p = out_dir_or_file
    if os.path.isdir(p):
        p = os.path.join(p, "results.json")
    with open(p) as f:
        return json.load(f)
