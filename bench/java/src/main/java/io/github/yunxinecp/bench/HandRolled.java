package io.github.yunxinecp.bench;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Collection;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What a Java team writes by hand, done correctly (the documents' CheckSumBuilder with a random
 * nonce instead of a fixed one, and a constant-time comparison): the other side of each ratio.
 */
final class HandRolled {
    static final SecureRandom RANDOM = new SecureRandom();
    private static final char[] HEX = "0123456789abcdef".toCharArray();

    private HandRolled() {}

    static String hex(byte[] b) {
        char[] out = new char[b.length * 2];
        for (int i = 0; i < b.length; i++) {
            out[2 * i] = HEX[(b[i] >> 4) & 0xf];
            out[2 * i + 1] = HEX[b[i] & 0xf];
        }
        return new String(out);
    }

    static MessageDigest digest(String algorithm) {
        try {
            return MessageDigest.getInstance(algorithm);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** SHA-1 of secret + nonce + curTime, lower-case hex. */
    static String checkSum(String secret, String nonce, String curTime) {
        MessageDigest sha1 = digest("SHA-1");
        sha1.update(secret.getBytes(StandardCharsets.UTF_8));
        sha1.update(nonce.getBytes(StandardCharsets.UTF_8));
        sha1.update(curTime.getBytes(StandardCharsets.UTF_8));
        return hex(sha1.digest());
    }

    /** The four headers, ready to set: a 16-byte SecureRandom nonce in hex, the clock in seconds. */
    static Map<String, String> sign(String appKey, String secret) {
        byte[] n = new byte[16];
        RANDOM.nextBytes(n);
        String nonce = hex(n);
        String curTime = Long.toString(System.currentTimeMillis() / 1000L);
        Map<String, String> h = new LinkedHashMap<>();
        h.put("AppKey", appKey);
        h.put("Nonce", nonce);
        h.put("CurTime", curTime);
        h.put("CheckSum", checkSum(secret, nonce, curTime));
        return h;
    }

    /** The only value of a header (names as sent), or null when absent or repeated. */
    static String one(Map<String, ? extends Collection<String>> headers, String name) {
        Collection<String> values = headers.get(name);
        if (values == null || values.size() != 1) {
            return null;
        }
        Iterator<String> it = values.iterator();
        return it.next();
    }

    /** A callback's verdict: MD5 of the body, CheckSum over it, AppKey, CurTime within five minutes. */
    static boolean verify(String appKey, String secret, byte[] body, Map<String, ? extends Collection<String>> headers, long nowMs) {
        String key = one(headers, "AppKey");
        String curTime = one(headers, "CurTime");
        String md5 = one(headers, "MD5");
        String sum = one(headers, "CheckSum");
        if (key == null || curTime == null || md5 == null || sum == null || !key.equals(appKey)) {
            return false;
        }
        long sent;
        try {
            sent = Long.parseLong(curTime);
        } catch (NumberFormatException e) {
            return false;
        }
        if (Math.abs(nowMs - sent) > 300_000L) {
            return false;
        }
        String bodyMd5 = hex(digest("MD5").digest(body));
        if (!MessageDigest.isEqual(bodyMd5.getBytes(StandardCharsets.US_ASCII), md5.toLowerCase().getBytes(StandardCharsets.US_ASCII))) {
            return false;
        }
        String expected = checkSum(secret, md5, curTime);
        return MessageDigest.isEqual(expected.getBytes(StandardCharsets.US_ASCII), sum.toLowerCase().getBytes(StandardCharsets.US_ASCII));
    }
}
