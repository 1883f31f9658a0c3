package io.github.yunxinecp;

/** A call-end callback refused (or not parseable): answer it 403 (400 when {@code malformed}). */
public class CallbackVerificationException extends YunxinException {
    private static final long serialVersionUID = 1L;
    private final String reason;
    private final String header;

    CallbackVerificationException(String[] view) {
        super(view);
        this.reason = view[REASON];
        this.header = view[FIELD];
    }

    /** Why: {@code md5_mismatch}, {@code checksum_mismatch}, {@code stale}, {@code duplicate_header}, {@code malformed}... */
    public String reason() {
        return reason;
    }

    /** The missing or repeated header, or null. */
    public String header() {
        return header;
    }
}
