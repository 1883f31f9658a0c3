package io.github.yunxinecp;

/** No complete answer came: the connection failed, timed out or broke. See {@link #maybeSent()}. */
public class TransportException extends YunxinException {
    private static final long serialVersionUID = 1L;
    private final String reason;
    private final String detail;
    private final Integer attempts;

    TransportException(String[] view) {
        super(view);
        this.reason = view[REASON];
        this.detail = view[DETAIL];
        this.attempts = integer(view[ATTEMPTS]);
    }

    /** Which step failed: {@code connect}, {@code timeout}, {@code tls} or {@code io}. */
    public String reason() {
        return reason;
    }

    /** What the HTTP stack said. */
    public String detail() {
        return detail;
    }

    /** Attempts made in all. */
    public Integer attempts() {
        return attempts;
    }
}
