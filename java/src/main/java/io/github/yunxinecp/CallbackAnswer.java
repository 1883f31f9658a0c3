package io.github.yunxinecp;

import java.net.HttpURLConnection;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * The answer a callback endpoint sends: a status and a body (JSON, or empty). Every language's
 * integrations answer alike, because the core decides: a refused callback is 403 (400 when the body
 * is not a callback, 413 over the body cap) with {@code {"error":"callback refused","reason":"..."}},
 * naming the reason only; a repeat of a delivery handled before is 200
 * {@code {"result":"duplicate"}}; one being handled right now 409; a failed delivery store 503.
 *
 * <p>Writing it out, in a Servlet: {@code response.setStatus(a.status())}, then when
 * {@link #contentType()} is not null, {@code response.setContentType(a.contentType())} and
 * {@code response.getOutputStream().write(a.bodyBytes())}.
 */
public final class CallbackAnswer {
    private static final String JSON = "application/json";
    private final int status;
    private final String body;
    private final String reason;

    private CallbackAnswer(int status, String body, String reason) {
        this.status = status;
        this.body = body;
        this.reason = reason;
    }

    /**
     * The core's answer for {@code reason}: a refusal's ({@link CallbackVerificationException#reason()},
     * {@code too_large}), {@code in_progress}, {@code store_unavailable}, or {@code duplicate}. A
     * reason the core does not know is answered 403 {@code refused}, never echoed.
     */
    public static CallbackAnswer forReason(String reason) {
        String[] answer = Native.callbackAnswer(Objects.requireNonNull(reason, "reason"));
        return new CallbackAnswer(Integer.parseInt(answer[0]), answer[1], answer[2]);
    }

    /** The answer to a refused callback. */
    public static CallbackAnswer of(CallbackVerificationException refusal) {
        String reason = Objects.requireNonNull(refusal, "refusal").reason();
        return forReason(reason == null ? "refused" : reason);
    }

    /** A delivery handled by the handler: 200, nothing more to say. */
    static CallbackAnswer ofHandled() {
        return new CallbackAnswer(HttpURLConnection.HTTP_OK, "", null);
    }

    /** The HTTP status to answer with. */
    public int status() {
        return status;
    }

    /** The body to answer with: JSON, or empty for a delivery handled. */
    public String body() {
        return body;
    }

    /** {@link #body()} as UTF-8 bytes. */
    public byte[] bodyBytes() {
        return body.getBytes(StandardCharsets.UTF_8);
    }

    /** {@code application/json}, or null when the body is empty. */
    public String contentType() {
        return body.isEmpty() ? null : JSON;
    }

    /**
     * Why the handler did not run: a refusal's reason ({@code checksum_mismatch}, {@code too_large},
     * ...), {@code duplicate}, {@code in_progress} or {@code store_unavailable}; null when it ran.
     */
    public String reason() {
        return reason;
    }

    /** Whether the handler ran (and returned) for this delivery. */
    public boolean handled() {
        return reason == null;
    }

    @Override
    public String toString() {
        return "CallbackAnswer{" + status + (reason == null ? ", handled" : ", " + reason) + "}";
    }
}
