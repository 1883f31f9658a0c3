package io.github.yunxinecp;

/**
 * A callback that passed verification: which of the verifier's credentials signed it
 * ({@link #credential()}, an index into {@link CallbackVerifier#appKeys()}, and {@link #appKey()}),
 * its {@code CurTime}, and what identifies this delivery ({@link #key()}) until
 * {@link #expiresAtMs()}, after which a repeat of it is refused as stale anyway.
 *
 * <p>The key is what a repeat of the same signed callback carries again (a digest of its AppKey,
 * {@code CheckSum}, {@code CurTime} and body MD5). A repeat the sender signs afresh, with a new
 * {@code CurTime}, is a new delivery: deduplicate those on the record's session in your own data.
 */
public final class Delivery {
    private final int credential;
    private final String appKey;
    private final long curTimeMs;
    private final String key;
    private final long expiresAtMs;

    Delivery(int credential, String appKey, long curTimeMs, String key, long expiresAtMs) {
        this.credential = credential;
        this.appKey = appKey;
        this.curTimeMs = curTimeMs;
        this.key = key;
        this.expiresAtMs = expiresAtMs;
    }

    /** The index, in the verifier's credentials, of those that matched (during a rotation: old or new). */
    public int credential() {
        return credential;
    }

    /** The AppKey of the credentials that matched. */
    public String appKey() {
        return appKey;
    }

    /** The delivery's {@code CurTime}, Unix milliseconds. */
    public long curTimeMs() {
        return curTimeMs;
    }

    /** What identifies the delivery, as 40 lowercase hex characters: a Redis key or a table's unique column. */
    public String key() {
        return key;
    }

    /**
     * When a repeat would be refused as stale anyway, so a store may forget the key (Unix
     * milliseconds; {@link Long#MAX_VALUE} from a verifier without a time check).
     */
    public long expiresAtMs() {
        return expiresAtMs;
    }

    @Override
    public String toString() {
        return "Delivery{credential=" + credential + ", appKey=" + appKey + ", key=" + key + "}";
    }
}
