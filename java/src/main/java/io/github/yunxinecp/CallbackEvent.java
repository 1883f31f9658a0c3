package io.github.yunxinecp;

import java.util.Optional;

/** What a callback carried: a call-end record ({@code eventType} 10), or any other event untouched. */
public final class CallbackEvent {
    private final String eventType;
    private final String raw;
    private final CallRecord record;

    private CallbackEvent(String eventType, String raw, CallRecord record) {
        this.eventType = eventType;
        this.raw = raw;
        this.record = record;
    }

    static CallbackEvent fromNative(String[] texts, CallRecord record) {
        return new CallbackEvent(texts[0], texts[1], record);
    }

    /** A call or conference ended: {@link #record()} is present. */
    public boolean isCallEnd() {
        return record != null;
    }

    /** The call-end record. */
    public Optional<CallRecord> record() {
        return Optional.ofNullable(record);
    }

    /** The {@code eventType} as text, when there is one. */
    public Optional<String> eventType() {
        return Optional.ofNullable(eventType);
    }

    /** Another event's body exactly as received (absent for a call end). */
    public Optional<String> raw() {
        return Optional.ofNullable(raw);
    }

    @Override
    public String toString() {
        return isCallEnd() ? "CallbackEvent{callEnd " + record + "}" : "CallbackEvent{eventType=" + eventType + "}";
    }
}
