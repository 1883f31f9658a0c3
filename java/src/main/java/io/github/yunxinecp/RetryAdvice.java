package io.github.yunxinecp;

/** Whether a request that failed may be sent again, as the core's code table decides. */
public enum RetryAdvice {
    /** Sending it again would fail the same way (or do harm). */
    NEVER("never"),
    /** Safe to send again now. */
    SAFE("safe"),
    /** Rate limited or busy: safe to send again after a backoff. */
    BACKOFF("backoff"),
    /** Safe to send again once, after a delay (a start answered 503). */
    ONCE_AFTER_DELAY("once_after_delay"),
    /** The request may have taken effect (a call may have been placed): query before sending it again. */
    OUTCOME_UNKNOWN("outcome_unknown");

    private final String code;

    RetryAdvice(String code) {
        this.code = code;
    }

    /** The stable identifier every binding shares ({@code "outcome_unknown"}, ...). */
    public String code() {
        return code;
    }

    /** The advice for a code; {@link #NEVER} for one this version does not know. */
    public static RetryAdvice fromCode(String code) {
        for (RetryAdvice a : values()) {
            if (a.code.equals(code)) {
                return a;
            }
        }
        return NEVER;
    }
}
