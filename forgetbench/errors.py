"""The one user-facing error type: a clear message naming the culprit; the CLI exits with code 2."""


class ForgetbenchError(Exception):
    """Bad input (config, task, plug-in, model, reward, ...). ``str(e)`` is the one-line message."""
