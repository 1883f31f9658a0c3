package io.github.yunxinecp;

import io.github.yunxinecp.testing.MockServer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Nulls, invalid UTF-16, repeated headers, huge inputs, misuse: refused by name, never a crash. */
class HostileInputsTest {
    static final Credentials CREDS = new Credentials(MockServer.SAMPLE_APP_KEY, MockServer.SAMPLE_APP_SECRET);
    static final byte[] DOC_BODY = "{\"callback\":\"{}\",\"eventType\":\"10\"}".getBytes(StandardCharsets.UTF_8);

    static Map<String, List<String>> docHeaders() {
        Map<String, List<String>> h = new LinkedHashMap<>();
        h.put("AppKey", Collections.singletonList(MockServer.SAMPLE_APP_KEY));
        h.put("CurTime", Collections.singletonList("1440570500855"));
        h.put("MD5", Collections.singletonList("5556767e4727e5582025ab1fff82753b"));
        h.put("CheckSum", Collections.singletonList("6949a942f8477bb839a74ac5726ec4c28a762686"));
        return h;
    }

    @Test
    void nullsAreRefusedNamingTheParameter() {
        assertEquals("appKey", assertThrows(NullPointerException.class, () -> new Credentials(null, "x")).getMessage());
        assertEquals("appSecret", assertThrows(NullPointerException.class, () -> new Credentials("k", null)).getMessage());
        assertEquals("nonce", assertThrows(NullPointerException.class, () -> YunxinEcp.checksum("s", null, 1L)).getMessage());
        assertEquals("nonce", assertThrows(NullPointerException.class, () -> CREDS.sign(null, 1440570500L)).getMessage());
        CallbackVerifier v = new CallbackVerifier(CREDS);
        assertEquals("body", assertThrows(NullPointerException.class, () -> v.verify(null, docHeaders())).getMessage());
        assertEquals("headers", assertThrows(NullPointerException.class, () -> v.verify(DOC_BODY, null)).getMessage());
        assertEquals("credentials", assertThrows(NullPointerException.class, () -> new CallbackVerifier((Credentials) null)).getMessage());
        Client client = Client.builder(CREDS).baseUrl("http://127.0.0.1:9").build();
        assertEquals("callerAcc", assertThrows(NullPointerException.class, () -> client.startCall(null, "1", "2", 1)).getMessage());
        assertEquals("callees[1]", assertThrows(NullPointerException.class,
                () -> client.startConf("a", "13888888888", Arrays.asList("13777777777", null), 1)).getMessage());
        assertEquals("kind", assertThrows(NullPointerException.class, () -> client.query("s", null)).getMessage());
        // A null name (HttpURLConnection's status line) or a null value list is skipped, not a crash.
        Map<String, List<String>> h = docHeaders();
        h.put(null, Collections.singletonList("HTTP/1.1 200 OK"));
        h.put("X-Empty", null);
        new CallbackVerifier(CREDS).withToleranceMs(0).verify(DOC_BODY, h, 1440570500855L);
    }

    @Test
    void unpairedSurrogatesAreRefusedNotReplaced() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Credentials("k", "zq\uD800xy"));
        assertTrue(e.getMessage().contains("appSecret"), e.getMessage());
        assertFalse(e.getMessage().contains("zq"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> YunxinEcp.checksum("\uDC00", "n", 1L));
        assertTrue(e.getMessage().contains("appSecret"), e.getMessage());
        Client client = Client.builder(CREDS).baseUrl("http://127.0.0.1:9").build();
        e = assertThrows(IllegalArgumentException.class, () -> client.startCall("liuxuanlin", "13888888888", "1377777777\uD83D", 1));
        assertTrue(e.getMessage().contains("request"), e.getMessage());
        // A proper pair is text like any other.
        assertEquals(YunxinEcp.checksum("s\u00e9cret-\uD83D\uDD11", "Z9", 1700000001L), "48ae4069b2fbbf30f66055e4f616824dd7580a10");
    }

    @Test
    void aRepeatedSignatureHeaderIsRefused() {
        CallbackVerifier v = new CallbackVerifier(CREDS).withToleranceMs(0);
        v.verify(DOC_BODY, docHeaders(), 1440570500855L);
        for (String name : new String[] {"MD5", "CheckSum", "CurTime", "AppKey"}) {
            Map<String, List<String>> h = docHeaders();
            h.put(name, Arrays.asList(h.get(name).get(0), h.get(name).get(0)));
            CallbackVerificationException e = assertThrows(CallbackVerificationException.class, () -> v.verify(DOC_BODY, h, 1440570500855L));
            assertEquals("duplicate_header", e.reason());
            assertEquals(name, e.header());
        }
        // The same name in another case is the same header.
        Map<String, List<String>> h = docHeaders();
        h.put("checksum", Collections.singletonList("6949a942f8477bb839a74ac5726ec4c28a762686"));
        assertEquals("duplicate_header", assertThrows(CallbackVerificationException.class, () -> v.verify(DOC_BODY, h, 1440570500855L)).reason());
    }

    @Test
    void hugeInputsAreRefusedQuickly() {
        byte[] big = new byte[16 << 20];
        Arrays.fill(big, (byte) 'a');
        CallbackVerifier v = new CallbackVerifier(CREDS);
        assertEquals("md5_mismatch", assertThrows(CallbackVerificationException.class, () -> v.verify(big, docHeaders(), 1440570500855L)).reason());
        char[] longNonce = new char[129];
        Arrays.fill(longNonce, 'n');
        ValidationException e = assertThrows(ValidationException.class, () -> CREDS.sign(new String(longNonce), 1440570500L));
        assertEquals("nonce", e.field());
        assertEquals("length", e.rule());
        ValidationException ms = assertThrows(ValidationException.class, () -> CREDS.sign("n", 1440570500000L));
        assertEquals("milliseconds", ms.rule());
        ValidationException tol = assertThrows(ValidationException.class, () -> v.withToleranceMs(3_600_001L));
        assertEquals("tolerance_ms", tol.field());
        assertEquals("at_most", tol.rule());
        assertThrows(IllegalArgumentException.class, () -> v.withToleranceMs(-1));
    }

    @Test
    void theSecretIsNeverShown() {
        Credentials c = new Credentials("fd460d34e786e7754e505bc4fab0f027", "s3cr3t-value");
        assertFalse(c.toString().contains("s3cr3t-value"));
        assertFalse(new CallbackVerifier(c).toString().contains("s3cr3t-value"));
        ValidationException e = assertThrows(ValidationException.class, () -> new Credentials("k", "s3cr3t-value\n"));
        assertEquals("appSecret", e.field());
        assertEquals("charset", e.rule());
        assertFalse(e.getMessage().contains("s3cr3t-value"));
        AuthHeaders h = c.sign("123456", 1440570500L);
        assertFalse(h.toString().contains(h.checkSum()));
        assertEquals(YunxinEcp.checksum("s3cr3t-value", "123456", 1440570500L), h.checkSum());
    }

    @Test
    void anExchangeIsMisusedSafely() {
        Client client = Client.builder(CREDS).baseUrl("http://127.0.0.1:9").build();
        Exchange ex = client.exchange(Exchange.QUERY, new String[] {"s-1"}, 1, null, 0, -1);
        // Fed back before any attempt: the core ends the exchange with a refusal naming it.
        assertEquals(-1, ex.receive(200, null, new byte[0], 0, 1));
        ValidationException early = assertThrows(ValidationException.class, ex::result);
        assertEquals("exchange", early.field());
        Exchange ex2 = client.exchange(Exchange.QUERY, new String[] {"s-1"}, 1, null, 0, -1);
        Exchange.Attempt a = ex2.send();
        assertEquals(32, a.headers().get("Nonce").length());
        assertThrows(IllegalArgumentException.class, () -> ex2.receive(70000, null, new byte[0], 0, 1));
        assertThrows(IllegalArgumentException.class, () -> ex2.receive(200, null, new byte[1], 2, 1));
        assertEquals(RetryAdvice.SAFE, ex2.cancel(true));
        ex2.close();
        ex2.close();
        assertThrows(IllegalStateException.class, ex2::send);
        ex.close();
        Exchange start = client.exchange(Exchange.START_CALL, new String[] {"liuxuanlin", "13888888888", "13777777777"}, 60, null, 0, -1);
        start.send();
        assertEquals(RetryAdvice.OUTCOME_UNKNOWN, start.cancel(true));
        start.close();
        ValidationException neg = assertThrows(ValidationException.class,
                () -> client.exchange(Exchange.START_CALL, new String[] {"liuxuanlin", "13888888888", "13777777777"}, -5, null, 0, -1));
        assertEquals("maxDur", neg.field());
    }

    @Test
    void manyExchangesLeftToTheCleanerAreFreed() throws Exception {
        Client client = Client.builder(CREDS).baseUrl("http://127.0.0.1:9").build();
        for (int i = 0; i < 20_000; i++) {
            client.exchange(Exchange.QUERY, new String[] {"s-" + i}, 1, null, 0, -1).send();
        }
        // Nothing to assert on native memory here without timing; no crash and no double free.
        System.gc();
    }
}
