package example;

import io.github.yunxinecp.CallRecord;
import io.github.yunxinecp.CallbackEvent;
import io.github.yunxinecp.CallbackVerificationException;
import io.github.yunxinecp.CallbackVerifier;
import io.github.yunxinecp.Client;
import io.github.yunxinecp.RetryAdvice;
import io.github.yunxinecp.Started;
import io.github.yunxinecp.ValidationException;
import io.github.yunxinecp.YunxinException;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/**
 * Places a call, and receives its call-end callback (抄送).
 *
 * <p>The callback's signature covers the raw bytes: the body is bound as {@code byte[]} (never as a
 * parsed object re-serialized) and Spring's {@link HttpHeaders}, a map of each name to all its
 * values, goes to the verifier as it is, so a repeated signature header is refused. The library's
 * events reach SLF4J through java.util.logging when the jul-to-slf4j bridge is installed
 * (Spring Boot's default logging does so).
 */
@RestController
public class CallController {
    private static final Logger LOG = LoggerFactory.getLogger(CallController.class);

    private final Client client;
    private final CallbackVerifier verifier;

    public CallController(Client client, CallbackVerifier verifier) {
        this.client = client;
        this.verifier = verifier;
    }

    /** POST /calls?callerAcc=...&caller=...&callee=...&maxDur=100: a billable call. */
    @PostMapping("/calls")
    public ResponseEntity<Map<String, String>> startCall(@RequestParam String callerAcc, @RequestParam String caller,
            @RequestParam String callee, @RequestParam(defaultValue = "100") int maxDur) {
        try {
            Started started = client.startCall(callerAcc, caller, callee, maxDur);
            return ResponseEntity.ok(Map.of("session", started.session()));
        } catch (ValidationException e) {
            // Refused before sending: the field and rule, e.g. callee / not_phone_number.
            return ResponseEntity.badRequest().body(Map.of("field", e.field(), "rule", e.rule()));
        } catch (YunxinException e) {
            // OUTCOME_UNKNOWN: the call may exist; a client must not simply press "call" again.
            HttpStatus status = e.retryAdvice() == RetryAdvice.OUTCOME_UNKNOWN ? HttpStatus.ACCEPTED : HttpStatus.BAD_GATEWAY;
            return ResponseEntity.status(status).body(Map.of("error", e.kind(), "retry", e.retryAdvice().code()));
        }
    }

    /** YunXin's call-end callback: 200 once accepted (anything else makes YunXin send it again). */
    @PostMapping("/yunxin/callback")
    public ResponseEntity<Void> callback(@RequestBody byte[] body, @RequestHeader HttpHeaders headers) {
        CallbackEvent event;
        try {
            event = verifier.verifyAndParse(body, headers);
        } catch (CallbackVerificationException e) {
            LOG.warn("callback refused: {}", e.reason());
            return ResponseEntity.status(HttpStatus.UNAUTHORIZED).build();
        }
        if (event.isCallEnd()) {
            CallRecord r = event.record().get();
            // The same event may come twice: key the handling by session.
            LOG.info("call ended: session={} answered={} billed minutes={} cost={} fen", r.session().orElse("?"), r.answered(),
                    r.billedMinutes(), r.costFen());
        }
        return ResponseEntity.ok().build();
    }
}
