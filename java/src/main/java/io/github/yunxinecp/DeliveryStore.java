package io.github.yunxinecp;

/**
 * Where accepted deliveries are remembered, for a {@link DeliveryGuard}: {@link MemoryDeliveryStore}
 * (this process's memory, the default), or a store of your own that several processes share.
 *
 * <p>Each method must be one atomic step of the store, so that two requests carrying the same
 * delivery at once get one {@link Claim#FIRST} between them. With Redis: {@code claim} is
 * {@code SET key pending NX PXAT expiresAtMs}, and when that set nothing, {@code GET key}
 * ({@code done}: {@link Claim#DUPLICATE}, else {@link Claim#IN_PROGRESS}); {@code complete} is
 * {@code SET key done PXAT expiresAtMs}; {@code release} is {@code DEL key}. With a table: an
 * {@code INSERT} into a unique key column (a key violation: read the row's state), an
 * {@code UPDATE}, a {@code DELETE}, rows past their expiry deleted now and then.
 *
 * <p>The guard calls it from Java, on the request's thread. Whatever it throws reaches the caller as
 * a {@link DeliveryStoreException} naming the exception's type and the step, never its message (a
 * connection string with its password can be in it).
 */
public interface DeliveryStore {
    /**
     * Marks {@code key} in progress unless the store holds it, and says what it held.
     *
     * @param key the delivery's {@link Delivery#key()}, 40 hex characters
     * @param expiresAtMs when the entry may be forgotten (a repeat would be refused as stale by then)
     * @param nowMs the time of the claim, Unix milliseconds
     */
    Claim claim(String key, long expiresAtMs, long nowMs) throws Exception;

    /** Marks a claimed {@code key} handled: every later claim is {@link Claim#DUPLICATE}. */
    void complete(String key, long expiresAtMs) throws Exception;

    /** Forgets a claimed {@code key} whose handler failed, so that the sender's next attempt is handled. */
    void release(String key) throws Exception;
}
