package io.github.yunxinecp;

import java.util.Objects;
import java.util.OptionalLong;

/**
 * Guards a handler against processing one callback twice. A sender that gets no 200 in time
 * delivers the same callback again, and a billing system that books a call-end record twice charges
 * twice. {@link #claim} before handling a verified delivery says {@link Claim#FIRST} (handle it, then
 * {@link #complete} it, or {@link #release} it when handling failed so that the sender's next attempt
 * is handled), {@link Claim#DUPLICATE} (handled before: answer 200 without handling it) or
 * {@link Claim#IN_PROGRESS} (another request is handling it: answer 409 so the sender tries later).
 * {@link CallbackEndpoint} does all of it.
 *
 * <p>By default deliveries are kept in this process's memory ({@link MemoryDeliveryStore}); with
 * several processes, give it a {@link DeliveryStore} they share. Thread-safe when its store is.
 */
public final class DeliveryGuard {
    private final DeliveryStore store;
    /** The store when it is the core's: called directly, its failures being the library's own. */
    private final MemoryDeliveryStore memory;

    /** A guard over a new {@link MemoryDeliveryStore} of the default capacity. */
    public DeliveryGuard() {
        this(new MemoryDeliveryStore());
    }

    /** A guard over {@code store}: a {@link MemoryDeliveryStore} of another capacity, or one of your own. */
    public DeliveryGuard(DeliveryStore store) {
        this.store = Objects.requireNonNull(store, "store");
        this.memory = store instanceof MemoryDeliveryStore ? (MemoryDeliveryStore) store : null;
    }

    /** The store it claims deliveries in. */
    public DeliveryStore store() {
        return store;
    }

    /** Claims a verified delivery now. @throws DeliveryStoreException when a store of your own fails */
    public Claim claim(Delivery delivery) {
        return claim(delivery, System.currentTimeMillis());
    }

    /** Claims a verified delivery at {@code nowMs} (Unix milliseconds). */
    public Claim claim(Delivery delivery, long nowMs) {
        Objects.requireNonNull(delivery, "delivery");
        if (nowMs < 0) {
            throw new IllegalArgumentException("nowMs must not be negative");
        }
        if (memory != null) {
            return memory.claim(delivery.key(), delivery.expiresAtMs(), nowMs);
        }
        Claim claim;
        try {
            claim = store.claim(delivery.key(), delivery.expiresAtMs(), nowMs);
        } catch (Exception e) {
            throw failed("claim", e);
        }
        if (claim == null) {
            throw new DeliveryStoreException("claim", null, "the store's claim() returned null instead of a Claim");
        }
        return claim;
    }

    /** The handler of a claimed delivery succeeded: its repeats are duplicates from now on. */
    public void complete(Delivery delivery) {
        Objects.requireNonNull(delivery, "delivery");
        if (memory != null) {
            memory.complete(delivery.key(), delivery.expiresAtMs());
            return;
        }
        try {
            store.complete(delivery.key(), delivery.expiresAtMs());
        } catch (Exception e) {
            throw failed("complete", e);
        }
    }

    /** The handler of a claimed delivery failed: the sender's next attempt is handled. */
    public void release(Delivery delivery) {
        Objects.requireNonNull(delivery, "delivery");
        if (memory != null) {
            memory.release(delivery.key());
            return;
        }
        try {
            store.release(delivery.key());
        } catch (Exception e) {
            throw failed("release", e);
        }
    }

    /** Deliveries held in memory; empty with a store of your own. */
    public OptionalLong held() {
        return memory == null ? OptionalLong.empty() : OptionalLong.of(memory.held());
    }

    /**
     * Deliveries dropped from memory to stay within the capacity before they expired (above zero, a
     * repeat could be handled again: raise the capacity); empty with a store of your own.
     */
    public OptionalLong evicted() {
        return memory == null ? OptionalLong.empty() : OptionalLong.of(memory.evicted());
    }

    /** What a store threw, named by its type and the step only (its message may hold a secret). */
    private static DeliveryStoreException failed(String step, Exception e) {
        if (e instanceof InterruptedException) {
            // The exception is not rethrown: the thread stays marked interrupted for its owner.
            Thread.currentThread().interrupt();
        }
        String type = e.getClass().getName();
        return new DeliveryStoreException(step, type, type + " thrown by the store's " + step + "()");
    }

    @Override
    public String toString() {
        return memory != null ? "DeliveryGuard{" + memory + "}" : "DeliveryGuard{store=" + store.getClass().getName() + "}";
    }
}
