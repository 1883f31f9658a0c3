package io.github.yunxinecp;

/** An answer that could not be used: a redirect (never followed), HTML, empty, truncated, too large... */
public class ProtocolException extends YunxinException {
    private static final long serialVersionUID = 1L;
    private final String reason;
    private final int httpStatus;
    private final String detail;
    private final String rawBody;

    ProtocolException(String[] view) {
        super(view);
        this.reason = view[REASON];
        this.httpStatus = Integer.parseInt(view[HTTP_STATUS]);
        this.detail = view[DETAIL];
        this.rawBody = view[RAW_BODY];
    }

    /** The kind's stable code: {@code redirect}, {@code html}, {@code empty}, {@code too_large}, ... */
    public String reason() {
        return reason;
    }

    /** The answer's HTTP status. */
    public int httpStatus() {
        return httpStatus;
    }

    /** A redirect's Location (cut), the parser's message, or null. */
    public String detail() {
        return detail;
    }

    /** The body as received (empty for a redirect, whose body is never read). */
    public String rawBody() {
        return rawBody;
    }
}
