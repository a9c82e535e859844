"""`jejaring health`: the container health check of the one image (deploy/Dockerfile).

The image runs any of the five processes; JEJARING_SERVICE (set per service in compose) says
which one this container runs, and its `<PREFIX>PORT` (or the default) where it listens. The
check is the service's own `/readyz` on loopback: exit 0 when it answers 200, 1 otherwise.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request

DEFAULT_PORTS = {"intake": 8000, "referral": 8001, "notify": 8002, "report": 8003, "web": 8080}


class UnknownService(ValueError):
    pass


def readyz_url(service: str, env: dict[str, str] | None = None) -> str:
    env = dict(os.environ) if env is None else env
    if service not in DEFAULT_PORTS:
        raise UnknownService(
            f"JEJARING_SERVICE must be one of {', '.join(DEFAULT_PORTS)}, not {service!r}"
        )
    port = env.get(f"{service.upper()}_PORT") or str(DEFAULT_PORTS[service])
    return f"http://127.0.0.1:{port}/readyz"


def healthy(url: str, timeout: float = 4.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - loopback
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False
