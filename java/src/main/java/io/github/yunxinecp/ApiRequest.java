package io.github.yunxinecp;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;

/**
 * Any other YunXin server API (users, messages, SMS...): a signed form POST to {@code path} with
 * these parameters in order. The core checks the path and the names when the request is sent.
 * Not idempotent unless marked: such a request is sent again only when it provably never left.
 */
public final class ApiRequest {
    private final String path;
    private final List<String> params = new ArrayList<>();
    private boolean idempotent;

    public ApiRequest(String path) {
        this.path = Objects.requireNonNull(path, "path");
    }

    /** Adds a form parameter (order is kept). */
    public ApiRequest param(String name, String value) {
        params.add(Objects.requireNonNull(name, "name"));
        params.add(Objects.requireNonNull(value, "value"));
        return this;
    }

    /** Marks it safe to send twice (a read), so it is retried like a query. */
    public ApiRequest idempotent(boolean idempotent) {
        this.idempotent = idempotent;
        return this;
    }

    public String path() {
        return path;
    }

    /** Name, value, name, value... */
    List<String> flatParams() {
        return Collections.unmodifiableList(params);
    }

    public boolean isIdempotent() {
        return idempotent;
    }
}
