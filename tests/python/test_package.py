"""The installed package: version, typing marker, public names, and the examples run as shipped."""

import re
from pathlib import Path

from conftest import run_example

import pytest

import yunxin_ecp
import yunxin_ecp.server
import yunxin_ecp.testing

ROOT = Path(__file__).resolve().parents[2]


def test_version_is_the_workspace_version() -> None:
    cargo = (ROOT / "Cargo.toml").read_text(encoding="utf-8")
    match = re.search(r'^\[workspace\.package\][^\[]*?^version = "([^"]+)"', cargo, re.M | re.S)
    assert match, "no workspace version"
    assert yunxin_ecp.__version__ == match.group(1)


def test_typed_package() -> None:
    package = Path(yunxin_ecp.__file__).parent
    assert (package / "py.typed").is_file()
    assert (package / "_native.pyi").is_file()


@pytest.mark.parametrize("module", [yunxin_ecp, yunxin_ecp.server, yunxin_ecp.testing])
def test_public_names_exist_and_are_documented(module: object) -> None:
    names = getattr(module, "__all__")
    assert names and len(set(names)) == len(names)
    for name in names:
        value = getattr(module, name)
        if callable(value) and not name.startswith("_") and name != "CallbackEvent":
            assert (value.__doc__ or "").strip(), f"{name} has no docstring"


def test_defaults() -> None:
    assert yunxin_ecp.DEFAULT_BASE_URL == "https://api.netease.im"
    assert yunxin_ecp.DEFAULT_TOLERANCE_MS == 300_000
    assert yunxin_ecp.server.REQUEST_WINDOW_SECS == 300


def test_classes_report_the_public_module() -> None:
    assert yunxin_ecp.Credentials.__module__ == "yunxin_ecp"
    assert yunxin_ecp.ValidationError.__module__ == "yunxin_ecp._errors"
    assert yunxin_ecp.testing.MockServer.__module__ == "yunxin_ecp.testing"


def test_example_start_call() -> None:
    out = run_example("start_call.py")
    assert re.search(r"^session: [0-9a-f-]{36}$", out, re.M)
    assert "answered: True, billed minutes: 1, cost: 0.12 yuan" in out
    assert out.count("NORMAL_CLEARING") == 2


def test_example_start_conference() -> None:
    out = run_example("start_conference.py")
    assert "members: 13888888888, 13777777777, 13666666666" in out


def test_example_own_http_client() -> None:
    out = run_example("own_http_client.py", "--demo")
    assert "POST http://127.0.0.1:" in out and "wrong secret: code 414 (bad http header)" in out
    # The exchange's decisions over urllib: a 416 start sent again, a 302 refused and the query
    # asked again, nothing followed, and the events logged as the built-in clients log them.
    assert "startcall.action (attempt 2)" in out and "reason=api_416" in out
    assert "queryBySession.action (attempt 2)" in out and "reason=protocol_redirect" in out
    assert "redirects followed: 0" in out
    assert "gave up" in out and "reason=api_414 advice=never" in out
    assert "xxxxxxxx" not in out and "CheckSum" not in out


def test_example_callback_receiver_dedupes() -> None:
    out = run_example("callback_receiver.py", "--demo")
    assert "4 deliveries, 2 processed, 2 duplicates skipped" in out
