package io.github.yunxinecp;

/**
 * What {@link CallbackEndpoint#handle} runs for the first delivery of a verified callback. Returning
 * means handled (repeats are then acknowledged without it); throwing releases the delivery, so that
 * the sender's next attempt is handled, and the exception reaches the caller of {@code handle}.
 *
 * @param <E> what it may throw: inferred from a lambda ({@code RuntimeException} when it throws no
 *     checked exception), so that {@code handle} declares exactly that
 */
@FunctionalInterface
public interface CallbackHandler<E extends Exception> {
    /** Handles one delivery: {@code event} is the verified record, {@code delivery} says which credentials signed it. */
    void handle(CallbackEvent event, Delivery delivery) throws E;
}
