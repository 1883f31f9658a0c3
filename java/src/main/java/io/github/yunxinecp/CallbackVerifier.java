package io.github.yunxinecp;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Verifies YunXin's signed callbacks on the raw body bytes: {@code MD5} of the body, {@code CheckSum}
 * (constant time), {@code AppKey}, and {@code CurTime} within the tolerance (five minutes by default;
 * 0 means "the same millisecond", never "off"). A signature header sent twice is refused, whatever
 * the values or their case. Immutable; share one across threads.
 *
 * <p>It holds one credentials, or up to 8: an AppSecret being rotated (the old and the new), or
 * several apps served by one endpoint. A callback is accepted when it matches any of them by AppKey
 * and signature; every one is tried whatever the outcome (how long it takes tells nothing of which
 * came close), and {@link #verify} returns the {@link Delivery} that says which matched. Rotating
 * the secret: verify with {@code new CallbackVerifier(old, fresh)}, switch the secret in YunXin's
 * console, and once no delivery has matched {@code old} for longer than the tolerance, verify with
 * {@code fresh} only.
 *
 * <p>The headers are the map a web framework gives: a Servlet's names with
 * {@code Collections.list(request.getHeaders(name))}, Spring's {@code HttpHeaders}, JAX-RS's
 * {@code MultivaluedMap}; names are matched case-insensitively. A sender delivers a callback again
 * when it gets no 200 in time: {@link CallbackEndpoint} handles each delivery once.
 */
public final class CallbackVerifier {
    private static final long SKIP = -1;
    /** App key, secret, app key, secret...: what each native call takes (the core is handed no state). */
    private final String[] credentials;
    private final List<String> appKeys;
    private final long toleranceMs;

    /** A verifier of one app's callbacks. */
    public CallbackVerifier(Credentials credentials) {
        this(new Credentials[] {Objects.requireNonNull(credentials, "credentials")});
    }

    /**
     * Accepts a callback signed with any of these (1 to 8, in the order tried: where several match,
     * the first given wins). @throws ValidationException field {@code credentials}, rule
     * {@code count}, for none or more than 8
     */
    public CallbackVerifier(Credentials... credentials) {
        this(Arrays.asList(Objects.requireNonNull(credentials, "credentials")));
    }

    /** The same, from a list (a configuration's, say). */
    public CallbackVerifier(List<Credentials> credentials) {
        Objects.requireNonNull(credentials, "credentials");
        List<String> flat = new ArrayList<>(2 * credentials.size());
        List<String> keys = new ArrayList<>(credentials.size());
        int i = 0;
        for (Credentials c : credentials) {
            if (c == null) {
                throw new NullPointerException("credentials[" + i + "]");
            }
            flat.add(c.appKey());
            flat.add(c.secret());
            keys.add(c.appKey());
            i++;
        }
        this.credentials = flat.toArray(new String[0]);
        this.appKeys = Collections.unmodifiableList(keys);
        this.toleranceMs = 300_000L;
        Native.checkVerifier(this.credentials, toleranceMs);
    }

    private CallbackVerifier(CallbackVerifier from, long toleranceMs) {
        this.credentials = from.credentials;
        this.appKeys = from.appKeys;
        this.toleranceMs = toleranceMs;
    }

    /** The AppKey of each credentials, in the order given: {@link Delivery#credential()} indexes it. */
    public List<String> appKeys() {
        return appKeys;
    }

    /** A verifier with another tolerance (at most an hour: the core's ceiling, refused above it). */
    public CallbackVerifier withToleranceMs(long toleranceMs) {
        if (toleranceMs < 0) {
            throw new IllegalArgumentException("toleranceMs must not be negative (skipTimeCheckInsecure() switches the check off)");
        }
        Native.checkTolerance(toleranceMs);
        return new CallbackVerifier(this, toleranceMs);
    }

    /** No time check at all (replays are then accepted): only for re-verifying stored callbacks. */
    public CallbackVerifier skipTimeCheckInsecure() {
        return new CallbackVerifier(this, SKIP);
    }

    /**
     * Verifies against the clock: which credentials matched, and what identifies this delivery (for
     * a {@link DeliveryGuard}). @throws CallbackVerificationException with the reason
     */
    public Delivery verify(byte[] body, Map<String, ? extends Collection<String>> headers) {
        return verify(body, headers, -1L, false);
    }

    /** Verifies at {@code nowMs} (Unix epoch milliseconds; seconds are refused, rule {@code seconds}). */
    public Delivery verify(byte[] body, Map<String, ? extends Collection<String>> headers, long nowMs) {
        return verify(body, headers, nowMs, true);
    }

    private Delivery verify(byte[] body, Map<String, ? extends Collection<String>> headers, long nowMs, boolean given) {
        Objects.requireNonNull(body, "body");
        String[] flat = flatten(headers);
        long[] numbers = new long[3];
        String key = Native.verifyDelivery(credentials, toleranceMs, body, flat, time(nowMs, given), numbers, null);
        return delivery(key, numbers);
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
        return Native.verifyAndParse(credentials, toleranceMs, body, flat, time(nowMs, given));
    }

    /**
     * Verifies against the clock, then parses: the {@link Delivery} and the event, for a handler that
     * guards against repeated deliveries with a {@link DeliveryGuard}. A genuine body that is not a
     * callback is refused with the reason {@code malformed}.
     */
    public VerifiedDelivery verifyDelivery(byte[] body, Map<String, ? extends Collection<String>> headers) {
        return verifyDelivery(body, headers, -1L, false);
    }

    /** Verifies at {@code nowMs}, then parses. */
    public VerifiedDelivery verifyDelivery(byte[] body, Map<String, ? extends Collection<String>> headers, long nowMs) {
        return verifyDelivery(body, headers, nowMs, true);
    }

    private VerifiedDelivery verifyDelivery(byte[] body, Map<String, ? extends Collection<String>> headers, long nowMs, boolean given) {
        Objects.requireNonNull(body, "body");
        String[] flat = flatten(headers);
        long[] numbers = new long[3];
        CallbackEvent[] event = new CallbackEvent[1];
        String key = Native.verifyDelivery(credentials, toleranceMs, body, flat, time(nowMs, given), numbers, event);
        return new VerifiedDelivery(delivery(key, numbers), event[0]);
    }

    /** The delivery the native call described: which credentials matched, its CurTime and expiry. */
    private Delivery delivery(String key, long[] numbers) {
        int credential = (int) numbers[0];
        return new Delivery(credential, appKeys.get(credential), numbers[1], key, numbers[2]);
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
        return "CallbackVerifier{appKeys=" + appKeys + ", toleranceMs=" + (toleranceMs < 0 ? "skipped" : toleranceMs) + "}";
    }
}
