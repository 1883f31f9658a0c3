<?php
/**
 * The callback body cap of CallbackVerifier::verifyRequest() and readBody(): a declared
 * Content-Length over the cap is refused before a byte is read, a longer body once the cap is
 * passed (never held whole), exactly the cap is accepted, the cap is settable and must be
 * positive. First against a stream that counts what it hands out, then behind PHP's built-in
 * web server, whose request the endpoint reads from php://input (a chunked body has no
 * Content-Length there).
 *
 * Usage: php tests/php/test_body_cap.php   (closes with "body cap: N passed, M failed")
 */

declare(strict_types=1);

require __DIR__ . '/harness.php';

require dirname(__DIR__, 2) . '/php/YunxinEcp.php';

use YunxinEcp\BodyTooLargeException;
use YunxinEcp\CallbackException;
use YunxinEcp\CallbackVerifier;
use YunxinEcp\Credentials;

const KEY = 'fd460d34e786e7754e505bc4fab0f027';
const SECRET = 'xxxxxxxx';
/** The most readBody() may read past the cap: one read of its chunk (64 KiB). */
const CHUNK = 64 * 1024;

/**
 * A stream of $size bytes of "x" (yxcount://SIZE), made as they are read, counting the bytes
 * it has handed out: what a reader pulled, whatever it kept.
 */
final class CountingStream
{
    public static int $pulled = 0;
    /** @var resource|null */
    public $context;
    private int $size = 0;
    private int $position = 0;

    public function stream_open(string $path, string $mode, int $options, ?string &$opened): bool
    {
        $this->size = (int) substr($path, strlen('yxcount://'));
        return true;
    }

    public function stream_read(int $count): string
    {
        $n = max(0, min($count, $this->size - $this->position));
        $this->position += $n;
        self::$pulled += $n;
        return str_repeat('x', $n);
    }

    public function stream_eof(): bool
    {
        return $this->position >= $this->size;
    }

    public function stream_set_option(int $option, int $arg1, ?int $arg2): bool
    {
        return false;
    }
}

stream_wrapper_register('yxcount', CountingStream::class);

/** @return resource a fresh counting stream of $size bytes (the count reset) */
function counting(int $size)
{
    CountingStream::$pulled = 0;
    return fopen("yxcount://$size", 'rb');
}

/** Runs $read, which must refuse with a BodyTooLargeException for $cap; returns it. */
function too_large(callable $read, int $cap): BodyTooLargeException
{
    try {
        $read();
    } catch (BodyTooLargeException $e) {
        check($e instanceof CallbackException, 'a CallbackException, which a handler already refuses');
        check($e->answerStatus() === 413 && $e->reason() === 'too_large' && $e->kind() === 'callback'
            && $e->field() === 'body' && $e->maxBodyBytes() === $cap, 'status 413, reason too_large, the cap: '
            . json_encode([$e->answerStatus(), $e->reason(), $e->kind(), $e->field(), $e->maxBodyBytes()]));
        check($e->getMessage() === "body larger than $cap bytes", $e->getMessage());
        return $e;
    }
    throw new \RuntimeException('not refused as too large');
}

/** Runs $call, which must refuse the cap with an InvalidArgumentException naming max_body_bytes. */
function bad_cap(callable $call, int $cap): void
{
    try {
        $call();
    } catch (\InvalidArgumentException $e) {
        check($e->getMessage() === "max_body_bytes must be a positive number of bytes, not $cap", $e->getMessage());
        return;
    }
    throw new \RuntimeException("a cap of $cap accepted");
}

/** A call-end callback body of exactly $length bytes (JSON with trailing spaces), and its headers signed now. */
function signed_body(string $session, int $length): array
{
    $body = json_encode(['callback' => json_encode(['durationSec' => 61, 'session' => $session]), 'eventType' => '10']);
    check(strlen($body) <= $length, 'the callback fits');
    $body = str_pad($body, $length, ' ');
    $now = (string) (int) (microtime(true) * 1000);
    $md5 = md5($body);
    return [$body, ['Content-Type' => 'application/json', 'AppKey' => KEY, 'CurTime' => $now, 'MD5' => $md5,
        'CheckSum' => sha1(SECRET . $md5 . $now)]];
}

test_case('body cap: 1 MiB by default, as the library says', function () {
    check(CallbackVerifier::defaultMaxBodyBytes() === 1048576, (string) CallbackVerifier::defaultMaxBodyBytes());
    $body = CallbackVerifier::readBody(counting(1048576));
    check(strlen($body) === 1048576 && CountingStream::$pulled === 1048576, 'exactly 1 MiB is read whole');
    too_large(fn () => CallbackVerifier::readBody(counting(1048577)), 1048576);
    too_large(fn () => CallbackVerifier::readBody(counting(0), '1048577'), 1048576);
});

test_case('body cap: a Content-Length over the cap is refused before a byte is read', function () {
    foreach (['1001', 1001, '000001001', '99999999999999999999999999'] as $declared) {
        $stream = counting(5000);
        too_large(fn () => CallbackVerifier::readBody($stream, $declared, 1000), 1000);
        check(CountingStream::$pulled === 0, 'Content-Length ' . var_export($declared, true) . ': pulled ' . CountingStream::$pulled);
    }
});

test_case('body cap: a body over the cap without a usable Content-Length is refused once past the cap', function () {
    // Absent, not a number, negative, or a lie (less than is sent): the read is the bound.
    foreach ([null, '', 'abc', '-5', ' 10', '10'] as $declared) {
        $stream = counting(10 * 1024 * 1024);
        too_large(fn () => CallbackVerifier::readBody($stream, $declared, 1000), 1000);
        check(CountingStream::$pulled > 1000 && CountingStream::$pulled <= 1000 + CHUNK,
            'Content-Length ' . var_export($declared, true) . ': pulled ' . CountingStream::$pulled . ' of 10 MiB');
    }
});

test_case('body cap: exactly the cap is accepted, byte for byte; a usable Content-Length at or under it too', function () {
    foreach ([null, '1000', 1000, 'junk'] as $declared) {
        $body = CallbackVerifier::readBody(counting(1000), $declared, 1000);
        check($body === str_repeat('x', 1000), 'Content-Length ' . var_export($declared, true) . ': ' . strlen($body) . ' bytes');
    }
    check(CallbackVerifier::readBody(counting(0), '0', 1) === '', 'an empty body');
    // A cap of 1 against a stream of 2: refused, with at most the chunk read.
    too_large(fn () => CallbackVerifier::readBody(counting(2), null, 1), 1);
});

test_case('body cap: verifyRequest() honours a custom cap on a body it is given', function () {
    $verifier = new CallbackVerifier(new Credentials(KEY, SECRET));
    [$body, $headers] = signed_body('s-cap', 300);
    $event = $verifier->verifyRequest($body, $headers, null, 300);
    check($event['type'] === 'call_end' && $event['session'] === 's-cap', 'at the cap: verified');
    too_large(fn () => $verifier->verifyRequest($body, $headers, null, 299), 299);
    [$big, $bigHeaders] = signed_body('s-big', CallbackVerifier::defaultMaxBodyBytes() + 1);
    too_large(fn () => $verifier->verifyRequest($big, $bigHeaders), CallbackVerifier::defaultMaxBodyBytes());
    check($verifier->verifyRequest($big, $bigHeaders, null, CallbackVerifier::defaultMaxBodyBytes() + 1)['session'] === 's-big',
        'a larger cap lets it through');
});

test_case('body cap: a cap of 0 or less is refused, naming max_body_bytes', function () {
    $verifier = new CallbackVerifier(new Credentials(KEY, SECRET));
    foreach ([0, -1, PHP_INT_MIN] as $cap) {
        bad_cap(fn () => CallbackVerifier::readBody(counting(10), null, $cap), $cap);
        check(CountingStream::$pulled === 0, 'nothing read');
        bad_cap(fn () => $verifier->verifyRequest('{}', [], null, $cap), $cap);
    }
    try {
        CallbackVerifier::readBody('not a stream');
        check(false, 'a string refused');
    } catch (\InvalidArgumentException $e) {
        check($e->getMessage() === 'stream must be a readable stream resource, not string', $e->getMessage());
    }
});

test_case('body cap: answerStatus() of the other refusals is 403, or 400 for malformed', function () {
    $verifier = new CallbackVerifier(new Credentials(KEY, SECRET));
    [$body, $headers] = signed_body('s-status', 200);
    foreach ([
        'md5_mismatch' => [$body . ' ', $headers, 403],
        'missing_header' => [$body, array_diff_key($headers, ['CheckSum' => 1]), 403],
        'malformed' => ['not json', ['MD5' => md5('not json'), 'CheckSum' => sha1(SECRET . md5('not json') . $headers['CurTime'])] + $headers, 400],
    ] as $reason => [$b, $h, $status]) {
        try {
            $verifier->verifyRequest($b, $h);
            check(false, "$reason refused");
        } catch (CallbackException $e) {
            check($e->reason() === $reason && $e->answerStatus() === $status, "$reason: {$e->reason()} {$e->answerStatus()}");
        }
    }
});

// ---- behind php -S: the body of a real request, from php://input ----

/**
 * Sends raw request bytes to 127.0.0.1:$port and returns the answer's status code (0: none).
 * A raw socket, as PHP's HTTP client cannot send a chunked body or a wrong Content-Length.
 */
function raw_request(int $port, string $request): int
{
    $socket = stream_socket_client("tcp://127.0.0.1:$port", $errno, $errstr, 10);
    if ($socket === false) {
        return 0;
    }
    stream_set_timeout($socket, 30);
    // The server may answer (and close) before it has read all of a large body.
    @fwrite($socket, $request);
    $status = fgets($socket);
    fclose($socket);
    return is_string($status) && preg_match('#^HTTP/1\.[01] (\d{3}) #', $status, $m) ? (int) $m[1] : 0;
}

/** A POST of $body to $path with $headers, as a Content-Length request or in chunks without one. */
function post_request(string $path, string $body, array $headers, bool $chunked = false, ?string $contentLength = null): string
{
    $head = "POST $path HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
    foreach ($headers as $name => $value) {
        $head .= "$name: $value\r\n";
    }
    if ($chunked) {
        $head .= "Transfer-Encoding: chunked\r\n\r\n";
        foreach (str_split($body, 4096) as $piece) {
            $head .= dechex(strlen($piece)) . "\r\n$piece\r\n";
        }
        return $head . "0\r\n\r\n";
    }
    return $head . 'Content-Length: ' . ($contentLength ?? strlen($body)) . "\r\n\r\n$body";
}

test_case('body cap: behind php -S, verifyRequest() answers 413 without running the handler; at the cap it runs', function () {
    $temp = sys_get_temp_dir() . '/yx-php-cap-' . bin2hex(random_bytes(6));
    mkdir($temp, 0700);
    $handled = "$temp/handled";
    // The endpoint of examples/php/callback_handler.php in short: verifyRequest() of the current
    // request, ?cap= setting the cap; the handler appends the session to a file.
    file_put_contents("$temp/router.php", '<?php
        require ' . var_export(dirname(__DIR__, 2) . '/php/YunxinEcp.php', true) . ';
        use YunxinEcp\{CallbackException, CallbackVerifier, Credentials};
        if (($_SERVER["REQUEST_METHOD"] ?? "") !== "POST") { echo "ready"; return; }
        $verifier = new CallbackVerifier(new Credentials(' . var_export(KEY, true) . ', ' . var_export(SECRET, true) . '));
        try {
            $event = isset($_GET["cap"]) ? $verifier->verifyRequest(null, null, null, (int) $_GET["cap"]) : $verifier->verifyRequest();
        } catch (CallbackException $e) {
            http_response_code($e->answerStatus());
            echo $e->reason();
            return;
        }
        file_put_contents(' . var_export($handled, true) . ', $event["session"] . "\n", FILE_APPEND);
        echo "ok";');
    $env = getenv();
    $server = null;
    $port = 0;
    try {
        [$server, $port] = start_php_server(['ffi.enable=1', 'post_max_size=16M'], "$temp/router.php", $temp, $env, '', 'ready');
        check($server !== null, 'php -S started: ' . @file_get_contents("$temp/server.err"));
        $sessions = static fn (): array => is_file($handled) ? explode("\n", trim((string) file_get_contents($handled))) : [];

        [$body, $headers] = signed_body('at-cap', 2000);
        check(raw_request($port, post_request('/?cap=2000', $body, $headers)) === 200, 'exactly the cap: 200');
        check(raw_request($port, post_request('/?cap=2000', $body, $headers, true)) === 200, 'exactly the cap, chunked: 200');
        check($sessions() === ['at-cap', 'at-cap'], 'the handler ran for both: ' . json_encode($sessions()));

        [$over, $overHeaders] = signed_body('over-cap', 2001);
        check(raw_request($port, post_request('/?cap=2000', $over, $overHeaders)) === 413, 'Content-Length over the cap: 413');
        check(raw_request($port, post_request('/?cap=2000', $over, $overHeaders, true)) === 413, 'chunked, no Content-Length, over the cap: 413');
        [$big, $bigHeaders] = signed_body('over-default', CallbackVerifier::defaultMaxBodyBytes() + 1);
        check(raw_request($port, post_request('/', $big, $bigHeaders)) === 413, 'over the default cap: 413');
        check(raw_request($port, post_request('/', $big, $bigHeaders, true)) === 413, 'over the default cap, chunked: 413');
        check(raw_request($port, post_request('/?cap=2001', $over, $overHeaders)) === 200, 'a custom cap: 200');
        check($sessions() === ['at-cap', 'at-cap', 'over-cap'], 'the handler never ran for a body over the cap: ' . json_encode($sessions()));
        check(proc_get_status($server)['running'], 'the server still runs');
    } finally {
        if ($server !== null) {
            proc_terminate($server);
            proc_close($server);
        }
        foreach (glob("$temp/*") ?: [] as $file) {
            @unlink($file);
        }
        @rmdir($temp);
    }
});

finish('body cap');
