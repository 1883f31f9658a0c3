package io.github.yunxinecp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Several credentials per verifier (a secret rotation, several apps), the delivery a verification
 * returns, signed test callbacks, and the duplicate guard over the core's memory store and over a
 * store written in Java.
 */
class DeliveriesTest {
    static final byte[] BODY = "{\"callback\":\"{\\\"session\\\":\\\"s-1\\\",\\\"durationSec\\\":61}\",\"eventType\":\"10\"}"
            .getBytes(StandardCharsets.UTF_8);
    static final long NOW = 1_700_000_000_000L;
    static final Credentials OLD = new Credentials("app", "old-secret");
    static final Credentials NEW = new Credentials("app", "new-secret");

    /** The headers of a callback signed with {@code creds} at {@code at}, as a web framework's map. */
    static Map<String, List<String>> signed(Credentials creds, byte[] body, long at) {
        Map<String, List<String>> headers = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : YunxinEcp.signCallback(creds, body, at).entrySet()) {
            headers.put(e.getKey(), new ArrayList<>(Collections.singletonList(e.getValue())));
        }
        return headers;
    }

    static String hex(byte[] bytes) {
        StringBuilder out = new StringBuilder();
        for (byte b : bytes) {
            out.append(String.format("%02x", b & 0xff));
        }
        return out.toString();
    }

    static String digest(String algorithm, byte[] input) throws Exception {
        return hex(MessageDigest.getInstance(algorithm).digest(input));
    }

    // ---- signCallback ----

    @Test
    void signCallbackMatchesTheJdksDigests() throws Exception {
        long at = 1_440_570_500_855L;
        Map<String, String> h = YunxinEcp.signCallback(OLD, BODY, at);
        assertEquals(Arrays.asList("Content-Type", "AppKey", "CurTime", "MD5", "CheckSum"), new ArrayList<>(h.keySet()));
        assertEquals("application/json", h.get("Content-Type"));
        assertEquals("app", h.get("AppKey"));
        assertEquals("1440570500855", h.get("CurTime"));
        String md5 = digest("MD5", BODY);
        assertEquals(md5, h.get("MD5"));
        assertEquals(digest("SHA-1", ("old-secret" + md5 + "1440570500855").getBytes(StandardCharsets.UTF_8)), h.get("CheckSum"));
        assertThrows(UnsupportedOperationException.class, () -> h.put("AppKey", "other"));
        // The service's own example (the core's documentation).
        Map<String, String> doc = YunxinEcp.signCallback(new Credentials("appkey", "xxxxxxxx"),
                "{\"callback\":\"{}\",\"eventType\":\"10\"}".getBytes(StandardCharsets.UTF_8), 1_440_570_500_855L);
        assertEquals("5556767e4727e5582025ab1fff82753b", doc.get("MD5"));
        assertEquals("6949a942f8477bb839a74ac5726ec4c28a762686", doc.get("CheckSum"));
    }

    @Test
    void aSignedCallbackVerifies() {
        Delivery d = new CallbackVerifier(OLD).verify(BODY, signed(OLD, BODY, NOW), NOW + 1);
        assertEquals(NOW, d.curTimeMs());
        long before = System.currentTimeMillis();
        Map<String, String> now = YunxinEcp.signCallback(NEW, BODY);
        long after = System.currentTimeMillis();
        long cur = Long.parseLong(now.get("CurTime"));
        assertTrue(cur >= before && cur <= after, cur + " outside " + before + ".." + after);
    }

    @Test
    void signCallbackRefusesSecondsAndNulls() {
        ValidationException e = assertThrows(ValidationException.class, () -> YunxinEcp.signCallback(OLD, BODY, 1_700_000_000L));
        assertEquals("curTimeMs", e.field());
        assertEquals("seconds", e.rule());
        assertThrows(IllegalArgumentException.class, () -> YunxinEcp.signCallback(OLD, BODY, -1L));
        assertEquals("credentials", assertThrows(NullPointerException.class, () -> YunxinEcp.signCallback(null, BODY, NOW)).getMessage());
        assertEquals("body", assertThrows(NullPointerException.class, () -> YunxinEcp.signCallback(OLD, null, NOW)).getMessage());
    }

    // ---- several credentials ----

    @Test
    void duringARotationBothSecretsAreAcceptedAndTheMatchIsNamed() {
        CallbackVerifier verifier = new CallbackVerifier(OLD, NEW);
        assertEquals(Arrays.asList("app", "app"), verifier.appKeys());
        Credentials[] order = {OLD, NEW};
        for (int index = 0; index < order.length; index++) {
            Delivery d = verifier.verify(BODY, signed(order[index], BODY, NOW), NOW);
            assertEquals(index, d.credential());
            assertEquals("app", d.appKey());
            assertEquals(NOW, d.curTimeMs());
            assertEquals(NOW + 5 * 60 * 1000, d.expiresAtMs(), "five minutes' tolerance by default");
        }
        CallbackVerificationException e = assertThrows(CallbackVerificationException.class,
                () -> verifier.verify(BODY, signed(new Credentials("app", "stranger"), BODY, NOW), NOW));
        assertEquals("checksum_mismatch", e.reason());
        // A list does the same as the arguments.
        assertEquals(1, new CallbackVerifier(Arrays.asList(OLD, NEW)).verify(BODY, signed(NEW, BODY, NOW), NOW).credential());
    }

    @Test
    void severalAppsEachMatchByTheirOwnKey() {
        Credentials a = new Credentials("app-a", "secret-a");
        Credentials b = new Credentials("app-b", "secret-b");
        CallbackVerifier verifier = new CallbackVerifier(a, b);
        Delivery d = verifier.verify(BODY, signed(b, BODY, NOW), NOW);
        assertEquals(1, d.credential());
        assertEquals("app-b", d.appKey());
        Map<String, List<String>> relabelled = signed(b, BODY, NOW);
        relabelled.put("AppKey", Collections.singletonList("app-a"));
        assertEquals("app_key_mismatch",
                assertThrows(CallbackVerificationException.class, () -> verifier.verify(BODY, relabelled, NOW)).reason());
        assertTrue(verifier.toString().contains("[app-a, app-b]"), verifier.toString());
        assertFalse(verifier.toString().contains("secret"), verifier.toString());
    }

    @Test
    void oneToEightCredentialsAreAccepted() {
        ValidationException none = assertThrows(ValidationException.class, () -> new CallbackVerifier());
        assertEquals("credentials", none.field());
        assertEquals("count", none.rule());
        assertTrue(none.getMessage().contains("got 0"), none.getMessage());
        Credentials[] nine = new Credentials[9];
        Arrays.fill(nine, OLD);
        ValidationException many = assertThrows(ValidationException.class, () -> new CallbackVerifier(nine));
        assertEquals("credentials", many.field());
        assertEquals("count", many.rule());
        assertTrue(many.getMessage().contains("got 9"), many.getMessage());
        assertFalse(many.getMessage().contains("old-secret"), many.getMessage());
        Credentials[] eight = Arrays.copyOf(nine, 8);
        eight[7] = NEW;
        assertEquals(7, new CallbackVerifier(eight).verify(BODY, signed(NEW, BODY, NOW), NOW).credential());
        assertEquals("credentials[1]", assertThrows(NullPointerException.class, () -> new CallbackVerifier(OLD, null)).getMessage());
        assertEquals("credentials", assertThrows(NullPointerException.class, () -> new CallbackVerifier((List<Credentials>) null)).getMessage());
    }

    @Test
    void theExpiryFollowsTheTimeCheck() {
        CallbackVerifier v = new CallbackVerifier(OLD);
        assertEquals(NOW + 1000, v.withToleranceMs(1000).verify(BODY, signed(OLD, BODY, NOW), NOW).expiresAtMs());
        assertEquals(Long.MAX_VALUE, v.skipTimeCheckInsecure().verify(BODY, signed(OLD, BODY, NOW), NOW).expiresAtMs());
        // A tolerance keeps the credentials: the old secret is still accepted.
        assertEquals(1, new CallbackVerifier(NEW, OLD).withToleranceMs(10).verify(BODY, signed(OLD, BODY, NOW), NOW).credential());
    }

    @Test
    void aTimeInSecondsIsRefusedNamingIt() {
        ValidationException e = assertThrows(ValidationException.class,
                () -> new CallbackVerifier(OLD).verify(BODY, signed(OLD, BODY, NOW), NOW / 1000));
        assertEquals("nowMs", e.field());
        assertEquals("seconds", e.rule());
    }

    @Test
    void theDeliveryKeyIsComputedFromTheSignedHeaders() throws Exception {
        VerifiedDelivery v = new CallbackVerifier(OLD).verifyDelivery(BODY, signed(OLD, BODY, NOW), NOW);
        assertTrue(v.event().isCallEnd());
        assertEquals("s-1", v.event().record().get().session().get());
        Map<String, String> h = YunxinEcp.signCallback(OLD, BODY, NOW);
        // The key's recipe, computed here: SHA-1 over each part, its length first (8 bytes, big-endian).
        MessageDigest sha1 = MessageDigest.getInstance("SHA-1");
        for (String part : new String[] {"app", h.get("CheckSum"), h.get("CurTime"), h.get("MD5")}) {
            byte[] bytes = part.getBytes(StandardCharsets.UTF_8);
            sha1.update(ByteBuffer.allocate(8).putLong(bytes.length).array());
            sha1.update(bytes);
        }
        assertEquals(hex(sha1.digest()), v.delivery().key());
        // verify() says the same of it; another CurTime is another delivery.
        assertEquals(v.delivery().key(), new CallbackVerifier(OLD).verify(BODY, signed(OLD, BODY, NOW), NOW).key());
        assertNotEquals(v.delivery().key(), new CallbackVerifier(OLD).verify(BODY, signed(OLD, BODY, NOW + 1), NOW).key());
        // A signed body that is no callback is refused as malformed by verifyDelivery, not by verify.
        byte[] notJson = "not json".getBytes(StandardCharsets.UTF_8);
        new CallbackVerifier(OLD).verify(notJson, signed(OLD, notJson, NOW), NOW);
        assertEquals("malformed", assertThrows(CallbackVerificationException.class,
                () -> new CallbackVerifier(OLD).verifyDelivery(notJson, signed(OLD, notJson, NOW), NOW)).reason());
    }

    // ---- the guard over the core's memory ----

    static Delivery delivery(long at) {
        return new CallbackVerifier(OLD).verify(BODY, signed(OLD, BODY, at), at);
    }

    @Test
    void aDeliveryIsFirstThenInProgressThenDuplicate() {
        DeliveryGuard guard = new DeliveryGuard();
        Delivery d = delivery(NOW);
        assertEquals(Claim.FIRST, guard.claim(d, NOW));
        assertEquals(Claim.IN_PROGRESS, guard.claim(d, NOW));
        guard.complete(d);
        assertEquals(Claim.DUPLICATE, guard.claim(d, NOW + 1));
        assertEquals(Claim.FIRST, guard.claim(delivery(NOW + 1), NOW + 1));
        assertEquals(2L, guard.held().getAsLong());
        assertEquals(0L, guard.evicted().getAsLong());
        assertEquals(Arrays.asList("first", "duplicate", "in_progress"),
                Arrays.asList(Claim.FIRST.code(), Claim.DUPLICATE.code(), Claim.IN_PROGRESS.code()));
    }

    @Test
    void aReleasedDeliveryIsHandledAgain() {
        DeliveryGuard guard = new DeliveryGuard();
        Delivery d = delivery(NOW);
        assertEquals(Claim.FIRST, guard.claim(d, NOW));
        guard.release(d);
        assertEquals(0L, guard.held().getAsLong());
        assertEquals(Claim.FIRST, guard.claim(d, NOW));
    }

    @Test
    void theMemoryIsBoundedAndForgetsWhatExpired() {
        MemoryDeliveryStore store = new MemoryDeliveryStore(2);
        String[] keys = new String[4];
        for (int i = 0; i < keys.length; i++) {
            keys[i] = String.format("%040x", i + 1);
        }
        for (int i = 0; i < 3; i++) {
            assertEquals(Claim.FIRST, store.claim(keys[i], 10_000L + i, 0));
        }
        assertEquals(2, store.held());
        assertEquals(1, store.evicted());
        // The one dropped is the one closest to expiring: the first.
        assertEquals(Claim.IN_PROGRESS, store.claim(keys[2], 10_000L, 0));
        assertEquals(Claim.FIRST, store.claim(keys[0], 10_000L, 0));
        // Past its expiry's whole second, an entry is forgotten.
        MemoryDeliveryStore timed = new MemoryDeliveryStore();
        timed.claim(keys[3], 1_500L, 0);
        timed.complete(keys[3], 1_500L);
        assertEquals(Claim.DUPLICATE, timed.claim(keys[3], 1_500L, 1_999L));
        assertEquals(Claim.FIRST, timed.claim(keys[3], 3_500L, 2_000L));
        assertTrue(timed.toString().contains("held=1"), timed.toString());
    }

    @Test
    void badStoreArgumentsAreRefusedNamingThem() {
        for (long capacity : new long[] {0, -1, Long.MIN_VALUE}) {
            ValidationException e = assertThrows(ValidationException.class, () -> new MemoryDeliveryStore(capacity));
            assertEquals("capacity", e.field(), "capacity " + capacity);
            assertEquals("not_positive", e.rule());
        }
        MemoryDeliveryStore store = new MemoryDeliveryStore(1);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> store.claim("not a key", 1, 0));
        assertTrue(e.getMessage().startsWith("key "), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> store.claim(String.format("%040x", 1), -1, 0));
        assertEquals("key", assertThrows(NullPointerException.class, () -> store.release(null)).getMessage());
        assertEquals("delivery", assertThrows(NullPointerException.class, () -> new DeliveryGuard().claim(null)).getMessage());
        assertEquals("store", assertThrows(NullPointerException.class, () -> new DeliveryGuard(null)).getMessage());
    }

    // ---- a store written in Java ----

    /** A store over a map, as one over Redis would be: each step one atomic operation. */
    static final class MapStore implements DeliveryStore {
        final ConcurrentHashMap<String, String> entries = new ConcurrentHashMap<>();
        final List<String> calls = Collections.synchronizedList(new ArrayList<>());

        @Override
        public Claim claim(String key, long expiresAtMs, long nowMs) {
            calls.add("claim " + key + " " + expiresAtMs + " " + nowMs);
            String held = entries.putIfAbsent(key, "pending");
            return held == null ? Claim.FIRST : held.equals("done") ? Claim.DUPLICATE : Claim.IN_PROGRESS;
        }

        @Override
        public void complete(String key, long expiresAtMs) {
            calls.add("complete " + key + " " + expiresAtMs);
            entries.put(key, "done");
        }

        @Override
        public void release(String key) {
            calls.add("release " + key);
            entries.remove(key);
        }
    }

    @Test
    void aStoreInJavaIsCalledWithTheDeliverysKeyAndTimes() {
        MapStore store = new MapStore();
        DeliveryGuard guard = new DeliveryGuard(store);
        Delivery d = delivery(NOW);
        assertEquals(Claim.FIRST, guard.claim(d, NOW + 7));
        assertEquals(Claim.IN_PROGRESS, guard.claim(d, NOW + 8));
        guard.release(d);
        assertEquals(Claim.FIRST, guard.claim(d, NOW + 9));
        guard.complete(d);
        assertEquals(Claim.DUPLICATE, guard.claim(d, NOW + 10));
        String k = d.key();
        long exp = NOW + 300_000;
        assertEquals(Arrays.asList("claim " + k + " " + exp + " " + (NOW + 7), "claim " + k + " " + exp + " " + (NOW + 8), "release " + k,
                "claim " + k + " " + exp + " " + (NOW + 9), "complete " + k + " " + exp, "claim " + k + " " + exp + " " + (NOW + 10)),
                store.calls);
        assertFalse(guard.held().isPresent());
        assertFalse(guard.evicted().isPresent());
        assertEquals(store, guard.store());
    }

    /** A store that fails at one step, with a message that holds a secret. */
    static final class FailingStore implements DeliveryStore {
        final String failAt;
        final Exception failure;

        FailingStore(String failAt, Exception failure) {
            this.failAt = failAt;
            this.failure = failure;
        }

        @Override
        public Claim claim(String key, long expiresAtMs, long nowMs) throws Exception {
            if (failAt.equals("claim")) {
                throw failure;
            }
            return failAt.equals("claim-null") ? null : Claim.FIRST;
        }

        @Override
        public void complete(String key, long expiresAtMs) throws Exception {
            if (failAt.equals("complete")) {
                throw failure;
            }
        }

        @Override
        public void release(String key) throws Exception {
            if (failAt.equals("release")) {
                throw failure;
            }
        }
    }

    @Test
    void aFailingStoreIsNamedByTypeAndStepOnly() {
        Delivery d = delivery(NOW);
        String secret = "jdbc:postgresql://db/calls?password=hunter2";
        String[] steps = {"claim", "complete", "release"};
        for (String step : steps) {
            DeliveryGuard guard = new DeliveryGuard(new FailingStore(step, new SQLException(secret)));
            DeliveryStoreException e = assertThrows(DeliveryStoreException.class, () -> {
                switch (step) {
                    case "claim":
                        guard.claim(d, NOW);
                        break;
                    case "complete":
                        guard.complete(d);
                        break;
                    default:
                        guard.release(d);
                }
            });
            assertEquals("delivery store failed: java.sql.SQLException thrown by the store's " + step + "()", e.getMessage());
            assertEquals(step, e.step());
            assertEquals("java.sql.SQLException", e.exceptionType());
            assertEquals("delivery_store", e.kind());
            assertNull(e.getCause(), "the store's exception, message and all, is not kept");
            assertFalse(e.toString().contains("hunter2"));
        }
        DeliveryStoreException none = assertThrows(DeliveryStoreException.class,
                () -> new DeliveryGuard(new FailingStore("claim-null", null)).claim(d, NOW));
        assertEquals("claim", none.step());
        assertNull(none.exceptionType());
        // A store interrupted leaves the thread marked so for its owner.
        DeliveryGuard interrupted = new DeliveryGuard(new FailingStore("claim", new InterruptedException(secret)));
        assertThrows(DeliveryStoreException.class, () -> interrupted.claim(d, NOW));
        assertTrue(Thread.interrupted());
    }

    // ---- two requests carrying one delivery at once ----

    /** Claims {@code d} from two threads released together; the two claims, in no particular order. */
    static List<Claim> claimTogether(ExecutorService pool, DeliveryGuard guard, Delivery d) throws Exception {
        CyclicBarrier start = new CyclicBarrier(2);
        Callable<Claim> claim = () -> {
            start.await(30, TimeUnit.SECONDS);
            return guard.claim(d, NOW);
        };
        Future<Claim> a = pool.submit(claim);
        Future<Claim> b = pool.submit(claim);
        List<Claim> claims = new ArrayList<>(Arrays.asList(a.get(30, TimeUnit.SECONDS), b.get(30, TimeUnit.SECONDS)));
        Collections.sort(claims);
        return claims;
    }

    @Test
    void twoThreadsClaimingOneDeliveryGetOneFirst() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            DeliveryGuard memory = new DeliveryGuard();
            DeliveryGuard java = new DeliveryGuard(new MapStore());
            for (int round = 0; round < 50; round++) {
                Delivery d = delivery(NOW + round);
                assertArrayEquals(new Claim[] {Claim.FIRST, Claim.IN_PROGRESS}, claimTogether(pool, memory, d).toArray(), "memory, round " + round);
                assertArrayEquals(new Claim[] {Claim.FIRST, Claim.IN_PROGRESS}, claimTogether(pool, java, d).toArray(), "Java store, round " + round);
            }
            assertEquals(50L, memory.held().getAsLong());
        } finally {
            pool.shutdownNow();
            assertTrue(pool.awaitTermination(30, TimeUnit.SECONDS));
        }
    }
}
