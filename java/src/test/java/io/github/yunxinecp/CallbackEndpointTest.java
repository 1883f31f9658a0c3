package io.github.yunxinecp;

import static io.github.yunxinecp.DeliveriesTest.BODY;
import static io.github.yunxinecp.DeliveriesTest.NOW;
import static io.github.yunxinecp.DeliveriesTest.OLD;
import static io.github.yunxinecp.DeliveriesTest.signed;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayInputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;

/** The servlet-free callback helper: the body cap, refusals, duplicates, releases, and a real HTTP server. */
class CallbackEndpointTest {
    static final String DUPLICATE = "{\"result\":\"duplicate\"}";

    static String refused(String reason) {
        return "{\"error\":\"callback refused\",\"reason\":\"" + reason + "\"}";
    }

    /** A stream of {@code bytes} that counts what was read from it. */
    static final class Counting extends FilterInputStream {
        long read;

        Counting(byte[] bytes) {
            super(new ByteArrayInputStream(bytes));
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            read += b < 0 ? 0 : 1;
            return b;
        }

        @Override
        public int read(byte[] buf, int off, int len) throws IOException {
            int n = super.read(buf, off, len);
            read += Math.max(n, 0);
            return n;
        }
    }

    @Test
    void aDeliveryIsHandledOnceAndItsRepeatAcknowledged() throws Exception {
        CallbackEndpoint endpoint = new CallbackEndpoint(new CallbackVerifier(OLD));
        List<String> sessions = new ArrayList<>();
        CallbackHandler<RuntimeException> handler = (event, delivery) -> sessions.add(event.record().get().session().get());
        CallbackAnswer first = endpoint.handle(new ByteArrayInputStream(BODY), signed(OLD, BODY, NOW), handler, NOW);
        assertEquals(200, first.status());
        assertEquals("", first.body());
        assertNull(first.contentType());
        assertTrue(first.handled());
        CallbackAnswer again = endpoint.handle(BODY, signed(OLD, BODY, NOW), handler, NOW + 1000);
        assertEquals(200, again.status());
        assertEquals(DUPLICATE, again.body());
        assertEquals("application/json", again.contentType());
        assertEquals("duplicate", again.reason());
        assertFalse(again.handled());
        assertEquals(Collections.singletonList("s-1"), sessions);
        assertEquals(1L, endpoint.guard().get().held().getAsLong());
    }

    @Test
    void refusedCallbacksGetTheCoresAnswerWithoutTheHandler() throws Exception {
        CallbackEndpoint endpoint = new CallbackEndpoint(new CallbackVerifier(OLD));
        AtomicInteger calls = new AtomicInteger();
        CallbackHandler<RuntimeException> handler = (event, delivery) -> calls.incrementAndGet();
        byte[] tampered = BODY.clone();
        tampered[5] ^= 1;
        CallbackAnswer md5 = endpoint.handle(tampered, signed(OLD, BODY, NOW), handler, NOW);
        assertEquals(403, md5.status());
        assertEquals(refused("md5_mismatch"), md5.body());
        CallbackAnswer stranger = endpoint.handle(BODY, signed(new Credentials("app", "stranger"), BODY, NOW), handler, NOW);
        assertEquals(403, stranger.status());
        assertEquals(refused("checksum_mismatch"), stranger.body());
        byte[] notJson = "not json".getBytes(StandardCharsets.UTF_8);
        CallbackAnswer malformed = endpoint.handle(notJson, signed(OLD, notJson, NOW), handler, NOW);
        assertEquals(400, malformed.status());
        assertEquals(refused("malformed"), malformed.body());
        CallbackAnswer stale = endpoint.handle(BODY, signed(OLD, BODY, NOW), handler, NOW + 5 * 60 * 1000 + 1);
        assertEquals(403, stale.status());
        assertEquals("stale", stale.reason());
        assertEquals(0, calls.get());
        assertEquals(0L, endpoint.guard().get().held().getAsLong(), "nothing refused is remembered");
    }

    @Test
    void theAnswersAreTheCoresForEachReason() {
        assertEquals(409, CallbackAnswer.forReason("in_progress").status());
        assertEquals(refused("in_progress"), CallbackAnswer.forReason("in_progress").body());
        assertEquals(503, CallbackAnswer.forReason("store_unavailable").status());
        assertEquals(413, CallbackAnswer.forReason("too_large").status());
        assertEquals(200, CallbackAnswer.forReason("duplicate").status());
        CallbackAnswer unknown = CallbackAnswer.forReason("<script>");
        assertEquals(403, unknown.status());
        assertEquals(refused("refused"), unknown.body());
        assertEquals("refused", unknown.reason());
    }

    @Test
    void aBodyOverTheCapIsRefusedReadingNoMoreThanTheCap() throws Exception {
        assertEquals(1024 * 1024, new CallbackEndpoint(new CallbackVerifier(OLD)).maxBodyBytes(), "1 MiB by default");
        CallbackEndpoint exact = CallbackEndpoint.builder(new CallbackVerifier(OLD)).maxBodyBytes(BODY.length).build();
        CallbackHandler<RuntimeException> nothing = (event, delivery) -> { };
        assertTrue(exact.handle(new Counting(BODY), signed(OLD, BODY, NOW), nothing, NOW).handled());

        CallbackEndpoint small = CallbackEndpoint.builder(new CallbackVerifier(OLD)).maxBodyBytes(BODY.length - 1).build();
        // Declared too long: answered unread.
        Counting declared = new Counting(BODY);
        Map<String, List<String>> headers = signed(OLD, BODY, NOW);
        headers.put("content-length", Collections.singletonList(String.valueOf(BODY.length)));
        CallbackAnswer a = small.handle(declared, headers, nothing, NOW);
        assertEquals(413, a.status());
        assertEquals(refused("too_large"), a.body());
        assertEquals(0, declared.read);
        // No length given (chunked): read to one byte past the cap, no further.
        byte[] big = new byte[10 * BODY.length];
        Counting chunked = new Counting(big);
        assertEquals(413, small.handle(chunked, signed(OLD, BODY, NOW), nothing, NOW).status());
        assertEquals(BODY.length, chunked.read);
        // Bytes already read are held to the same cap.
        assertEquals(413, small.handle(BODY, signed(OLD, BODY, NOW), nothing, NOW).status());

        ValidationException e = assertThrows(ValidationException.class, () -> CallbackEndpoint.builder(new CallbackVerifier(OLD)).maxBodyBytes(0));
        assertEquals("max_body_bytes", e.field());
        assertEquals("not_positive", e.rule());
    }

    @Test
    void aHandlerThatThrowsReleasesTheDelivery() throws Exception {
        CallbackEndpoint endpoint = new CallbackEndpoint(new CallbackVerifier(OLD));
        AtomicInteger calls = new AtomicInteger();
        IOException down = assertThrows(IOException.class, () -> endpoint.handle(BODY, signed(OLD, BODY, NOW), (event, delivery) -> {
            calls.incrementAndGet();
            throw new IOException("ledger down");
        }, NOW));
        assertEquals("ledger down", down.getMessage());
        assertEquals(0L, endpoint.guard().get().held().getAsLong());
        assertThrows(AssertionError.class, () -> endpoint.handle(BODY, signed(OLD, BODY, NOW), (event, delivery) -> {
            calls.incrementAndGet();
            throw new AssertionError("an Error releases too");
        }, NOW));
        // The sender's next attempt is handled.
        assertTrue(endpoint.handle(BODY, signed(OLD, BODY, NOW), (event, delivery) -> calls.incrementAndGet(), NOW).handled());
        assertEquals(3, calls.get());
        assertEquals(DUPLICATE, endpoint.handle(BODY, signed(OLD, BODY, NOW), (event, delivery) -> calls.incrementAndGet(), NOW).body());
        assertEquals(3, calls.get());
    }

    @Test
    void aRepeatWhileTheFirstIsHandledIsTurnedAway409() throws Exception {
        CallbackEndpoint endpoint = new CallbackEndpoint(new CallbackVerifier(OLD));
        CountDownLatch inHandler = new CountDownLatch(1);
        CountDownLatch finish = new CountDownLatch(1);
        AtomicInteger calls = new AtomicInteger();
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try {
            Future<CallbackAnswer> first = pool.submit(() -> endpoint.handle(BODY, signed(OLD, BODY, NOW), (event, delivery) -> {
                calls.incrementAndGet();
                inHandler.countDown();
                assertTrue(finish.await(30, TimeUnit.SECONDS), "not let finish within 30 s");
            }, NOW));
            assertTrue(inHandler.await(30, TimeUnit.SECONDS), "the first delivery's handler did not start within 30 s");
            CallbackAnswer second = endpoint.handle(BODY, signed(OLD, BODY, NOW), (event, delivery) -> calls.incrementAndGet(), NOW);
            assertEquals(409, second.status());
            assertEquals(refused("in_progress"), second.body());
            finish.countDown();
            assertTrue(first.get(30, TimeUnit.SECONDS).handled());
            assertEquals(DUPLICATE, endpoint.handle(BODY, signed(OLD, BODY, NOW), (event, delivery) -> calls.incrementAndGet(), NOW).body());
            assertEquals(1, calls.get());
        } finally {
            finish.countDown();
            pool.shutdownNow();
            assertTrue(pool.awaitTermination(30, TimeUnit.SECONDS));
        }
    }

    @Test
    void aFailingStoreIsAnswered503AndLoggedWithoutItsMessage() throws Exception {
        List<LogRecord> records = Collections.synchronizedList(new ArrayList<>());
        Logger log = Logger.getLogger("yunxin_ecp");
        Handler capture = new Handler() {
            @Override
            public void publish(LogRecord record) {
                records.add(record);
            }

            @Override
            public void flush() {}

            @Override
            public void close() {}
        };
        log.addHandler(capture);
        try {
            String secret = "password=hunter2";
            DeliveryGuard failing = new DeliveryGuard(new DeliveriesTest.FailingStore("claim", new SQLException(secret)));
            CallbackEndpoint endpoint = CallbackEndpoint.builder(new CallbackVerifier(OLD)).guard(failing).build();
            AtomicInteger calls = new AtomicInteger();
            CallbackAnswer a = endpoint.handle(BODY, signed(OLD, BODY, NOW), (event, delivery) -> calls.incrementAndGet(), NOW);
            assertEquals(503, a.status());
            assertEquals(refused("store_unavailable"), a.body());
            assertEquals(0, calls.get());
            // A store failing after the handler ran: the answer stands.
            DeliveryGuard late = new DeliveryGuard(new DeliveriesTest.FailingStore("complete", new SQLException(secret)));
            CallbackEndpoint lateEndpoint = CallbackEndpoint.builder(new CallbackVerifier(OLD)).guard(late).build();
            assertTrue(lateEndpoint.handle(BODY, signed(OLD, BODY, NOW), (event, delivery) -> calls.incrementAndGet(), NOW).handled());
            assertEquals(1, calls.get());
            // A refusal is logged by its reason.
            new CallbackEndpoint(new CallbackVerifier(OLD)).handle(BODY, signed(new Credentials("app", "wrong-secret"), BODY, NOW),
                    (event, delivery) -> { }, NOW);
            List<String> lines = new ArrayList<>();
            synchronized (records) {
                for (LogRecord r : records) {
                    lines.add(r.getMessage());
                }
            }
            assertTrue(lines.contains("call-end callback turned away (503): delivery store failed: java.sql.SQLException thrown by the store's claim()"), lines.toString());
            assertTrue(lines.contains("call-end callback completion not recorded: delivery store failed: java.sql.SQLException thrown by the store's complete()"), lines.toString());
            assertTrue(lines.contains("call-end callback refused (checksum_mismatch)"), lines.toString());
            for (String line : lines) {
                assertFalse(line.contains("hunter2") || line.contains("secret") || line.contains("s-1"), line);
            }
        } finally {
            log.removeHandler(capture);
        }
    }

    @Test
    void withoutDeduplicationEveryDeliveryIsHandled() throws Exception {
        CallbackEndpoint endpoint = CallbackEndpoint.builder(new CallbackVerifier(OLD)).withoutDeduplication().build();
        assertFalse(endpoint.guard().isPresent());
        AtomicInteger calls = new AtomicInteger();
        for (int i = 0; i < 2; i++) {
            assertTrue(endpoint.handle(BODY, signed(OLD, BODY, NOW), (event, delivery) -> calls.incrementAndGet(), NOW).handled());
        }
        assertEquals(2, calls.get());
        assertThrows(IllegalStateException.class,
                () -> CallbackEndpoint.builder(new CallbackVerifier(OLD)).guard(new DeliveryGuard()).withoutDeduplication().build());
        DeliveryGuard shared = new DeliveryGuard(new DeliveriesTest.MapStore());
        assertSame(shared, CallbackEndpoint.builder(new CallbackVerifier(OLD)).guard(shared).build().guard().get());
    }

    @Test
    void nullsAreRefusedNamingTheParameter() {
        CallbackEndpoint endpoint = new CallbackEndpoint(new CallbackVerifier(OLD));
        CallbackHandler<RuntimeException> nothing = (event, delivery) -> { };
        assertEquals("verifier", assertThrows(NullPointerException.class, () -> new CallbackEndpoint(null)).getMessage());
        assertEquals("body", assertThrows(NullPointerException.class, () -> endpoint.handle((InputStream) null, signed(OLD, BODY, NOW), nothing)).getMessage());
        assertEquals("headers", assertThrows(NullPointerException.class, () -> endpoint.handle(BODY, null, nothing)).getMessage());
        assertEquals("handler", assertThrows(NullPointerException.class,
                () -> endpoint.handle(BODY, signed(OLD, BODY, NOW), (CallbackHandler<RuntimeException>) null)).getMessage());
    }

    @Test
    void behindTheJdksHttpServerARepeatedPostIsHandledOnce() throws Exception {
        CallbackEndpoint endpoint = new CallbackEndpoint(new CallbackVerifier(OLD, DeliveriesTest.NEW));
        List<Integer> matched = Collections.synchronizedList(new ArrayList<>());
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/cb", exchange -> {
            try {
                CallbackAnswer a = endpoint.handle(exchange.getRequestBody(), exchange.getRequestHeaders(),
                        (event, delivery) -> matched.add(delivery.credential()));
                byte[] out = a.bodyBytes();
                if (a.contentType() != null) {
                    exchange.getResponseHeaders().set("Content-Type", a.contentType());
                }
                exchange.sendResponseHeaders(a.status(), out.length == 0 ? -1 : out.length);
                exchange.getResponseBody().write(out);
            } finally {
                exchange.close();
            }
        });
        server.start();
        try {
            String url = "http://127.0.0.1:" + server.getAddress().getPort() + "/cb";
            // Signed now with the new secret: the endpoint's clock checks it.
            Map<String, String> headers = YunxinEcp.signCallback(DeliveriesTest.NEW, BODY);
            String[] first = CallbackProbe.post(url, BODY, headers);
            assertEquals(Arrays.asList("200", ""), Arrays.asList(first));
            String[] again = CallbackProbe.post(url, BODY, headers);
            assertEquals(Arrays.asList("200", DUPLICATE), Arrays.asList(again));
            String[] forged = CallbackProbe.post(url, BODY, YunxinEcp.signCallback(new Credentials("app", "forged"), BODY));
            assertEquals(Arrays.asList("403", refused("checksum_mismatch")), Arrays.asList(forged));
            assertEquals(Collections.singletonList(1), matched);
        } finally {
            server.stop(0);
        }
    }

    @Test
    void theHandlerSeesTheVerifiedDelivery() throws Exception {
        CallbackEndpoint endpoint = new CallbackEndpoint(new CallbackVerifier(OLD));
        Delivery[] seen = new Delivery[1];
        endpoint.handle(BODY, signed(OLD, BODY, NOW), (event, delivery) -> seen[0] = delivery, NOW);
        assertNotNull(seen[0]);
        assertEquals(new CallbackVerifier(OLD).verify(BODY, signed(OLD, BODY, NOW), NOW).key(), seen[0].key());
        assertEquals("app", seen[0].appKey());
    }
}
