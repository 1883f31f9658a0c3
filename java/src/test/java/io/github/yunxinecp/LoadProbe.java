package io.github.yunxinecp;

/**
 * A first touch of the library in a fresh JVM, for tests/java/run.sh: prints the documented
 * CheckSum when the native library loads, or the loading error (which must say what was tried)
 * and exits 3.
 */
public final class LoadProbe {
    private LoadProbe() {}

    public static void main(String[] args) {
        try {
            System.out.println(YunxinEcp.checksum("xxxxxxxx", "123456", 1440570500L));
        } catch (UnsatisfiedLinkError e) {
            System.out.println(e.getMessage());
            System.exit(3);
        }
    }
}
