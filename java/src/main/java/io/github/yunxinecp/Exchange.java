package io.github.yunxinecp;

import java.lang.ref.PhantomReference;
import java.lang.ref.ReferenceQueue;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One request's exchange with the service, the core's sans-IO state machine: it signs each attempt
 * afresh, refuses redirects, caps the answer, decides whether and when to send again, and reports
 * events. A driver (the {@link Client}, or a program's own HTTP stack) sends each {@link Attempt}
 * and feeds back what happened: {@link #receive}, {@link #tooLarge} or {@link #fail}, each answering
 * the wait before the next attempt in milliseconds, or -1 when done ({@link #result()}).
 *
 * <p>Holds native memory: close it (try-with-resources); a forgotten one is freed once unreachable.
 * Its methods are synchronized, so one thread at a time uses it.
 */
public final class Exchange implements AutoCloseable {
    /** One attempt to send: the signed request and the limits to send it within. */
    public static final class Attempt {
        private final int number;
        private final String url;
        private final Map<String, String> headers;
        private final byte[] body;
        private final long[] limits;

        private Attempt(int number, String url, Map<String, String> headers, byte[] body, long[] limits) {
            this.number = number;
            this.url = url;
            this.headers = headers;
            this.body = body;
            this.limits = limits;
        }

        static Attempt fromNative(int number, String url, String[] flat, byte[] body, long[] limits) {
            Map<String, String> h = new LinkedHashMap<>();
            for (int i = 0; i + 1 < flat.length; i += 2) {
                h.put(flat[i], flat[i + 1]);
            }
            return new Attempt(number, url, Collections.unmodifiableMap(h), body, limits);
        }

        /** 1 for the first attempt. */
        public int number() {
            return number;
        }

        /** Where to POST it. Never follow a redirect: feed a 3xx back as it came. */
        public String url() {
            return url;
        }

        /** The four signature headers and the Content-Type, in order. */
        public Map<String, String> headers() {
            return headers;
        }

        /** The form body (a copy). */
        public byte[] body() {
            return body.clone();
        }

        byte[] bodyShared() {
            return body;
        }

        public long connectTimeoutMs() {
            return limits[0];
        }

        /** Time for the whole attempt, connect to the answer's last byte. */
        public long timeoutMs() {
            return limits[1];
        }

        /** The most answer bytes to read: past it, stop and call {@link Exchange#tooLarge}. */
        public long maxResponseBytes() {
            return limits[2];
        }

        @Override
        public String toString() {
            return "Attempt{number=" + number + ", url=" + url + "}";
        }
    }

    /** Why no complete answer came, for {@link #fail}. */
    public enum TransportKind {
        /** Resolving or connecting failed: nothing was sent. */
        CONNECT(1),
        /** A timeout expired. */
        TIMEOUT(2),
        /** The TLS handshake or certificate check failed. */
        TLS(3),
        /** The connection broke, or another I/O error. */
        IO(4);

        final int code;

        TransportKind(int code) {
            this.code = code;
        }
    }

    /** One event: its level ({@code debug}, {@code info}, {@code warn}) and its log line, free of any secret. */
    public static final class Event {
        private final String level;
        private final String line;

        Event(String level, String line) {
            this.level = level;
            this.line = line;
        }

        public String level() {
            return level;
        }

        public String line() {
            return line;
        }

        @Override
        public String toString() {
            return level + " " + line;
        }
    }

    static final int START_CALL = 0, START_CONF = 1, QUERY = 2, API = 3;

    private long handle;
    private final Freer freer;

    Exchange(Credentials credentials, int kind, String[] strings, long number, String baseUrl, long[] limits, String[] nonces,
            long nowSecs, long jitter) {
        long h = Native.exchangeNew(credentials.appKey(), credentials.secret(), kind, strings, number, baseUrl, limits, nonces,
                nowSecs, jitter);
        this.handle = h;
        this.freer = Freer.track(this, h);
    }

    private long live() {
        if (handle == 0) {
            throw new IllegalStateException("the exchange is closed");
        }
        return handle;
    }

    /** The next attempt, signed now. */
    public synchronized Attempt send() {
        return Native.exchangeSend(live());
    }

    /** The attempt's answer: status, Location (or null), the first {@code length} bytes of {@code body}. */
    public synchronized long receive(int status, String location, byte[] body, int length, long elapsedMs) {
        if (body == null) {
            throw new NullPointerException("body");
        }
        if (length < 0 || length > body.length) {
            throw new IllegalArgumentException("length " + length + " is outside body");
        }
        return Native.exchangeReceive(live(), status, location, body, length, elapsedMs);
    }

    /** The answer was longer than {@link Attempt#maxResponseBytes()}: reading was stopped. */
    public synchronized long tooLarge(int status, long elapsedMs) {
        return Native.exchangeTooLarge(live(), status, elapsedMs);
    }

    /** No complete answer: {@code maybeSent} false only when the request provably never left. */
    public synchronized long fail(TransportKind kind, boolean maybeSent, String detail, long elapsedMs) {
        if (kind == null) {
            throw new NullPointerException("kind");
        }
        return Native.exchangeFail(live(), kind.code, maybeSent, detail == null ? "" : detail, elapsedMs);
    }

    /** Once done: a {@link Started}, a {@link CallRecord} or another API's JSON text; or the error, thrown. */
    public synchronized Object result() {
        return Native.exchangeResult(live());
    }

    /** Abandons the attempt in flight: {@link RetryAdvice#OUTCOME_UNKNOWN} when a start may have been placed. */
    public synchronized RetryAdvice cancel(boolean maybeSent) {
        return RetryAdvice.fromCode(Native.exchangeCancel(live(), maybeSent));
    }

    /** The events since the last call, oldest first. */
    public synchronized List<Event> takeEvents() {
        String[] flat = Native.exchangeTakeEvents(live());
        List<Event> events = new ArrayList<>(flat.length / 2);
        for (int i = 0; i + 1 < flat.length; i += 2) {
            events.add(new Event(flat[i], flat[i + 1]));
        }
        return events;
    }

    @Override
    public synchronized void close() {
        if (handle != 0) {
            handle = 0;
            freer.free();
        }
    }

    /**
     * Frees a handle once: on close, or when its exchange became unreachable unclosed (Java 8 has no
     * {@code java.lang.ref.Cleaner}: a phantom reference and one daemon thread do its work).
     */
    static final class Freer extends PhantomReference<Exchange> {
        private static final ReferenceQueue<Exchange> QUEUE = new ReferenceQueue<>();
        private static final Set<Freer> LIVE = Collections.newSetFromMap(new ConcurrentHashMap<Freer, Boolean>());
        private static volatile Thread reaper;
        private long handle;

        private Freer(Exchange owner, long handle) {
            super(owner, QUEUE);
            this.handle = handle;
        }

        static Freer track(Exchange owner, long handle) {
            Freer f = new Freer(owner, handle);
            LIVE.add(f);
            startReaper();
            return f;
        }

        synchronized void free() {
            LIVE.remove(this);
            if (handle != 0) {
                long h = handle;
                handle = 0;
                Native.exchangeFree(h);
            }
        }

        private static void startReaper() {
            if (reaper != null) {
                return;
            }
            synchronized (Freer.class) {
                if (reaper != null) {
                    return;
                }
                Thread t = new Thread(() -> {
                    while (true) {
                        try {
                            ((Freer) QUEUE.remove()).free();
                        } catch (InterruptedException e) {
                            return;
                        }
                    }
                }, "yunxin-ecp-cleaner");
                t.setDaemon(true);
                t.start();
                reaper = t;
            }
        }
    }
}
