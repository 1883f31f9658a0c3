package io.github.yunxinecp;

/**
 * The root of every error this library throws (unchecked, like the other languages' roots). Each
 * is built from the core's one error view, so its fields are those of Python's, C's and C#'s errors:
 * {@link #kind()}, {@link #retryAdvice()} and {@link #maybeSent()} here, the rest on the subclasses.
 */
public class YunxinException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** The view's fields, in the order the native library writes them. */
    static final int KIND = 0, MESSAGE = 1, FIELD = 2, RULE = 3, INDEX = 4, CODE = 5, API_MESSAGE = 6, MEANING = 7,
            HTTP_STATUS = 8, REASON = 9, RETRY = 10, MAYBE_SENT = 11, ENDPOINT = 12, PATH = 13, ATTEMPTS = 14,
            DETAIL = 15, RAW_BODY = 16;

    private final String kind;
    private final RetryAdvice retryAdvice;
    private final boolean maybeSent;
    private final String endpoint;
    private final String path;

    YunxinException(String[] view) {
        super(view[MESSAGE]);
        this.kind = view[KIND];
        this.retryAdvice = RetryAdvice.fromCode(view[RETRY]);
        this.maybeSent = "true".equals(view[MAYBE_SENT]);
        this.endpoint = view[ENDPOINT];
        this.path = view[PATH];
    }

    YunxinException(String kind, String message, RetryAdvice advice, boolean maybeSent) {
        super(message);
        this.kind = kind;
        this.retryAdvice = advice;
        this.maybeSent = maybeSent;
        this.endpoint = null;
        this.path = null;
    }

    /** Called by the native library: the exception class that matches the view's kind. */
    static RuntimeException fromNative(String[] view) {
        switch (view[KIND]) {
            case "validation":
                return new ValidationException(view);
            case "api":
                return new ApiException(view);
            case "protocol":
                return new ProtocolException(view);
            case "transport":
                return new TransportException(view);
            case "callback":
                return new CallbackVerificationException(view);
            default:
                return new YunxinException(view);
        }
    }

    /** Which family: {@code validation}, {@code api}, {@code protocol}, {@code transport}, {@code callback}, ... */
    public String kind() {
        return kind;
    }

    /** Whether the same request may be sent again. */
    public RetryAdvice retryAdvice() {
        return retryAdvice;
    }

    /** Whether the request may have reached the service (false only when it provably did not). */
    public boolean maybeSent() {
        return maybeSent;
    }

    /** The endpoint the request was for ({@code start_call}, {@code query_by_session}, {@code api}), if any. */
    public String endpoint() {
        return endpoint;
    }

    /** The path of another API's request, if any. */
    public String path() {
        return path;
    }

    static Integer integer(String s) {
        return s == null ? null : Integer.valueOf(s);
    }

    static Long number(String s) {
        return s == null ? null : Long.valueOf(s);
    }
}
