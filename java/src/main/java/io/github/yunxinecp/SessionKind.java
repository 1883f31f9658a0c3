package io.github.yunxinecp;

/** What a session is: a two-party call or a conference ({@code type} 1 or 2 of a query). */
public enum SessionKind {
    CALL,
    CONFERENCE
}
