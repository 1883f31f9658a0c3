package io.github.yunxinecp;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Collection;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * A callback endpoint's whole job, whatever the server: read the raw body within a cap, verify it,
 * handle each delivery once, and say what to answer. It takes the body as an {@link InputStream}
 * (or bytes already read) and the headers as a map of each name to its values, so the same code
 * serves a Servlet, Spring MVC, JAX-RS or the JDK's {@code HttpServer}; the jar needs none of them.
 *
 * <pre>{@code
 * CallbackEndpoint endpoint = new CallbackEndpoint(new CallbackVerifier(Credentials.fromEnv()));
 * // in doPost:
 * CallbackAnswer a = endpoint.handle(req.getInputStream(), headers, (event, delivery) -> book(event));
 * resp.setStatus(a.status());
 * if (a.contentType() != null) {
 *     resp.setContentType(a.contentType());
 *     resp.getOutputStream().write(a.bodyBytes());
 * }
 * }</pre>
 *
 * <p>What it answers (the core decides, as in every language: see {@link CallbackAnswer}):
 * <ul>
 *   <li>a {@code Content-Length} over the cap ({@link #maxBodyBytes()}; the core's default, 1 MiB,
 *       unless given): 413, the body unread; a body without one that passes the cap: 413 as soon as
 *       it does, so that no more than the cap is held;
 *   <li>a refused callback: 403 (400 when the body is not a callback), the handler not called;
 *   <li>a delivery handled before: 200 {@code {"result":"duplicate"}}, the handler not called again;
 *       one being handled right now by another request: 409 (the sender tries again later); the
 *       guard's store failed: 503, the handler not called, so that the sender tries again rather than
 *       the callback being dropped or handled twice;
 *   <li>handled: 200 with an empty body, and the delivery completed. A handler that throws releases
 *       the delivery (the sender's next attempt is handled), and its exception goes on to the caller.
 * </ul>
 *
 * <p>By default deliveries are remembered in this process ({@link DeliveryGuard}'s memory store);
 * with several processes, {@code builder(verifier).guard(new DeliveryGuard(sharedStore))}. Refusals,
 * duplicates and store failures are logged to the {@code java.util.logging} logger
 * {@code yunxin_ecp}: the reason or the delivery key, never a header, a body or a secret.
 * Thread-safe: one instance serves every request.
 */
public final class CallbackEndpoint {
    private static final Logger LOG = Logger.getLogger("yunxin_ecp");
    /** The most one {@code byte[]} holds on every JVM. */
    private static final long LARGEST_ARRAY = Integer.MAX_VALUE - 8;
    private static final int CHUNK = 16 * 1024;

    private final CallbackVerifier verifier;
    private final DeliveryGuard guard;
    private final long maxBodyBytes;

    /** Verifies with {@code verifier}, remembering deliveries in this process, reading at most the default cap. */
    public CallbackEndpoint(CallbackVerifier verifier) {
        this(builder(verifier));
    }

    private CallbackEndpoint(Builder b) {
        this.verifier = b.verifier;
        this.guard = b.deduplicate ? (b.guard != null ? b.guard : new DeliveryGuard()) : null;
        this.maxBodyBytes = b.maxBodyBytes;
    }

    /** An endpoint with another guard, none, or another body cap. */
    public static Builder builder(CallbackVerifier verifier) {
        return new Builder(Objects.requireNonNull(verifier, "verifier"));
    }

    /** Options of a {@link CallbackEndpoint}. */
    public static final class Builder {
        private final CallbackVerifier verifier;
        private DeliveryGuard guard;
        private boolean deduplicate = true;
        private long maxBodyBytes = Native.defaultMaxBodyBytes();

        private Builder(CallbackVerifier verifier) {
            this.verifier = verifier;
        }

        /** Claims deliveries in {@code guard} (one over a store several processes share, say). */
        public Builder guard(DeliveryGuard guard) {
            this.guard = Objects.requireNonNull(guard, "guard");
            return this;
        }

        /** Handles every delivery, repeats included (the handler deduplicates on its own). */
        public Builder withoutDeduplication() {
            this.deduplicate = false;
            return this;
        }

        /** Reads at most this many bytes of a body. @throws ValidationException field {@code max_body_bytes} when not positive */
        public Builder maxBodyBytes(long maxBodyBytes) {
            Native.checkBodyLimit(maxBodyBytes);
            this.maxBodyBytes = maxBodyBytes;
            return this;
        }

        /** @throws IllegalStateException when given a guard and told not to deduplicate */
        public CallbackEndpoint build() {
            if (!deduplicate && guard != null) {
                throw new IllegalStateException("a guard is given but deduplication is off: give one or the other");
            }
            return new CallbackEndpoint(this);
        }
    }

    /** The verifier. */
    public CallbackVerifier verifier() {
        return verifier;
    }

    /** The guard deliveries are claimed in; empty without deduplication. */
    public Optional<DeliveryGuard> guard() {
        return Optional.ofNullable(guard);
    }

    /** The most bytes of a body it reads. */
    public long maxBodyBytes() {
        return maxBodyBytes;
    }

    /**
     * Reads the body from {@code body} (not closed; at most {@link #maxBodyBytes()} plus one byte),
     * then handles it as {@link #handle(byte[], Map, CallbackHandler)} does.
     *
     * @throws IOException when reading the body fails (the client went away): nothing was claimed
     * @throws E what the handler threw, after its delivery was released
     */
    public <E extends Exception> CallbackAnswer handle(InputStream body, Map<String, ? extends Collection<String>> headers,
            CallbackHandler<E> handler) throws IOException, E {
        return handle(body, headers, handler, -1L);
    }

    /**
     * Verifies {@code body} (the raw bytes received) against {@code headers}, claims the delivery,
     * and calls {@code handler} for its first delivery only. Returns the answer to send.
     *
     * @throws E what the handler threw, after its delivery was released
     */
    public <E extends Exception> CallbackAnswer handle(byte[] body, Map<String, ? extends Collection<String>> headers,
            CallbackHandler<E> handler) throws E {
        return handle(body, headers, handler, -1L);
    }

    /** {@link #handle(InputStream, Map, CallbackHandler)} at {@code nowMs} (negative: the clock), for tests. */
    <E extends Exception> CallbackAnswer handle(InputStream body, Map<String, ? extends Collection<String>> headers,
            CallbackHandler<E> handler, long nowMs) throws IOException, E {
        Objects.requireNonNull(body, "body");
        Objects.requireNonNull(headers, "headers");
        Objects.requireNonNull(handler, "handler");
        if (declaredTooLarge(headers)) {
            return tooLarge("declared");
        }
        byte[] bytes = readCapped(body, maxBodyBytes);
        if (bytes == null) {
            return tooLarge("read");
        }
        return handle(bytes, headers, handler, nowMs);
    }

    /** {@link #handle(byte[], Map, CallbackHandler)} at {@code nowMs} (negative: the clock), for tests. */
    <E extends Exception> CallbackAnswer handle(byte[] body, Map<String, ? extends Collection<String>> headers,
            CallbackHandler<E> handler, long nowMs) throws E {
        Objects.requireNonNull(body, "body");
        Objects.requireNonNull(headers, "headers");
        Objects.requireNonNull(handler, "handler");
        if (body.length > maxBodyBytes) {
            return tooLarge("given");
        }
        VerifiedDelivery verified;
        try {
            verified = nowMs < 0 ? verifier.verifyDelivery(body, headers) : verifier.verifyDelivery(body, headers, nowMs);
        } catch (CallbackVerificationException e) {
            LOG.warning("call-end callback refused (" + e.reason() + ")");
            return CallbackAnswer.of(e);
        }
        Delivery delivery = verified.delivery();
        if (guard != null) {
            CallbackAnswer turnedAway = admit(delivery, nowMs < 0 ? System.currentTimeMillis() : nowMs);
            if (turnedAway != null) {
                return turnedAway;
            }
        }
        try {
            handler.handle(verified.event(), delivery);
        } catch (Throwable failure) {
            settle(delivery, false);
            throw failure;
        }
        settle(delivery, true);
        return CallbackAnswer.ofHandled();
    }

    /** Null when the handler is to run; else the answer that ends the request without it. */
    private CallbackAnswer admit(Delivery delivery, long nowMs) {
        Claim claim;
        try {
            claim = guard.claim(delivery, nowMs);
        } catch (DeliveryStoreException e) {
            LOG.severe("call-end callback turned away (503): " + e.getMessage());
            return CallbackAnswer.forReason("store_unavailable");
        }
        switch (claim) {
            case FIRST:
                return null;
            case DUPLICATE:
                LOG.info("call-end callback delivered again: acknowledged, not handled again (key " + delivery.key() + ")");
                return CallbackAnswer.forReason("duplicate");
            default:
                LOG.info("call-end callback delivered again while being handled: 409 (key " + delivery.key() + ")");
                return CallbackAnswer.forReason("in_progress");
        }
    }

    /**
     * After the handler: repeats are duplicates from now on when it returned; when it threw, the
     * sender's next attempt is handled. A failing store is logged and the answer stands (the handler
     * has run: its outcome is what the sender must hear).
     */
    private void settle(Delivery delivery, boolean handled) {
        if (guard == null) {
            return;
        }
        try {
            if (handled) {
                guard.complete(delivery);
            } else {
                guard.release(delivery);
            }
        } catch (DeliveryStoreException e) {
            LOG.severe("call-end callback " + (handled ? "completion" : "failure") + " not recorded: " + e.getMessage());
        }
    }

    private CallbackAnswer tooLarge(String how) {
        if (LOG.isLoggable(Level.WARNING)) {
            LOG.warning("call-end callback refused (too_large, over " + maxBodyBytes + " bytes, " + how + ")");
        }
        return CallbackAnswer.forReason("too_large");
    }

    /** Whether a {@code Content-Length} already says more than the cap (the core reads each value). */
    private boolean declaredTooLarge(Map<String, ? extends Collection<String>> headers) {
        for (Map.Entry<String, ? extends Collection<String>> e : headers.entrySet()) {
            if (e.getKey() == null || e.getValue() == null || !e.getKey().equalsIgnoreCase("Content-Length")) {
                continue;
            }
            for (String value : e.getValue()) {
                if (value != null && Native.declaredTooLarge(value, maxBodyBytes)) {
                    return true;
                }
            }
        }
        return false;
    }

    /**
     * The body to its end, asking for no more than {@code limit + 1} bytes in all; null when it is
     * longer than {@code limit} (or than one array holds).
     */
    static byte[] readCapped(InputStream in, long limit) throws IOException {
        long cap = Math.min(limit, LARGEST_ARRAY);
        ByteArrayOutputStream kept = new ByteArrayOutputStream((int) Math.min(cap, CHUNK));
        byte[] chunk = new byte[(int) Math.min(cap + 1, CHUNK)];
        long size = 0;
        while (true) {
            int want = (int) Math.min(chunk.length, cap + 1 - size);
            int n = in.read(chunk, 0, want);
            if (n < 0) {
                return kept.toByteArray();
            }
            size += n;
            if (size > cap) {
                return null;
            }
            kept.write(chunk, 0, n);
        }
    }

    @Override
    public String toString() {
        return "CallbackEndpoint{" + verifier + ", " + (guard == null ? "no guard" : guard) + ", maxBodyBytes=" + maxBodyBytes + "}";
    }
}
