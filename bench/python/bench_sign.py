"""Signing in Python: yunxin_ecp's Credentials.sign_now() against a hand-rolled signer
(hashlib.sha1 + secrets.token_hex + time.time()), both producing the four headers.

Run: bash scripts/bench.sh   (or: python bench/python/bench_sign.py in a venv with yunxin_ecp)"""
import hashlib

from common import APP_KEY, APP_SECRET, CREDENTIALS, best_of, hand_rolled_headers


def main() -> None:
    # Both sides produce a correct signature.
    lib = CREDENTIALS.sign_now()
    assert lib.checksum == hashlib.sha1((APP_SECRET + lib.nonce + lib.cur_time).encode()).hexdigest()
    hand = hand_rolled_headers(APP_KEY, APP_SECRET)
    assert len(hand["CheckSum"]) == 40

    rounds, n = 7, 50_000
    ours = theirs = float("inf")
    for _ in range(3):  # interleaved, so both sides see the same machine
        theirs = min(theirs, best_of(rounds, n, lambda: hand_rolled_headers(APP_KEY, APP_SECRET)))
        ours = min(ours, best_of(rounds, n, CREDENTIALS.sign_now))
    print(
        f"python signing: yunxin_ecp sign_now {ours * 1e9:.0f} ns/op vs hand-rolled "
        f"{theirs * 1e9:.0f} ns/op: library {theirs / ours:.2f}x faster (target >= 2)"
    )


if __name__ == "__main__":
    main()
