package io.github.yunxinecp.testing;

import com.sun.net.httpserver.HttpServer;
import io.github.yunxinecp.Client;
import io.github.yunxinecp.Credentials;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.HttpURLConnection;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URL;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The local mock of the ECP service as a child process on a free port of 127.0.0.1, for your own
 * JUnit tests. The mock is a separate program (it is not in this jar, and no production path uses
 * it): the project's {@code yunxin-ecp-mock}, or the operators' {@code yunxin-ecp} run as
 * {@code yunxin-ecp mock}. It is found, in this order, at
 * <ol>
 *   <li>the path the system property {@value #BINARY_PROPERTY} names,</li>
 *   <li>the path the environment variable {@value #BINARY_ENV} names,</li>
 *   <li>{@code yunxin-ecp-mock} on {@code PATH},</li>
 *   <li>{@code yunxin-ecp} on {@code PATH}, run as {@code yunxin-ecp mock}</li>
 * </ol>
 * (the same order as the Node package's {@code yunxin-ecp/testing}).
 *
 * <pre>{@code
 * try (MockServer mock = MockServer.builder().receiveCallbacks().start()) {
 *     Client client = mock.client();
 *     Started call = client.startCall("liuxuanlin", "13888888888", "13777777777", 100);
 *     MockServer.Callback cb = mock.awaitCallbacks(1, Duration.ofSeconds(10)).get(0);
 *     CallbackEvent event = new CallbackVerifier(mock.credentials()).verifyAndParse(cb.body(), cb.headers());
 * }
 * }</pre>
 *
 * <p>The mock accepts the official samples' app ({@link #SAMPLE_APP_KEY}, {@link #SAMPLE_APP_SECRET}):
 * {@link #credentials()}. It stops when this is closed (its standard input closes), and on its own
 * when this JVM dies.
 */
public final class MockServer implements AutoCloseable {
    /** The samples' app key, which the mock accepts. */
    public static final String SAMPLE_APP_KEY = "fd460d34e786e7754e505bc4fab0f027";
    /** The samples' secret: public, for tests against the mock only. */
    public static final String SAMPLE_APP_SECRET = "xxxxxxxx";
    /** A system property naming the mock binary. */
    public static final String BINARY_PROPERTY = "yunxinecp.mock";
    /** An environment variable naming the mock binary. */
    public static final String BINARY_ENV = "YUNXIN_ECP_MOCK";

    private static final String LISTENING = "listening on ";
    private static final long START_TIMEOUT_S = 60;

    private final Process process;
    private final String baseUrl;
    private final HttpServer receiver;
    private final List<Callback> received;

    private MockServer(Process process, String baseUrl, HttpServer receiver, List<Callback> received) {
        this.process = process;
        this.baseUrl = baseUrl;
        this.receiver = receiver;
        this.received = received;
    }

    /** A call-end callback as it arrived at {@link Builder#receiveCallbacks()}'s receiver: raw body and headers. */
    public static final class Callback {
        private final byte[] body;
        private final Map<String, List<String>> headers;

        Callback(byte[] body, Map<String, List<String>> headers) {
            this.body = body;
            this.headers = headers;
        }

        /** The body as received (a copy), for {@code CallbackVerifier}. */
        public byte[] body() {
            return body.clone();
        }

        /** The headers as the JDK's HTTP server gives them: each name with its values. */
        public Map<String, List<String>> headers() {
            return headers;
        }
    }

    /** The mock's options. */
    public static final class Builder {
        private String binary;
        private String callbackUrl;
        private boolean receive;
        private final List<String> args = new ArrayList<>();

        private Builder() {}

        /** The mock binary, instead of looking for it (see the class documentation). */
        public Builder binary(String path) {
            this.binary = path;
            return this;
        }

        /** Where the mock POSTs call-end callbacks (your own endpoint under test). */
        public Builder callbackUrl(String url) {
            this.callbackUrl = url;
            this.receive = false;
            return this;
        }

        /**
         * Callbacks go to a receiver in this JVM (the JDK's {@code com.sun.net.httpserver} on
         * 127.0.0.1), which answers 200 and keeps each: {@link MockServer#awaitCallbacks}.
         */
        public Builder receiveCallbacks() {
            this.receive = true;
            this.callbackUrl = null;
            return this;
        }

        /** More command-line options of the mock ({@code --duplicate-callbacks}, {@code --ecp-disabled}, ...). */
        public Builder args(String... more) {
            args.addAll(Arrays.asList(more));
            return this;
        }

        /** Starts the mock and waits until it listens. */
        public MockServer start() {
            List<String> command = command(binary);
            command.add("--host");
            command.add("127.0.0.1");
            command.add("--port");
            command.add("0");
            command.add("--exit-on-stdin-eof");
            HttpServer server = null;
            List<Callback> received = Collections.synchronizedList(new ArrayList<Callback>());
            String url = callbackUrl;
            if (receive) {
                server = receiver(received);
                url = "http://127.0.0.1:" + server.getAddress().getPort() + "/callback";
            }
            if (url != null) {
                command.add("--callback-url");
                command.add(url);
            }
            command.addAll(args);
            try {
                return launch(command, server, received);
            } catch (RuntimeException e) {
                if (server != null) {
                    server.stop(0);
                }
                throw e;
            }
        }
    }

    /** Options first: a callback URL, a receiver, the binary, more arguments. */
    public static Builder builder() {
        return new Builder();
    }

    /** Starts the mock with these extra command-line options, callbacks going nowhere. */
    public static MockServer start(String... args) {
        return builder().args(args).start();
    }

    /** The command that runs the mock, found as the class documentation says; an error naming each place tried. */
    static List<String> command(String explicit) {
        List<String> tried = new ArrayList<>();
        if (explicit != null) {
            return found(explicit, "given to the builder", tried);
        }
        String property = System.getProperty(BINARY_PROPERTY);
        if (property != null && !property.isEmpty()) {
            return found(property, "named by the system property " + BINARY_PROPERTY, tried);
        }
        String env = System.getenv(BINARY_ENV);
        if (env != null && !env.isEmpty()) {
            return found(env, "named by the environment variable " + BINARY_ENV, tried);
        }
        tried.add("the system property " + BINARY_PROPERTY + " (unset)");
        tried.add("the environment variable " + BINARY_ENV + " (unset)");
        File mock = onPath("yunxin-ecp-mock");
        if (mock != null) {
            return new ArrayList<>(Collections.singletonList(mock.getPath()));
        }
        tried.add("yunxin-ecp-mock on PATH");
        File cli = onPath("yunxin-ecp");
        if (cli != null) {
            return new ArrayList<>(Arrays.asList(cli.getPath(), "mock"));
        }
        tried.add("yunxin-ecp on PATH (as 'yunxin-ecp mock')");
        throw new IllegalStateException("no mock binary found; tried " + String.join(", ", tried)
                + ". Build it (cargo build --release -p yunxin-ecp-mock) or install the yunxin-ecp command, and name it with -D"
                + BINARY_PROPERTY + "=/path/to/yunxin-ecp-mock");
    }

    private static List<String> found(String path, String how, List<String> tried) {
        File f = new File(path);
        if (!f.isFile() || !f.canExecute()) {
            throw new IllegalStateException("no executable mock binary at " + f.getAbsolutePath() + " (" + how + ")");
        }
        return new ArrayList<>(Collections.singletonList(f.getAbsolutePath()));
    }

    private static File onPath(String name) {
        String path = System.getenv("PATH");
        if (path == null) {
            return null;
        }
        for (String dir : path.split(File.pathSeparator)) {
            if (dir.isEmpty()) {
                continue;
            }
            File f = new File(dir, name);
            if (f.isFile() && f.canExecute()) {
                return f;
            }
        }
        return null;
    }

    private static HttpServer receiver(List<Callback> received) {
        HttpServer server;
        try {
            server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        } catch (IOException e) {
            throw new UncheckedIOException("could not open the callback receiver on 127.0.0.1", e);
        }
        server.createContext("/callback", exchange -> {
            try {
                byte[] body = readAll(exchange.getRequestBody());
                Map<String, List<String>> headers = new LinkedHashMap<>();
                for (Map.Entry<String, List<String>> h : exchange.getRequestHeaders().entrySet()) {
                    headers.put(h.getKey(), Collections.unmodifiableList(new ArrayList<>(h.getValue())));
                }
                received.add(new Callback(body, Collections.unmodifiableMap(headers)));
                synchronized (received) {
                    received.notifyAll();
                }
                exchange.sendResponseHeaders(200, -1);
            } finally {
                exchange.close();
            }
        });
        // The mock sends callbacks from several threads: answer them side by side.
        server.setExecutor(Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "yunxin-ecp-mock-callbacks");
            t.setDaemon(true);
            return t;
        }));
        server.start();
        return server;
    }

    private static MockServer launch(List<String> command, HttpServer server, List<Callback> received) {
        ProcessBuilder pb = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT);
        // The mock accepts the samples' app whatever this environment's credentials are.
        pb.environment().remove("YUNXIN_APP_KEY");
        pb.environment().remove("YUNXIN_APP_SECRET");
        pb.environment().remove("YUNXIN_BASE_URL");
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new UncheckedIOException("could not start the mock (" + command.get(0) + ")", e);
        }
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        ExecutorService one = Executors.newSingleThreadExecutor();
        String first;
        try {
            Future<String> line = one.submit(out::readLine);
            first = line.get(START_TIMEOUT_S, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            p.destroyForcibly();
            throw new IllegalStateException("the mock (" + command.get(0) + ") printed no base URL within " + START_TIMEOUT_S + " s");
        } catch (Exception e) {
            p.destroyForcibly();
            throw new IllegalStateException("could not read the mock's first line (" + command.get(0) + "): " + e, e);
        } finally {
            one.shutdownNow();
        }
        if (first == null || !first.startsWith(LISTENING)) {
            p.destroyForcibly();
            throw new IllegalStateException("the mock (" + command.get(0) + ") did not start: its first line was " + first);
        }
        drain(p.getInputStream());
        return new MockServer(p, first.substring(LISTENING.length()).trim(), server, received);
    }

    /** Keeps reading the mock's output (a line per request), so it never blocks on a full pipe. */
    private static void drain(InputStream in) {
        Thread t = new Thread(() -> {
            byte[] buf = new byte[8192];
            try {
                while (in.read(buf) >= 0) {
                    // discarded
                }
            } catch (IOException e) {
                // the mock exited
            }
        }, "yunxin-ecp-mock-output");
        t.setDaemon(true);
        t.start();
    }

    /** The mock's base URL ({@code http://127.0.0.1:PORT}), for {@code Client.builder(...).baseUrl(...)}. */
    public String baseUrl() {
        return baseUrl;
    }

    /** The samples' app, which the mock accepts. */
    public Credentials credentials() {
        return new Credentials(SAMPLE_APP_KEY, SAMPLE_APP_SECRET);
    }

    /** A client of the samples' app against the mock, with the default settings. */
    public Client client() {
        return Client.builder(credentials()).baseUrl(baseUrl).build();
    }

    /**
     * A request to the mock's control API under {@code /_mock} ({@code GET /_mock} lists it):
     * {@code method} GET or POST, {@code route} such as {@code "stats"} or {@code "fault"},
     * {@code form} name, value, name, value... The answer's JSON text; an answer other than 200
     * is thrown.
     */
    public String control(String method, String route, String... form) {
        if (form.length % 2 != 0) {
            throw new IllegalArgumentException("form: names and values in pairs, got " + form.length + " strings");
        }
        StringBuilder body = new StringBuilder();
        try {
            for (int i = 0; i < form.length; i += 2) {
                if (body.length() > 0) {
                    body.append('&');
                }
                body.append(URLEncoder.encode(form[i], "UTF-8")).append('=').append(URLEncoder.encode(form[i + 1], "UTF-8"));
            }
            return call(method, route.startsWith("/") ? route.substring(1) : route, "POST".equals(method) ? body.toString() : null);
        } catch (IOException e) {
            throw new UncheckedIOException("mock control " + method + " /_mock/" + route, e);
        }
    }

    /** Queues a fault ({@code busy_503}, {@code redirect}, {@code delay} with {@code "ms", "1500"}, ...) for the next request. */
    public void fault(String kind, String... more) {
        String[] form = new String[2 + more.length];
        form[0] = "kind";
        form[1] = kind;
        System.arraycopy(more, 0, form, 2, more.length);
        control("POST", "fault", form);
    }

    /** Drops every queued fault. */
    public void clearFaults() {
        control("POST", "faults/clear");
    }

    /** The outcome for calls to {@code number}: e.g. {@code "duration_sec", "61"} or {@code "status", "USER_BUSY"}. */
    public void outcome(String number, String... more) {
        String[] form = new String[2 + more.length];
        form[0] = "number";
        form[1] = number;
        System.arraycopy(more, 0, form, 2, more.length);
        control("POST", "outcome", form);
    }

    private static final Pattern NUMBER = Pattern.compile("\"([a-z_]+)\"\\s*:\\s*(-?[0-9]+)");

    /** One counter of {@code GET /_mock/stats}: {@code start_count}, {@code sessions}, {@code redirect_target_hits}, ... */
    public long stat(String name) {
        Matcher m = NUMBER.matcher(control("GET", "stats"));
        while (m.find()) {
            if (m.group(1).equals(name)) {
                return Long.parseLong(m.group(2));
            }
        }
        throw new IllegalArgumentException("the mock's stats have no counter " + name);
    }

    /**
     * The callbacks received so far, once at least {@code count} have arrived (oldest first); fewer
     * when {@code timeout} passes first. Needs {@link Builder#receiveCallbacks()}.
     */
    public List<Callback> awaitCallbacks(int count, Duration timeout) throws InterruptedException {
        if (receiver == null) {
            throw new IllegalStateException("this mock has no receiver: start it with MockServer.builder().receiveCallbacks()");
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (received) {
            while (received.size() < count) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    break;
                }
                TimeUnit.NANOSECONDS.timedWait(received, left);
            }
            return new ArrayList<>(received);
        }
    }

    private String call(String method, String route, String form) throws IOException {
        HttpURLConnection c = (HttpURLConnection) new URL(baseUrl + "/_mock/" + route).openConnection();
        c.setRequestMethod(method);
        c.setConnectTimeout(10_000);
        c.setReadTimeout(30_000);
        if (form != null) {
            c.setDoOutput(true);
            c.setRequestProperty("Content-Type", "application/x-www-form-urlencoded");
            try (OutputStream o = c.getOutputStream()) {
                o.write(form.getBytes(StandardCharsets.UTF_8));
            }
        }
        int status = c.getResponseCode();
        InputStream in = status >= 400 ? c.getErrorStream() : c.getInputStream();
        String text = in == null ? "" : new String(readAll(in), StandardCharsets.UTF_8);
        if (status != 200) {
            throw new IOException("mock control " + method + " /_mock/" + route + " answered " + status + ": " + text);
        }
        return text;
    }

    private static byte[] readAll(InputStream in) throws IOException {
        try {
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            byte[] chunk = new byte[8192];
            int n;
            while ((n = in.read(chunk)) >= 0) {
                buf.write(chunk, 0, n);
            }
            return buf.toByteArray();
        } finally {
            in.close();
        }
    }

    /** Stops the mock (closes its standard input, then kills it if it lingers) and the receiver. */
    @Override
    public void close() {
        try {
            process.getOutputStream().close();
        } catch (IOException e) {
            // already gone
        }
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        } finally {
            if (receiver != null) {
                receiver.stop(0);
            }
        }
    }

    @Override
    public String toString() {
        return "MockServer{baseUrl=" + baseUrl + "}";
    }
}
