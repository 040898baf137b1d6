"""The base class of errors caused by user input (files, values, paths).

The CLI prints these as one clear line and exits with status 2, without a traceback; the GUI
shows them in a dialog. Anything else is a bug and keeps its traceback.
"""


class UserError(Exception):
    """Bad input from the user; ``str(err)`` is the message to show."""
