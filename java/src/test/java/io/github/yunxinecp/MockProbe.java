package io.github.yunxinecp;

import io.github.yunxinecp.testing.MockServer;

/**
 * A fresh JVM's first use of the public MockServer, for tests/java/run.sh, which varies the system
 * property, the environment and PATH: starts the mock wherever it is found and places a call on
 * it; or prints the error (which must name what was tried) and exits 3.
 */
public final class MockProbe {
    private MockProbe() {}

    public static void main(String[] args) {
        try (MockServer mock = MockServer.start()) {
            String session = mock.client().startCall("liuxuanlin", "13888888888", "13777777777", 100).session();
            System.out.println("started " + session + " on " + mock.baseUrl() + ", start_count " + mock.stat("start_count"));
        } catch (IllegalStateException e) {
            System.out.println(e.getMessage());
            System.exit(3);
        }
    }
}
