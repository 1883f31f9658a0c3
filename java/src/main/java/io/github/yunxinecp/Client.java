package io.github.yunxinecp;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.SocketTimeoutException;
import java.net.URL;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.logging.Level;
import java.util.logging.Logger;
import javax.net.ssl.SSLException;

/**
 * The ECP client, and any other YunXin server API, over the JDK's own HTTP stack
 * ({@code HttpURLConnection}: the JVM's trust store, proxy selector and timeouts apply). It is a
 * driver of the core's {@link Exchange}: it sends what it is given with redirects off, within the
 * attempt's timeouts and size cap, feeds back what happened and sleeps when told. Every decision
 * (signing per attempt, retries, redirect refusal, outcome unknown) is the core's, the same as in
 * every other language. Immutable and thread-safe: one per process.
 *
 * <p>Log events go to the {@code java.util.logging} logger {@code yunxin_ecp} (debug as
 * {@code FINE}, retries as {@code INFO}, giving up as {@code WARNING}): phone numbers masked, never
 * a header, a body, a nonce, a {@code CheckSum} or the secret.
 */
public final class Client {
    static final Logger LOG = Logger.getLogger("yunxin_ecp");
    private static final int CHUNK = 8192;

    private final Credentials credentials;
    private final String baseUrl;
    private final long[] limits;
    private final String userAgent;

    private Client(Builder b) {
        this.credentials = b.credentials;
        this.limits = new long[] {b.connectMs, b.timeoutMs, b.maxRetries, b.backoffMs, b.maxBytes};
        this.baseUrl = Native.resolveBaseUrl(b.baseUrl, b.connectMs, b.timeoutMs, b.maxRetries, b.backoffMs, b.maxBytes);
        this.userAgent = Native.userAgent();
        if (LOG.isLoggable(Level.FINE)) {
            LOG.fine("client ready base_url=" + baseUrl + " proxy=jvm");
        }
    }

    /** A builder for {@code credentials}. */
    public static Builder builder(Credentials credentials) {
        return new Builder(Objects.requireNonNull(credentials, "credentials"));
    }

    /** Settings, checked by the core when {@link #build()} is called (a refusal names the setting). */
    public static final class Builder {
        private final Credentials credentials;
        private String baseUrl;
        private long connectMs = Native.UNSET, timeoutMs = Native.UNSET, maxRetries = Native.UNSET, backoffMs = Native.UNSET,
                maxBytes = Native.UNSET;

        private Builder(Credentials credentials) {
            this.credentials = credentials;
        }

        /** Where requests go; default {@code YUNXIN_BASE_URL} when set, else {@code https://api.netease.im}. */
        public Builder baseUrl(String baseUrl) {
            this.baseUrl = Objects.requireNonNull(baseUrl, "baseUrl");
            return this;
        }

        /** Time to open a connection (default 5 s). */
        public Builder connectTimeout(Duration d) {
            this.connectMs = millis(d, "connectTimeout");
            return this;
        }

        /** Time for one whole attempt (default 15 s). */
        public Builder timeout(Duration d) {
            this.timeoutMs = millis(d, "timeout");
            return this;
        }

        /** Retries after the first attempt, where safe (default 2, at most 10). */
        public Builder maxRetries(int n) {
            this.maxRetries = n;
            return this;
        }

        /** First delay before a retry (default 200 ms), doubled, capped at 5 s, jittered. */
        public Builder backoff(Duration d) {
            this.backoffMs = millis(d, "backoff");
            return this;
        }

        /** Largest answer read (default 1 MiB, at most 64 MiB). */
        public Builder maxResponseBytes(long n) {
            this.maxBytes = n;
            return this;
        }

        /** @throws ValidationException naming the setting that breaks a rule */
        public Client build() {
            return new Client(this);
        }

        private static long millis(Duration d, String name) {
            Objects.requireNonNull(d, name);
            try {
                return d.toMillis();
            } catch (ArithmeticException e) {
                return Long.MAX_VALUE; // refused by the core as over its ceiling
            }
        }
    }

    /** The base URL requests go to. */
    public String baseUrl() {
        return baseUrl;
    }

    /** Places a callback call (rings {@code caller}, then {@code callee}); billable, never resent once it may have arrived. */
    public Started startCall(String callerAcc, String caller, String callee, int maxDur) {
        return (Started) run(startCallExchange(callerAcc, caller, callee, maxDur));
    }

    /** Places a conference: 2 to 7 callees besides the caller. */
    public Started startConf(String callerAcc, String caller, List<String> callees, int maxDur) {
        return (Started) run(startConfExchange(callerAcc, caller, callees, maxDur));
    }

    /** The record of a call or conference. */
    public CallRecord query(String session, SessionKind kind) {
        return (CallRecord) run(queryExchange(session, kind));
    }

    /** The record of a two-party call. */
    public CallRecord query(String session) {
        return query(session, SessionKind.CALL);
    }

    /** Any other YunXin server API: its whole JSON answer (code 200) as text; else the typed error. */
    public String request(ApiRequest request) {
        return (String) run(requestExchange(request));
    }

    /**
     * The exchange of {@link #startCall}, under this client's credentials and settings, for a program
     * that sends it over its own HTTP stack (see {@link Exchange}); its result is a {@link Started}.
     *
     * @throws ValidationException naming the field that breaks a rule
     */
    public Exchange startCallExchange(String callerAcc, String caller, String callee, int maxDur) {
        String[] s = {req(callerAcc, "callerAcc"), req(caller, "caller"), req(callee, "callee")};
        return exchange(Exchange.START_CALL, s, maxDur, null, 0, -1);
    }

    /** The exchange of {@link #startConf}, for a program's own HTTP stack; its result is a {@link Started}. */
    public Exchange startConfExchange(String callerAcc, String caller, List<String> callees, int maxDur) {
        Objects.requireNonNull(callees, "callees");
        String[] s = new String[2 + callees.size()];
        s[0] = req(callerAcc, "callerAcc");
        s[1] = req(caller, "caller");
        for (int i = 0; i < callees.size(); i++) {
            s[2 + i] = req(callees.get(i), "callees[" + i + "]");
        }
        return exchange(Exchange.START_CONF, s, maxDur, null, 0, -1);
    }

    /** The exchange of {@link #query(String, SessionKind)}, for a program's own HTTP stack; its result is a {@link CallRecord}. */
    public Exchange queryExchange(String session, SessionKind kind) {
        Objects.requireNonNull(kind, "kind");
        return exchange(Exchange.QUERY, new String[] {req(session, "session")}, kind == SessionKind.CONFERENCE ? 2 : 1, null, 0, -1);
    }

    /** The exchange of {@link #request}, for a program's own HTTP stack; its result is the answer's JSON text. */
    public Exchange requestExchange(ApiRequest request) {
        Objects.requireNonNull(request, "request");
        List<String> p = request.flatParams();
        String[] s = new String[1 + p.size()];
        s[0] = request.path();
        for (int i = 0; i < p.size(); i++) {
            s[1 + i] = p.get(i);
        }
        return exchange(Exchange.API, s, request.isIdempotent() ? 1 : 0, null, 0, -1);
    }

    /** The User-Agent this client sends, for a program's own HTTP stack to send too. */
    public String userAgent() {
        return userAgent;
    }

    private static String req(String value, String name) {
        return Objects.requireNonNull(value, name);
    }

    /** An exchange under this client's settings (for tests: fixed nonces, clock and jitter). */
    Exchange exchange(int kind, String[] strings, long number, String[] nonces, long nowSecs, long jitter) {
        return new Exchange(credentials, kind, strings, number, baseUrl, limits, nonces, nowSecs, jitter);
    }

    private Object run(Exchange exchange) {
        try (Exchange ex = exchange) {
            return drive(ex, userAgent);
        }
    }

    /** The driver loop: send, feed back, log, sleep when told. No rule of its own. */
    static Object drive(Exchange ex, String userAgent) {
        while (true) {
            Exchange.Attempt attempt = ex.send();
            long wait;
            try {
                wait = attempt(ex, attempt, userAgent);
            } finally {
                log(ex.takeEvents());
            }
            if (wait < 0) {
                return ex.result();
            }
            // An interrupted thread gives up between attempts (an attempt in flight over
            // HttpURLConnection cannot be interrupted; its outcome was fed back, so nothing is in
            // flight now). The interrupt stays set for the caller.
            try {
                if (Thread.currentThread().isInterrupted()) {
                    throw new InterruptedException();
                }
                Thread.sleep(wait);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                ExchangeCanceledException canceled = ex.canceled(false);
                log(ex.takeEvents());
                throw canceled;
            }
        }
    }

    static void log(List<Exchange.Event> events) {
        for (Exchange.Event e : events) {
            Level level = "warn".equals(e.level()) ? Level.WARNING : "info".equals(e.level()) ? Level.INFO : Level.FINE;
            if (LOG.isLoggable(level)) {
                LOG.log(level, e.line());
            }
        }
    }

    /** Sends one attempt and feeds back what happened; the exchange's answer (wait ms, or -1). */
    private static long attempt(Exchange ex, Exchange.Attempt a, String userAgent) {
        long began = System.nanoTime();
        long deadline = began + a.timeoutMs() * 1_000_000L;
        HttpURLConnection c;
        byte[] body = a.bodyShared();
        try {
            c = (HttpURLConnection) new URL(a.url()).openConnection();
            c.setInstanceFollowRedirects(false);
            c.setUseCaches(false);
            c.setConnectTimeout(clampInt(a.connectTimeoutMs()));
            c.setReadTimeout(clampInt(a.timeoutMs()));
            c.setRequestMethod("POST");
            c.setDoOutput(true);
            // Streaming mode also keeps HttpURLConnection from silently sending a POST again
            // when a kept-alive connection fails (sun.net.http.retryPost): a start is billable.
            c.setFixedLengthStreamingMode(body.length);
            for (Map.Entry<String, String> h : a.headers().entrySet()) {
                c.setRequestProperty(h.getKey(), h.getValue());
            }
            c.setRequestProperty("User-Agent", userAgent);
            c.connect();
        } catch (SSLException e) {
            return ex.fail(Exchange.TransportKind.TLS, false, describe(e), ms(began));
        } catch (SocketTimeoutException e) {
            return ex.fail(Exchange.TransportKind.TIMEOUT, false, describe(e), ms(began));
        } catch (IOException | RuntimeException e) {
            return ex.fail(Exchange.TransportKind.CONNECT, false, describe(e), ms(began));
        }
        try {
            try (OutputStream out = c.getOutputStream()) {
                out.write(body);
            }
            int status = c.getResponseCode();
            String location = c.getHeaderField("Location");
            long max = a.maxResponseBytes();
            if (c.getContentLengthLong() > max) {
                c.disconnect();
                return ex.tooLarge(status, ms(began));
            }
            InputStream in = status >= 400 ? c.getErrorStream() : c.getInputStream();
            byte[] buf = new byte[(int) Math.min(max + 1, CHUNK)];
            int len = 0;
            if (in != null) {
                try {
                    while (true) {
                        if (len == buf.length) {
                            if (len > max) {
                                c.disconnect();
                                return ex.tooLarge(status, ms(began));
                            }
                            buf = java.util.Arrays.copyOf(buf, (int) Math.min(max + 1, (long) buf.length * 2));
                        }
                        int n = in.read(buf, len, buf.length - len);
                        if (n < 0) {
                            break;
                        }
                        len += n;
                        if (System.nanoTime() - deadline > 0) {
                            c.disconnect();
                            return ex.fail(Exchange.TransportKind.TIMEOUT, true, "the answer took longer than the attempt's timeout", ms(began));
                        }
                    }
                } finally {
                    in.close();
                }
            }
            if (len > max) {
                return ex.tooLarge(status, ms(began));
            }
            return ex.receive(status, location, buf, len, ms(began));
        } catch (SocketTimeoutException e) {
            c.disconnect();
            return ex.fail(Exchange.TransportKind.TIMEOUT, true, describe(e), ms(began));
        } catch (SSLException e) {
            c.disconnect();
            return ex.fail(Exchange.TransportKind.TLS, true, describe(e), ms(began));
        } catch (IOException e) {
            c.disconnect();
            return ex.fail(Exchange.TransportKind.IO, true, describe(e), ms(began));
        }
    }

    private static String describe(Exception e) {
        String m = e.getMessage();
        return e.getClass().getSimpleName() + (m == null ? "" : ": " + m);
    }

    private static long ms(long began) {
        return (System.nanoTime() - began) / 1_000_000L;
    }

    private static int clampInt(long v) {
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, v));
    }

    @Override
    public String toString() {
        return "Client{appKey=" + credentials.appKey() + ", baseUrl=" + baseUrl + "}";
    }
}
