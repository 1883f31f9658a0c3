package example;

import io.github.yunxinecp.CallRecord;
import io.github.yunxinecp.Client;
import io.github.yunxinecp.Credentials;
import io.github.yunxinecp.RetryAdvice;
import io.github.yunxinecp.SessionKind;
import io.github.yunxinecp.Started;
import io.github.yunxinecp.YunxinException;
import java.util.Arrays;

/**
 * The product documents' Java sample (a callback call, a conference, a query), done right: a fresh
 * nonce and CurTime per request instead of the sample's fixed ones, the conference's callees as a
 * JSON array, timeouts, no redirect followed, and a start that may have been placed never sent
 * twice (the error says so: query first).
 *
 * <p>Reads {@code YUNXIN_APP_KEY} and {@code YUNXIN_APP_SECRET}; {@code YUNXIN_BASE_URL} points it
 * at a local mock ({@code yunxin-ecp mock}) instead of the service. Against the service, each start
 * is a real, billable call.
 */
public final class Sample {
    private Sample() {}

    public static void main(String[] args) {
        Client client = Client.builder(Credentials.fromEnv()).build();
        System.out.println("service: " + client.baseUrl());
        try {
            // 发起单人专线电话: rings the caller, then the callee; cut after maxDur seconds.
            Started call = client.startCall("liuxuanlin", "13888888888", "13777777777", 100);
            System.out.println("call session: " + call.session());

            // 发起多人专线电话: 2 to 7 callees besides the caller.
            Started conf = client.startConf("liuxuanlin", "13888888888", Arrays.asList("13777777777", "13666666666"), 60);
            System.out.println("conference session: " + conf.session());

            // 查询单人/多人专线电话详情
            CallRecord r = client.query(call.session(), SessionKind.CALL);
            System.out.println("call: status=" + r.status().orElse("?") + " answered=" + r.answered() + " billed minutes="
                    + r.billedMinutes() + " cost=" + r.costFen() + " fen");
            for (CallRecord.Leg leg : r.legs()) {
                System.out.println("  leg " + leg.endpoint().orElse("?") + ": " + leg.hangCause().orElse("?"));
            }
            CallRecord c = client.query(conf.session(), SessionKind.CONFERENCE);
            System.out.println("conference: members=" + c.members().map(Object::toString).orElse("?"));
        } catch (YunxinException e) {
            // The message names the field, rule or API code; never the secret or a signature.
            System.err.println("failed: " + e.getMessage());
            if (e.retryAdvice() == RetryAdvice.OUTCOME_UNKNOWN) {
                System.err.println("the call may have been placed: query it before starting it again");
            }
            System.exit(1);
        }
    }
}
