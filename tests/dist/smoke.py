"""Smoke test of the installed wheel, run by tests/dist/run.sh in a fresh venv whose PATH has no
Rust toolchain: the package must work from the wheel alone.

    python smoke.py VENV_DIR CALLBACKS_JSON

Prints one line per check and exits non-zero on the first failure.
"""

import hashlib
import json
import os
import sys


def main() -> None:
    venv, vectors = sys.argv[1], sys.argv[2]

    import yunxin_ecp
    from yunxin_ecp import CallbackVerificationError, CallbackVerifier, Credentials

    # Imported from the venv's site-packages, not from a source tree.
    where = os.path.realpath(yunxin_ecp.__file__)
    assert where.startswith(os.path.realpath(venv) + os.sep), where
    print(f"ok  imported yunxin_ecp from {where}")

    # Signing with a fixed nonce and time, against hashlib.
    secret, nonce, cur_time = "xxxxxxxx", "4tgggergigwow323t23t", 1440570500
    auth = Credentials("fd460d34e786e7754e505bc4fab0f027", secret).sign(
        nonce=nonce, cur_time=cur_time
    )
    want = hashlib.sha1(f"{secret}{nonce}{cur_time}".encode()).hexdigest()
    assert auth.checksum == want, (auth.checksum, want)
    assert auth.headers["CurTime"] == str(cur_time) and auth.headers["Nonce"] == nonce
    print(f"ok  sign(nonce, cur_time) = SHA1(secret + nonce + CurTime) = {want}")

    # A callback vector: the accepted documented one, and a refusal with its reason.
    with open(vectors, encoding="utf-8") as f:
        cases = {c["name"]: c for c in json.load(f)["verify"]}
    for name in ("documented call body", "body altered after signing"):
        case = cases[name]
        verifier = CallbackVerifier(
            Credentials(case["app_key"], case["secret"]), tolerance_ms=case["tolerance_ms"]
        )
        headers = [tuple(h) for h in case["headers"]]
        body = case["body"].encode()
        try:
            verifier.verify(body, headers, now_ms=case["now_ms"])
            got = "ok"
        except CallbackVerificationError as e:
            got = e.reason
        assert got == case["expect"], (name, got, case["expect"])
        print(f"ok  callback vector {name!r}: {got}")

    # The mock in-process, and a call placed on it through the blocking client.
    from yunxin_ecp.testing import MockServer, Outcome

    with MockServer() as mock:
        mock.set_outcome("13777777777", Outcome.answered(61))
        client = mock.client()
        started = client.start_call(
            caller_acc="liuxuanlin", caller="13888888888", callee="13777777777", max_dur=100
        )
        record = client.query_session(started.session)
        assert record.answered and record.billed_minutes == 2, record
        assert mock.start_count == 1
        print(f"ok  call placed on the mock at {mock.base_url}: answered, 2 billed minutes")


if __name__ == "__main__":
    main()
