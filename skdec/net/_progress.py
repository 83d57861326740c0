"""Progress of a training stage: a bar on a terminal, plain lines elsewhere."""

from __future__ import annotations

import math
import sys
import time

from skorch.callbacks import Callback

__all__ = ["EpochProgress", "Progress"]


def _is_terminal(stream) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


class Progress:
    """Progress of one stage of a fit.

    On a terminal, a tqdm bar (steps done, rate, the latest ``info`` as its
    postfix); elsewhere (a log file, a notebook, a pipe), plain lines without
    control codes: one every tenth of the stage, and one per :meth:`note`.

    Parameters
    ----------
    desc : str
        Name of the stage, e.g. ``'pretraining'``.
    total : int
        Steps of the stage.
    unit : str
        What a step is, e.g. ``'epoch'``.
    file : file-like, default=None
        Where to write; ``sys.stdout`` when None.
    tenths : bool, default=True
        Without a terminal, write a line every tenth of the stage (False:
        only the :meth:`note` lines).
    """

    def __init__(self, desc, total, unit, *, file=None, tenths=True):
        self.file = sys.stdout if file is None else file
        self.desc, self.total, self.unit = desc, max(int(total), 1), unit
        self.done = 0
        self.tenths = tenths
        self._info = {}
        self._start = time.perf_counter()
        self._every = max(1, math.ceil(self.total / 10))
        self._bar = None
        if _is_terminal(self.file):
            from tqdm import tqdm

            self._bar = tqdm(
                total=self.total, desc=desc, unit=unit, file=self.file, leave=True
            )

    def _line(self, text):
        seconds = time.perf_counter() - self._start
        print(f"[{self.desc}] {text}  ({seconds:.1f} s)", file=self.file, flush=True)

    def _fields(self, info):
        return "  ".join(f"{k} {v}" for k, v in info.items())

    def update(self, n=1, **info):
        """``n`` more steps done; ``info`` (name: value) describes the latest."""
        before, self.done = self.done, self.done + n
        self._info.update(info)
        if self._bar is not None:
            self._bar.update(n)
            if info:
                self._bar.set_postfix(self._info, refresh=False)
        elif self.tenths and (
            self.done // self._every > before // self._every
            or self.done >= self.total > before
        ):
            shown = min(self.done, self.total)
            self._line(
                f"{self.unit} {shown}/{self.total}  {self._fields(self._info)}".rstrip()
            )

    def note(self, **info):
        """Report ``info`` now: the bar's postfix, or a line of its own."""
        self._info.update(info)
        if self._bar is not None:
            self._bar.set_postfix(self._info)
        else:
            self._line(f"{self.unit} {self.done}  {self._fields(info)}")

    def close(self):
        """End the stage (the bar stays on screen)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None


class EpochProgress(Callback):
    """skorch callback: a :class:`Progress` over a net's epochs, with the loss.

    Parameters
    ----------
    desc : str, default='training'
        Name of the stage.
    """

    def __init__(self, desc="training"):
        self.desc = desc

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        self.progress_ = Progress(self.desc, net.max_epochs, "epoch")

    def on_epoch_end(self, net, **kwargs):
        self.progress_.update(1, loss=f"{net.history[-1, 'train_loss']:.5g}")

    def on_train_end(self, net, X=None, y=None, **kwargs):
        self.progress_.close()
        del self.progress_  # a fitted net keeps no terminal state
