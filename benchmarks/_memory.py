"""Peak resident memory of the benchmark's own process, shared by the
benchmark scripts (``bench_dec.py`` and ``study/``)."""

import os
import resource
from pathlib import Path


def peak_rss_mb():
    """This process's peak resident memory in MB: VmHWM where /proc has it.

    Not ``ru_maxrss`` where VmHWM exists: on Linux that carries the parent's
    resident memory at the fork that started a worker (about 400 MB here: the
    parent holds the data and torch), so it overstated every method's peak.
    """
    try:
        peak = _vmhwm_mb("self")
    except OSError:
        peak = None
    if peak is None:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return peak


def _vmhwm_mb(pid):
    """VmHWM of /proc/<pid>/status in MB, or None where it has none."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return None


def workers_peak_mb():
    """Sum of the peak resident memory of this process's live descendants
    (the worker processes that ``DECClusterer(n_jobs=...)`` leaves running
    for the next fit), in MB; 0 without /proc.

    A sum of peaks: at least the workers' share of the simultaneous peak,
    and never less than what they held at once.
    """
    parents, mine, total = {}, {os.getpid()}, 0.0
    try:
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                # the command name is in parentheses and may hold spaces
                parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    except OSError:
        return 0.0
    grew = True
    while grew:
        grew = False
        for pid, ppid in parents.items():
            if ppid in mine and pid not in mine:
                mine.add(pid)
                grew = True
    for pid in mine - {os.getpid()}:
        try:
            total += _vmhwm_mb(pid) or 0.0  # a zombie has no VmHWM
        except OSError:
            pass
    return total
