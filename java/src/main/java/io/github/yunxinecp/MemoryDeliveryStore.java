package io.github.yunxinecp;

import java.util.Objects;

/**
 * Deliveries remembered in this process by the core: each only while a repeat of it would pass the
 * time check, and at most a capacity of them (the core's default, 100,000, some 20 MiB at most);
 * when full, the entry closest to expiring makes room, counted in {@link #evicted()}. Thread-safe:
 * each step is atomic. The native memory is freed once the store is unreachable.
 *
 * <p>Enough for one process; several processes behind a balancer each see a part of the
 * deliveries, so they need a store they share (a {@link DeliveryStore} over Redis or a table).
 */
public final class MemoryDeliveryStore implements DeliveryStore {
    private final long handle;

    /** A store of the core's default capacity. */
    public MemoryDeliveryStore() {
        this(0, true);
    }

    /** A store of at most {@code capacity} deliveries. @throws ValidationException field {@code capacity} when not positive */
    public MemoryDeliveryStore(long capacity) {
        this(capacity, false);
    }

    private MemoryDeliveryStore(long capacity, boolean byDefault) {
        // UNSET (Long.MIN_VALUE) asks the core for its default: a capacity given is kept from it, so
        // that any negative one is refused by the core's rule.
        long h = Native.memoryStoreNew(byDefault ? Native.UNSET : Math.max(capacity, -1L));
        this.handle = h;
        Freer.track(this, h, Native::memoryStoreFree);
    }

    @Override
    public Claim claim(String key, long expiresAtMs, long nowMs) {
        Objects.requireNonNull(key, "key");
        notNegative(expiresAtMs, "expiresAtMs");
        notNegative(nowMs, "nowMs");
        return Claim.values()[Native.memoryStoreClaim(this, handle, key, expiresAtMs, nowMs)];
    }

    @Override
    public void complete(String key, long expiresAtMs) {
        Objects.requireNonNull(key, "key");
        notNegative(expiresAtMs, "expiresAtMs");
        Native.memoryStoreComplete(this, handle, key, expiresAtMs);
    }

    @Override
    public void release(String key) {
        Objects.requireNonNull(key, "key");
        Native.memoryStoreRelease(this, handle, key);
    }

    /** Deliveries held now (in progress or handled). */
    public long held() {
        return Native.memoryStoreCounts(this, handle)[0];
    }

    /**
     * Deliveries dropped to make room before they expired: a repeat of one of them would be handled
     * again. Above zero, the capacity is too small for the traffic.
     */
    public long evicted() {
        return Native.memoryStoreCounts(this, handle)[1];
    }

    private static void notNegative(long value, String name) {
        if (value < 0) {
            throw new IllegalArgumentException(name + " must not be negative");
        }
    }

    @Override
    public String toString() {
        long[] counts = Native.memoryStoreCounts(this, handle);
        return "MemoryDeliveryStore{held=" + counts[0] + ", evicted=" + counts[1] + "}";
    }
}
