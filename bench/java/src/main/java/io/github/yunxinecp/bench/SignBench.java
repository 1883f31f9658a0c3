package io.github.yunxinecp.bench;

import io.github.yunxinecp.Credentials;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;

/** Signing one request: both sides end with the four headers in a map, ready to set. */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class SignBench {
    static final String KEY = "fd460d34e786e7754e505bc4fab0f027";
    static final String SECRET = "xxxxxxxx";
    final Credentials creds = new Credentials(KEY, SECRET);

    @Benchmark
    public Map<String, String> library() {
        return creds.signNow().asMap();
    }

    @Benchmark
    public Map<String, String> handRolled() {
        return HandRolled.sign(KEY, SECRET);
    }
}
