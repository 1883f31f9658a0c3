import io.github.yunxinecp.ApiException;
import io.github.yunxinecp.CallbackAnswer;
import io.github.yunxinecp.CallbackEndpoint;
import io.github.yunxinecp.CallbackEvent;
import io.github.yunxinecp.CallbackVerificationException;
import io.github.yunxinecp.CallbackVerifier;
import io.github.yunxinecp.Client;
import io.github.yunxinecp.ProtocolException;
import io.github.yunxinecp.SessionKind;
import io.github.yunxinecp.TransportException;
import io.github.yunxinecp.YunxinException;
import io.github.yunxinecp.testing.MockServer;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The fault table's Java side: every fault the mock can inject, against the Java Client, for a
 * start call and for a query. Prints one tab-separated ROW per case and DONE at the end, for
 * scripts/fault-table.py; the outcome words are those of every other language (see
 * tests/faults/faults.py). The mock is the public test helper's subprocess, its call-end callbacks
 * going to the helper's receiver in this process; the last row says whether every call the mock
 * placed had its callback received and verified, and the next whether one of them, delivered twice, reached
 * its handler once. Built into faults.jar by tests/faults/build-java.sh.
 */
public final class Faults {
    /** The same faults, in the same order, as every other language's program: kind, then extra form fields. */
    static final String[][] FAULTS = {
        {"delay", "ms", "1500"},
        {"reset_before_response"},
        {"reset_mid_body"},
        {"html_502"},
        {"empty_body"},
        {"garbage_json"},
        {"oversized", "bytes", String.valueOf(4 * 1024 * 1024)},
        {"rate_limited"},
        {"server_error"},
        {"busy_503"},
        {"redirect"},
    };

    static String describe(YunxinException e) {
        if (e == null) {
            return "ok";
        }
        String advice = e.retryAdvice().code();
        if (e instanceof ApiException) {
            return "api " + ((ApiException) e).code() + " [" + advice + "]";
        }
        if (e instanceof ProtocolException) {
            return "protocol " + ((ProtocolException) e).reason() + " [" + advice + "]";
        }
        if (e instanceof TransportException) {
            return "transport " + ((TransportException) e).reason() + " sent=" + e.maybeSent() + " [" + advice + "]";
        }
        return e.getClass().getSimpleName() + " [" + advice + "]";
    }

    static String callbacksOutcome(MockServer mock, CallbackVerifier verifier) throws InterruptedException {
        long placed = mock.stat("sessions");
        List<MockServer.Callback> received = mock.awaitCallbacks((int) placed, Duration.ofSeconds(10));
        Set<String> verified = new HashSet<>();
        int refused = 0;
        for (MockServer.Callback cb : received) {
            try {
                CallbackEvent event = verifier.verifyAndParse(cb.body(), cb.headers());
                if (event.isCallEnd() && event.record().isPresent() && event.record().get().session().isPresent()) {
                    verified.add(event.record().get().session().get());
                } else {
                    refused++;
                }
            } catch (CallbackVerificationException e) {
                refused++;
            }
        }
        long lost = Math.max(0, placed - verified.size());
        if (lost == 0 && refused == 0) {
            return "all " + placed + " verified";
        }
        return lost + " lost, " + refused + " refused of " + placed;
    }

    /**
     * The first callback received, delivered twice to a handler behind the library's callback
     * endpoint (its duplicate guard in memory), as a sender that got no answer in time delivers it
     * again: "handled 1 of 2 deliveries", the repeat answered 200 duplicate.
     */
    static String duplicateOutcome(MockServer mock, CallbackVerifier verifier) throws InterruptedException {
        List<MockServer.Callback> received = mock.awaitCallbacks(1, Duration.ofSeconds(10));
        if (received.isEmpty()) {
            return "no callback received";
        }
        MockServer.Callback post = received.get(0);
        CallbackEndpoint endpoint = new CallbackEndpoint(verifier);
        AtomicInteger handled = new AtomicInteger();
        for (int delivered = 0; delivered < 2; delivered++) {
            CallbackAnswer answer = endpoint.handle(post.body(), post.headers(), (event, delivery) -> handled.incrementAndGet());
            if (answer.status() != 200) {
                return "answered " + answer.status() + " " + answer.reason();
            }
        }
        return "handled " + handled.get() + " of 2 deliveries";
    }

    public static void main(String[] args) throws Exception {
        try (MockServer mock = MockServer.builder().receiveCallbacks().start()) {
            CallbackVerifier verifier = new CallbackVerifier(mock.credentials());
            Client client = Client.builder(mock.credentials())
                    .baseUrl(mock.baseUrl())
                    .timeout(Duration.ofSeconds(1))
                    .connectTimeout(Duration.ofSeconds(1))
                    .backoff(Duration.ofMillis(50))
                    .build();
            String session = client.startCall("liuxuanlin", "13888888888", "13777777777", 100).session();
            for (String[] fault : FAULTS) {
                String kind = fault[0];
                String[] extra = new String[fault.length - 1 + 2];
                extra[0] = "times";
                extra[1] = "1";
                System.arraycopy(fault, 1, extra, 2, fault.length - 1);
                for (String operation : new String[] {"start_call", "query"}) {
                    mock.clearFaults();
                    mock.fault(kind, extra);
                    long began = System.nanoTime();
                    YunxinException error = null;
                    try {
                        if (operation.equals("start_call")) {
                            client.startCall("liuxuanlin", "13888888888", "13777777777", 100);
                        } else {
                            client.query(session, SessionKind.CALL);
                        }
                    } catch (YunxinException e) {
                        error = e;
                    }
                    long took = (System.nanoTime() - began) / 1_000_000L;
                    System.out.println("ROW\t" + kind + "\t" + operation + "\t" + describe(error) + "\t" + took);
                    System.out.flush();
                    if (kind.equals("delay")) {
                        Thread.sleep(Math.max(0, 1600 - took)); // let the delayed request finish
                    }
                }
            }
            // Where the redirect fault pointed: nothing may have reached it, signed headers and all.
            System.out.println("ROW\tredirect\tlocation_host\t" + mock.stat("redirect_target_hits") + " requests\t0");
            long began = System.nanoTime();
            String outcome = callbacksOutcome(mock, verifier);
            System.out.println("ROW\tcallbacks\tdelivered\t" + outcome + "\t" + (System.nanoTime() - began) / 1_000_000L);
            began = System.nanoTime();
            String duplicate = duplicateOutcome(mock, verifier);
            System.out.println("ROW\tduplicate_delivery\thandler\t" + duplicate + "\t" + (System.nanoTime() - began) / 1_000_000L);
        }
        System.out.println("DONE");
        System.out.flush();
    }
}
