package io.github.yunxinecp;

import java.util.Objects;

/**
 * An app key and its secret, checked by the core when built (an empty key, a key that is not
 * visible ASCII, a secret holding a line break read with it from a file are refused). The secret
 * never appears in {@link #toString()} nor in any exception or log line.
 */
public final class Credentials {
    private final String appKey;
    private final String appSecret;

    /** @throws ValidationException naming {@code appKey} or {@code appSecret} */
    public Credentials(String appKey, String appSecret) {
        this.appKey = Objects.requireNonNull(appKey, "appKey");
        this.appSecret = Objects.requireNonNull(appSecret, "appSecret");
        Native.checkCredentials(appKey, appSecret);
    }

    /** From {@code YUNXIN_APP_KEY} and {@code YUNXIN_APP_SECRET}; one not set or empty is refused naming it. */
    public static Credentials fromEnv() {
        String[] pair = Native.credentialsFromEnv();
        return new Credentials(pair[0], pair[1]);
    }

    /** The public app key. */
    public String appKey() {
        return appKey;
    }

    String secret() {
        return appSecret;
    }

    /** Signs with a fresh nonce from the OS CSPRNG and one reading of the clock: once per request. */
    public AuthHeaders signNow() {
        return new AuthHeaders(Native.sign(appKey, appSecret, null, 0));
    }

    /** Signs with a given nonce (1 to 128 characters) and {@code CurTime} in Unix seconds. */
    public AuthHeaders sign(String nonce, long curTime) {
        return new AuthHeaders(Native.sign(appKey, appSecret, Objects.requireNonNull(nonce, "nonce"), curTime));
    }

    @Override
    public String toString() {
        return "Credentials{appKey=" + appKey + ", appSecret=<redacted>}";
    }
}
