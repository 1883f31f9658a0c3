package io.github.yunxinecp;

/** What a {@link DeliveryStore} says of a delivery it is asked to claim. */
public enum Claim {
    /** Not seen before (or released): it is now in progress, and the handler runs. */
    FIRST("first"),
    /** Handled before: answer 200 and do not handle it again. */
    DUPLICATE("duplicate"),
    /** Being handled right now by another request: answer 409, so that the sender tries again later. */
    IN_PROGRESS("in_progress");

    private final String code;

    Claim(String code) {
        this.code = code;
    }

    /** The stable identifier every binding shares ({@code "first"}, {@code "duplicate"}, {@code "in_progress"}). */
    public String code() {
        return code;
    }
}
