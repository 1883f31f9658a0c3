package io.github.yunxinecp.bench;

import io.github.yunxinecp.CallbackVerificationException;
import io.github.yunxinecp.CallbackVerifier;
import io.github.yunxinecp.Credentials;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/** Verifying a 1 KiB call-end callback: both sides answer yes or no, with the same checks. */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class VerifyBench {
    final CallbackVerifier verifier = new CallbackVerifier(new Credentials(SignBench.KEY, SignBench.SECRET));
    byte[] body;
    Map<String, List<String>> headers;
    long nowMs;

    @Setup
    public void setup() {
        char[] pad = new char[1024 - 64];
        Arrays.fill(pad, 'x');
        String text = "{\"eventType\":\"5\",\"session\":\"1\",\"pad\":\"" + new String(pad) + "\"}";
        body = Arrays.copyOf(text.getBytes(StandardCharsets.UTF_8), 1024);
        body[1023] = '}';
        body[1022] = '"';
        nowMs = System.currentTimeMillis();
        String curTime = Long.toString(nowMs);
        String md5 = HandRolled.hex(HandRolled.digest("MD5").digest(body));
        headers = new LinkedHashMap<>();
        headers.put("AppKey", Collections.singletonList(SignBench.KEY));
        headers.put("CurTime", Collections.singletonList(curTime));
        headers.put("MD5", Collections.singletonList(md5));
        headers.put("CheckSum", Collections.singletonList(HandRolled.checkSum(SignBench.SECRET, md5, curTime)));
        if (!library() || !handRolled()) {
            throw new IllegalStateException("the benchmark's callback does not verify");
        }
    }

    @Benchmark
    public boolean library() {
        try {
            verifier.verify(body, headers, nowMs);
            return true;
        } catch (CallbackVerificationException e) {
            return false;
        }
    }

    @Benchmark
    public boolean handRolled() {
        return HandRolled.verify(SignBench.KEY, SignBench.SECRET, body, headers, nowMs);
    }
}
