"""Ctrl-C that stops a whole fit, through skorch's training loops.

skorch ends a net's training quietly on :class:`KeyboardInterrupt` (its
callbacks stop training by raising it), so a Ctrl-C during one stage of a fit
would only end that stage and the fit would go on with a half-trained network.
Inside :class:`interruptible`, SIGINT raises :class:`_Interrupted` instead, which
no ``except KeyboardInterrupt`` catches, and which reaches the caller as a
:class:`KeyboardInterrupt`.
"""

from __future__ import annotations

import functools
import signal
import threading

__all__ = ["interruptible", "interruptible_fit"]


class _Interrupted(BaseException):
    """SIGINT inside :class:`interruptible`: not a KeyboardInterrupt, so that
    skorch's ``except KeyboardInterrupt`` does not end only the current net's
    training."""


def _make_handler(previous):
    def handler(signum, frame):
        # the previous handler decides what SIGINT means (Python's default
        # raises KeyboardInterrupt); only its KeyboardInterrupt is replaced
        try:
            previous(signum, frame)
        except KeyboardInterrupt:
            raise _Interrupted from None

    handler._skdec_interruptible = True
    return handler


def _install():
    """Install the handler; the handler it replaced, or None when it installed
    nothing (not the main thread, SIGINT ignored or not handled by Python, or
    an enclosing :class:`interruptible` already holds it)."""
    if threading.current_thread() is not threading.main_thread():
        return None
    previous = signal.getsignal(signal.SIGINT)
    if not callable(previous) or getattr(previous, "_skdec_interruptible", False):
        return None
    signal.signal(signal.SIGINT, _make_handler(previous))
    return previous


class interruptible:
    """Let Ctrl-C (SIGINT) stop everything inside, skorch training included.

    In the main thread, SIGINT raises an exception that skorch's training loop
    does not catch; it leaves the block as :class:`KeyboardInterrupt`. The
    previous SIGINT handler is called first (Python's default handler raises
    KeyboardInterrupt; a handler that raises nothing keeps SIGINT from
    interrupting) and is put back on exit. Elsewhere (other threads, SIGINT
    ignored) nothing is installed; nested blocks leave the handler to the
    outermost one.

    Parameters
    ----------
    estimator : object, default=None
        When given, an interrupt puts its attributes back as they were on
        entry (``vars(estimator)``), so that an interrupted ``fit`` leaves
        neither a fitted-looking estimator nor a mix of two fits. Objects
        that the block changes in place are not restored.

    Examples
    --------
    >>> import signal
    >>> from skdec.net import interruptible
    >>> class Model:
    ...     def fit(self):
    ...         with interruptible(self):
    ...             self.coef_ = 1.0
    ...             signal.raise_signal(signal.SIGINT)  # Ctrl-C
    ...         return self
    >>> model = Model()
    >>> try:
    ...     model.fit()
    ... except KeyboardInterrupt:
    ...     print("interrupted; fitted:", hasattr(model, "coef_"))
    interrupted; fitted: False
    """

    def __init__(self, estimator=None):
        self.estimator = estimator

    def __enter__(self):
        self._saved = None if self.estimator is None else dict(vars(self.estimator))
        self._previous = _install()
        return self

    def __exit__(self, exc_type, exc, tb):
        if self._previous is not None:  # first: the block is over
            signal.signal(signal.SIGINT, self._previous)
        if exc_type is None or not issubclass(
            exc_type, (KeyboardInterrupt, _Interrupted)
        ):
            return False
        if self._saved is not None:
            state = vars(self.estimator)
            state.clear()
            state.update(self._saved)
        if self._previous is not None and issubclass(exc_type, _Interrupted):
            raise KeyboardInterrupt().with_traceback(tb) from None
        return False  # an enclosing block (or nothing) converts it


def interruptible_fit(fit):
    """Decorate an estimator's ``fit`` to run inside ``interruptible(self)``.

    A Ctrl-C then stops the whole fit with :class:`KeyboardInterrupt` and
    leaves the estimator's attributes as they were before the call.

    Examples
    --------
    >>> import signal
    >>> from skdec.net import interruptible_fit
    >>> class Model:
    ...     @interruptible_fit
    ...     def fit(self, X):
    ...         self.n_features_in_ = len(X[0])
    ...         signal.raise_signal(signal.SIGINT)  # Ctrl-C
    ...         return self
    >>> model = Model()
    >>> try:
    ...     model.fit([[1, 2]])
    ... except KeyboardInterrupt:
    ...     print("interrupted; attributes:", vars(model))
    interrupted; attributes: {}
    """

    @functools.wraps(fit)
    def wrapper(self, *args, **kwargs):
        with interruptible(self):
            return fit(self, *args, **kwargs)

    if wrapper.__doc__ and "\n        Returns\n" in wrapper.__doc__:
        wrapper.__doc__ = wrapper.__doc__.rstrip() + "\n" + _RAISES + "        "
    return wrapper


# the Raises section every decorated fit's docstring gets (numpydoc, indented
# as a method's)
_RAISES = """
        Raises
        ------
        KeyboardInterrupt
            On Ctrl-C, in any stage (skorch would end only the current
            stage's training); the estimator's attributes are then those it
            had before this call.
"""
