package io.github.yunxinecp;

/**
 * A request given up before its end ({@link Exchange#cancel(boolean)}, or a {@link Client} call
 * whose thread was interrupted): the counterpart of C#'s {@code ExchangeCanceledException}, Node's
 * {@code AbortedError} and Python's cancellation note. {@link #retryAdvice()} is the core's answer:
 * {@link RetryAdvice#OUTCOME_UNKNOWN} when an attempt was in flight and the request may have taken
 * effect (a start may have placed a call: query it before placing it again), else
 * {@link RetryAdvice#SAFE}. {@link #kind()} is {@code canceled}.
 */
public class ExchangeCanceledException extends YunxinException {
    private static final long serialVersionUID = 1L;

    ExchangeCanceledException(RetryAdvice advice, boolean maybeSent) {
        super("canceled",
                advice == RetryAdvice.OUTCOME_UNKNOWN
                        ? "the request was canceled with an attempt in flight that may have reached the service: its outcome is unknown (query before sending it again)"
                        : "the request was canceled; nothing it sent can have taken effect",
                advice, maybeSent);
    }
}
