"""Tests of skdec.net.tune_malloc (glibc's allocator thresholds)."""

import ctypes
import os
import platform
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from skdec.net import AutoencoderNet, _allocator, tune_malloc
from skdec.nn import MLPAutoencoder

glibc = pytest.mark.skipif(
    platform.system() != "Linux"
    or platform.libc_ver()[0] != "glibc"
    or not hasattr(ctypes.CDLL(None), "mallinfo2"),
    reason="mallopt and mallinfo2 (glibc >= 2.33) are glibc's",
)

# In a fresh process: is a 16 MiB block served by mmap (glibc's start: 128 KiB
# threshold), and is a freed 24 MiB block at the top of the heap kept? Both
# sizes lie under the tuned thresholds (32 and 64 MiB).
_PROBE = textwrap.dedent(
    """
    import ctypes, importlib.util, sys
    import numpy as np

    # the module alone, without importing torch through skdec
    spec = importlib.util.spec_from_file_location("allocator", sys.argv[2])
    allocator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(allocator)

    class MallInfo2(ctypes.Structure):
        _fields_ = [(name, ctypes.c_size_t) for name in (
            "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks "
            "fordblks keepcost").split()]

    libc = ctypes.CDLL(None)
    libc.mallinfo2.restype = MallInfo2
    tuned = allocator.tune_malloc() if sys.argv[1] == "tune" else None
    before = libc.mallinfo2().hblks
    block = np.ones(16 * 2**20, dtype=np.uint8)
    mmapped = libc.mallinfo2().hblks - before
    top = np.ones(24 * 2**20, dtype=np.uint8)
    del top
    print(tuned, mmapped, libc.mallinfo2().keepcost >= 24 * 2**20)
    """
)


def _probe(mode, env=None):
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, mode, _allocator.__file__],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return out.stdout.split()


@glibc
def test_tune_malloc_sets_the_thresholds(monkeypatch):
    monkeypatch.delenv("SKDEC_TUNE_MALLOC", raising=False)
    # glibc's start: the block is mmapped, nothing freed is kept on top
    assert _probe("plain") == ["None", "1", "False"]
    # tuned: the block comes from the heap and the freed 24 MiB stay
    assert _probe("tune") == ["True", "0", "True"]


@glibc
def test_tune_malloc_opt_out(monkeypatch):
    env = dict(os.environ, SKDEC_TUNE_MALLOC="0")
    assert _probe("tune", env=env) == ["False", "1", "False"]
    monkeypatch.setattr(_allocator, "_tuned", None)
    monkeypatch.setenv("SKDEC_TUNE_MALLOC", "0")
    assert tune_malloc() is False
    assert _allocator._tuned is None  # asked again next time


def test_tune_malloc_elsewhere_is_a_no_op(monkeypatch):
    monkeypatch.setattr(_allocator, "_tuned", None)
    monkeypatch.delenv("SKDEC_TUNE_MALLOC", raising=False)
    monkeypatch.setattr(platform, "system", lambda: "Darwin")
    assert tune_malloc() is False
    assert tune_malloc() is False  # remembered, not retried


def test_nets_tune_malloc_when_initialised(monkeypatch):
    calls = []
    monkeypatch.setattr("skdec.net._nets.tune_malloc", lambda: calls.append(1) or True)
    net = AutoencoderNet(
        MLPAutoencoder,
        module__n_features=4,
        module__hidden_dims=(8,),
        module__n_components=2,
        max_epochs=1,
        batch_size=8,
        verbose=0,
    )
    net.fit(np.random.RandomState(0).rand(16, 4).astype(np.float32))
    assert calls == [1]
