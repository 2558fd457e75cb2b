"""What every CLI adapter shares: the outcome a handler returns, argument types, signals."""

from __future__ import annotations

import argparse
import signal
import sys
from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass
class Outcome:
    """What a handler hands back: exit code, the ``--json`` document and the human text."""

    payload: Any
    text: str
    code: int = 0
    warnings: list[str] = field(default_factory=list)


Handler = Callable[[argparse.Namespace], Outcome]


def open_store(read_only: bool = False):
    """The project's run store (found as ``find_home`` finds it); None when ``read_only``
    and there is none yet: listing runs never leaves an empty store behind, which would
    then capture the runs of every project below it that is not a git repository."""
    from .store import RunStore, find_home  # pylint: disable=import-outside-toplevel
    from .store.db import DB_NAME  # pylint: disable=import-outside-toplevel

    home = find_home()
    if read_only and not (home / DB_NAME).exists():
        return None
    return RunStore(home)


def say(message: str) -> None:
    """A progress line on stderr (stdout stays the command's result)."""
    print(message, file=sys.stderr, flush=True)


def cancel_on_sigterm() -> None:
    """SIGTERM cancels like Ctrl-C (and is remembered like it, see ``Interrupts``)."""
    def handler(signum, frame):
        raise KeyboardInterrupt

    current = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGTERM, current if isinstance(current, Interrupts) else handler)


def cancel_kernel_runs() -> None:
    """Ctrl-C or SIGTERM while a notebook runs in a kernel cancels the command: nbclient takes
    both signals over through the event loop (it shuts the kernel down, and the caller only
    sees a dead kernel), so its handlers are wrapped to remember them (``Interrupts``)."""
    from jupyter_core.utils import ensure_event_loop  # pylint: disable=import-outside-toplevel

    cancel_on_sigterm()
    interrupts = signal.getsignal(signal.SIGINT)
    if not isinstance(interrupts, Interrupts):
        return
    loop = ensure_event_loop()  # the loop nbclient's run_sync will run on in this thread
    original = loop.add_signal_handler

    def add_signal_handler(sig, callback, *args):
        def remembered(*given):
            interrupts.seen = True
            callback(*given)
        original(sig, remembered, *args)

    loop.add_signal_handler = add_signal_handler


def at_least_one(text: str) -> int:
    """An argparse type: a whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is too small: give 1 or more")
    return value


def positive_seconds(text: str) -> float:
    """An argparse type: a number of seconds > 0 (finite)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text} is not a positive number of seconds")
    return value


class Interrupts:
    """Remembers a Ctrl-C (SIGINT) while a command runs: a kernel that dies of the same
    Ctrl-C makes nbclient raise DeadKernelError or worse, which is a cancel, not a crash."""

    def __init__(self) -> None:
        self.seen = False

    def __call__(self, signum, frame):
        self.seen = True
        raise KeyboardInterrupt

    def install(self) -> None:
        """Take over SIGINT if Python's default handler has it (not when it is ignored)."""
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            signal.signal(signal.SIGINT, self)
