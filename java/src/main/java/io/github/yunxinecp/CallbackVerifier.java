package io.github.yunxinecp;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Verifies YunXin's signed callbacks on the raw body bytes: {@code MD5} of the body, {@code CheckSum}
 * (constant time), {@code AppKey}, and {@code CurTime} within the tolerance (five minutes by default;
 * 0 means "the same millisecond", never "off"). A signature header sent twice is refused, whatever
 * the values or their case. Immutable; share one across threads.
 *
 * <p>The headers are the map a web framework gives: a Servlet's names with
 * {@code Collections.list(request.getHeaders(name))}, Spring's {@code HttpHeaders}, JAX-RS's
 * {@code MultivaluedMap}; names are matched case-insensitively.
 */
public final class CallbackVerifier {
    private static final long SKIP = -1;
    private final Credentials credentials;
    private final long toleranceMs;

    public CallbackVerifier(Credentials credentials) {
        this(Objects.requireNonNull(credentials, "credentials"), 300_000L);
    }

    private CallbackVerifier(Credentials credentials, long toleranceMs) {
        this.credentials = credentials;
        this.toleranceMs = toleranceMs;
    }

    /** A verifier with another tolerance (at most an hour: the core's ceiling, refused above it). */
    public CallbackVerifier withToleranceMs(long toleranceMs) {
        if (toleranceMs < 0) {
            throw new IllegalArgumentException("toleranceMs must not be negative (skipTimeCheckInsecure() switches the check off)");
        }
        Native.checkTolerance(toleranceMs);
        return new CallbackVerifier(credentials, toleranceMs);
    }

    /** No time check at all (replays are then accepted): only for re-verifying stored callbacks. */
    public CallbackVerifier skipTimeCheckInsecure() {
        return new CallbackVerifier(credentials, SKIP);
    }

    /** Verifies against the clock. @throws CallbackVerificationException with the reason */
    public void verify(byte[] body, Map<String, ? extends Collection<String>> headers) {
        verify(body, headers, -1L, false);
    }

    /** Verifies at {@code nowMs} (Unix epoch milliseconds; seconds are refused, rule {@code seconds}). */
    public void verify(byte[] body, Map<String, ? extends Collection<String>> headers, long nowMs) {
        verify(body, headers, nowMs, true);
    }

    private void verify(byte[] body, Map<String, ? extends Collection<String>> headers, long nowMs, boolean given) {
        Objects.requireNonNull(body, "body");
        String[] flat = flatten(headers);
        Native.verify(credentials.appKey(), credentials.secret(), toleranceMs, body, flat, time(nowMs, given));
    }

    /** Verifies against the clock, then parses. */
    public CallbackEvent verifyAndParse(byte[] body, Map<String, ? extends Collection<String>> headers) {
        return verifyAndParse(body, headers, -1L, false);
    }

    /** Verifies at {@code nowMs}, then parses. */
    public CallbackEvent verifyAndParse(byte[] body, Map<String, ? extends Collection<String>> headers, long nowMs) {
        return verifyAndParse(body, headers, nowMs, true);
    }

    private CallbackEvent verifyAndParse(byte[] body, Map<String, ? extends Collection<String>> headers, long nowMs, boolean given) {
        Objects.requireNonNull(body, "body");
        String[] flat = flatten(headers);
        return Native.verifyAndParse(credentials.appKey(), credentials.secret(), toleranceMs, body, flat, time(nowMs, given));
    }

    /** Parses a callback body without verifying it (one verified elsewhere, or stored). */
    public static CallbackEvent parse(byte[] body) {
        return Native.parseCallback(Objects.requireNonNull(body, "body"));
    }

    private static long time(long nowMs, boolean given) {
        if (given && nowMs < 0) {
            throw new IllegalArgumentException("nowMs must not be negative");
        }
        return given ? nowMs : -1L;
    }

    /** Name, value, name, value...: every value of every name, so that a repeat reaches the core's refusal. */
    static String[] flatten(Map<String, ? extends Collection<String>> headers) {
        Objects.requireNonNull(headers, "headers");
        List<String> flat = new ArrayList<>();
        for (Map.Entry<String, ? extends Collection<String>> e : headers.entrySet()) {
            // HttpURLConnection lists its status line under a null name.
            if (e.getKey() == null || e.getValue() == null) {
                continue;
            }
            for (String value : e.getValue()) {
                if (value != null) {
                    flat.add(e.getKey());
                    flat.add(value);
                }
            }
        }
        return flat.toArray(new String[0]);
    }

    @Override
    public String toString() {
        return "CallbackVerifier{appKey=" + credentials.appKey() + ", toleranceMs=" + (toleranceMs < 0 ? "skipped" : toleranceMs) + "}";
    }
}
