<?php
/**
 * Several credentials per CallbackVerifier (a secret rotation, several apps), the Delivery
 * verify() returns, DeliveryGuard over the library's memory store and over stores written in
 * PHP, the answers of the library (CallbackAnswer), and handleRequest()'s duplicate flow: in
 * process, then behind PHP's built-in web server with two workers sharing a store, where a
 * repeat that arrives while the first delivery is being handled is answered 409. Digests are
 * computed here with PHP's own md5() and sha1().
 *
 * Usage: php tests/php/test_deliveries.php   (closes with "deliveries: N passed, M failed")
 */

declare(strict_types=1);

require __DIR__ . '/harness.php';

require dirname(__DIR__, 2) . '/php/YunxinEcp.php';

use YunxinEcp\CallbackAnswer;
use YunxinEcp\CallbackException;
use YunxinEcp\CallbackVerifier;
use YunxinEcp\Credentials;
use YunxinEcp\Delivery;
use YunxinEcp\DeliveryGuard;
use YunxinEcp\DeliveryStore;
use YunxinEcp\DeliveryStoreException;
use YunxinEcp\MemoryDeliveryStore;
use YunxinEcp\ValidationException;
use YunxinEcp\YunxinEcp;

const APP = 'fd460d34e786e7754e505bc4fab0f027';
const BODY = '{"callback":"{\"session\":\"s-1\",\"durationSec\":61}","eventType":"10"}';
const NOW = 1700000000000;

/** The headers the service sends with $body, signed here with md5() and sha1(). */
function signed(string $secret, int $at = NOW, string $appKey = APP, string $body = BODY): array
{
    $md5 = md5($body);
    return ['Content-Type' => 'application/json', 'AppKey' => $appKey, 'CurTime' => (string) $at, 'MD5' => $md5,
        'CheckSum' => sha1($secret . $md5 . $at)];
}

/** The delivery key's recipe, computed here: sha1 over each part with its length (8 bytes, big endian) first. */
function key_of(array $headers): string
{
    $text = '';
    foreach ([$headers['AppKey'], $headers['CheckSum'], $headers['CurTime'], $headers['MD5']] as $part) {
        $text .= pack('J', strlen($part)) . $part;
    }
    return sha1($text);
}

/** @param callable(): mixed $call */
function throws(string $class, callable $call): \Throwable
{
    try {
        $call();
    } catch (\Throwable $e) {
        check($e instanceof $class, "expected $class, got " . $e::class . ': ' . $e->getMessage());
        return $e;
    }
    throw new \RuntimeException("expected $class, nothing was thrown");
}

$old = new Credentials(APP, 'old-secret');
$new = new Credentials(APP, 'new-secret');

test_case('deliveries: during a rotation both secrets are accepted and the match is named', function () use ($old, $new) {
    $verifier = new CallbackVerifier([$old, $new]);
    check($verifier->appKeys() === [APP, APP], json_encode($verifier->appKeys()));
    foreach ([['old-secret', 0], ['new-secret', 1]] as [$secret, $index]) {
        $headers = signed($secret);
        $delivery = $verifier->verify(BODY, $headers, NOW + 250);
        check($delivery->credential === $index && $delivery->appKey === APP, "$secret: credential {$delivery->credential}");
        check($delivery->curTimeMs === NOW && $delivery->expiresAtMs === NOW + 300000, "$secret: times");
        check($delivery->key === key_of($headers), "$secret: key {$delivery->key}");
    }
    $refused = throws(CallbackException::class, fn () => $verifier->verify(BODY, signed('stranger'), NOW));
    check($refused->reason() === 'checksum_mismatch', (string) $refused->reason());
    check(!str_contains((string) $refused, 'old-secret') && !str_contains((string) $refused, 'new-secret'), 'no secret in the exception');
    // The one-credential constructor still takes a Credentials.
    check((new CallbackVerifier($new))->verify(BODY, signed('new-secret'), NOW)->credential === 0, 'one credentials');
});

test_case('deliveries: verifyDelivery() gives the delivery and the event; a stale repeat is refused', function () use ($old) {
    $verifier = new CallbackVerifier([$old]);
    [$delivery, $event] = $verifier->verifyDelivery(BODY, signed('old-secret'), NOW);
    check($delivery instanceof Delivery && $event['type'] === 'call_end' && $event['session'] === 's-1', json_encode($event));
    $stale = throws(CallbackException::class, fn () => $verifier->verifyDelivery(BODY, signed('old-secret'), NOW + 300001));
    check($stale->reason() === 'stale', (string) $stale->reason());
    $notCallback = 'not json';
    $malformed = throws(CallbackException::class, fn () => $verifier->verifyDelivery($notCallback,
        signed('old-secret', NOW, APP, $notCallback), NOW));
    check($malformed->reason() === 'malformed' && $malformed->answerStatus() === 400, (string) $malformed->reason());
    // verify() does not parse: the same body is genuine.
    check($verifier->verify($notCallback, signed('old-secret', NOW, APP, $notCallback), NOW)->key !== '', 'verify() only verifies');
    $skip = CallbackVerifier::skipTimeCheck([$old]);
    check($skip->verify(BODY, signed('old-secret', 1440570500855), NOW)->expiresAtMs === PHP_INT_MAX, 'no time check: never expires');
});

test_case('deliveries: several apps each match by their own key; a relabelled one is refused', function () {
    $a = new Credentials('app-a', 'secret-a');
    $b = new Credentials('app-b', 'secret-b');
    $verifier = new CallbackVerifier([$a, $b]);
    $delivery = $verifier->verify(BODY, signed('secret-b', NOW, 'app-b'), NOW);
    check($delivery->credential === 1 && $delivery->appKey === 'app-b', json_encode($delivery));
    $relabelled = throws(CallbackException::class, fn () => $verifier->verify(BODY, signed('secret-b', NOW, 'app-a'), NOW));
    check($relabelled->reason() === 'app_key_mismatch', (string) $relabelled->reason());
});

test_case('deliveries: 1 to 8 credentials, named by field and rule', function () use ($old) {
    foreach ([0, 9, 20] as $count) {
        $e = throws(ValidationException::class, fn () => new CallbackVerifier(array_fill(0, $count, $old)));
        check($e->field() === 'credentials' && $e->rule() === 'count', "$count: {$e->field()} {$e->rule()}");
        check(str_contains($e->getMessage(), "must hold 1 to 8 entries, got $count"), $e->getMessage());
    }
    $e = throws(\InvalidArgumentException::class, fn () => new CallbackVerifier([$old, 'hunter22-secret']));
    check($e->getMessage() === 'credentials[1] must be a YunxinEcp\Credentials, not string', $e->getMessage());
    // A secret passed by mistake among the credentials stays out of the trace's arguments.
    ini_set('zend.exception_ignore_args', '0');
    $e = throws(\InvalidArgumentException::class, fn () => new CallbackVerifier([$old, 'hunter22-secret']));
    check(!str_contains((string) $e, 'hunter22') && !str_contains(print_r($e->getTrace(), true), 'hunter22'), (string) $e);
    check(count((new CallbackVerifier(array_fill(0, 8, $old)))->appKeys()) === 8, 'eight');
});

test_case('deliveries: the memory guard claims once, then says in progress, then duplicate', function () use ($old) {
    $verifier = new CallbackVerifier($old);
    $guard = new DeliveryGuard();
    $first = $verifier->verify(BODY, signed('old-secret'), NOW);
    check($guard->claim($first, NOW) === 'first', 'first');
    check($guard->claim($first, NOW) === 'in_progress', 'in progress');
    $guard->complete($first);
    check($guard->claim($first, NOW + 1) === 'duplicate', 'duplicate');
    check($guard->held() === 1 && $guard->evicted() === 0, 'held 1, evicted 0');
    $other = $verifier->verify(BODY, signed('old-secret', NOW + 1), NOW + 1);
    check($other->key !== $first->key, 'another CurTime, another delivery');
    check($guard->claim($other, NOW) === 'first', 'the other: first');
    $guard->release($other);
    check($guard->claim($other, NOW) === 'first', 'released: first again');
    // Past their window (to the end of its second) both are forgotten.
    check($guard->claim($first, $first->expiresAtMs + 1000) === 'first', 'expired: first');
    check($guard->held() === 1, 'one held: ' . $guard->held());
});

test_case('deliveries: the memory store stays within its capacity and counts what it drops', function () use ($old) {
    $verifier = new CallbackVerifier($old);
    $guard = new DeliveryGuard(null, 3);
    for ($i = 0; $i < 10; $i++) {
        check($guard->claim($verifier->verify(BODY, signed('old-secret', NOW + $i), NOW), NOW) === 'first', "delivery $i");
    }
    check($guard->held() === 3 && $guard->evicted() === 7, "held {$guard->held()}, evicted {$guard->evicted()}");
    $e = throws(ValidationException::class, fn () => new MemoryDeliveryStore(0));
    check($e->field() === 'capacity' && $e->rule() === 'not_positive', "{$e->field()} {$e->rule()}");
    throws(\InvalidArgumentException::class, fn () => new DeliveryGuard(new MemoryDeliveryStore(), 5));
    $bad = throws(\YunxinEcp\Exception::class, fn () => (new MemoryDeliveryStore())->claim('not a key', NOW, NOW));
    check($bad->kind() === 'invalid_argument' && $bad->field() === 'key', $bad->kind());
});

/** A store of one's own, as a Redis one behaves: the state of each key, and every call it got. */
final class ArrayStore implements DeliveryStore
{
    /** @var array<string, array{0: string, 1: int}> */
    public array $state = [];
    /** @var list<string> */
    public array $calls = [];

    public function claim(string $key, int $expiresAtMs, int $nowMs): string
    {
        $this->calls[] = "claim $key $expiresAtMs $nowMs";
        if (!isset($this->state[$key])) {
            $this->state[$key] = ['pending', $expiresAtMs];
            return 'first';
        }
        return $this->state[$key][0] === 'done' ? 'duplicate' : 'in_progress';
    }

    public function complete(string $key, int $expiresAtMs): void
    {
        $this->calls[] = "complete $key $expiresAtMs";
        $this->state[$key] = ['done', $expiresAtMs];
    }

    public function release(string $key): void
    {
        $this->calls[] = "release $key";
        unset($this->state[$key]);
    }
}

/** A store whose claim() answers $answer (or throws it), and whose complete() throws. */
final class Answers implements DeliveryStore
{
    public function __construct(private mixed $answer) {}

    public function claim(string $key, int $expiresAtMs, int $nowMs): string
    {
        if ($this->answer instanceof \Throwable) {
            throw $this->answer;
        }
        return $this->answer;
    }

    public function complete(string $key, int $expiresAtMs): void
    {
        throw new \LogicException('redis://:hunter22@127.0.0.1/0');
    }

    public function release(string $key): void {}
}

test_case('deliveries: a store of one\'s own gets the key and the expiry, called from PHP', function () use ($old) {
    $store = new ArrayStore();
    $guard = new DeliveryGuard($store);
    $headers = signed('old-secret');
    $delivery = (new CallbackVerifier($old))->verify(BODY, $headers, NOW);
    check($guard->claim($delivery, NOW + 7) === 'first', 'first');
    $key = key_of($headers);
    $expires = NOW + 300000;
    check($store->state === [$key => ['pending', $expires]], json_encode($store->state));
    $guard->complete($delivery);
    check($guard->claim($delivery, NOW + 8) === 'duplicate', 'duplicate');
    check($store->calls === ["claim $key $expires " . (NOW + 7), "complete $key $expires", "claim $key $expires " . (NOW + 8)],
        json_encode($store->calls));
    check($guard->held() === null && $guard->evicted() === null && $guard->store() === $store, 'no figures for a store of one\'s own');
});

test_case('deliveries: a failing store is a DeliveryStoreException without its words', function () use ($old) {
    $delivery = (new CallbackVerifier($old))->verify(BODY, signed('old-secret'), NOW);
    foreach ([
        ['yes', "the store's claim() must return 'first', 'duplicate' or 'in_progress', not \"yes\""],
        [new \RuntimeException('redis://:hunter22@127.0.0.1/0'), "RuntimeException thrown by the store's claim()"],
        [new \TypeError('hunter22'), "TypeError thrown by the store's claim()"],
    ] as [$answer, $text]) {
        $e = throws(DeliveryStoreException::class, fn () => (new DeliveryGuard(new Answers($answer)))->claim($delivery, NOW));
        check($e->getMessage() === $text, $e->getMessage());
        check($e->step() === 'claim' && $e->reason() === 'store_unavailable', $e->step());
        check(!str_contains((string) $e, 'hunter22') && $e->getPrevious() === null, 'no secret: ' . $e);
    }
    $e = throws(DeliveryStoreException::class, fn () => (new DeliveryGuard(new Answers('first')))->complete($delivery));
    check($e->getMessage() === "LogicException thrown by the store's complete()" && $e->step() === 'complete', $e->getMessage());
});

test_case('deliveries: the library\'s answers, the same in every language', function () {
    $refused = static fn (string $reason): string => json_encode(['error' => 'callback refused', 'reason' => $reason]);
    foreach ([
        ['malformed', 400, $refused('malformed')],
        ['checksum_mismatch', 403, $refused('checksum_mismatch')],
        ['too_large', 413, $refused('too_large')],
        ['in_progress', 409, $refused('in_progress')],
        ['store_unavailable', 503, $refused('store_unavailable')],
        ['duplicate', 200, '{"result":"duplicate"}'],
        ['<script>', 403, $refused('refused')],
    ] as [$reason, $status, $body]) {
        $answer = CallbackAnswer::forReason($reason);
        check($answer->status === $status && $answer->body === $body, "$reason: {$answer->status} {$answer->body}");
    }
});

/** Runs handleRequest() on a delivery; returns [status, body, handler calls]. */
function handle(CallbackVerifier $verifier, DeliveryGuard|false|null $guard, array $headers, ?callable $handler = null, int $now = NOW): array
{
    $calls = 0;
    $answer = $verifier->handleRequest(function (array $event, Delivery $delivery) use (&$calls, $handler): void {
        $calls++;
        check($event['session'] === 's-1', 'the event');
        if ($handler !== null) {
            $handler($event, $delivery);
        }
    }, $guard, BODY, $headers, $now);
    return [$answer->status, $answer->body, $calls];
}

test_case('deliveries: handleRequest() handles a delivery once, a repeat answered 200 duplicate', function () use ($old) {
    $verifier = new CallbackVerifier($old);
    $guard = new DeliveryGuard();
    check(handle($verifier, $guard, signed('old-secret')) === [200, '', 1], 'first: handled');
    check(handle($verifier, $guard, signed('old-secret')) === [200, '{"result":"duplicate"}', 0], 'repeat: duplicate, not handled');
    // The verifier's own guard (null) also remembers, across calls on this verifier.
    check(handle($verifier, null, signed('old-secret', NOW + 5)) === [200, '', 1], 'own guard: first');
    check(handle($verifier, null, signed('old-secret', NOW + 5))[2] === 0, 'own guard: the repeat is not handled');
    // false: no guard at all.
    check(handle($verifier, false, signed('old-secret'))[2] === 1 && handle($verifier, false, signed('old-secret'))[2] === 1, 'no guard');
    $forged = handle($verifier, $guard, signed('stranger'));
    check($forged === [403, '{"error":"callback refused","reason":"checksum_mismatch"}', 0], json_encode($forged));
    $big = $verifier->handleRequest(fn () => null, $guard, BODY, signed('old-secret'), NOW, 10);
    check($big->status === 413, "over the cap: {$big->status}");
});

test_case('deliveries: a handler that throws releases the delivery; its exception goes on', function () use ($old) {
    $verifier = new CallbackVerifier($old);
    $store = new ArrayStore();
    $guard = new DeliveryGuard($store);
    $e = throws(\DomainException::class, fn () => handle($verifier, $guard, signed('old-secret'),
        function (): void { throw new \DomainException('booking failed'); }));
    check($e->getMessage() === 'booking failed' && $store->state === [], json_encode($store->state));
    check(handle($verifier, $guard, signed('old-secret')) === [200, '', 1], 'the next attempt is handled');
    check(handle($verifier, $guard, signed('old-secret'))[1] === '{"result":"duplicate"}', 'then a duplicate');
});

test_case('deliveries: in progress is 409 and a failing store 503, neither reaches the handler', function () use ($old) {
    $verifier = new CallbackVerifier($old);
    $inProgress = handle($verifier, new DeliveryGuard(new Answers('in_progress')), signed('old-secret'));
    check($inProgress === [409, '{"error":"callback refused","reason":"in_progress"}', 0], json_encode($inProgress));
    $log = tempnam(sys_get_temp_dir(), 'yx-php-log-');
    $previous = ini_set('error_log', $log);
    try {
        $failed = handle($verifier, new DeliveryGuard(new Answers(new \RuntimeException('redis://:hunter22@h/0'))), signed('old-secret'));
        check($failed === [503, '{"error":"callback refused","reason":"store_unavailable"}', 0], json_encode($failed));
        // A store that fails to complete: the answer stands (handled), and the log says so.
        check(handle($verifier, new DeliveryGuard(new Answers('first')), signed('old-secret')) === [200, '', 1], 'completion failed: 200');
        $said = (string) file_get_contents($log);
        check(str_contains($said, "RuntimeException thrown by the store's claim()") && str_contains($said, "LogicException thrown by the store's complete()"), $said);
        check(!str_contains($said, 'hunter22'), 'no secret in the log');
    } finally {
        ini_set('error_log', (string) $previous);
        @unlink($log);
    }
});

/**
 * Behind php -S with two workers and a store over files (mkdir is atomic): a repeat that arrives
 * while the first delivery's handler runs is answered 409; once that handler returns, 200
 * duplicate. The first handler waits (bounded) for a file the test creates after the repeat's
 * answer, so the order is the test's, not the clock's.
 */
test_case('deliveries: behind php -S, two workers, one delivery: handled once, 409 while in progress', function () {
    $temp = sys_get_temp_dir() . '/yx-php-deliveries-' . bin2hex(random_bytes(6));
    mkdir($temp, 0700);
    file_put_contents("$temp/router.php", '<?php
        require ' . var_export(dirname(__DIR__, 2) . '/php/YunxinEcp.php', true) . ';
        use YunxinEcp\{CallbackVerifier, Credentials, DeliveryGuard, DeliveryStore};
        if (($_SERVER["REQUEST_METHOD"] ?? "") !== "POST") { echo "ready"; return; }
        final class DirStore implements DeliveryStore {
            public function __construct(private string $dir) {}
            public function claim(string $key, int $expiresAtMs, int $nowMs): string {
                if (@mkdir("$this->dir/$key")) { return "first"; }
                return is_file("$this->dir/$key/done") ? "duplicate" : "in_progress";
            }
            public function complete(string $key, int $expiresAtMs): void { touch("$this->dir/$key/done"); }
            public function release(string $key): void { @rmdir("$this->dir/$key"); }
        }
        @mkdir(' . var_export("$temp/store", true) . ');
        $verifier = new CallbackVerifier(new Credentials(' . var_export(APP, true) . ', "old-secret"));
        $verifier->handleRequest(function (array $event): void {
            touch(' . var_export("$temp/entered", true) . ');
            for ($i = 0; $i < 400 && !is_file(' . var_export("$temp/go", true) . '); $i++) { usleep(25000); }
            file_put_contents(' . var_export("$temp/handled", true) . ', $event["session"] . "\n", FILE_APPEND);
        }, new DeliveryGuard(new DirStore(' . var_export("$temp/store", true) . ')))->send();');
    $env = getenv() + ['PHP_CLI_SERVER_WORKERS' => '2'];
    $env['PHP_CLI_SERVER_WORKERS'] = '2';
    $server = null;
    try {
        [$server, $port] = start_php_server(['ffi.enable=1'], "$temp/router.php", $temp, $env, '', 'ready');
        check($server !== null, 'php -S started: ' . @file_get_contents("$temp/server.err"));
        $now = (int) (microtime(true) * 1000);
        $request = "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
        foreach (signed('old-secret', $now) as $name => $value) {
            $request .= "$name: $value\r\n";
        }
        $request .= 'Content-Length: ' . strlen(BODY) . "\r\n\r\n" . BODY;
        $first = stream_socket_client("tcp://127.0.0.1:$port", $errno, $errstr, 10);
        check($first !== false, "connect: $errstr");
        stream_set_timeout($first, 30);
        fwrite($first, $request);
        for ($i = 0; $i < 400 && !is_file("$temp/entered"); $i++) {
            usleep(25000);
        }
        check(is_file("$temp/entered"), 'the first delivery reached its handler');
        $answer = static function () use ($port, $request): string {
            $socket = stream_socket_client("tcp://127.0.0.1:$port", $errno, $errstr, 10);
            stream_set_timeout($socket, 30);
            fwrite($socket, $request);
            $text = stream_get_contents($socket);
            fclose($socket);
            return (string) $text;
        };
        $repeat = $answer();
        check(str_starts_with($repeat, 'HTTP/1.1 409') && str_contains($repeat, '"reason":"in_progress"'), 'a repeat meanwhile: 409: ' . $repeat);
        touch("$temp/go");
        $text = (string) stream_get_contents($first);
        fclose($first);
        check(str_starts_with($text, 'HTTP/1.1 200'), 'the first: 200: ' . $text);
        $late = $answer();
        check(str_starts_with($late, 'HTTP/1.1 200') && str_ends_with($late, '{"result":"duplicate"}'), 'a repeat after: duplicate: ' . $late);
        check(file_get_contents("$temp/handled") === "s-1\n", 'handled once: ' . @file_get_contents("$temp/handled"));
    } finally {
        if ($server !== null) {
            proc_terminate($server);
            proc_close($server);
        }
        exec('rm -rf ' . escapeshellarg($temp));
    }
});

finish('deliveries');
