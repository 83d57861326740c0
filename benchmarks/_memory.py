"""Peak resident memory of the benchmark's own process, shared by the
benchmark scripts (``bench_dec.py`` and ``study/``)."""

import resource
from pathlib import Path


def peak_rss_mb():
    """This process's peak resident memory in MB: VmHWM where /proc has it.

    Not ``ru_maxrss`` where VmHWM exists: on Linux that carries the parent's
    resident memory at the fork that started a worker (about 400 MB here: the
    parent holds the data and torch), so it overstated every method's peak.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
