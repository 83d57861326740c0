"""Keep glibc from returning a training step's memory to the kernel every step.

A training step allocates the same few megabytes (activations, gradients,
bfloat16 copies of the weights) and frees them again. glibc's ``malloc`` serves
blocks over its mmap threshold (128 KiB at start) from fresh ``mmap`` regions
and trims the top of its heap when more than twice that threshold is free;
both thresholds grow only as it sees large blocks freed, up to 32 MiB and 64
MiB. Until they have grown, every step gets its memory as new pages from the
kernel, which zeroes them on first touch: on sklearn's digits a fresh process
took 2.2-2.8 million page faults and 17 s to pretrain the autoencoder, against
about 50 thousand and 14 s with the thresholds set to glibc's own limits from
the start (``docs/benchmarks.rst``, sixth session).

:func:`tune_malloc` sets them to those limits once per process, on Linux with
glibc only. Set the environment variable ``SKDEC_TUNE_MALLOC=0`` to leave the
allocator alone.
"""

from __future__ import annotations

import ctypes
import os
import platform

__all__ = ["tune_malloc"]

# glibc's upper bounds of its dynamic thresholds on 64-bit systems
# (DEFAULT_MMAP_THRESHOLD_MAX and twice that): the values it would reach
# itself once it had seen such blocks freed.
MMAP_THRESHOLD = 32 * 2**20
TRIM_THRESHOLD = 2 * MMAP_THRESHOLD
_M_TRIM_THRESHOLD = -1  # mallopt parameter numbers from <malloc.h>
_M_MMAP_THRESHOLD = -3

_tuned = None


def tune_malloc() -> bool:
    """Set glibc's mmap and trim thresholds to their limits, once per process.

    Returns
    -------
    tuned : bool
        Whether the thresholds are set: False where the C library is not glibc,
        where ``SKDEC_TUNE_MALLOC=0``, or where ``mallopt`` refused them.

    Examples
    --------
    >>> from skdec.net import tune_malloc
    >>> isinstance(tune_malloc(), bool)
    True
    """
    global _tuned
    if _tuned is not None:
        return _tuned
    if os.environ.get("SKDEC_TUNE_MALLOC", "1").strip() == "0":
        return False  # asked again on the next call: the variable may change
    _tuned = False
    if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
        try:
            mallopt = ctypes.CDLL(None).mallopt
        except (OSError, AttributeError):
            return _tuned
        mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
        mallopt.restype = ctypes.c_int
        # mallopt returns 1 on success; the mmap threshold first, because
        # setting either one ends glibc's dynamic adjustment of both
        _tuned = bool(
            mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
            and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
        )
    return _tuned
