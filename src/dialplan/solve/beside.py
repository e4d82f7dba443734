"""Work on the second core: a function run in a forked process while the caller goes on.

The planner's large-book path prices the seats (``colgen.price_by_sample``) while the main
process builds the seed plans; both read the same candidate arrays, which a fork shares
without copying. Where fork is not available, or the child fails, the function runs in the
caller when its result is asked for, so the result is the same either way (only later).
"""

from __future__ import annotations

import logging
import multiprocessing
import os

log = logging.getLogger("dialplan")


def _child(conn, fn, args, kwargs) -> None:
    try:
        conn.send(("ok", fn(*args, **kwargs)))
    except BaseException as exc:  # the parent decides what to do; never a silent loss
        try:
            conn.send(("error", f"{type(exc).__name__}: {exc}"))
        except Exception:
            pass
    finally:
        conn.close()
        os._exit(0)  # no atexit handlers or buffered output of the parent run twice


class Beside:
    """``fn(*args, **kwargs)`` started in a forked process now; ``result()`` waits for it.

    With ``partial=True`` the function is also given ``post`` and ``inbox``: what it posts on
    the way (one value) the caller can take with ``partial()`` before the result is there
    (``None`` when the work runs in the caller, or the child failed before posting); what the
    caller sends with ``tell`` the function finds by calling ``inbox()`` (the latest value
    told, or None: it never waits; ``inbox.live`` is true in a child, where values may still
    come, and absent in the caller, where all were told before the work ran)."""

    def __init__(self, fn, *args, partial: bool = False, **kwargs):
        self.fn, self.args = fn, args
        self.proc = None
        self.posted = None
        self.told = None
        self.outbox = None  # the caller's end of the pipe to the child's inbox
        self.kwargs = dict(kwargs)
        if partial:
            # in the caller: nothing to post to, and what was told is known already
            self.kwargs.update(post=lambda _value: None, inbox=lambda: self.told)
        if "fork" not in multiprocessing.get_all_start_methods():
            return
        ctx = multiprocessing.get_context("fork")
        try:
            self.recv, send = ctx.Pipe(duplex=False)
            if partial:
                inbox_recv, self.outbox = ctx.Pipe(duplex=False)
                latest = [None]

                def inbox():
                    """The latest value told (in the child), or None; never waits."""
                    while inbox_recv.poll():
                        latest[0] = inbox_recv.recv()
                    return latest[0]

                inbox.live = True  # values may still come (in the caller all were told before)
                kwargs = {**kwargs, "post": lambda value: send.send(("partial", value)), "inbox": inbox}
            self.proc = ctx.Process(target=_child, args=(send, fn, args, kwargs), daemon=True)
            self.proc.start()
            send.close()
        except OSError as exc:
            log.warning("could not start a second process (%s): the work runs in this one", exc)
            self.proc = None

    def tell(self, value) -> None:
        """Send ``value`` to the function's ``inbox`` (a child that has ended ignores it)."""
        self.told = value
        if self.proc is not None and self.outbox is not None:
            try:
                self.outbox.send(value)
            except (BrokenPipeError, OSError):
                pass

    def _next(self) -> tuple:
        try:
            return self.recv.recv()
        except (EOFError, OSError):
            return "error", "the process ended without a result"

    def partial(self):
        """What the child posted on the way (waits for it), else None."""
        if self.proc is None or self.posted is not None:
            return None
        self.posted = self._next()
        return self.posted[1] if self.posted[0] == "partial" else None

    def result(self):
        if self.proc is None:
            return self.fn(*self.args, **self.kwargs)
        status, value = self.posted if self.posted is not None else ("partial", None)
        while status == "partial":
            status, value = self._next()
        self.proc.join()
        self.recv.close()
        if status == "ok":
            return value
        log.warning("work in the second process failed (%s): running it in this one", value)
        return self.fn(*self.args, **self.kwargs)
