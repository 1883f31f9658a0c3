"""How CallbackVerifier reads headers: only the signature headers count, by the core's rule
(any case, surrounding whitespace ignored), every copy of them is seen, and a WSGI server's
joined copies ("a, b") are refused as sent twice."""

from typing import Any, Dict, List, Tuple

import pytest

import yunxin_ecp as yx
from yunxin_ecp.testing import SAMPLE_APP_KEY, SAMPLE_APP_SECRET

CREDS = yx.Credentials(SAMPLE_APP_KEY, SAMPLE_APP_SECRET)
BODY = b'{"callback":"{\\"durationSec\\":61,\\"session\\":\\"s-1\\"}","eventType":"10"}'
NOW = 1_700_000_000_000
SIGNED: Dict[str, str] = yx.sign_callback(CREDS, BODY, cur_time_ms=NOW)


def reason(headers: Any) -> str:
    try:
        yx.CallbackVerifier(CREDS).verify(BODY, headers, now_ms=NOW)
        return "ok"
    except yx.CallbackVerificationError as e:
        return f"{e.reason}:{e.header}" if e.header else e.reason


@pytest.mark.parametrize("name", ["MD5", "CheckSum", "CurTime", "AppKey"])
def test_a_copy_joined_by_a_wsgi_server_is_a_duplicate(name: str) -> None:
    # Werkzeug and wsgiref join a header sent twice into one value, separated by commas.
    joined = {**SIGNED, name: f"{SIGNED[name]}, {SIGNED[name]}"}
    assert reason(joined) == f"duplicate_header:{name}"
    assert reason({**SIGNED, name: f"{SIGNED[name]},forged"}) == f"duplicate_header:{name}"
    environ_style = [(k.upper(), v) for k, v in joined.items()]
    assert reason(environ_style) == f"duplicate_header:{name}"


def test_a_comma_elsewhere_changes_nothing() -> None:
    assert reason({**SIGNED, "Accept": "text/html, application/json", "X-Forwarded-For": "1.2.3.4, 5.6.7.8"}) == "ok"


@pytest.mark.parametrize(
    "extra",
    [
        [("checksum", "0" * 40)],
        [(" CheckSum ", "0" * 40)],
        [(b"CHECKSUM", b"0" * 40)],
        [("CheckSum\t", SIGNED["CheckSum"])],
    ],
    ids=["lowercase", "padded", "bytes", "same value, tab"],
)
def test_every_spelling_of_a_signature_header_is_seen(extra: List[Tuple[Any, Any]]) -> None:
    assert reason(list(SIGNED.items()) + extra) == "duplicate_header:CheckSum"


def test_other_headers_are_not_read() -> None:
    # Only the signature headers are decoded: others may be anything a server hands over.
    many: List[Tuple[Any, Any]] = [(f"X-Extra-{i}", "v" * i) for i in range(200)]
    many += [(b"X-Latin-1", "caf\u00e9".encode("latin-1")), (b"X-\xff", b"\xfe")]
    assert reason(many + list(SIGNED.items())) == "ok"
    # A signature header still must be text.
    with pytest.raises(TypeError, match="str or bytes"):
        yx.CallbackVerifier(CREDS).verify(BODY, {**SIGNED, "MD5": 5}, now_ms=NOW)  # type: ignore[dict-item]


def test_latin_1_values_of_signature_headers_are_read_as_latin_1() -> None:
    forged = [(k.encode(), v.encode()) for k, v in SIGNED.items() if k != "CheckSum"]
    forged.append((b"CheckSum", b"\xe9" * 40))
    assert reason(forged) == "checksum_mismatch"


def test_header_shapes_agree() -> None:
    pairs = list(SIGNED.items())
    shapes: List[Any] = [
        dict(pairs),
        pairs,
        tuple(pairs),
        iter(pairs),
        [[k, v] for k, v in pairs],
        [(k.lower().encode(), v.encode()) for k, v in pairs],
    ]
    assert {reason(s) for s in shapes} == {"ok"}
