"""Several credentials per CallbackVerifier (a secret rotation, several apps), and
DeliveryGuard: the in-memory store and a store written in Python."""

import hashlib
import threading
from typing import Dict, List, Tuple

import pytest

import yunxin_ecp as yx

BODY = b'{"callback":"{\\"session\\":\\"s-1\\",\\"durationSec\\":61}","eventType":"10"}'
NOW = 1_700_000_000_000
OLD = yx.Credentials("app", "old-secret")
NEW = yx.Credentials("app", "new-secret")


def headers(creds: yx.Credentials, at: int = NOW) -> List[Tuple[str, str]]:
    return list(yx.sign_callback(creds, BODY, cur_time_ms=at).items())


def test_during_a_rotation_both_secrets_are_accepted_and_the_match_is_named() -> None:
    verifier = yx.CallbackVerifier([OLD, NEW])
    assert verifier.app_keys == ["app", "app"] and verifier.app_key == "app"
    for creds, index in ((OLD, 0), (NEW, 1)):
        delivery = verifier.verify(BODY, headers(creds), now_ms=NOW)
        assert (delivery.credential, delivery.app_key, delivery.cur_time_ms) == (index, "app", NOW)
        assert delivery.expires_at_ms == NOW + 300_000
    with pytest.raises(yx.CallbackVerificationError) as e:
        verifier.verify(BODY, headers(yx.Credentials("app", "stranger")), now_ms=NOW)
    assert e.value.reason == "checksum_mismatch"


def test_the_delivery_key_is_computed_from_the_signed_headers() -> None:
    delivery, event = yx.CallbackVerifier(OLD).verify_delivery(BODY, headers(OLD), now_ms=NOW)
    assert isinstance(event, yx.CallEndEvent) and event.session == "s-1"
    signed = dict(headers(OLD))
    # The key's recipe, computed here independently: SHA-1 over each part with its length first.
    digest = hashlib.sha1()
    for part in ("app", signed["CheckSum"], signed["CurTime"], signed["MD5"]):
        digest.update(len(part).to_bytes(8, "big") + part.encode())
    assert delivery.key == digest.hexdigest()
    assert signed["MD5"] == hashlib.md5(BODY).hexdigest()


def test_several_apps_each_match_by_their_own_key() -> None:
    a, b = yx.Credentials("app-a", "secret-a"), yx.Credentials("app-b", "secret-b")
    verifier = yx.CallbackVerifier((a, b))
    assert verifier.verify(BODY, headers(b), now_ms=NOW).credential == 1
    relabelled = [(k, "app-a" if k == "AppKey" else v) for k, v in headers(b)]
    with pytest.raises(yx.CallbackVerificationError) as e:
        verifier.verify(BODY, relabelled, now_ms=NOW)
    assert e.value.reason == "app_key_mismatch"
    assert "app_keys=['app-a', 'app-b']" in repr(verifier)
    assert "secret" not in repr(verifier)


@pytest.mark.parametrize(
    "credentials, error, text",
    [
        ([], yx.ValidationError, "credentials: must hold 1 to 8 entries, got 0"),
        ([OLD] * 9, yx.ValidationError, "credentials: must hold 1 to 8 entries, got 9"),
        ([OLD] * 20, yx.ValidationError, "credentials: must hold 1 to 8 entries, got 20"),
        ("app", TypeError, "credentials must be a Credentials or a list of them, not str"),
        (42, TypeError, "credentials must be a Credentials or a list of them, not int"),
        ([OLD, "x"], TypeError, "credentials[1] must be a Credentials, not str"),
    ],
)
def test_bad_credentials_are_named(credentials: object, error: type, text: str) -> None:
    with pytest.raises(error, match=text.replace("[", r"\[").replace("]", r"\]")):
        yx.CallbackVerifier(credentials)  # type: ignore[arg-type]


def test_an_endless_iterator_of_credentials_is_not_read_to_its_end() -> None:
    def endless():  # type: ignore[no-untyped-def]
        while True:
            yield OLD

    with pytest.raises(yx.ValidationError, match="got more than 8") as e:
        yx.CallbackVerifier(endless())
    assert (e.value.field, e.value.rule) == ("credentials", "count")


def delivery(at: int = NOW) -> yx.Delivery:
    return yx.CallbackVerifier(OLD).verify(BODY, headers(OLD, at), now_ms=at)


def test_the_memory_guard_claims_once_then_says_duplicate() -> None:
    guard = yx.DeliveryGuard()
    d = delivery()
    assert guard.claim(d, now_ms=NOW) == "first"
    assert guard.claim(d, now_ms=NOW) == "in_progress"
    guard.complete(d)
    assert guard.claim(d, now_ms=NOW) == "duplicate"
    assert (guard.held, guard.evicted) == (1, 0)
    other = delivery(NOW + 1)
    assert guard.claim(other, now_ms=NOW) == "first"
    guard.release(other)
    assert guard.claim(other, now_ms=NOW) == "first"
    # Past their window (by the end of its second) both are forgotten.
    assert guard.claim(delivery(NOW + 2), now_ms=d.expires_at_ms + 1000) == "first"
    assert guard.held == 1


def test_the_memory_guard_stays_within_its_capacity() -> None:
    guard = yx.DeliveryGuard(capacity=3)
    for i in range(10):
        assert guard.claim(delivery(NOW + i), now_ms=NOW) == "first"
    assert (guard.held, guard.evicted) == (3, 7)
    with pytest.raises(yx.ValidationError, match="capacity"):
        yx.DeliveryGuard(capacity=0)


class DictStore:
    """A store of one's own, as a Redis one would behave (atomic under a lock)."""

    def __init__(self) -> None:
        self.state: Dict[str, Tuple[str, int]] = {}
        self.lock = threading.Lock()

    def claim(self, key: str, expires_at_ms: int, now_ms: int) -> str:
        with self.lock:
            held = self.state.get(key)
            if held is None:
                self.state[key] = ("pending", expires_at_ms)
                return "first"
            return "duplicate" if held[0] == "done" else "in_progress"

    def complete(self, key: str, expires_at_ms: int) -> None:
        with self.lock:
            self.state[key] = ("done", expires_at_ms)

    def release(self, key: str) -> None:
        with self.lock:
            self.state.pop(key, None)


def test_a_store_of_ones_own_gets_the_key_and_the_expiry() -> None:
    store = DictStore()
    guard = yx.DeliveryGuard(store)
    d = delivery()
    assert guard.claim(d) == "first"
    assert store.state == {d.key: ("pending", d.expires_at_ms)}
    guard.complete(d)
    assert guard.claim(d) == "duplicate" and store.state[d.key] == ("done", d.expires_at_ms)
    assert (guard.held, guard.evicted) == (None, None)


def test_two_threads_claiming_one_delivery_get_one_first() -> None:
    for store in (None, DictStore()):
        for round_ in range(50):
            guard = yx.DeliveryGuard(store) if store is not None else yx.DeliveryGuard()
            d = delivery(NOW + 1000 * round_)
            barrier = threading.Barrier(2)
            claims: List[str] = []

            def claim() -> None:
                barrier.wait(10)
                claims.append(guard.claim(d, now_ms=NOW))

            threads = [threading.Thread(target=claim) for _ in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(10)
            assert sorted(claims) == ["first", "in_progress"], claims


class Answers:
    def __init__(self, answer: object) -> None:
        self.answer = answer

    def claim(self, key: str, expires_at_ms: int, now_ms: int) -> object:
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer

    def complete(self, key: str, expires_at_ms: int) -> None:
        raise KeyError("password=hunter22")

    def release(self, key: str) -> None:
        pass


@pytest.mark.parametrize(
    "answer, text",
    [
        ("yes", "the store's claim() must return 'first', 'duplicate' or 'in_progress', not \"yes\""),
        (1, "the store's claim() must return a str"),
        (ConnectionError("redis://:hunter22@127.0.0.1/0"), "ConnectionError raised by the store's claim()"),
    ],
)
def test_a_failing_store_is_a_delivery_store_error_without_its_words(answer: object, text: str) -> None:
    guard = yx.DeliveryGuard(Answers(answer))  # type: ignore[arg-type]
    with pytest.raises(yx.DeliveryStoreError) as e:
        guard.claim(delivery())
    assert text in str(e.value) and "hunter22" not in str(e.value)
    with pytest.raises(yx.DeliveryStoreError, match=r"KeyError raised by the store's complete\(\)"):
        guard.complete(delivery())


def test_a_store_needs_the_three_methods() -> None:
    with pytest.raises(TypeError, match=r"it has no complete\(\)"):
        yx.DeliveryGuard(type("HalfStore", (), {"claim": lambda *a: "first"})())  # type: ignore[arg-type]
