package example;

import io.github.yunxinecp.CallRecord;
import io.github.yunxinecp.CallbackAnswer;
import io.github.yunxinecp.CallbackEndpoint;
import io.github.yunxinecp.CallbackEvent;
import io.github.yunxinecp.CallbackVerifier;
import io.github.yunxinecp.Credentials;
import io.github.yunxinecp.Delivery;
import jakarta.servlet.annotation.WebServlet;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.logging.Logger;

/**
 * YunXin's call-end callback (抄送) as a plain Servlet, each delivery handled once.
 *
 * <p>The signature covers the raw bytes, so the library reads the body from the request's stream
 * itself (never through getParameter or a JSON binding that re-encodes it), at most 1 MiB (a
 * Content-Length over it is answered 413 unread), and is given every header value as received: a
 * repeated AppKey, CurTime, MD5 or CheckSum is refused rather than one of them picked.
 *
 * <p>YunXin sends a callback again when it gets no 200 in time. The endpoint remembers each
 * delivery it handled (in this process: with several instances, give it a guard over a store they
 * share, Redis or a table): a repeat is answered 200 {"result":"duplicate"} without calling
 * {@link #record} again, and a repeat arriving while the first is still being handled gets 409, so
 * that YunXin tries later. When {@link #record} throws, the delivery is released and the container
 * answers 500: YunXin's next attempt is handled. A refused callback gets 403 (400 when the body is
 * no callback) with the reason, never processed.
 *
 * <p>During an AppSecret rotation, set YUNXIN_APP_SECRET_PREVIOUS to the old secret: callbacks
 * signed with either are accepted until it is unset.
 */
@WebServlet("/yunxin/callback")
public class CallbackServlet extends HttpServlet {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = Logger.getLogger(CallbackServlet.class.getName());

    /** Verifies, reads within the cap, and remembers deliveries; thread-safe, one for all requests. */
    private transient CallbackEndpoint endpoint;

    @Override
    public void init() {
        endpoint = new CallbackEndpoint(verifier());
    }

    /** From YUNXIN_APP_KEY and YUNXIN_APP_SECRET, and the previous secret while a rotation lasts. */
    static CallbackVerifier verifier() {
        Credentials current = Credentials.fromEnv();
        String previous = System.getenv("YUNXIN_APP_SECRET_PREVIOUS");
        if (previous == null || previous.isEmpty()) {
            return new CallbackVerifier(current);
        }
        return new CallbackVerifier(current, new Credentials(current.appKey(), previous));
    }

    @Override
    protected void doPost(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        Map<String, List<String>> headers = new LinkedHashMap<>();
        for (String name : Collections.list(req.getHeaderNames())) {
            headers.put(name, new ArrayList<>(Collections.list(req.getHeaders(name))));
        }
        CallbackAnswer answer = endpoint.handle(req.getInputStream(), headers, CallbackServlet::record);
        if (!answer.handled()) {
            // The reason (md5_mismatch, stale, duplicate, ...) names no secret.
            LOG.info("callback answered " + answer.status() + ": " + answer.reason());
        }
        resp.setStatus(answer.status());
        if (answer.contentType() != null) {
            resp.setContentType(answer.contentType());
            resp.getOutputStream().write(answer.bodyBytes());
        }
    }

    /** The work done once per delivery: book the call. Throwing makes YunXin's next attempt handled. */
    static void record(CallbackEvent event, Delivery delivery) {
        if (delivery.credential() == 1) {
            LOG.warning("callback signed with the previous AppSecret: the rotation is not over");
        }
        if (event.isCallEnd()) {
            CallRecord r = event.record().get();
            // A repeat YunXin signs afresh (a new CurTime) is a new delivery: book by session.
            LOG.info("call ended: session=" + r.session().orElse("?") + " answered=" + r.answered() + " billed minutes="
                    + r.billedMinutes() + " cost=" + r.costFen() + " fen");
        }
    }
}
