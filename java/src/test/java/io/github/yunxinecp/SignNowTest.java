package io.github.yunxinecp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * {@link Credentials#signNow()}, whose values cross JNI as one byte array: each signature must be
 * the documented CheckSum of its own nonce and CurTime, for ASCII and non-ASCII secrets alike.
 */
class SignNowTest {
    @Test
    void eachSignatureIsTheChecksumOfItsOwnValues() {
        for (String secret : Arrays.asList("xxxxxxxx", "密钥-ключ-🔑", "a")) {
            Credentials c = new Credentials("fd460d34e786e7754e505bc4fab0f027", secret);
            AuthHeaders a = c.signNow();
            AuthHeaders b = c.signNow();
            assertEquals(Arrays.asList("AppKey", "Nonce", "CurTime", "CheckSum"), Arrays.asList(a.asMap().keySet().toArray()));
            assertEquals("fd460d34e786e7754e505bc4fab0f027", a.appKey());
            assertTrue(a.nonce().matches("[0-9a-f]{32}"), a.nonce());
            assertTrue(a.curTime().matches("[0-9]{10}"), a.curTime());
            assertEquals(YunxinEcp.checksum(secret, a.nonce(), a.curTime()), a.checkSum());
            assertEquals(YunxinEcp.checksum(secret, b.nonce(), b.curTime()), b.checkSum());
            assertNotEquals(a.nonce(), b.nonce());
            assertFalse(a.toString().contains(a.checkSum()));
        }
    }
}
