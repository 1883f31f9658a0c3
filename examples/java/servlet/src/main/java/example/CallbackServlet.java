package example;

import io.github.yunxinecp.CallRecord;
import io.github.yunxinecp.CallbackEvent;
import io.github.yunxinecp.CallbackVerificationException;
import io.github.yunxinecp.CallbackVerifier;
import io.github.yunxinecp.Credentials;
import jakarta.servlet.annotation.WebServlet;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.logging.Logger;

/**
 * YunXin's call-end callback (抄送) as a plain Servlet. The signature covers the raw bytes, so the
 * body is read as bytes (never through getParameter or a JSON binding that re-encodes it) and
 * handed to the verifier with every header value as received: a repeated AppKey, CurTime, MD5 or
 * CheckSum is refused rather than one of them picked.
 *
 * <p>The verifier checks the MD5 of the body, the CheckSum, the AppKey and that CurTime is recent
 * (a replayed callback is refused). The answer is 200 once the event is accepted; YunXin sends a
 * callback again when it gets anything else, so a refusal is 401 and the handler must tolerate the
 * same event twice (key it by session).
 */
@WebServlet("/yunxin/callback")
public class CallbackServlet extends HttpServlet {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = Logger.getLogger(CallbackServlet.class.getName());
    /** Callbacks are small: a larger body is refused unread. */
    private static final int MAX_BODY = 1 << 20;

    /** From YUNXIN_APP_KEY and YUNXIN_APP_SECRET; immutable and thread-safe. */
    private transient CallbackVerifier verifier;

    @Override
    public void init() {
        verifier = new CallbackVerifier(Credentials.fromEnv());
    }

    @Override
    protected void doPost(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        byte[] body = readCapped(req.getInputStream());
        if (body == null) {
            resp.sendError(HttpServletResponse.SC_REQUEST_ENTITY_TOO_LARGE);
            return;
        }
        Map<String, List<String>> headers = new LinkedHashMap<>();
        for (String name : Collections.list(req.getHeaderNames())) {
            headers.put(name, new ArrayList<>(Collections.list(req.getHeaders(name))));
        }
        CallbackEvent event;
        try {
            event = verifier.verifyAndParse(body, headers);
        } catch (CallbackVerificationException e) {
            // The reason (md5_mismatch, checksum_mismatch, stale, ...) names no secret.
            LOG.warning("callback refused: " + e.reason());
            resp.sendError(HttpServletResponse.SC_UNAUTHORIZED);
            return;
        }
        if (event.isCallEnd()) {
            CallRecord r = event.record().get();
            LOG.info("call ended: session=" + r.session().orElse("?") + " answered=" + r.answered() + " billed minutes="
                    + r.billedMinutes() + " cost=" + r.costFen() + " fen");
        }
        resp.setStatus(HttpServletResponse.SC_OK);
    }

    /** The whole body, or null past {@link #MAX_BODY}. */
    private static byte[] readCapped(InputStream in) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] chunk = new byte[8192];
        int n;
        while ((n = in.read(chunk)) >= 0) {
            if (out.size() + n > MAX_BODY) {
                return null;
            }
            out.write(chunk, 0, n);
        }
        return out.toByteArray();
    }
}
