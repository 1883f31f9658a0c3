package io.github.yunxinecp;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/** Library-wide functions. */
public final class YunxinEcp {
    private YunxinEcp() {}

    /** Lowercase hex SHA1(appSecret + nonce + curTime), as the service computes the {@code CheckSum}. */
    public static String checksum(String appSecret, String nonce, long curTime) {
        return checksum(appSecret, nonce, Long.toString(curTime));
    }

    /** The same, with {@code CurTime} as the text sent (a callback's milliseconds, say). */
    public static String checksum(String appSecret, String nonce, String curTime) {
        return Native.checksum(Objects.requireNonNull(appSecret, "appSecret"), Objects.requireNonNull(nonce, "nonce"),
                Objects.requireNonNull(curTime, "curTime"));
    }

    /**
     * Signs a callback body the way the service does and returns the headers it sends with it, in
     * order: {@code Content-Type}, {@code AppKey}, {@code CurTime} (milliseconds), {@code MD5},
     * {@code CheckSum}. For tests of a callback endpoint (POST the body with these headers) without
     * copying the algorithm.
     *
     * @param curTimeMs Unix milliseconds (a value in seconds is refused: field {@code curTimeMs},
     *     rule {@code seconds})
     */
    public static Map<String, String> signCallback(Credentials credentials, byte[] body, long curTimeMs) {
        Objects.requireNonNull(credentials, "credentials");
        Objects.requireNonNull(body, "body");
        if (curTimeMs < 0) {
            throw new IllegalArgumentException("curTimeMs must not be negative");
        }
        String[] flat = Native.signCallback(credentials.appKey(), credentials.secret(), body, curTimeMs);
        Map<String, String> headers = new LinkedHashMap<>();
        for (int i = 0; i + 1 < flat.length; i += 2) {
            headers.put(flat[i], flat[i + 1]);
        }
        return Collections.unmodifiableMap(headers);
    }

    /** {@link #signCallback(Credentials, byte[], long)} at the clock's time. */
    public static Map<String, String> signCallback(Credentials credentials, byte[] body) {
        return signCallback(credentials, body, System.currentTimeMillis());
    }

    /** What every request carries as {@code User-Agent}: {@code yunxin-ecp/<version>}. */
    public static String userAgent() {
        return Native.userAgent();
    }
}
