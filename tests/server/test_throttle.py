"""Log-in throttling: the sliding-window counter on its own, then through the JSON API."""

from __future__ import annotations

import threading

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from starlette.requests import Request

from labelwise.server.app import create_app
from labelwise.server.throttle import LoginThrottle, LoginThrottled, client_ip
from labelwise.service import users
from labelwise.settings import Settings
from tests.server.conftest import PASSWORD, assert_error

WINDOW = 900.0


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_throttle(
    clock: FakeClock, *, per_user: int = 5, per_ip: int = 20, max_keys: int = 10_000
) -> LoginThrottle:
    return LoginThrottle(
        max_failures=per_user,
        max_failures_per_ip=per_ip,
        window_seconds=WINDOW,
        max_keys=max_keys,
        clock=clock,
    )


def fail(throttle: LoginThrottle, username: str = "ana", ip: str = "10.0.0.1") -> None:
    """A failed attempt: begun and never taken back."""
    throttle.begin(username, ip)


def retry_after(throttle: LoginThrottle, username: str = "ana", ip: str = "10.0.0.1") -> int:
    with pytest.raises(LoginThrottled) as caught:
        throttle.begin(username, ip)
    return caught.value.retry_after


class TestLoginThrottle:
    def test_the_attempt_after_the_limit_is_refused_until_the_first_failure_expires(self):
        clock = FakeClock()
        throttle = make_throttle(clock)
        for _ in range(5):
            fail(throttle)
            clock.advance(10)
        assert retry_after(throttle) == WINDOW - 50

    def test_the_window_slides(self):
        clock = FakeClock()
        throttle = make_throttle(clock)
        for _ in range(5):  # at 0, 100, 200, 300, 400 seconds
            fail(throttle)
            clock.advance(100)
        clock.advance(WINDOW - 501)  # 899 s after the first failure
        assert retry_after(throttle) == 1
        clock.advance(1)  # the first failure leaves the window: one more try
        fail(throttle)
        # ... and the next lock lasts until the second failure (at 100 s) leaves it.
        assert retry_after(throttle) == 100

    def test_a_success_clears_the_usernames_count(self):
        throttle = make_throttle(FakeClock())
        for _ in range(4):
            fail(throttle)
        throttle.succeeded(throttle.begin("ana", "10.0.0.1"))
        for _ in range(5):
            fail(throttle)
        assert retry_after(throttle) > 0

    def test_a_success_takes_back_only_its_own_attempt_from_the_addresss_count(self):
        throttle = make_throttle(FakeClock(), per_ip=3)
        fail(throttle, "a")
        fail(throttle, "b")
        # Logging into an account of one's own must not reset the address's count.
        throttle.succeeded(throttle.begin("mine", "10.0.0.1"))
        fail(throttle, "c")
        assert retry_after(throttle, "d") > 0

    def test_one_address_trying_many_usernames_is_locked(self):
        throttle = make_throttle(FakeClock(), per_ip=20)
        for i in range(20):
            fail(throttle, f"user{i}")
        assert retry_after(throttle, "someone-else") == WINDOW
        throttle.begin("someone-else", "10.0.0.2")  # other addresses are not locked

    def test_one_username_tried_from_many_addresses_is_locked(self):
        throttle = make_throttle(FakeClock())
        for i in range(5):
            fail(throttle, ip=f"10.0.0.{i}")
        assert retry_after(throttle, ip="10.0.0.99") == WINDOW
        throttle.begin("bob", "10.0.0.99")  # other usernames are not locked

    def test_case_variants_of_a_username_share_a_count(self):
        throttle = make_throttle(FakeClock())
        for name in ["ana", "Ana", "ANA", "anA", "aNa"]:
            fail(throttle, name)
        assert retry_after(throttle, "ana") > 0

    def test_a_zero_limit_disables_it(self):
        throttle = make_throttle(FakeClock(), per_user=0, per_ip=0)
        for _ in range(100):
            fail(throttle)
        assert len(throttle) == 0

    def test_memory_is_bounded_and_the_stalest_key_goes_first(self):
        clock = FakeClock()
        throttle = make_throttle(clock, per_user=1, per_ip=0, max_keys=3)
        for i in range(50):
            fail(throttle, f"user{i}")
            clock.advance(1)
        assert len(throttle) == 3
        assert retry_after(throttle, "user49") > 0  # the newest are remembered...
        throttle.begin("user0", "10.0.0.1")  # ... the oldest were forgotten

    def test_concurrent_attempts_cannot_overshoot_the_limit(self):
        # Each attempt counts from the moment it begins, so a burst of guesses that are
        # all still hashing is held to the limit too.
        throttle = make_throttle(FakeClock())
        start = threading.Barrier(40)
        let_through: list[bool] = []

        def attempt() -> None:
            start.wait()
            try:
                throttle.begin("ana", "10.0.0.1")
            except LoginThrottled:
                let_through.append(False)
            else:
                let_through.append(True)

        threads = [threading.Thread(target=attempt) for _ in range(40)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert let_through.count(True) == 5
        assert let_through.count(False) == 35

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"max_failures": -1}, "failure limits"),
            ({"window_seconds": 0}, "window_seconds"),
            ({"max_keys": 0}, "max_keys"),
        ],
    )
    def test_bad_settings_are_refused(self, kwargs, message):
        arguments = {"max_failures": 5, "max_failures_per_ip": 20, "window_seconds": WINDOW}
        with pytest.raises(ValueError, match=message):
            LoginThrottle(**{**arguments, **kwargs})

    @pytest.mark.parametrize(
        ("seconds", "when"),
        [(1, "1 second."), (59, "59 seconds."), (600, "10 minutes."), (899, "15 minutes.")],
    )
    def test_the_message_says_when_to_retry(self, seconds, when):
        assert str(LoginThrottled(seconds)).endswith(f"Try again in {when}")


class TestClientIp:
    @pytest.mark.parametrize(
        ("host", "key"),
        [
            ("203.0.113.7", "203.0.113.7"),
            ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
            ("2001:db8:1:2:bbbb::9", "2001:db8:1:2::/64"),
            ("::ffff:203.0.113.7", "203.0.113.7"),
            ("testclient", "testclient"),
        ],
    )
    def test_key(self, host, key):
        assert client_ip(Request({"type": "http", "client": (host, 1234)})) == key

    def test_no_client(self):
        assert client_ip(Request({"type": "http", "client": None})) == "unknown"


class TestSettings:
    def test_limits_come_from_labelwise_variables(self, monkeypatch):
        monkeypatch.setenv("LABELWISE_LOGIN_MAX_FAILURES", "0")
        monkeypatch.setenv("LABELWISE_LOGIN_MAX_FAILURES_PER_IP", "50")
        monkeypatch.setenv("LABELWISE_LOGIN_WINDOW_SECONDS", "60")
        settings = Settings()
        assert settings.login_max_failures == 0
        assert settings.login_max_failures_per_ip == 50
        assert settings.login_window_seconds == 60

    def test_a_negative_limit_is_invalid(self):
        with pytest.raises(ValidationError):
            Settings(login_max_failures=-1)


@pytest.fixture
def clock(client) -> FakeClock:
    fake = FakeClock()
    client.app.state.login_throttle.clock = fake
    return fake


def log_in(client, username: str = "ana", password: str = PASSWORD):
    return client.post("/api/auth/token", json={"username": username, "password": password})


@pytest.mark.usefixtures("clock")  # a frozen clock: Retry-After values are exact
class TestApiLogIn:
    def test_the_sixth_bad_attempt_is_429_with_retry_after(self, client, factory, clock):
        factory.user("ana")
        for _ in range(5):
            assert_error(log_in(client, password="wrong"), 401, "authentication_failed")
            clock.advance(60)
        response = log_in(client, password="wrong")
        error = assert_error(response, 429, "rate_limited")
        assert response.headers["Retry-After"] == str(int(WINDOW) - 300)
        assert error["message"] == "Too many failed log-in attempts. Try again in 10 minutes."

    def test_the_right_password_is_refused_unchecked_while_locked(
        self, client, factory, monkeypatch
    ):
        factory.user("ana")
        for _ in range(5):
            log_in(client, password="wrong")

        def must_not_run(*_args, **_kwargs):
            raise AssertionError("the password was checked while locked")

        monkeypatch.setattr(users, "authenticate", must_not_run)
        assert_error(log_in(client), 429, "rate_limited")

    def test_the_lock_lifts_when_the_window_has_passed(self, client, factory, clock):
        factory.user("ana")
        for _ in range(5):
            log_in(client, password="wrong")
        clock.advance(WINDOW - 1)
        assert_error(log_in(client), 429, "rate_limited")
        clock.advance(1)
        assert log_in(client).status_code == 200

    def test_other_usernames_are_unaffected(self, client, factory):
        factory.user("ana")
        factory.user("bob")
        for _ in range(6):
            log_in(client, password="wrong")
        assert log_in(client, "bob").status_code == 200

    def test_an_unknown_username_behaves_like_a_real_one(self, client, factory):
        factory.user("ana")
        real = [log_in(client, "ana", "wrong") for _ in range(6)]
        ghost = [log_in(client, "nobody", "wrong") for _ in range(6)]
        assert [r.status_code for r in real] == [r.status_code for r in ghost] == [401] * 5 + [429]
        assert [r.json() for r in real] == [r.json() for r in ghost]
        assert real[-1].headers["Retry-After"] == ghost[-1].headers["Retry-After"]

    def test_a_success_resets_the_count(self, client, factory):
        factory.user("ana")
        for _ in range(4):
            log_in(client, password="wrong")
        assert log_in(client).status_code == 200
        for _ in range(5):
            assert_error(log_in(client, password="wrong"), 401, "authentication_failed")

    def test_one_address_is_locked_across_usernames(self, settings, factory):
        app = create_app(settings.model_copy(update={"login_max_failures_per_ip": 3}))
        factory.user("ana")
        with TestClient(app, client=("203.0.113.7", 50000)) as attacker:
            for name in ["a", "b", "c"]:
                assert_error(log_in(attacker, name, "wrong"), 401, "authentication_failed")
            assert_error(log_in(attacker, "ana"), 429, "rate_limited")
        with TestClient(app, client=("198.51.100.1", 50000)) as neighbour:
            assert log_in(neighbour, "ana").status_code == 200

    def test_zero_limits_disable_throttling(self, settings, factory):
        update = {"login_max_failures": 0, "login_max_failures_per_ip": 0}
        factory.user("ana")
        with TestClient(create_app(settings.model_copy(update=update))) as client:
            for _ in range(7):
                assert_error(log_in(client, password="wrong"), 401, "authentication_failed")
            assert log_in(client).status_code == 200

    def test_each_app_counts_on_its_own(self, client, settings, factory):
        factory.user("ana")
        for _ in range(6):
            log_in(client, password="wrong")
        with TestClient(create_app(settings)) as other:
            assert log_in(other).status_code == 200

    def test_openapi_documents_the_429(self, client):
        operation = client.get("/openapi.json").json()["paths"]["/api/auth/token"]["post"]
        assert "429" in operation["responses"]


class TestForwardedFor:
    """Through the ASGI stack uvicorn builds from ``labelwise serve``'s proxy options."""

    @staticmethod
    def served(settings, proxies: str | None):
        import uvicorn

        from labelwise.cli import serve

        app = create_app(settings.model_copy(update={"login_max_failures_per_ip": 3}))
        config = uvicorn.Config(app, log_config=None, **serve.uvicorn_options(proxies))
        config.load()
        return config.loaded_app

    @staticmethod
    def log_in_as(client, forwarded_for: str, username: str, password: str = "wrong"):
        return client.post(
            "/api/auth/token",
            json={"username": username, "password": password},
            headers={"X-Forwarded-For": forwarded_for},
        )

    def test_a_local_client_cannot_escape_the_address_limit_by_default(self, settings, factory):
        factory.user("ana")
        with TestClient(self.served(settings, None), client=("127.0.0.1", 50000)) as local:
            for n, name in enumerate(["a", "b", "c"]):
                response = self.log_in_as(local, f"203.0.113.{n}", name)
                assert_error(response, 401, "authentication_failed")
            spoofed = self.log_in_as(local, "198.51.100.77", "ana", PASSWORD)
            assert_error(spoofed, 429, "rate_limited")

    def test_the_configured_proxys_forwarded_for_is_the_client(self, settings, factory):
        factory.user("ana")
        with TestClient(self.served(settings, "127.0.0.1"), client=("127.0.0.1", 50000)) as proxy:
            for name in ["a", "b", "c"]:
                response = self.log_in_as(proxy, "203.0.113.9", name)
                assert_error(response, 401, "authentication_failed")
            assert_error(self.log_in_as(proxy, "203.0.113.9", "ana", PASSWORD), 429, "rate_limited")
            # Another client behind the same proxy keeps its own count.
            assert self.log_in_as(proxy, "198.51.100.1", "ana", PASSWORD).status_code == 200
        other = ("192.0.2.50", 50000)  # not the configured proxy: its header is ignored
        with TestClient(self.served(settings, "127.0.0.1"), client=other) as stranger:
            for n, name in enumerate(["a", "b", "c"]):
                self.log_in_as(stranger, f"203.0.113.{n}", name)
            assert_error(self.log_in_as(stranger, "10.9.9.9", "ana", PASSWORD), 429, "rate_limited")
