package io.github.yunxinecp;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * Delivers one signed call-end callback to a running endpoint twice, as a sender retrying does, then
 * one signed with another secret, for tests/java/run.sh (which runs the Spring Boot example with it):
 * prints each answer's status and body on a line. The credentials are YUNXIN_APP_KEY and
 * YUNXIN_APP_SECRET; the record's session is the second argument.
 */
public final class CallbackProbe {
    private CallbackProbe() {}

    public static void main(String[] args) throws Exception {
        String url = args[0];
        String session = args[1];
        byte[] body = ("{\"callback\":\"{\\\"session\\\":\\\"" + session + "\\\",\\\"durationSec\\\":61}\",\"eventType\":\"10\"}")
                .getBytes(StandardCharsets.UTF_8);
        Credentials credentials = Credentials.fromEnv();
        Map<String, String> headers = YunxinEcp.signCallback(credentials, body);
        for (String name : new String[] {"first", "again"}) {
            String[] answer = post(url, body, headers);
            System.out.println(name + " " + answer[0] + " " + answer[1]);
        }
        Credentials forged = new Credentials(credentials.appKey(), "not-" + credentials.appKey() + "-secret");
        String[] answer = post(url, body, YunxinEcp.signCallback(forged, body));
        System.out.println("forged " + answer[0] + " " + answer[1]);
    }

    /** POSTs {@code body} with {@code headers}; the status and the answer's body. */
    static String[] post(String url, byte[] body, Map<String, String> headers) throws IOException {
        HttpURLConnection c = (HttpURLConnection) new URL(url).openConnection();
        c.setRequestMethod("POST");
        c.setDoOutput(true);
        c.setConnectTimeout(10_000);
        c.setReadTimeout(30_000);
        headers.forEach(c::setRequestProperty);
        try (OutputStream out = c.getOutputStream()) {
            out.write(body);
        }
        int status = c.getResponseCode();
        InputStream in = status >= 400 ? c.getErrorStream() : c.getInputStream();
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        if (in != null) {
            try (InputStream i = in) {
                byte[] chunk = new byte[4096];
                int n;
                while ((n = i.read(chunk)) > 0) {
                    got.write(chunk, 0, n);
                }
            }
        }
        return new String[] {String.valueOf(status), new String(got.toByteArray(), StandardCharsets.UTF_8)};
    }
}
