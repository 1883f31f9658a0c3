package io.github.yunxinecp;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * The local mock ({@code yunxin-ecp-mock}) as a subprocess on a free port, for JUnit tests: started,
 * its base URL read from its first line, and its control API under {@code /_mock} as plain HTTP.
 * It is the project's own mock binary, never part of the jar.
 */
final class MockServer implements AutoCloseable {
    static final String APP_KEY = "fd460d34e786e7754e505bc4fab0f027";
    static final String SECRET = "xxxxxxxx";

    private final Process process;
    private final String baseUrl;

    private MockServer(Process process, String baseUrl) {
        this.process = process;
        this.baseUrl = baseUrl;
    }

    static File binary() {
        String named = System.getProperty("yunxinecp.mock");
        if (named != null && !named.isEmpty()) {
            return new File(named);
        }
        return new File(System.getProperty("yunxinecp.repo", ".."), "target/release/yunxin-ecp-mock");
    }

    static MockServer start(String... args) throws Exception {
        File bin = binary();
        if (!bin.canExecute()) {
            throw new IllegalStateException("no mock binary at " + bin + ": cargo build --release -p yunxin-ecp-mock");
        }
        List<String> cmd = new ArrayList<>();
        cmd.add(bin.getPath());
        cmd.add("--port");
        cmd.add("0");
        cmd.add("--exit-on-stdin-eof");
        for (String a : args) {
            cmd.add(a);
        }
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT);
        // The mock must use the samples' app, whatever the environment holds.
        pb.environment().remove("YUNXIN_APP_KEY");
        pb.environment().remove("YUNXIN_APP_SECRET");
        Process p = pb.start();
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        ExecutorService one = Executors.newSingleThreadExecutor();
        try {
            Future<String> line = one.submit(out::readLine);
            String first = line.get(60, TimeUnit.SECONDS);
            if (first == null || !first.startsWith("listening on ")) {
                p.destroy();
                throw new IllegalStateException("the mock said " + first);
            }
            return new MockServer(p, first.substring("listening on ".length()).trim());
        } finally {
            one.shutdownNow();
        }
    }

    String baseUrl() {
        return baseUrl;
    }

    /** {@code POST /_mock/<route>} with a form body; the answer's text. */
    String post(String route, String form) throws IOException {
        return call("POST", route, form);
    }

    String get(String route) throws IOException {
        return call("GET", route, null);
    }

    void fault(String kind) throws IOException {
        post("fault", "kind=" + kind);
    }

    /** A counter of {@code GET /_mock/stats} ({@code start_count}, {@code redirect_target_hits}, {@code requests}). */
    long stat(String name) throws IOException {
        return VectorsTest.GSON.fromJson(get("stats"), com.google.gson.JsonObject.class).get(name).getAsLong();
    }

    private String call(String method, String route, String form) throws IOException {
        HttpURLConnection c = (HttpURLConnection) new URL(baseUrl + "/_mock/" + route).openConnection();
        c.setRequestMethod(method);
        c.setConnectTimeout(10_000);
        c.setReadTimeout(10_000);
        if (form != null) {
            byte[] b = form.getBytes(StandardCharsets.UTF_8);
            c.setDoOutput(true);
            c.setRequestProperty("Content-Type", "application/x-www-form-urlencoded");
            try (OutputStream o = c.getOutputStream()) {
                o.write(b);
            }
        }
        int status = c.getResponseCode();
        InputStream in = status >= 400 ? c.getErrorStream() : c.getInputStream();
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        if (in != null) {
            try {
                byte[] chunk = new byte[8192];
                int n;
                while ((n = in.read(chunk)) > 0) {
                    buf.write(chunk, 0, n);
                }
            } finally {
                in.close();
            }
        }
        String text = new String(buf.toByteArray(), StandardCharsets.UTF_8);
        if (status != 200) {
            throw new IOException("mock control " + route + " answered " + status + ": " + text);
        }
        return text;
    }

    @Override
    public void close() throws Exception {
        process.getOutputStream().close();
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
    }
}
