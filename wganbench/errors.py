"""The one exception type for mistakes a user can fix.

The CLI turns a :class:`UserError` into a single line on stderr and exit code 2, without a
traceback. Library callers get an ordinary exception (a ``ValueError``) with the same message.
"""


class UserError(ValueError):
    """Bad input: the message names the bad value and what is allowed, in one line."""
