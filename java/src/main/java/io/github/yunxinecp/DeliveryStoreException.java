package io.github.yunxinecp;

/**
 * A {@link DeliveryStore} of your own failed: it threw, or answered no {@link Claim}. The message
 * names the exception's type and the step ({@link #step()}: {@code claim}, {@code complete} or
 * {@code release}), never the exception's message, and the exception is not kept as the cause, for
 * the same reason: a store's message can hold what it connects with (a JDBC URL with its password).
 *
 * <p>{@link CallbackEndpoint} answers a failed claim 503 (reason {@code store_unavailable}), so that
 * the sender tries again rather than the callback being dropped or handled twice.
 */
public class DeliveryStoreException extends YunxinException {
    private static final long serialVersionUID = 1L;
    private final String step;
    private final String exceptionType;

    DeliveryStoreException(String step, String exceptionType, String what) {
        super("delivery_store", "delivery store failed: " + what, RetryAdvice.BACKOFF, false);
        this.step = step;
        this.exceptionType = exceptionType;
    }

    /** The store's method that failed: {@code claim}, {@code complete} or {@code release}. */
    public String step() {
        return step;
    }

    /** The class name of what the store threw ({@code java.sql.SQLTransientConnectionException}...), or null when it threw nothing. */
    public String exceptionType() {
        return exceptionType;
    }
}
