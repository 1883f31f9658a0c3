package io.github.yunxinecp.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.yunxinecp.CallRecord;
import io.github.yunxinecp.CallbackVerifier;
import io.github.yunxinecp.Client;
import io.github.yunxinecp.Started;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The public test helper: started from the configured binary, its receiver, its control API, its errors. */
class MockServerTest {
    @Test
    void aCallAndItsCallbackThroughTheReceiver() throws Exception {
        try (MockServer mock = MockServer.builder().receiveCallbacks().start()) {
            assertTrue(mock.baseUrl().startsWith("http://127.0.0.1:"), mock.baseUrl());
            mock.outcome("13777777777", "duration_sec", "61");
            Client client = mock.client();
            Started call = client.startCall("liuxuanlin", "13888888888", "13777777777", 100);
            List<MockServer.Callback> got = mock.awaitCallbacks(1, Duration.ofSeconds(30));
            assertEquals(1, got.size());
            CallRecord r = new CallbackVerifier(mock.credentials()).verifyAndParse(got.get(0).body(), got.get(0).headers()).record().get();
            assertEquals(call.session(), r.session().get());
            assertEquals(2, r.billedMinutes());
            assertEquals(1, mock.stat("start_count"));
        }
    }

    @Test
    void controlErrorsAreThrown() {
        try (MockServer mock = MockServer.start()) {
            assertThrows(java.io.UncheckedIOException.class, () -> mock.fault("no_such_fault"));
            assertThrows(IllegalArgumentException.class, () -> mock.stat("no_such_counter"));
            assertThrows(IllegalStateException.class, () -> mock.awaitCallbacks(1, Duration.ZERO));
        }
    }

    @Test
    void aMissingBinaryIsNamedWithHowItWasChosen() {
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> MockServer.builder().binary("/nonexistent/yunxin-ecp-mock").start());
        assertTrue(e.getMessage().contains("/nonexistent/yunxin-ecp-mock (given to the builder)"), e.getMessage());
    }
}
