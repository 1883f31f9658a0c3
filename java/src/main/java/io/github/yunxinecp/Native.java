package io.github.yunxinecp;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;

/**
 * The JNI entry points of {@code libyunxin_ecp_jni}, and its loading. Every rule lives in the Rust
 * core; these only carry values across. Loaded once: from the file the system property
 * {@value #PATH_PROPERTY} names, else from the copy bundled in the jar, extracted to a temporary
 * file (a shared library cannot be loaded from inside a jar).
 */
final class Native {
    /** A library of one's own (another build, another platform) instead of the bundled one. */
    static final String PATH_PROPERTY = "yunxinecp.native.path";
    static final String LIBRARY = "libyunxin_ecp_jni.so";

    static {
        load();
    }

    private Native() {}

    /** The platform directory of the bundled library: {@code linux-x86_64}, ... */
    static String platform() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        String o = os.startsWith("linux") ? "linux" : os.startsWith("mac") ? "macos" : os.startsWith("windows") ? "windows" : os.replace(' ', '_');
        String a = arch.equals("amd64") || arch.equals("x86_64") ? "x86_64" : arch.equals("aarch64") || arch.equals("arm64") ? "aarch64" : arch;
        return o + "-" + a;
    }

    private static void load() {
        String own = System.getProperty(PATH_PROPERTY);
        if (own != null) {
            String path = new File(own).getAbsolutePath();
            try {
                System.load(path);
            } catch (UnsatisfiedLinkError e) {
                throw linkError("could not load " + path + " (named by the system property " + PATH_PROPERTY + "): " + e.getMessage(), e);
            }
            return;
        }
        String resource = "/natives/" + platform() + "/" + LIBRARY;
        InputStream in = Native.class.getResourceAsStream(resource);
        if (in == null) {
            throw linkError("this jar carries no native library for " + platform() + " (looked for the resource " + resource
                    + "); build libyunxin_ecp_jni for it and name the file with -D" + PATH_PROPERTY + "=/path/to/" + LIBRARY, null);
        }
        Path file = null;
        try {
            try {
                file = Files.createTempFile("yunxin_ecp_jni", ".so");
                Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
            } finally {
                in.close();
            }
            System.load(file.toAbsolutePath().toString());
        } catch (IOException | UnsatisfiedLinkError e) {
            throw linkError("could not load the bundled " + resource + " (extracted to " + file + "): " + e.getMessage()
                    + "; or name a library with -D" + PATH_PROPERTY, e);
        } finally {
            // Loaded libraries stay mapped: the file is not needed once loaded.
            if (file != null) {
                file.toFile().delete();
            }
        }
    }

    private static UnsatisfiedLinkError linkError(String message, Throwable cause) {
        UnsatisfiedLinkError e = new UnsatisfiedLinkError("yunxin-ecp: " + message);
        if (cause != null) {
            e.initCause(cause);
        }
        return e;
    }

    /** "Keep the default" for the settings' numbers. */
    static final long UNSET = Long.MIN_VALUE;

    static native String checksum(String secret, String nonce, String curTime);

    static native void checkCredentials(String key, String secret);

    static native String[] credentialsFromEnv();

    static native String[] sign(String key, String secret, String nonce, long curTime);

    /** Signs now into {@code out}: Nonce, CurTime, CheckSum; answers (nonce length << 16) | CurTime length. */
    static native int signInto(byte[] key, byte[] secret, byte[] out);

    static native void checkTolerance(long toleranceMs);

    /** Refuses what building a verifier refuses: no credentials, more than 8, a tolerance over the ceiling. */
    static native void checkVerifier(String[] credentials, long toleranceMs);

    /** {@code credentials}: app key, secret, app key, secret... */
    static native CallbackEvent verifyAndParse(String[] credentials, long toleranceMs, byte[] body, String[] headers, long nowMs);

    /**
     * The delivery's key; {@code numbers} gets which credentials matched, its CurTime and its expiry;
     * a non-null {@code event} (one slot) gets the parsed event.
     */
    static native String verifyDelivery(String[] credentials, long toleranceMs, byte[] body, String[] headers, long nowMs, long[] numbers,
            CallbackEvent[] event);

    /** The headers of a signed callback: name, value, name, value... */
    static native String[] signCallback(String key, String secret, byte[] body, long curTimeMs);

    /** {status, body, reason} of the core's answer to a callback turned away for {@code reason}, or to a duplicate. */
    static native String[] callbackAnswer(String reason);

    static native long defaultMaxBodyBytes();

    static native void checkBodyLimit(long maxBodyBytes);

    static native boolean declaredTooLarge(String contentLength, long maxBodyBytes);

    /** The core's bounded memory store; {@link #UNSET}: its default capacity. */
    static native long memoryStoreNew(long capacity);

    static native void memoryStoreFree(long handle);

    // Each takes the store object beside its handle: a JNI argument keeps it reachable for the whole
    // call, so its handle cannot be freed under it (Java 8 has no Reference.reachabilityFence).

    /** 0 first, 1 duplicate, 2 in progress. */
    static native int memoryStoreClaim(Object owner, long handle, String key, long expiresAtMs, long nowMs);

    static native void memoryStoreComplete(Object owner, long handle, String key, long expiresAtMs);

    static native void memoryStoreRelease(Object owner, long handle, String key);

    /** {held, evicted}. */
    static native long[] memoryStoreCounts(Object owner, long handle);

    static native CallbackEvent parseCallback(byte[] body);

    static native String resolveBaseUrl(String baseUrl, long connectMs, long timeoutMs, long maxRetries, long backoffMs, long maxBytes);

    static native String userAgent();

    static native long exchangeNew(String key, String secret, int kind, String[] strings, long number, String baseUrl, long[] limits,
            String[] nonces, long nowSecs, long jitter);

    static native void exchangeFree(long handle);

    static native Exchange.Attempt exchangeSend(long handle);

    static native long exchangeReceive(long handle, int status, String location, byte[] body, int length, long elapsedMs);

    static native long exchangeTooLarge(long handle, int status, long elapsedMs);

    static native long exchangeFail(long handle, int kind, boolean maybeSent, String detail, long elapsedMs);

    static native Object exchangeResult(long handle);

    static native String exchangeCancel(long handle, boolean maybeSent);

    static native String[] exchangeTakeEvents(long handle);
}
