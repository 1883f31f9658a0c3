package io.github.yunxinecp;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/** The four signature headers of one request: {@code AppKey}, {@code Nonce}, {@code CurTime}, {@code CheckSum}. */
public final class AuthHeaders {
    private final Map<String, String> headers;

    AuthHeaders(String[] flat) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i + 1 < flat.length; i += 2) {
            m.put(flat[i], flat[i + 1]);
        }
        this.headers = Collections.unmodifiableMap(m);
    }

    AuthHeaders(String appKey, String nonce, String curTime, String checkSum) {
        Map<String, String> m = new LinkedHashMap<>(8);
        m.put("AppKey", appKey);
        m.put("Nonce", nonce);
        m.put("CurTime", curTime);
        m.put("CheckSum", checkSum);
        this.headers = Collections.unmodifiableMap(m);
    }

    /** The headers in the documentation's order, ready to set on a request. */
    public Map<String, String> asMap() {
        return headers;
    }

    public String appKey() {
        return headers.get("AppKey");
    }

    public String nonce() {
        return headers.get("Nonce");
    }

    public String curTime() {
        return headers.get("CurTime");
    }

    public String checkSum() {
        return headers.get("CheckSum");
    }

    @Override
    public String toString() {
        // A CheckSum with its Nonce and CurTime signs any ECP call for five minutes.
        return "AuthHeaders{AppKey=" + appKey() + ", Nonce=<redacted>, CurTime=" + curTime() + ", CheckSum=<redacted>}";
    }
}
