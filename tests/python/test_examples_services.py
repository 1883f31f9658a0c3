"""The service examples run as shipped: each serves itself on an ephemeral port of 127.0.0.1
(uvicorn, Werkzeug, wsgiref), against the in-process mock, and checks that the mock's signed
callbacks were verified, repeats handled once and forged ones refused."""

import re

from conftest import run_example


def test_fastapi_service() -> None:
    out = run_example("fastapi_service.py", "--demo")
    placed = re.search(r"^placed through POST /calls: session ([0-9a-f-]{36})$", out, re.M)
    assert placed, out
    assert f"callback verified: session {placed.group(1)}, answered=True, 1 min, 0.12 yuan" in out
    assert "2 deliveries (answered 200)" in out
    assert "forged callback: HTTP 403 {'error': 'callback refused', 'reason': 'md5_mismatch'}" in out
    assert "wrong secret: HTTP 403 {'error': 'callback refused', 'reason': 'checksum_mismatch'}" in out
    assert "1 processed, 1 repeat answered by the duplicate guard, 0 skipped by session" in out


def test_flask_receiver() -> None:
    out = run_example("flask_receiver.py", "--demo")
    assert out.count("ended: answered=True") == 2
    assert "4 deliveries (answered 200), 2 processed, 2 repeats answered by the duplicate guard, 0 skipped by session" in out
    assert "forged callback: HTTP 403" in out


def test_django_receiver() -> None:
    out = run_example("django_receiver.py", "--demo")
    assert out.count("ended: answered=True") == 2
    assert "4 deliveries (answered 200), 2 processed, 2 repeats answered by the duplicate guard, 0 skipped by session" in out
    assert "forged callback: HTTP 403; GET: HTTP 405" in out
