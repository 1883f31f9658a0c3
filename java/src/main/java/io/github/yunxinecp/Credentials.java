package io.github.yunxinecp;

import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * An app key and its secret, checked by the core when built (an empty key, a key that is not
 * visible ASCII, a secret holding a line break read with it from a file are refused). The secret
 * never appears in {@link #toString()} nor in any exception or log line.
 */
public final class Credentials {
    private final String appKey;
    private final String appSecret;
    /** Both as UTF-8, made once: {@link #signNow()} hands bytes across JNI, not strings. */
    private final byte[] keyUtf8;
    private final byte[] secretUtf8;

    /** @throws ValidationException naming {@code appKey} or {@code appSecret} */
    public Credentials(String appKey, String appSecret) {
        this.appKey = Objects.requireNonNull(appKey, "appKey");
        this.appSecret = Objects.requireNonNull(appSecret, "appSecret");
        Native.checkCredentials(appKey, appSecret);
        // Checked above: neither holds an unpaired surrogate, so the bytes say the same.
        this.keyUtf8 = appKey.getBytes(StandardCharsets.UTF_8);
        this.secretUtf8 = appSecret.getBytes(StandardCharsets.UTF_8);
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
        // Nonce (32), CurTime (10 until 2286) and CheckSum (40) values, ASCII, one after the other.
        byte[] out = new byte[128];
        int lengths = Native.signInto(keyUtf8, secretUtf8, out);
        int nonceLen = lengths >>> 16;
        int timeLen = lengths & 0xffff;
        return new AuthHeaders(appKey, new String(out, 0, nonceLen, StandardCharsets.ISO_8859_1),
                new String(out, nonceLen, timeLen, StandardCharsets.ISO_8859_1),
                new String(out, nonceLen + timeLen, 40, StandardCharsets.ISO_8859_1));
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
