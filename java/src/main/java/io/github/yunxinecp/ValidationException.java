package io.github.yunxinecp;

/** A value refused before anything was built or sent: which field, and which rule it broke. */
public class ValidationException extends YunxinException {
    private static final long serialVersionUID = 1L;
    private final String field;
    private final String rule;
    private final Integer index;

    ValidationException(String[] view) {
        super(view);
        this.field = view[FIELD];
        this.rule = view[RULE];
        this.index = integer(view[INDEX]);
    }

    /** The refused parameter or setting ({@code callee}, {@code maxDur}, {@code appSecret}, {@code timeout}...). */
    public String field() {
        return field;
    }

    /** The rule's stable code ({@code country_code}, {@code length}, ...). */
    public String rule() {
        return rule;
    }

    /** For list parameters, the offending entry; else null. */
    public Integer index() {
        return index;
    }
}
