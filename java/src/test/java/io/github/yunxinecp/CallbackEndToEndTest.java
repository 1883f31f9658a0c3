package io.github.yunxinecp;

import io.github.yunxinecp.testing.MockServer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Real call-end callbacks from the mock, received by a JDK HttpServer and verified as a web handler would. */
class CallbackEndToEndTest {
    static final class Delivery {
        final byte[] body;
        final Map<String, List<String>> headers;

        Delivery(byte[] body, Map<String, List<String>> headers) {
            this.body = body;
            this.headers = headers;
        }
    }

    @Test
    void theMocksCallbacksVerifyAndParse() throws Exception {
        BlockingQueue<Delivery> received = new LinkedBlockingQueue<>();
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/cb", exchange -> {
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            try (InputStream in = exchange.getRequestBody()) {
                byte[] chunk = new byte[8192];
                int n;
                while ((n = in.read(chunk)) > 0 && buf.size() < 1 << 20) {
                    buf.write(chunk, 0, n);
                }
            }
            received.add(new Delivery(buf.toByteArray(), new LinkedHashMap<>(exchange.getRequestHeaders())));
            exchange.sendResponseHeaders(200, -1);
            exchange.close();
        });
        server.start();
        String url = "http://127.0.0.1:" + server.getAddress().getPort() + "/cb";
        Credentials creds = new Credentials(MockServer.SAMPLE_APP_KEY, MockServer.SAMPLE_APP_SECRET);
        CallbackVerifier verifier = new CallbackVerifier(creds);
        try (MockServer mock = MockServer.start("--callback-url", url)) {
            Client client = Client.builder(creds).baseUrl(mock.baseUrl()).build();
            mock.outcome("13666666666", "duration_sec", "61");
            Started call = client.startCall("liuxuanlin", "13888888888", "13666666666", 100);
            Delivery d = received.poll(30, TimeUnit.SECONDS);
            assertNotNull(d, "no callback within 30 s");
            // The JDK server's map: names as it normalizes them, each with its values.
            CallbackEvent event = verifier.verifyAndParse(d.body, d.headers);
            assertTrue(event.isCallEnd());
            CallRecord r = event.record().get();
            assertEquals(call.session(), r.session().get());
            assertTrue(r.answered());
            assertEquals(2, r.billedMinutes());
            assertEquals(24, r.costFen());
            verifier.verify(d.body, d.headers);

            // One byte changed, or a second CheckSum beside the genuine one: refused.
            byte[] tampered = d.body.clone();
            tampered[tampered.length - 2] ^= 1;
            assertEquals("md5_mismatch",
                    assertThrows(CallbackVerificationException.class, () -> verifier.verify(tampered, d.headers)).reason());
            Map<String, List<String>> twice = new LinkedHashMap<>(d.headers);
            String sumName = null;
            for (String name : twice.keySet()) {
                if (name != null && name.equalsIgnoreCase("CheckSum")) {
                    sumName = name;
                }
            }
            List<String> sums = new ArrayList<>(twice.get(sumName));
            sums.add("0000000000000000000000000000000000000000");
            twice.put(sumName, sums);
            CallbackVerificationException dup = assertThrows(CallbackVerificationException.class, () -> verifier.verify(d.body, twice));
            assertEquals("duplicate_header", dup.reason());
            // Another app's secret.
            CallbackVerifier other = new CallbackVerifier(new Credentials(MockServer.SAMPLE_APP_KEY, "another"));
            assertEquals("checksum_mismatch",
                    assertThrows(CallbackVerificationException.class, () -> other.verify(d.body, d.headers)).reason());

            // A conference's callback too.
            Started conf = client.startConf("liuxuanlin", "13888888888", java.util.Arrays.asList("13777777777", "13666666666"), 60);
            Delivery c = received.poll(30, TimeUnit.SECONDS);
            assertNotNull(c, "no conference callback within 30 s");
            CallRecord cr = verifier.verifyAndParse(c.body, c.headers).record().get();
            assertEquals(conf.session(), cr.session().get());
            assertTrue(cr.isConference());
        } finally {
            server.stop(0);
        }
    }

    @Test
    void theInboxShowsNoLiveCheckSum() throws Exception {
        Credentials creds = new Credentials(MockServer.SAMPLE_APP_KEY, MockServer.SAMPLE_APP_SECRET);
        try (MockServer receiver = MockServer.start(); MockServer mock = MockServer.start()) {
            mock.control("POST", "callback_url", "url", receiver.baseUrl() + "/_mock/inbox");
            Client client = Client.builder(creds).baseUrl(mock.baseUrl()).build();
            client.startCall("liuxuanlin", "13888888888", "13777777777", 100);
            JsonArray inbox = new JsonArray();
            for (int i = 0; i < 300 && inbox.size() == 0; i++) { // bounded: 30 s
                inbox = JsonParser.parseString(receiver.control("GET", "inbox")).getAsJsonArray();
                if (inbox.size() == 0) {
                    Thread.sleep(100);
                }
            }
            assertEquals(1, inbox.size());
            JsonObject shown = inbox.get(0).getAsJsonObject();
            Map<String, List<String>> headers = new LinkedHashMap<>();
            for (JsonElement p : shown.getAsJsonArray("headers")) {
                JsonArray a = p.getAsJsonArray();
                headers.computeIfAbsent(a.get(0).getAsString(), k -> new ArrayList<>()).add(a.get(1).getAsString());
            }
            byte[] body = shown.get("body").getAsString().getBytes(StandardCharsets.UTF_8);
            // What the control API shows cannot be replayed: its CheckSum is redacted.
            CallbackVerificationException e = assertThrows(CallbackVerificationException.class,
                    () -> new CallbackVerifier(creds).verify(body, headers));
            assertEquals("checksum_mismatch", e.reason());
            assertFalse(e.getMessage().contains(MockServer.SAMPLE_APP_SECRET));
        }
    }
}
