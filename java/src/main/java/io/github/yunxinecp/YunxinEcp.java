package io.github.yunxinecp;

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

    /** What every request carries as {@code User-Agent}: {@code yunxin-ecp/<version>}. */
    public static String userAgent() {
        return Native.userAgent();
    }
}
