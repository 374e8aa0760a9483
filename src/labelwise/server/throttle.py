"""Log-in throttling: too many failed attempts lock a username, or a client, for a while.

``POST /api/auth/token`` and the UI's ``POST /ui/login`` both go through
:class:`LoginThrottle`::

    attempt = throttle.begin(username, client_ip(request))  # LoginThrottled: 429
    user = users.authenticate(session, ...)                   # raising: a failure
    throttle.succeeded(attempt)

An attempt counts as a failure from the moment it begins, and only a proven password
takes it back. A burst of concurrent guesses therefore cannot slip past the limit while
each one is still hashing, and a request that dies half-way counts against its sender.
"""

from __future__ import annotations

import ipaddress
import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from labelwise.server.errors import error_response
from labelwise.server.schemas.errors import ErrorBody, ErrorDetail
from labelwise.settings import Settings

#: The OpenAPI entry of the 429 answer, for the routes that log users in.
THROTTLED_RESPONSE: dict[int | str, dict[str, Any]] = {
    429: {"model": ErrorBody, "description": "Too many failed log-ins; see Retry-After"}
}


class LoginThrottled(Exception):
    """Log-ins are refused for ``retry_after`` seconds; the password was not checked.

    Parameters
    ----------
    retry_after : int
        Whole seconds until an attempt may succeed again (at least 1).
    """

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(f"Too many failed log-in attempts. Try again in {_duration(retry_after)}.")


def _duration(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    return f"{math.ceil(seconds / 60)} minutes"


@dataclass(frozen=True)
class LoginAttempt:
    """A log-in that :meth:`LoginThrottle.begin` let through, counted as failed so far."""

    username: str
    ip: str
    at: float


class _Window:
    """Failure times per key within a sliding window, at most ``max_keys`` keys.

    Each key keeps only its last ``limit`` times: the key is locked while the oldest of
    them is inside the window, and that one leaving the window is what unlocks it, so
    older times can never matter. Keys live in least-recently-failed order; past
    ``max_keys`` the stalest is dropped, which bounds memory whatever an attacker sends.
    """

    def __init__(self, limit: int, max_keys: int) -> None:
        self.limit = limit
        self.max_keys = max_keys
        self.times: OrderedDict[str, deque[float]] = OrderedDict()

    def retry_after(self, key: str, now: float, window: float) -> float:
        """Seconds until ``key`` may try again; 0 when it may now."""
        if self.limit == 0:
            return 0.0
        times = self.times.get(key)
        if times is None:
            return 0.0
        while times and times[0] <= now - window:
            times.popleft()
        if not times:
            del self.times[key]
            return 0.0
        if len(times) < self.limit:
            return 0.0
        return times[0] + window - now

    def add(self, key: str, now: float) -> None:
        if self.limit == 0:
            return
        times = self.times.get(key)
        if times is None:
            times = self.times[key] = deque(maxlen=self.limit)
        times.append(now)
        self.times.move_to_end(key)
        while len(self.times) > self.max_keys:
            self.times.popitem(last=False)

    def discard(self, key: str, at: float) -> None:
        """Take back the failure counted at ``at`` (if it is still there)."""
        times = self.times.get(key)
        if times is not None and at in times:
            times.remove(at)
            if not times:
                del self.times[key]

    def clear(self, key: str) -> None:
        self.times.pop(key, None)


class LoginThrottle:
    """Count failed log-ins per username and per client IP over a sliding window.

    After ``max_failures`` failures for a username within ``window_seconds`` (or
    ``max_failures_per_ip`` from one client address), further attempts for it are refused
    with :class:`LoginThrottled` until the oldest of those failures leaves the window,
    *without checking the password*: a locked account costs no argon2 hash and its
    answers' timing tells nothing. A correct password clears its username's count; the
    client's count only loses that one attempt, so an attacker who owns one account cannot
    reset their address's count by logging into it between guesses.

    Unknown usernames are counted and locked exactly like real ones, so a lock says
    nothing about whether an account exists. The per-username lock lets anyone hold a
    known username's owner out for a window; that is the usual price of stopping
    password guessing spread over many addresses, and the window bounds it.

    The counts live in this process's memory, behind a lock (sync routes run in a thread
    pool). Several uvicorn workers each count on their own, so the effective limit is
    ``max_failures`` times the number of workers, and a restart forgets the counts. That
    is acceptable here: the limits exist to turn online guessing from millions of tries
    an hour into a few dozen, which any small multiple still does, and keeping them out
    of the database means a flood of bad log-ins cannot become a flood of writes.

    Parameters
    ----------
    max_failures : int
        Failures per username within the window before it is locked; 0 disables.
    max_failures_per_ip : int
        Failures per client address within the window before it is locked; 0 disables.
    window_seconds : float
        Length of the sliding window, in seconds.
    max_keys : int, default=10_000
        Most usernames (and, separately, addresses) remembered; past it the one whose
        last failure is oldest is forgotten first.
    clock : callable, default=time.monotonic
        Seconds as a float; tests pass a fake one.
    """

    def __init__(
        self,
        *,
        max_failures: int,
        max_failures_per_ip: int,
        window_seconds: float,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if min(max_failures, max_failures_per_ip) < 0:
            raise ValueError(
                f"failure limits must be >= 0, got {max_failures} and {max_failures_per_ip}"
            )
        if window_seconds <= 0:
            raise ValueError(f"window_seconds must be > 0, got {window_seconds}")
        if max_keys < 1:
            raise ValueError(f"max_keys must be >= 1, got {max_keys}")
        self.window_seconds = window_seconds
        self.clock = clock
        self._users = _Window(max_failures, max_keys)
        self._ips = _Window(max_failures_per_ip, max_keys)
        self._lock = threading.Lock()

    @classmethod
    def from_settings(
        cls, settings: Settings, *, clock: Callable[[], float] = time.monotonic
    ) -> LoginThrottle:
        """The throttle ``settings.login_*`` describe."""
        return cls(
            max_failures=settings.login_max_failures,
            max_failures_per_ip=settings.login_max_failures_per_ip,
            window_seconds=settings.login_window_seconds,
            clock=clock,
        )

    @staticmethod
    def _user_key(username: str) -> str:
        # Case variants of one name share a count, whatever the database's collation.
        return username.casefold()

    def begin(self, username: str, ip: str) -> LoginAttempt:
        """Let an attempt through, counted as failed until :meth:`succeeded` says otherwise.

        Raises
        ------
        LoginThrottled
            When the username or the address is locked; nothing is counted then.
        """
        user = self._user_key(username)
        with self._lock:
            now = self.clock()
            wait = max(
                self._users.retry_after(user, now, self.window_seconds),
                self._ips.retry_after(ip, now, self.window_seconds),
            )
            if wait > 0:
                raise LoginThrottled(max(1, math.ceil(wait)))
            self._users.add(user, now)
            self._ips.add(ip, now)
        return LoginAttempt(user, ip, now)

    def succeeded(self, attempt: LoginAttempt) -> None:
        """The password was right: clear the username's count, take back the address's one."""
        with self._lock:
            self._users.clear(attempt.username)
            self._ips.discard(attempt.ip, attempt.at)

    def __len__(self) -> int:
        """How many usernames and addresses are remembered (for tests and monitoring)."""
        with self._lock:
            return len(self._users.times) + len(self._ips.times)


def client_ip(request: Request) -> str:
    """The key a request's client is counted under: its address, IPv6 by /64 network.

    This is ``request.client.host``, the peer of the TCP connection: ``labelwise serve``
    reads no forwarded headers unless ``--forwarded-allow-ips`` (or
    ``LABELWISE_FORWARDED_ALLOW_IPS``) names the proxy, so a client cannot pick the address
    it is counted under by sending ``X-Forwarded-For``. Behind a reverse proxy the peer is
    the proxy, for every user at once: name it, and uvicorn replaces the peer with the
    ``X-Forwarded-For`` client for requests from it only. One IPv6 host usually holds a
    whole /64, so its addresses share one count.
    """
    host = request.client.host if request.client is not None else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host or "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def request_throttle(request: Request) -> LoginThrottle:
    """The app's throttle (``app.state.login_throttle``, made by ``create_app``)."""
    throttle: LoginThrottle = request.app.state.login_throttle
    return throttle


def login_throttled(_request: Request, exc: LoginThrottled) -> JSONResponse:
    """The API's answer to a locked log-in: 429, the usual error body, and Retry-After."""
    return error_response(
        429,
        ErrorDetail(type="rate_limited", message=str(exc)),
        {"Retry-After": str(exc.retry_after)},
    )
