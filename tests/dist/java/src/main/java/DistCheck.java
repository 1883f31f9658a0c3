import com.sun.net.httpserver.HttpServer;
import io.github.yunxinecp.CallRecord;
import io.github.yunxinecp.CallbackEvent;
import io.github.yunxinecp.CallbackVerificationException;
import io.github.yunxinecp.CallbackVerifier;
import io.github.yunxinecp.Client;
import io.github.yunxinecp.Credentials;
import io.github.yunxinecp.Started;
import io.github.yunxinecp.YunxinEcp;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The jar as a user's program uses it, from a project that only depends on it:
 *
 * <pre>java DistCheck MOCK_BINARY EXPECTED_CHECKSUM</pre>
 *
 * EXPECTED_CHECKSUM is SHA-1("xxxxxxxx" + "4tgggergigwow323t23t" + "1443592222") as the calling
 * script computed it. Then a call is placed on the mock (started here on 127.0.0.1, a free port),
 * its call-end callback is received here and verified with CallbackVerifier, and checked again
 * with the JDK's own MD5 and SHA-1; a body changed by one bit must be refused. Every wait is
 * bounded. Prints one "ok ..." line per check; exits 1 at the first failure.
 */
public final class DistCheck {
    private static final String APP_KEY = "fd460d34e786e7754e505bc4fab0f027";
    private static final String SECRET = "xxxxxxxx";
    private static final long WAIT_S = 30;

    private static final class Received {
        final byte[] body;
        final Map<String, List<String>> headers;

        Received(byte[] body, Map<String, List<String>> headers) {
            this.body = body;
            this.headers = headers;
        }
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            System.out.println("FAILED " + what);
            System.exit(1);
        }
        System.out.println("ok " + what);
    }

    private static String hex(byte[] bytes) {
        StringBuilder out = new StringBuilder();
        for (byte b : bytes) {
            out.append(String.format("%02x", b & 0xff));
        }
        return out.toString();
    }

    private static String first(Map<String, List<String>> headers, String name) {
        for (Map.Entry<String, List<String>> e : headers.entrySet()) {
            if (e.getKey().equalsIgnoreCase(name) && e.getValue().size() == 1) {
                return e.getValue().get(0);
            }
        }
        return null;
    }

    private static byte[] readAll(InputStream in) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[8192];
        int n;
        while ((n = in.read(buf)) > 0) {
            out.write(buf, 0, n);
        }
        return out.toByteArray();
    }

    public static void main(String[] args) throws Exception {
        String mockBinary = args[0];
        String expected = args[1];

        String sum = YunxinEcp.checksum(SECRET, "4tgggergigwow323t23t", 1443592222L);
        check(sum.equals(expected), "YunxinEcp.checksum = " + sum + " (expected " + expected + ")");
        Credentials credentials = new Credentials(APP_KEY, SECRET);
        check(credentials.sign("4tgggergigwow323t23t", 1443592222L).checkSum().equals(expected),
            "Credentials.sign's CheckSum");
        check(!credentials.toString().contains(SECRET), "Credentials.toString() hides the secret");

        // The callback receiver.
        BlockingQueue<Received> callbacks = new ArrayBlockingQueue<>(16);
        HttpServer receiver = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        receiver.createContext("/callback", exchange -> {
            byte[] body = readAll(exchange.getRequestBody());
            Map<String, List<String>> headers = new LinkedHashMap<>();
            for (Map.Entry<String, List<String>> e : exchange.getRequestHeaders().entrySet()) {
                headers.put(e.getKey(), new ArrayList<>(e.getValue()));
            }
            callbacks.offer(new Received(body, headers));
            exchange.sendResponseHeaders(200, -1);
            exchange.close();
        });
        receiver.start();
        String callbackUrl = "http://127.0.0.1:" + receiver.getAddress().getPort() + "/callback";

        // The mock, stopped by closing its standard input.
        Process mock = new ProcessBuilder(mockBinary, "--host", "127.0.0.1", "--port", "0",
            "--exit-on-stdin-eof", "--callback-url", callbackUrl)
            .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        BlockingQueue<String> lines = new ArrayBlockingQueue<>(4096);
        Thread reader = new Thread(() -> {
            try (BufferedReader out = new BufferedReader(
                    new InputStreamReader(mock.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = out.readLine()) != null) {
                    lines.offer(line);
                }
            } catch (Exception e) {
                // the mock ended
            }
        });
        reader.setDaemon(true);
        reader.start();
        String baseUrl = null;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_S);
        while (baseUrl == null && System.nanoTime() < deadline) {
            String line = lines.poll(1, TimeUnit.SECONDS);
            if (line != null && line.contains("listening on ")) {
                baseUrl = line.substring(line.indexOf("listening on ") + "listening on ".length()).trim().split("\\s+")[0];
            }
        }
        try {
            check(baseUrl != null && baseUrl.startsWith("http://127.0.0.1:"), "the mock listens on " + baseUrl);

            Client client = Client.builder(credentials).baseUrl(baseUrl).build();
            Started started = client.startCall("liuxuanlin", "13888888888", "13777777777", 100);
            check(started.session() != null && !started.session().isEmpty(), "startCall on the mock: session " + started.session());

            Received callback = callbacks.poll(WAIT_S, TimeUnit.SECONDS);
            check(callback != null, "a call-end callback arrived");

            CallbackVerifier verifier = new CallbackVerifier(credentials);
            CallbackEvent event = verifier.verifyAndParse(callback.body, callback.headers);
            check(event.isCallEnd(), "CallbackVerifier.verifyAndParse: a call-end event");
            CallRecord record = event.record().orElseThrow(IllegalStateException::new);
            check(started.session().equals(record.session().orElse(null)), "the callback's session is the call's");

            // The same callback checked with the JDK alone.
            String md5 = hex(MessageDigest.getInstance("MD5").digest(callback.body));
            String curTime = first(callback.headers, "CurTime");
            String expectedSum = hex(MessageDigest.getInstance("SHA-1").digest(
                (SECRET + md5 + curTime).getBytes(StandardCharsets.UTF_8)));
            check(md5.equals(first(callback.headers, "MD5")), "the callback's MD5 header is the body's MD5 (JDK)");
            check(expectedSum.equals(first(callback.headers, "CheckSum")), "the callback's CheckSum is SHA-1(secret + MD5 + CurTime) (JDK)");

            byte[] tampered = callback.body.clone();
            tampered[tampered.length / 2] ^= 1;
            boolean refused = false;
            try {
                verifier.verify(tampered, callback.headers);
            } catch (CallbackVerificationException e) {
                refused = true;
            }
            check(refused, "a body changed by one bit is refused");

            CallRecord queried = client.query(started.session());
            check(started.session().equals(queried.session().orElse(null)), "query returns the call's record");
        } finally {
            mock.getOutputStream().close();
            if (!mock.waitFor(WAIT_S, TimeUnit.SECONDS)) {
                mock.destroyForcibly();
            }
            receiver.stop(0);
        }
        check(mock.exitValue() == 0, "the mock stopped when its standard input closed");
    }
}
