package io.github.yunxinecp.bench;

import io.github.yunxinecp.CallRecord;
import io.github.yunxinecp.Client;
import io.github.yunxinecp.testing.MockServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.URL;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Requests per second against the mock (a subprocess on 127.0.0.1), one thread: the library's
 * query against a hand-rolled HttpURLConnection loop that signs, posts the form, reads the answer
 * and checks its code. Both reuse kept-alive connections (HttpURLConnection's own pool).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class ClientBench {
    MockServer mock;
    Client client;
    String session;
    URL queryUrl;
    byte[] form;

    @Setup
    public void setup() throws IOException {
        mock = MockServer.start();
        client = mock.client();
        session = client.startCall("liuxuanlin", "13888888888", "13777777777", 100).session();
        queryUrl = new URL(mock.baseUrl() + "/call/ecp/queryBySession.action");
        form = ("session=" + URLEncoder.encode(session, "UTF-8") + "&type=1").getBytes(StandardCharsets.UTF_8);
        if (!handRolled()) {
            throw new IllegalStateException("the hand-rolled query failed");
        }
    }

    @TearDown
    public void tearDown() {
        mock.close();
    }

    @Benchmark
    public CallRecord library() {
        return client.query(session);
    }

    @Benchmark
    public boolean handRolled() throws IOException {
        HttpURLConnection c = (HttpURLConnection) queryUrl.openConnection();
        c.setInstanceFollowRedirects(false);
        c.setConnectTimeout(5000);
        c.setReadTimeout(15000);
        c.setRequestMethod("POST");
        c.setDoOutput(true);
        c.setFixedLengthStreamingMode(form.length);
        for (Map.Entry<String, String> h : HandRolled.sign(SignBench.KEY, SignBench.SECRET).entrySet()) {
            c.setRequestProperty(h.getKey(), h.getValue());
        }
        c.setRequestProperty("Content-Type", "application/x-www-form-urlencoded;charset=utf-8");
        try (OutputStream out = c.getOutputStream()) {
            out.write(form);
        }
        int status = c.getResponseCode();
        InputStream in = status >= 400 ? c.getErrorStream() : c.getInputStream();
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        try {
            byte[] chunk = new byte[8192];
            int n;
            while ((n = in.read(chunk)) >= 0) {
                buf.write(chunk, 0, n);
            }
        } finally {
            in.close();
        }
        return status == 200 && new String(buf.toByteArray(), StandardCharsets.UTF_8).contains("\"code\":200");
    }
}
