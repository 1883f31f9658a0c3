package io.github.yunxinecp;

/** The service answered with a code other than 200. */
public class ApiException extends YunxinException {
    private static final long serialVersionUID = 1L;
    private final long code;
    private final String apiMessage;
    private final String meaning;
    private final int httpStatus;
    private final String rawBody;

    ApiException(String[] view) {
        super(view);
        this.code = Long.parseLong(view[CODE]);
        this.apiMessage = view[API_MESSAGE];
        this.meaning = view[MEANING];
        this.httpStatus = Integer.parseInt(view[HTTP_STATUS]);
        this.rawBody = view[RAW_BODY];
    }

    /** The service's code (414, 503...). */
    public long code() {
        return code;
    }

    /** The service's {@code msg} or {@code desc}, or null. */
    public String apiMessage() {
        return apiMessage;
    }

    /** What the code table says the code means. */
    public String meaning() {
        return meaning;
    }

    /** The answer's HTTP status. */
    public int httpStatus() {
        return httpStatus;
    }

    /** The body as received (the request's Nonce and CheckSum redacted). */
    public String rawBody() {
        return rawBody;
    }
}
