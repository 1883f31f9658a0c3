package io.github.yunxinecp;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One request's exchange with the service, the core's sans-IO state machine: it signs each attempt
 * afresh, refuses redirects, caps the answer, decides whether and when to send again, and reports
 * events. A driver (the {@link Client}, or a program's own HTTP stack) sends each {@link Attempt}
 * and feeds back what happened: {@link #receive}, {@link #tooLarge} or {@link #fail}, each answering
 * the wait before the next attempt in milliseconds, or -1 when done ({@link #result()}).
 *
 * <p>A program with its own HTTP stack (OkHttp, Apache HttpClient, a proxy of its own) gets one from
 * a {@link Client}, which holds the credentials and the checked settings and does no I/O until asked:
 * {@link Client#startCallExchange}, {@link Client#startConfExchange}, {@link Client#queryExchange},
 * {@link Client#requestExchange}. Every rule stays here, so the driver is a plain loop. With OkHttp:
 *
 * <pre>{@code
 * Client settings = Client.builder(Credentials.fromEnv()).build();
 * try (Exchange ex = settings.startCallExchange("liuxuanlin", "13888888888", "13777777777", 100)) {
 *     while (true) {
 *         Exchange.Attempt a = ex.send();
 *         OkHttpClient http = okHttp.newBuilder().followRedirects(false)
 *                 .callTimeout(a.timeoutMs(), MILLISECONDS).connectTimeout(a.connectTimeoutMs(), MILLISECONDS).build();
 *         Request.Builder rb = new Request.Builder().url(a.url()).post(RequestBody.create(a.body()));
 *         a.headers().forEach(rb::header);
 *         long wait;
 *         try (Response r = http.newCall(rb.build()).execute()) {
 *             byte[] body = r.body().bytes(); // cap at a.maxResponseBytes(): past it, ex.tooLarge(...)
 *             wait = ex.receive(r.code(), r.header("Location"), body, body.length, elapsedMs);
 *         } catch (ConnectException e) {
 *             wait = ex.fail(Exchange.TransportKind.CONNECT, false, e.toString(), elapsedMs);
 *         } catch (IOException e) {
 *             wait = ex.fail(Exchange.TransportKind.IO, true, e.toString(), elapsedMs);
 *         }
 *         if (wait < 0) {
 *             Started started = (Started) ex.result(); // or the typed exception, thrown
 *             break;
 *         }
 *         Thread.sleep(wait);
 *     }
 * }
 * }</pre>
 *
 * <p>To give up (a deadline, a user's abort), call {@link #cancel(boolean)}: the core says what the
 * abandoned request may have done, and {@link #result()} then throws an
 * {@link ExchangeCanceledException} carrying that advice.
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
    /** Set by {@link #cancel}: the core's advice, and whether an attempt was in flight. */
    private RetryAdvice canceled;
    private boolean canceledMaybeSent;

    Exchange(Credentials credentials, int kind, String[] strings, long number, String baseUrl, long[] limits, String[] nonces,
            long nowSecs, long jitter) {
        long h = Native.exchangeNew(credentials.appKey(), credentials.secret(), kind, strings, number, baseUrl, limits, nonces,
                nowSecs, jitter);
        this.handle = h;
        this.freer = Freer.track(this, h, Native::exchangeFree);
    }

    private long live() {
        if (handle == 0) {
            throw new IllegalStateException("the exchange is closed");
        }
        return handle;
    }

    /** Whether a step answered -1: the exchange ended on its own. */
    private boolean done;

    /** Whether an attempt was handed out and its outcome not fed back yet. */
    private boolean inFlight;

    private long track(long next) {
        inFlight = false;
        if (next < 0) {
            done = true;
        }
        return next;
    }

    /** The next attempt, signed now. */
    public synchronized Attempt send() {
        Attempt a = Native.exchangeSend(live());
        inFlight = true;
        return a;
    }

    /** The attempt's answer: status, Location (or null), the first {@code length} bytes of {@code body}. */
    public synchronized long receive(int status, String location, byte[] body, int length, long elapsedMs) {
        if (body == null) {
            throw new NullPointerException("body");
        }
        if (length < 0 || length > body.length) {
            throw new IllegalArgumentException("length " + length + " is outside body");
        }
        return track(Native.exchangeReceive(live(), status, location, body, length, elapsedMs));
    }

    /** The answer was longer than {@link Attempt#maxResponseBytes()}: reading was stopped. */
    public synchronized long tooLarge(int status, long elapsedMs) {
        return track(Native.exchangeTooLarge(live(), status, elapsedMs));
    }

    /** No complete answer: {@code maybeSent} false only when the request provably never left. */
    public synchronized long fail(TransportKind kind, boolean maybeSent, String detail, long elapsedMs) {
        if (kind == null) {
            throw new NullPointerException("kind");
        }
        return track(Native.exchangeFail(live(), kind.code, maybeSent, detail == null ? "" : detail, elapsedMs));
    }

    /**
     * Once done: a {@link Started}, a {@link CallRecord} or another API's JSON text; or the error,
     * thrown (an {@link ExchangeCanceledException} once canceled before its end).
     */
    public synchronized Object result() {
        long h = live();
        if (canceled != null) {
            throw new ExchangeCanceledException(canceled, canceledMaybeSent);
        }
        return Native.exchangeResult(h);
    }

    /**
     * Gives the exchange up, with the attempt in flight if any ({@code maybeSent}: whether its
     * request may have left, false only when it provably did not). The core's advice:
     * {@link RetryAdvice#OUTCOME_UNKNOWN} when a start (or a request not marked idempotent) may have
     * taken effect, else {@link RetryAdvice#SAFE}; once it had ended, the advice it ended with.
     * Canceled before its end, {@link #result()} throws an {@link ExchangeCanceledException}.
     */
    public synchronized RetryAdvice cancel(boolean maybeSent) {
        long h = live();
        boolean ended = done;
        RetryAdvice advice = RetryAdvice.fromCode(Native.exchangeCancel(h, maybeSent));
        if (!ended && canceled == null) {
            canceled = advice;
            canceledMaybeSent = maybeSent && inFlight;
        }
        return advice;
    }

    /** Gives the exchange up and returns the exception that says so, for a driver to throw. */
    synchronized ExchangeCanceledException canceled(boolean maybeSent) {
        cancel(maybeSent);
        return canceled != null ? new ExchangeCanceledException(canceled, canceledMaybeSent)
                : new ExchangeCanceledException(RetryAdvice.SAFE, false);
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
}
