package io.github.yunxinecp;

/** A start's result: the session to query the call with and to match its call-end callback. */
public final class Started {
    private final String session;
    private final String rawJson;

    private Started(String session, String rawJson) {
        this.session = session;
        this.rawJson = rawJson;
    }

    static Started fromNative(String session, String rawJson) {
        return new Started(session, rawJson);
    }

    public String session() {
        return session;
    }

    /** The answer's {@code obj}, as JSON text. */
    public String rawJson() {
        return rawJson;
    }

    @Override
    public String toString() {
        return "Started{session=" + session + "}";
    }
}
