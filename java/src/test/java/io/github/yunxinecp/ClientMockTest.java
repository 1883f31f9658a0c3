package io.github.yunxinecp;

import io.github.yunxinecp.testing.MockServer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The client against the local mock: the same decisions as every other language's client. */
class ClientMockTest {
    static MockServer mock;
    static Client client;
    /** Held: loggers are kept weakly, and the test's settings must stay on it. */
    static final Logger QUIET = Logger.getLogger("yunxin_ecp");

    @BeforeAll
    static void start() throws Exception {
        // The events are asserted below; the console need not print every expected failure.
        QUIET.setUseParentHandlers(false);
        mock = MockServer.start();
        client = Client.builder(new Credentials(MockServer.SAMPLE_APP_KEY, MockServer.SAMPLE_APP_SECRET))
                .baseUrl(mock.baseUrl())
                .timeout(Duration.ofSeconds(5))
                .backoff(Duration.ofMillis(5))
                .build();
    }

    @AfterAll
    static void stop() throws Exception {
        mock.close();
    }

    @BeforeEach
    void reset() throws Exception {
        mock.control("POST", "reset");
    }

    @Test
    void placesAndQueriesACall() {
        Started started = client.startCall("liuxuanlin", "13888888888", "13777777777", 100);
        assertEquals(36, started.session().length());
        CallRecord r = client.query(started.session());
        assertEquals(started.session(), r.session().get());
        assertTrue(r.answered());
        assertEquals(42, r.durationSec().getAsLong());
        assertEquals(1, r.billedMinutes());
        assertEquals(12, r.costFen());
        assertEquals("liuxuanlin", r.initAccount().get());
        assertFalse(r.isConference());
    }

    @Test
    void placesAndQueriesAConference() {
        Started started = client.startConf("liuxuanlin", "13888888888", Arrays.asList("13777777777", "13666666666"), 600);
        CallRecord r = client.query(started.session(), SessionKind.CONFERENCE);
        assertTrue(r.isConference());
        assertEquals(Arrays.asList("13888888888", "13777777777", "13666666666"), r.members().get());
    }

    @Test
    void aBusyServiceIsRetriedAndAStartOnlyOnce() throws Exception {
        long before = mock.stat("requests");
        mock.fault("busy_503");
        Started started = client.startCall("liuxuanlin", "13888888888", "13777777777", 100);
        assertEquals(before + 2, mock.stat("requests"));
        assertEquals(1, mock.stat("start_count"));
        mock.fault("busy_503");
        assertEquals(started.session(), client.query(started.session()).session().get());
    }

    @Test
    void aRedirectIsRefusedNeverFollowed() throws Exception {
        long before = mock.stat("requests");
        mock.fault("redirect");
        ProtocolException e = assertThrows(ProtocolException.class,
                () -> client.startCall("liuxuanlin", "13888888888", "13777777777", 100));
        assertEquals("redirect", e.reason());
        assertEquals(RetryAdvice.OUTCOME_UNKNOWN, e.retryAdvice());
        assertEquals(302, e.httpStatus());
        assertEquals(0, mock.stat("redirect_target_hits"));
        assertEquals(before + 1, mock.stat("requests"));
    }

    @Test
    void aResetStartIsNotSentAgain() throws Exception {
        // HttpURLConnection resends a failed POST on a kept-alive connection unless it streams.
        Started first = client.startCall("liuxuanlin", "13888888888", "13777777777", 100);
        client.query(first.session());
        long before = mock.stat("requests");
        mock.fault("reset_before_response");
        TransportException e = assertThrows(TransportException.class,
                () -> client.startCall("liuxuanlin", "13888888888", "13777777777", 100));
        assertTrue(e.maybeSent());
        assertEquals(RetryAdvice.OUTCOME_UNKNOWN, e.retryAdvice());
        assertEquals(before + 1, mock.stat("requests"));
    }

    @Test
    void anOversizedAnswerIsNotRead() throws Exception {
        Client small = Client.builder(new Credentials(MockServer.SAMPLE_APP_KEY, MockServer.SAMPLE_APP_SECRET))
                .baseUrl(mock.baseUrl()).maxResponseBytes(4096).maxRetries(0).build();
        mock.fault("oversized", "bytes", "100000");
        ProtocolException e = assertThrows(ProtocolException.class, () -> small.query("s-1"));
        assertEquals("too_large", e.reason());
    }

    @Test
    void aWrongSecretIsTheService414() {
        Client wrong = Client.builder(new Credentials(MockServer.SAMPLE_APP_KEY, "wrong-secret")).baseUrl(mock.baseUrl()).build();
        ApiException e = assertThrows(ApiException.class, () -> wrong.startCall("liuxuanlin", "13888888888", "13777777777", 100));
        assertEquals(414, e.code());
        assertEquals(RetryAdvice.NEVER, e.retryAdvice());
        assertFalse(e.getMessage().contains("wrong-secret"));
    }

    @Test
    void anInvalidNumberIsRefusedBeforeSending() throws Exception {
        long before = mock.stat("requests");
        ValidationException e = assertThrows(ValidationException.class,
                () -> client.startCall("liuxuanlin", "13888888888", "+8613777777777", 100));
        assertEquals("callee", e.field());
        assertEquals("country_code", e.rule());
        assertFalse(e.maybeSent());
        ValidationException conf = assertThrows(ValidationException.class,
                () -> client.startConf("liuxuanlin", "13888888888", Arrays.asList("13777777777"), 60));
        assertEquals("callee", conf.field());
        assertEquals(before, mock.stat("requests"));
    }

    @Test
    void anotherApiGoesThroughTheSameClient() {
        // The mock serves only ECP paths: its 404 page is an HTTP layer's refusal, never resent.
        ProtocolException e = assertThrows(ProtocolException.class,
                () -> client.request(new ApiRequest("/nimserver/user/getUinfos.action").param("accids", "[\"a\"]").idempotent(true)));
        assertEquals(404, e.httpStatus());
        assertEquals("/nimserver/user/getUinfos.action", e.path());
        ValidationException bad = assertThrows(ValidationException.class, () -> client.request(new ApiRequest("/a/../b")));
        assertEquals("path", bad.field());
    }

    @Test
    void settingsAreCheckedByTheCore() {
        Credentials c = new Credentials(MockServer.SAMPLE_APP_KEY, MockServer.SAMPLE_APP_SECRET);
        ValidationException e = assertThrows(ValidationException.class, () -> Client.builder(c).baseUrl("ftp://x").build());
        assertEquals("baseUrl", e.field());
        assertEquals("url", e.rule());
        e = assertThrows(ValidationException.class, () -> Client.builder(c).timeout(Duration.ZERO).build());
        assertEquals("timeout", e.field());
        e = assertThrows(ValidationException.class, () -> Client.builder(c).maxRetries(11).build());
        assertEquals("max_retries", e.field());
        assertEquals("at_most", e.rule());
        e = assertThrows(ValidationException.class, () -> Client.builder(c).backoff(Duration.ofMillis(-1)).build());
        assertEquals("backoff", e.field());
        e = assertThrows(ValidationException.class, () -> Client.builder(c).connectTimeout(Duration.ofDays(365000000L)).build());
        assertEquals("connect_timeout", e.field());
        String env = System.getenv("YUNXIN_BASE_URL");
        if (env == null) {
            assertEquals("https://api.netease.im", Client.builder(c).build().baseUrl());
        }
    }

    @Test
    void eventsReachJavaUtilLoggingWithoutSecrets() throws Exception {
        Logger log = Logger.getLogger("yunxin_ecp");
        List<LogRecord> records = new ArrayList<>();
        Handler h = new Handler() {
            @Override
            public synchronized void publish(LogRecord r) {
                records.add(r);
            }

            @Override
            public void flush() {}

            @Override
            public void close() {}
        };
        Level was = log.getLevel();
        log.setLevel(Level.FINE);
        log.addHandler(h);
        try {
            Started started = client.startCall("liuxuanlin", "13888888888", "13777777777", 100);
            mock.fault("busy_503");
            client.query(started.session());
        } finally {
            log.removeHandler(h);
            log.setLevel(was);
        }
        List<String> lines = new ArrayList<>();
        synchronized (h) {
            for (LogRecord r : records) {
                lines.add(r.getLevel() + " " + r.getMessage());
            }
        }
        String text = String.join("\n", lines);
        assertTrue(text.contains("FINE request sent id="), text);
        assertTrue(text.contains("endpoint=start_call path=/call/ecp/startcall.action attempt=1"), text);
        assertTrue(text.contains("INFO retry id="), text);
        assertTrue(text.contains("reason=api_503"), text);
        assertFalse(text.contains(MockServer.SAMPLE_APP_SECRET), text);
        assertFalse(text.toLowerCase().contains("checksum="), text);
    }
}
