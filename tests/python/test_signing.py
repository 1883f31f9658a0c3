"""Signing: checksum, nonces, Credentials (secret never shown) and AuthHeaders."""

import hashlib
import os
import pickle
import re
import time

import pytest

import yunxin_ecp as yx

KEY = "fd460d34e786e7754e505bc4fab0f027"
SECRET = "xxxxxxxx"


def test_documented_vector() -> None:
    assert yx.checksum(SECRET, "123456", "1440570500") == "90d19362ba1584524bbd9b375b006837a4f676db"
    assert yx.checksum(SECRET, "123456", 1440570500) == "90d19362ba1584524bbd9b375b006837a4f676db"


def test_callback_checksum_is_the_same_function() -> None:
    md5 = hashlib.md5(b'{"callback":"{}","eventType":"10"}').hexdigest()
    assert md5 == "5556767e4727e5582025ab1fff82753b"
    assert yx.checksum(SECRET, md5, 1440570500855) == "6949a942f8477bb839a74ac5726ec4c28a762686"


def test_checksum_hashes_utf8() -> None:
    secret = "云信的密钥"
    want = hashlib.sha1((secret + "abc" + "1700000000").encode()).hexdigest()
    assert yx.checksum(secret, "abc", 1700000000) == want


@pytest.mark.parametrize("cur_time", [1440570500.0, None, True, b"1440570500"])
def test_checksum_refuses_cur_time_that_is_not_int_or_str(cur_time: object) -> None:
    with pytest.raises(TypeError, match="cur_time"):
        yx.checksum(SECRET, "123456", cur_time)  # type: ignore[arg-type]


def test_credentials_never_show_the_secret() -> None:
    creds = yx.Credentials(KEY, SECRET)
    assert repr(creds) == f"Credentials(app_key='{KEY}', app_secret='<redacted>')"
    assert str(creds) == f"AppKey {KEY} (secret redacted)"
    assert creds.app_key == KEY
    assert not hasattr(creds, "app_secret")
    assert SECRET not in repr(creds) + str(creds) + repr(yx.CallbackVerifier(creds))
    with pytest.raises(TypeError):
        pickle.dumps(creds)


@pytest.mark.parametrize(
    "key, secret, field, rule",
    [
        ("", SECRET, "appKey", "empty"),
        ("key with space", SECRET, "appKey", "charset"),
        (KEY, "", "appSecret", "empty"),
    ],
)
def test_credentials_validation(key: str, secret: str, field: str, rule: str) -> None:
    with pytest.raises(yx.ValidationError) as e:
        yx.Credentials(key, secret)
    assert (e.value.field, e.value.rule, e.value.index) == (field, rule, None)


def test_credentials_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YUNXIN_APP_KEY", KEY)
    monkeypatch.setenv("YUNXIN_APP_SECRET", SECRET)
    creds = yx.Credentials.from_env()
    assert creds.app_key == KEY
    assert creds.sign(nonce="123456", cur_time=1440570500).checksum == "90d19362ba1584524bbd9b375b006837a4f676db"
    monkeypatch.delenv("YUNXIN_APP_SECRET")
    with pytest.raises(yx.ValidationError) as e:
        yx.Credentials.from_env()
    assert (e.value.field, e.value.rule) == ("YUNXIN_APP_SECRET", "not_set")
    monkeypatch.delenv("YUNXIN_APP_KEY")
    with pytest.raises(yx.ValidationError) as e:
        yx.Credentials.from_env()
    assert e.value.field == "YUNXIN_APP_KEY"


def test_sign_gives_the_four_headers() -> None:
    h = yx.Credentials(KEY, SECRET).sign(nonce="123456", cur_time=1440570500)
    assert (h.app_key, h.nonce, h.cur_time, h.checksum) == (
        KEY,
        "123456",
        "1440570500",
        "90d19362ba1584524bbd9b375b006837a4f676db",
    )
    assert h.headers == {
        "AppKey": KEY,
        "Nonce": "123456",
        "CurTime": "1440570500",
        "CheckSum": "90d19362ba1584524bbd9b375b006837a4f676db",
    }
    assert list(h.headers) == ["AppKey", "Nonce", "CurTime", "CheckSum"]
    assert h.pairs() == list(h.headers.items())
    assert h == yx.Credentials(KEY, SECRET).sign(nonce="123456", cur_time=1440570500)
    assert h != yx.Credentials(KEY, SECRET).sign(nonce="123457", cur_time=1440570500)
    assert "90d19362" in repr(h)
    with pytest.raises(TypeError):
        yx.Credentials(KEY, SECRET).sign("123456", 1440570500)  # type: ignore[misc]


def test_sign_now_draws_fresh_nonces_and_reads_the_clock_once() -> None:
    creds = yx.Credentials(KEY, SECRET)
    seen = set()
    for _ in range(50):
        before = int(time.time())
        h = creds.sign_now()
        after = int(time.time())
        assert re.fullmatch(r"[0-9a-f]{32}", h.nonce)
        assert before <= int(h.cur_time) <= after
        assert h.checksum == yx.checksum(SECRET, h.nonce, h.cur_time)
        seen.add(h.nonce)
    assert len(seen) == 50


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_worker_never_repeats_its_parents_nonces() -> None:
    # Pre-fork servers (gunicorn, uWSGI) fork after the library has drawn randomness: the
    # child must not hand out the nonces the parent still holds.
    creds = yx.Credentials(KEY, SECRET)
    creds.sign_now()  # the parent now holds a block of randomness
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        try:
            os.close(read_end)
            nonces = " ".join(creds.sign_now().nonce for _ in range(20))
            os.write(write_end, nonces.encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        child = set(pipe.read().split())
    os.waitpid(pid, 0)
    parent = {creds.sign_now().nonce for _ in range(20)}
    assert len(child) == 20
    assert not child & parent


@pytest.mark.parametrize(
    "nonce, cur_time, field, rule",
    [
        ("", 1700000000, "nonce", "length"),
        ("a" * 129, 1700000000, "nonce", "length"),
        ("abc-123", 1700000000, "nonce", "charset"),
        ("abc", 1700000000000, "CurTime", "milliseconds"),
    ],
)
def test_sign_refuses_bad_nonces_and_millisecond_times(nonce: str, cur_time: int, field: str, rule: str) -> None:
    with pytest.raises(yx.ValidationError) as e:
        yx.Credentials(KEY, SECRET).sign(nonce=nonce, cur_time=cur_time)
    assert (e.value.field, e.value.rule) == (field, rule)
    assert SECRET not in str(e.value)


def test_generate_nonce() -> None:
    assert len(yx.generate_nonce()) == 32
    for length in (1, 2, 31, 127, 128):
        n = yx.generate_nonce(length)
        assert len(n) == length and re.fullmatch(r"[0-9a-f]+", n)
    for length in (0, 129):
        with pytest.raises(yx.ValidationError) as e:
            yx.generate_nonce(length)
        assert (e.value.field, e.value.rule) == ("nonce", "length")
