package example;

import io.github.yunxinecp.CallRecord;
import io.github.yunxinecp.CallbackAnswer;
import io.github.yunxinecp.CallbackEndpoint;
import io.github.yunxinecp.CallbackEvent;
import io.github.yunxinecp.Client;
import io.github.yunxinecp.Delivery;
import io.github.yunxinecp.RetryAdvice;
import io.github.yunxinecp.Started;
import io.github.yunxinecp.ValidationException;
import io.github.yunxinecp.YunxinException;
import java.io.IOException;
import java.io.InputStream;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/**
 * Places a call, and receives its call-end callback (抄送).
 *
 * <p>The callback goes through the library's {@link CallbackEndpoint} (see {@link #callback}). The library's
 * events reach SLF4J through java.util.logging when the jul-to-slf4j bridge is installed
 * (Spring Boot's default logging does so).
 */
@RestController
public class CallController {
    private static final Logger LOG = LoggerFactory.getLogger(CallController.class);

    private final Client client;
    private final CallbackEndpoint endpoint;

    public CallController(Client client, CallbackEndpoint endpoint) {
        this.client = client;
        this.endpoint = endpoint;
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

    /**
     * YunXin's call-end callback, each delivery handled once. The raw body is read by the library
     * from the request's stream (at most 1 MiB; never bound to an object and re-serialized), and
     * Spring's {@link HttpHeaders}, each name with all its values, goes to it as it is, so that a
     * repeated signature header is refused. A repeat of a delivery handled before is answered 200
     * {"result":"duplicate"} without {@link #record}; one that arrives while the first is being handled
     * 409; a refused callback 403 (400 when it is no callback) with the reason. When {@link #record}
     * throws, the delivery is released and Spring answers 500: YunXin's next attempt is handled.
     */
    @PostMapping("/yunxin/callback")
    public ResponseEntity<String> callback(InputStream body, @RequestHeader HttpHeaders headers) throws IOException {
        CallbackAnswer answer = endpoint.handle(body, headers, this::record);
        if (!answer.handled()) {
            LOG.info("callback answered {}: {}", answer.status(), answer.reason());
        }
        ResponseEntity.BodyBuilder reply = ResponseEntity.status(answer.status());
        return answer.contentType() == null ? reply.build() : reply.contentType(MediaType.APPLICATION_JSON).body(answer.body());
    }

    /** The work done once per delivery: book the call. */
    private void record(CallbackEvent event, Delivery delivery) {
        if (delivery.credential() > 0) {
            LOG.warn("callback signed with the previous AppSecret: the rotation is not over");
        }
        if (event.isCallEnd()) {
            CallRecord r = event.record().get();
            // A repeat YunXin signs afresh (a new CurTime) is a new delivery: book by session.
            LOG.info("call ended: session={} answered={} billed minutes={} cost={} fen", r.session().orElse("?"), r.answered(),
                    r.billedMinutes(), r.costFen());
        }
    }
}
