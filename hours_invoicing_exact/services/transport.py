"""HTTP transport facts shared by the accounting clients (Exact Online, Twinfield).

Imports no ``odoo``.
"""

import requests
from urllib3.exceptions import NewConnectionError


def never_sent(exc: requests.RequestException) -> bool:
    """Whether a transport error happened before the request left this machine.

    Only then may a write be repeated without first looking it up in the accounting
    package: any other failure (timeout, reset) may come after the package stored it.
    """
    if isinstance(exc, requests.ConnectTimeout):
        return True
    cause = exc
    for _depth in range(4):
        if isinstance(cause, NewConnectionError):
            return True
        cause = getattr(cause, "reason", None) or next(
            (arg for arg in getattr(cause, "args", ()) if isinstance(arg, BaseException)), None
        )
        if cause is None:
            return False
    return False
