package io.github.yunxinecp;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * No native leak: a program (run by tests/java/run.sh in its own JVM, with a fixed, pre-touched
 * heap so the Java heap cannot move the figure) that warms up, reads VmRSS, runs a million cycles
 * of signing and callback verification through the native library (every tenth verification of a
 * forged CheckSum, refused with an exception, and every hundredth a signing refused for an invalid
 * nonce), each with a delivery claimed in the duplicate guard's memory store (a fresh store every
 * thousand cycles), reads VmRSS again and fails when it grew by more than the allowance. Anything the native
 * side failed to free (strings, arrays, exception views, local references) would grow with the
 * cycles; a timed assertion would not be, so this is a count of memory, not of speed.
 */
public final class RssProbe {
    static final long ALLOWANCE_KIB = 16 * 1024;

    private RssProbe() {}

    static long rssKib() throws IOException {
        for (String line : Files.readAllLines(Paths.get("/proc/self/status"), StandardCharsets.UTF_8)) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        throw new IOException("no VmRSS in /proc/self/status");
    }

    static Map<String, List<String>> headers(String checkSum) {
        Map<String, List<String>> h = new LinkedHashMap<>();
        h.put("AppKey", Collections.singletonList("fd460d34e786e7754e505bc4fab0f027"));
        h.put("CurTime", Collections.singletonList("1440570500855"));
        h.put("MD5", Collections.singletonList("5556767e4727e5582025ab1fff82753b"));
        h.put("CheckSum", Collections.singletonList(checkSum));
        return h;
    }

    /** One cycle: a signature and a verification; the counts of what was refused. */
    static int cycle(int i, Credentials creds, CallbackVerifier verifier, byte[] body, Map<String, List<String>> good,
            Map<String, List<String>> forged) {
        int refused = 0;
        if (i % 100 == 99) {
            try {
                creds.sign("bad nonce \u0000", 1440570500L);
            } catch (ValidationException e) {
                refused++;
            }
        } else if (creds.signNow().checkSum().length() != 40) {
            throw new AssertionError("a CheckSum is 40 hex digits");
        }
        try {
            Delivery d = verifier.verify(body, i % 10 == 9 ? forged : good, 1440570500855L);
            if (d.key().length() != 40) {
                throw new AssertionError("a delivery key is 40 hex digits");
            }
        } catch (CallbackVerificationException e) {
            refused++;
        }
        // The duplicate guard's memory: a fresh store every STORE_CYCLES cycles (the last one left to
        // the cleaner), each filled with a distinct delivery per cycle, claimed then completed. A store
        // not freed keeps all of its entries, which the figure would show.
        if (i % STORE_CYCLES == 0) {
            store = new MemoryDeliveryStore(STORE_CYCLES);
        }
        String key = "000000000000000000000000" + Long.toHexString(0x1000000000000000L | i);
        if (store.claim(key, 1440570800855L, 1440570500855L) != Claim.FIRST) {
            throw new AssertionError("a distinct delivery is claimed first");
        }
        store.complete(key, 1440570800855L);
        return refused;
    }

    static final int STORE_CYCLES = 1000;
    static MemoryDeliveryStore store;

    public static void main(String[] args) throws Exception {
        int cycles = args.length > 0 ? Integer.parseInt(args[0]) : 1_000_000;
        Credentials creds = new Credentials("fd460d34e786e7754e505bc4fab0f027", "xxxxxxxx");
        CallbackVerifier verifier = new CallbackVerifier(creds);
        byte[] body = "{\"callback\":\"{}\",\"eventType\":\"10\"}".getBytes(StandardCharsets.UTF_8);
        Map<String, List<String>> good = headers("6949a942f8477bb839a74ac5726ec4c28a762686");
        Map<String, List<String>> forged = headers("0000000000000000000000000000000000000000");
        verifier.verify(body, good, 1440570500855L); // the genuine one passes, or this is no test

        int warmup = cycles / 10;
        long refused = 0;
        for (int i = 0; i < warmup; i++) {
            refused += cycle(i, creds, verifier, body, good, forged);
        }
        System.gc();
        long before = rssKib();
        refused = 0;
        for (int i = 0; i < cycles; i++) {
            refused += cycle(i, creds, verifier, body, good, forged);
        }
        System.gc();
        long after = rssKib();
        long expected = cycles / 10 + cycles / 100;
        long growth = after - before;
        System.out.printf("rss: %d sign/verify cycles (%d refused), VmRSS %d KiB before, %d KiB after, growth %d KiB (allowed %d KiB)%n",
                cycles, refused, before, after, growth, ALLOWANCE_KIB);
        if (refused != expected) {
            System.out.println("rss: expected " + expected + " refusals, got " + refused);
            System.exit(1);
        }
        if (growth > ALLOWANCE_KIB) {
            System.out.println("rss: native memory grew by more than the allowance");
            System.exit(1);
        }
    }
}
