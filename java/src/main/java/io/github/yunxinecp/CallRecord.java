package io.github.yunxinecp;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * A call or conference record, from a query or a call-end callback. Use {@link #answered()}, not
 * {@link #status()}: the service says {@code SUCCESS} even when nobody picked up. Every field may be
 * absent; {@link #rawJson()} keeps the record whole.
 */
public final class CallRecord {
    /** One participant's leg of a two-party call. */
    public static final class Leg {
        private final String endpoint;
        private final String endTime;
        private final String hangCause;

        Leg(String endpoint, String endTime, String hangCause) {
            this.endpoint = endpoint;
            this.endTime = endTime;
            this.hangCause = hangCause;
        }

        public Optional<String> endpoint() {
            return Optional.ofNullable(endpoint);
        }

        /** {@code yyyy-MM-dd HH:mm:ss}, Beijing time. */
        public Optional<String> endTime() {
            return Optional.ofNullable(endTime);
        }

        /** {@code NORMAL_CLEARING}, {@code NO_USER_RESPONSE}... */
        public Optional<String> hangCause() {
            return Optional.ofNullable(hangCause);
        }
    }

    private final String[] strings;
    private final long[] numbers;
    private final List<String> members;
    private final List<Leg> legs;

    private CallRecord(String[] strings, long[] numbers, String[] members, String[] legs) {
        this.strings = strings;
        this.numbers = numbers;
        this.members = members == null ? null : Collections.unmodifiableList(java.util.Arrays.asList(members));
        List<Leg> l = new ArrayList<>();
        for (int i = 0; i + 2 < legs.length; i += 3) {
            l.add(new Leg(legs[i], legs[i + 1], legs[i + 2]));
        }
        this.legs = Collections.unmodifiableList(l);
    }

    /** Called by the native library with the core's record and what it derives from it. */
    static CallRecord fromNative(String[] strings, long[] numbers, String[] members, String[] legs) {
        return new CallRecord(strings, numbers, members, legs);
    }

    private OptionalLong number(int i) {
        return numbers[i] == Long.MIN_VALUE ? OptionalLong.empty() : OptionalLong.of(numbers[i]);
    }

    public Optional<String> session() {
        return Optional.ofNullable(strings[0]);
    }

    /** The {@code callerAcc} the call was placed for ({@code initAccount}). */
    public Optional<String> initAccount() {
        return Optional.ofNullable(strings[1]);
    }

    /** The caller's number (two-party calls). */
    public Optional<String> caller() {
        return Optional.ofNullable(strings[2]);
    }

    /** The callee's number (two-party calls). */
    public Optional<String> callee() {
        return Optional.ofNullable(strings[3]);
    }

    /** {@code starttime}: {@code yyyy-MM-dd HH:mm:ss}, Beijing time. */
    public Optional<String> startTime() {
        return Optional.ofNullable(strings[4]);
    }

    /** The service's status word; not whether anyone answered. */
    public Optional<String> status() {
        return Optional.ofNullable(strings[5]);
    }

    /** The record exactly as decoded, as JSON text. */
    public String rawJson() {
        return strings[6];
    }

    /** {@code createtime}, Unix epoch milliseconds. */
    public OptionalLong createTimeMs() {
        return number(0);
    }

    /** {@code durationSec}: seconds of conversation. */
    public OptionalLong durationSec() {
        return number(1);
    }

    /** Minutes billed: every started minute counts (61 s is 2). */
    public long billedMinutes() {
        return numbers[2];
    }

    /** The cost in fen at the published 0.12 yuan a minute. */
    public long costFen() {
        return numbers[3];
    }

    /** Someone talked: {@code durationSec > 0}. */
    public boolean answered() {
        return numbers[4] != 0;
    }

    /** Every participant of a conference; empty for a two-party call. */
    public Optional<List<String>> members() {
        return Optional.ofNullable(members);
    }

    /** True for a conference record (it lists members). */
    public boolean isConference() {
        return members != null;
    }

    /** The legs of a two-party call; empty for conferences. */
    public List<Leg> legs() {
        return legs;
    }

    @Override
    public String toString() {
        return "CallRecord{session=" + strings[0] + ", answered=" + answered() + ", billedMinutes=" + billedMinutes() + "}";
    }
}
