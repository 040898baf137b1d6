"""``ipoke prepare`` on a full disk: one clear line (exit 2), never a SIGBUS, never a cache that looks valid.

The flow cache used to be written through a numpy memmap, and a memmap that meets a full disk kills the
process with SIGBUS (no message, a half-written clip left behind). It is now claimed on disk up front
(``os.posix_fallocate``) and written with plain writes under a temporary name. A full disk is simulated
here by making the claim (or a write) raise ENOSPC; the same runs against a real 1 MB tmpfs are in the
closing note of the commit.
"""
import errno
import hashlib
import os

import cv2
import numpy as np
import pytest

import ipoke_core.data.prepare as prepare_module
from ipoke_core.cli import main
from ipoke_core.data import PokeDataset
from ipoke_core.flow import make_dis
from ipoke_core.io_utils import mount_point


def _frames(folder, n=10, size=40):
    folder.mkdir(parents=True)
    base = cv2.GaussianBlur(np.random.default_rng(1).integers(0, 255, (size, size, 3), dtype=np.uint8), (0, 0), 1.5)
    for i in range(n):
        cv2.imwrite(str(folder / f"frame_{i:02d}.png"), np.roll(base, i, axis=1))


def _snapshot(root):
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


def _no_space(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def _prepare(tmp_path, *extra):
    return ["prepare", "--input", str(tmp_path / "videos"), "--out", str(tmp_path / "ds"), "--size", "16", "--quiet",
            *extra]


def _one_error_line(capsys, tmp_path, writing):
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith("warning:")]
    assert "Traceback" not in err and len(lines) == 1, err
    assert lines[0] == (f"ipoke prepare: error: no space left on {mount_point(tmp_path)} (writing {writing}); free "
                        "some space or choose another output location (existing files were left as they were)"), err


def _leftovers(root):
    return [p for p in root.rglob("*") if ".tmp" in p.name]


@pytest.fixture
def videos(tmp_path):
    _frames(tmp_path / "videos" / "clip")
    return tmp_path / "videos"


def test_a_full_disk_while_caching_flow_is_one_line_and_leaves_no_data_set(tmp_path, videos, monkeypatch, capsys):
    monkeypatch.setattr(os, "posix_fallocate", _no_space)
    assert main(_prepare(tmp_path, "--span", "4")) == 2
    _one_error_line(capsys, tmp_path, tmp_path / "ds" / "clips" / "clip")
    assert not (tmp_path / "ds").exists()  # the run made the folder, kept nothing in it: it is gone again
    monkeypatch.undo()  # room again: the same command now works
    assert main(_prepare(tmp_path, "--span", "4")) == 0
    assert len(PokeDataset(tmp_path / "ds", "train", resolution=16, seq_len=4)) > 0


def test_without_fallocate_a_failing_write_is_the_same_clear_error(tmp_path, videos, monkeypatch, capsys):
    """Where the claim cannot be made (no posix_fallocate), the plain writes report the full disk."""
    monkeypatch.delattr(os, "posix_fallocate", raising=False)
    real_open = open

    class FillsUp:
        def __init__(self, f):
            self.f, self.written = f, 0

        def write(self, data):
            self.written += memoryview(data).nbytes
            if self.written > 2000:  # the header and the first windows fit, then the disk is full
                raise OSError(errno.ENOSPC, "No space left on device")
            return self.f.write(data)

        def __getattr__(self, name):
            return getattr(self.f, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

    monkeypatch.setattr(prepare_module, "open", lambda *a, **k: FillsUp(real_open(*a, **k)), raising=False)
    assert main(_prepare(tmp_path, "--span", "4")) == 2
    _one_error_line(capsys, tmp_path, tmp_path / "ds" / "clips" / "clip")
    assert not (tmp_path / "ds").exists()


def test_a_file_system_without_fallocate_support_still_prepares(tmp_path, videos, monkeypatch):
    def unsupported(*args):
        raise OSError(errno.EOPNOTSUPP, "Operation not supported")

    monkeypatch.setattr(os, "posix_fallocate", unsupported)
    assert main(_prepare(tmp_path, "--span", "4")) == 0
    flow = np.load(tmp_path / "ds" / "clips" / "clip" / "flow_w4.npy", mmap_mode="r")
    frames = np.load(tmp_path / "ds" / "clips" / "clip" / "frames.npy")
    assert flow.shape == (6, 16, 16, 2) and flow.dtype == np.float16
    gray = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames]
    dis = make_dis("medium", small=True)
    for s in (0, 5):  # the streamed file holds the same flows the memmap did
        np.testing.assert_array_equal(flow[s], dis.calc(gray[s], gray[s + 4], None).astype(np.float16))


@pytest.mark.parametrize("how", ["a new span", "--flow-only"])
def test_a_full_disk_when_adding_a_span_keeps_the_data_set_as_it_was(tmp_path, videos, monkeypatch, capsys, how):
    assert main(_prepare(tmp_path, "--span", "4")) == 0
    capsys.readouterr()
    before = _snapshot(tmp_path / "ds")
    monkeypatch.setattr(os, "posix_fallocate", _no_space)
    if how == "a new span":  # the resume path: fills in the missing cache of every prepared clip
        argv = _prepare(tmp_path, "--span", "4,3")
    else:
        argv = ["prepare", "--flow-only", "--out", str(tmp_path / "ds"), "--span", "3", "--quiet"]
    assert main(argv) == 2
    _one_error_line(capsys, tmp_path, tmp_path / "ds" / "clips" / "clip" / "flow_w3.npy")
    assert _snapshot(tmp_path / "ds") == before  # dataset.json included: still complete, still without span 3
    assert not _leftovers(tmp_path)
    assert len(PokeDataset(tmp_path / "ds", "train", resolution=16, seq_len=4)) > 0


def test_an_interrupted_cache_write_never_looks_complete(tmp_path, videos, monkeypatch, capsys):
    """A run stopped in the middle of a flow cache (here: Ctrl-C after two windows; kill -9 leaves only the
    temporary file) leaves no ``flow_w3.npy``; the next run computes it, over any stale temporaries."""
    assert main(_prepare(tmp_path, "--span", "4")) == 0
    clip = tmp_path / "ds" / "clips" / "clip"
    calls = {"n": 0}
    real_make_dis = prepare_module.make_dis

    class Interrupted:
        def __init__(self, dis):
            self.dis = dis

        def calc(self, *args):
            calls["n"] += 1
            if calls["n"] > 2:
                raise KeyboardInterrupt
            return self.dis.calc(*args)

    monkeypatch.setattr(prepare_module, "make_dis", lambda *a, **k: Interrupted(real_make_dis(*a, **k)))
    assert main(_prepare(tmp_path, "--span", "4,3")) == 130
    assert not (clip / "flow_w3.npy").exists() and not _leftovers(tmp_path)
    monkeypatch.undo()
    (clip / ".flow_w3.tmp.npy").write_bytes(b"left by a run killed with -9")
    (clip.parent / ".clip.tmp99999999").mkdir()  # a half-written clip folder of a dead run
    assert main(_prepare(tmp_path, "--span", "4,3")) == 0
    assert np.load(clip / "flow_w3.npy").shape == (7, 16, 16, 2)
    assert not _leftovers(tmp_path)
    assert len(PokeDataset(tmp_path / "ds", "train", resolution=16, seq_len=3)) > 0


@pytest.mark.parametrize("code,words", [(errno.EIO, "Input/output error"), (errno.EACCES, "Permission denied")])
def test_other_write_errors_are_one_line_too(tmp_path, videos, monkeypatch, capsys, code, words):
    """An I/O error or a refused write while caching flow: one line naming the output, no traceback,
    nothing half-written left."""

    def refuse(*args, **kwargs):
        raise OSError(code, words)

    monkeypatch.setattr(prepare_module, "write_window_flows", refuse)
    assert main(_prepare(tmp_path, "--span", "4")) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith("warning:")]
    assert "Traceback" not in err and len(lines) == 1, err
    assert lines[0] == (f"ipoke prepare: error: cannot write {tmp_path / 'ds' / 'clips' / 'clip'}: {words} "
                        "(existing files were left as they were)"), err
    assert not (tmp_path / "ds").exists() or not _leftovers(tmp_path / "ds")
