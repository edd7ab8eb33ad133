"""The one exception type for mistakes a user can fix.

The CLI turns a :class:`UserError` into a single line on stderr and exit code 2, without a
traceback. Library callers get an ordinary exception (a ``ValueError``) with the same message.
"""


class UserError(ValueError):
    """Bad input: the message names the bad value and what is allowed, in one line."""


def first_line(e: BaseException) -> str:
    """The first line of an exception's message (or its type's name), for one-line errors."""
    lines = str(e).strip().splitlines()
    return lines[0] if lines else type(e).__name__


class Diverged(RuntimeError):
    """Training produced a non-finite (or runaway) loss or parameter.

    A diverged run is a failure, not a result: the CLI prints this one-line message and exits
    with :data:`EXIT_DIVERGED`; the checkpoint on disk is the last finite state (or there is
    none), and ``metrics.csv`` ends with a row at ``step`` whose ``note`` says what diverged.
    """

    def __init__(self, out: str, step: int, since: int, what: str,
                 checkpoint_step: int | None) -> None:
        self.out, self.step, self.since, self.what = out, step, since, what
        self.checkpoint_step = checkpoint_step
        kept = (f"checkpoint.pt keeps step {checkpoint_step}, the last finite state"
                if checkpoint_step is not None else "no checkpoint was written")
        window = f"step {step}" if since + 1 >= step else f"steps {since + 1}-{step}"
        super().__init__(f"run {out!r} diverged: {what} in {window}; metrics.csv records it at "
                         f"step {step}; {kept}")


#: exit codes of the command line
EXIT_USAGE = 2      # bad input: one line naming the value and what is allowed
EXIT_DIVERGED = 3   # training diverged (a non-finite or runaway loss or parameter)
EXIT_RESOURCE = 4   # out of memory, disk full, file-size limit: nothing was lost
