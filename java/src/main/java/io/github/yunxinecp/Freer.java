package io.github.yunxinecp;

import java.lang.ref.PhantomReference;
import java.lang.ref.ReferenceQueue;
import java.util.Collections;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongConsumer;

/**
 * Frees a native handle once: when its owner closes it, or when the owner became unreachable
 * (Java 8 has no {@code java.lang.ref.Cleaner}: a phantom reference and one daemon thread do its
 * work). The owner must not be referenced by the freeing function.
 */
final class Freer extends PhantomReference<Object> {
    private static final ReferenceQueue<Object> QUEUE = new ReferenceQueue<>();
    private static final Set<Freer> LIVE = Collections.newSetFromMap(new ConcurrentHashMap<Freer, Boolean>());
    private static volatile Thread reaper;
    private final LongConsumer freeing;
    private long handle;

    private Freer(Object owner, long handle, LongConsumer freeing) {
        super(owner, QUEUE);
        this.handle = handle;
        this.freeing = freeing;
    }

    static Freer track(Object owner, long handle, LongConsumer freeing) {
        Freer f = new Freer(owner, handle, freeing);
        LIVE.add(f);
        startReaper();
        return f;
    }

    synchronized void free() {
        LIVE.remove(this);
        if (handle != 0) {
            long h = handle;
            handle = 0;
            freeing.accept(h);
        }
    }

    private static void startReaper() {
        if (reaper != null) {
            return;
        }
        synchronized (Freer.class) {
            if (reaper != null) {
                return;
            }
            Thread t = new Thread(() -> {
                while (true) {
                    try {
                        ((Freer) QUEUE.remove()).free();
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "yunxin-ecp-cleaner");
            t.setDaemon(true);
            t.start();
            reaper = t;
        }
    }
}
