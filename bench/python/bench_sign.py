"""Signing in Python: yunxin_ecp's Credentials.sign_now().headers against a hand-rolled signer
(hashlib.sha1 + secrets.token_hex + time.time()), both producing what a user sends: a dict of
the four headers.

Run: bash scripts/bench.sh   (or: python bench/python/bench_sign.py in a venv with yunxin_ecp)"""
import hashlib

from common import APP_KEY, APP_SECRET, CREDENTIALS, best_of, hand_rolled_headers


def main() -> None:
    # Both sides produce a correct signature.
    lib = CREDENTIALS.sign_now().headers
    assert lib["CheckSum"] == hashlib.sha1((APP_SECRET + lib["Nonce"] + lib["CurTime"]).encode()).hexdigest()
    hand = hand_rolled_headers(APP_KEY, APP_SECRET)
    assert len(hand["CheckSum"]) == 40 and set(hand) == set(lib)

    rounds, n = 7, 50_000
    ours = theirs = float("inf")
    for _ in range(3):  # interleaved, so both sides see the same machine
        theirs = min(theirs, best_of(rounds, n, lambda: hand_rolled_headers(APP_KEY, APP_SECRET)))
        ours = min(ours, best_of(rounds, n, lambda: CREDENTIALS.sign_now().headers))
    print(
        f"python signing: yunxin_ecp sign_now().headers {ours * 1e9:.0f} ns/op vs hand-rolled "
        f"{theirs * 1e9:.0f} ns/op: library {theirs / ours:.2f}x faster (target >= 2)"
    )


if __name__ == "__main__":
    main()
