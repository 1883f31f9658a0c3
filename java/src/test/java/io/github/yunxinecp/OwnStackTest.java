package io.github.yunxinecp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.yunxinecp.testing.MockServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.HttpURLConnection;
import java.net.ServerSocket;
import java.net.URL;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A program with its own HTTP stack: an exchange made public by {@link Client}'s factories, driven
 * by a plain HttpURLConnection loop written here (as an OkHttp or Apache user would write theirs),
 * against the mock; and cancellation, whose advice is the core's.
 */
class OwnStackTest {
    static MockServer mock;
    static Client settings;

    @BeforeAll
    static void start() {
        mock = MockServer.start();
        settings = Client.builder(mock.credentials()).baseUrl(mock.baseUrl()).backoff(java.time.Duration.ofMillis(5)).build();
    }

    @AfterAll
    static void stop() {
        mock.close();
    }

    @BeforeEach
    void reset() {
        mock.control("POST", "reset");
    }

    /** The user's driver: no rule of its own, only I/O and feeding back. */
    static Object drive(Exchange ex) throws Exception {
        while (true) {
            Exchange.Attempt a = ex.send();
            long began = System.nanoTime();
            long wait;
            HttpURLConnection c = (HttpURLConnection) new URL(a.url()).openConnection();
            c.setInstanceFollowRedirects(false);
            c.setConnectTimeout((int) a.connectTimeoutMs());
            c.setReadTimeout((int) a.timeoutMs());
            c.setRequestMethod("POST");
            c.setDoOutput(true);
            for (Map.Entry<String, String> h : a.headers().entrySet()) {
                c.setRequestProperty(h.getKey(), h.getValue());
            }
            try {
                try {
                    c.connect();
                } catch (ConnectException e) {
                    wait = ex.fail(Exchange.TransportKind.CONNECT, false, e.toString(), ms(began));
                    if (wait < 0) {
                        return ex.result();
                    }
                    Thread.sleep(wait);
                    continue;
                }
                try (OutputStream out = c.getOutputStream()) {
                    out.write(a.body());
                }
                int status = c.getResponseCode();
                InputStream in = status >= 400 ? c.getErrorStream() : c.getInputStream();
                ByteArrayOutputStream body = new ByteArrayOutputStream();
                if (in != null) {
                    try {
                        byte[] chunk = new byte[8192];
                        int n;
                        while ((n = in.read(chunk)) >= 0 && body.size() <= a.maxResponseBytes()) {
                            body.write(chunk, 0, n);
                        }
                    } finally {
                        in.close();
                    }
                }
                byte[] b = body.toByteArray();
                wait = b.length > a.maxResponseBytes() ? ex.tooLarge(status, ms(began))
                        : ex.receive(status, c.getHeaderField("Location"), b, b.length, ms(began));
            } catch (IOException e) {
                wait = ex.fail(Exchange.TransportKind.IO, true, e.toString(), ms(began));
            }
            if (wait < 0) {
                return ex.result();
            }
            Thread.sleep(wait);
        }
    }

    static long ms(long began) {
        return (System.nanoTime() - began) / 1_000_000L;
    }

    @Test
    void everyRequestKindOverAPlainLoop() throws Exception {
        Started call;
        try (Exchange ex = settings.startCallExchange("liuxuanlin", "13888888888", "13777777777", 100)) {
            call = (Started) drive(ex);
        }
        Started conf;
        try (Exchange ex = settings.startConfExchange("liuxuanlin", "13888888888", Arrays.asList("13777777777", "13666666666"), 60)) {
            conf = (Started) drive(ex);
        }
        assertEquals(2, mock.stat("start_count"));
        CallRecord r;
        try (Exchange ex = settings.queryExchange(call.session(), SessionKind.CALL)) {
            r = (CallRecord) drive(ex);
        }
        assertEquals(call.session(), r.session().get());
        try (Exchange ex = settings.queryExchange(conf.session(), SessionKind.CONFERENCE)) {
            assertTrue(((CallRecord) drive(ex)).isConference());
        }
        // Any API: the mock does not serve this one, and the answer's error comes back typed.
        try (Exchange ex = settings.requestExchange(new ApiRequest("/nimserver/user/getUinfos.action").param("accids", "[\"a\"]"))) {
            assertThrows(YunxinException.class, () -> drive(ex));
        }
    }

    @Test
    void theCoresRetriesApplyToAnOwnLoop() throws Exception {
        mock.fault("busy_503");
        try (Exchange ex = settings.startCallExchange("liuxuanlin", "13888888888", "13777777777", 100)) {
            drive(ex);
        }
        assertEquals(2, mock.stat("requests"));
        assertEquals(1, mock.stat("start_count"));
    }

    @Test
    void anInvalidFieldIsRefusedWhenTheExchangeIsMade() {
        ValidationException e = assertThrows(ValidationException.class,
                () -> settings.startCallExchange("liuxuanlin", "13888888888", "not-a-number", 100));
        assertEquals("callee", e.field());
    }

    @Test
    void aStartCanceledInFlightHasAnUnknownOutcome() {
        try (Exchange ex = settings.startCallExchange("liuxuanlin", "13888888888", "13777777777", 100)) {
            ex.send();
            assertEquals(RetryAdvice.OUTCOME_UNKNOWN, ex.cancel(true));
            ExchangeCanceledException e = assertThrows(ExchangeCanceledException.class, ex::result);
            assertEquals(RetryAdvice.OUTCOME_UNKNOWN, e.retryAdvice());
            assertTrue(e.maybeSent());
            assertEquals("canceled", e.kind());
            // A second cancel says the same.
            assertEquals(RetryAdvice.OUTCOME_UNKNOWN, ex.cancel(false));
        }
    }

    @Test
    void aStartCanceledBeforeItLeftIsSafe() {
        try (Exchange ex = settings.startCallExchange("liuxuanlin", "13888888888", "13777777777", 100)) {
            ex.send();
            assertEquals(RetryAdvice.SAFE, ex.cancel(false));
            ExchangeCanceledException e = assertThrows(ExchangeCanceledException.class, ex::result);
            assertEquals(RetryAdvice.SAFE, e.retryAdvice());
            assertFalse(e.maybeSent());
        }
    }

    @Test
    void aQueryCanceledInFlightIsSafe() {
        try (Exchange ex = settings.queryExchange("123456", SessionKind.CALL)) {
            ex.send();
            assertEquals(RetryAdvice.SAFE, ex.cancel(true));
            assertEquals(RetryAdvice.SAFE, assertThrows(ExchangeCanceledException.class, ex::result).retryAdvice());
        }
    }

    @Test
    void aCancelAfterTheEndKeepsTheResult() throws Exception {
        try (Exchange ex = settings.startCallExchange("liuxuanlin", "13888888888", "13777777777", 100)) {
            Started s = (Started) drive(ex);
            // Done: sending it again would be a new call, never "safe".
            assertEquals(RetryAdvice.NEVER, ex.cancel(true));
            assertEquals(s.session(), ((Started) ex.result()).session());
        }
    }

    @Test
    void aRefusedConnectionIsReportedAsNotSent() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        Client closed = Client.builder(mock.credentials()).baseUrl("http://127.0.0.1:" + port).maxRetries(0).build();
        try (Exchange ex = closed.startCallExchange("liuxuanlin", "13888888888", "13777777777", 100)) {
            TransportException e = assertThrows(TransportException.class, () -> drive(ex));
            assertFalse(e.maybeSent());
            assertEquals("connect", e.reason());
        }
    }
}
