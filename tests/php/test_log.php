<?php
/**
 * The client's log events in PHP (YunxinEcp\Log, over yx_set_log_callback): against the
 * in-process mock, with faults that make calls retry and give up, what the handler gets at each
 * level, that nothing secret or unmasked reaches it, that removing it stops the lines, the
 * PSR-3 adapter, and what happens when a handler throws, recurses, changes the handler, exits or
 * dies (those last in child processes, under a timeout: nothing may hang).
 *
 * Usage: php tests/php/test_log.php   (closes with "log: N passed, M failed")
 */

declare(strict_types=1);

require __DIR__ . '/harness.php';

require dirname(__DIR__, 2) . '/php/YunxinEcp.php';

use YunxinEcp\ApiException;
use YunxinEcp\Client;
use YunxinEcp\Credentials;
use YunxinEcp\Exception as EcpException;
use YunxinEcp\Log;
use YunxinEcp\MockServer;
use YunxinEcp\ProtocolException;

// The handler never outlives a case.
$after_each = function (): void {
    set_error_handler(null); // PHP's own again
    Log::setHandler(null);
};

/** A client of the mock that retries fast. */
function mock_client(MockServer $mock, array $options = []): Client
{
    return new Client(new Credentials(MockServer::sampleAppKey(), MockServer::sampleAppSecret()),
        $options + ['base_url' => $mock->baseUrl(), 'backoff_ms' => 5]);
}

/** A handler that collects [level, message] pairs into $lines. */
function collector(array &$lines): \Closure
{
    return static function (string $level, string $message) use (&$lines): void {
        $lines[] = [$level, $message];
    };
}

/** @return list<string> the messages of $lines at $level that start with $event */
function events(array $lines, string $level, string $event): array
{
    return array_values(array_map(static fn (array $l): string => $l[1], array_filter($lines,
        static fn (array $l): bool => $l[0] === $level && str_starts_with($l[1], "$event "))));
}

/** Runs PHP code in a child process under a timeout; returns [exit code, stdout, stderr]. */
function child(string $code, int $timeoutSec = 30): array
{
    $process = proc_open(['timeout', (string) $timeoutSec, PHP_BINARY, '-d', 'memory_limit=64M', '-d', 'display_errors=stderr',
        '-r', 'require ' . var_export(dirname(__DIR__, 2) . '/php/YunxinEcp.php', true) . ';' . $code],
        [1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes);
    $out = stream_get_contents($pipes[1]);
    $err = stream_get_contents($pipes[2]);
    fclose($pipes[1]);
    fclose($pipes[2]);
    return [proc_close($process), $out, $err];
}

/** The child's setup: a mock, a client, and a session to query. */
const CHILD_SETUP = 'use YunxinEcp\\{Client, Credentials, Log, MockServer};
    $mock = MockServer::start();
    $client = new Client(new Credentials(MockServer::sampleAppKey(), MockServer::sampleAppSecret()),
        ["base_url" => $mock->baseUrl(), "backoff_ms" => 5]);';

test_case('log: a retried query: request sent at debug with attempts, retry at info, nothing secret', function () {
    $mock = MockServer::start();
    $client = mock_client($mock);
    $lines = [];
    Log::setHandler(collector($lines));
    check(Log::isSet(), 'set');
    $session = $client->startCall('liuxuanlin', '13888888888', '13777777777', 100);
    $mock->injectFault('busy_503');
    $record = $client->query($session);
    check($record['session'] === $session, 'the query answered after its retry');

    $sent = events($lines, 'debug', 'request sent');
    check(count($sent) === 3, 'three attempts sent: ' . json_encode($lines));
    check((bool) preg_match('/^request sent id=([0-9a-f]{8}) endpoint=start_call path=\/call\/ecp\/startcall\.action attempt=1$/', $sent[0]), $sent[0]);
    check((bool) preg_match('/^request sent id=([0-9a-f]{8}) endpoint=query_by_session path=\/call\/ecp\/queryBySession\.action attempt=1$/', $sent[1], $first), $sent[1]);
    check($sent[2] === str_replace('attempt=1', 'attempt=2', $sent[1]), 'the retry: the same id, attempt 2: ' . $sent[2]);
    $retry = events($lines, 'info', 'retry');
    check(count($retry) === 1 && (bool) preg_match("/^retry id=$first[1] attempt=1 reason=api_503 delay_ms=\\d+$/", $retry[0]),
        'one retry at info: ' . json_encode($retry));
    $responses = events($lines, 'debug', 'response');
    check(count($responses) === 3 && str_contains($responses[1], 'code=503') && str_contains($responses[2], 'attempt=2 http_status=200 code=200'),
        'a response per attempt: ' . json_encode($responses));
    check(events($lines, 'warning', 'gave up') === [], 'nothing gave up');
    check(array_values(array_unique(array_column($lines, 0))) === ['debug', 'info'], 'levels as words');

    // What was sent: the secret, each attempt's Nonce and CheckSum, the body's numbers.
    $secret = MockServer::sampleAppSecret();
    $forbidden = [$secret, '13888888888', '13777777777'];
    foreach ($mock->control('GET', '/_mock/requests') as $request) {
        $headers = array_column($request['headers'], 1, 0);
        $forbidden[] = $headers['nonce'];
        $forbidden[] = sha1($secret . $headers['nonce'] . $headers['curtime']); // the CheckSum
        $forbidden[] = $request['body'];
    }
    check(count($forbidden) === 3 + 3 * 3, 'three requests recorded');
    foreach ($lines as [$level, $message]) {
        foreach ($forbidden as $value) {
            check(!str_contains($message, $value), "'$message' shows '$value'");
        }
        check(!preg_match('/1\d{10}/', $message), "an unmasked number in '$message'");
    }
    $mock->stop();
});

test_case('log: phone numbers in a path are masked; a give-up is a warning', function () {
    $mock = MockServer::start();
    $client = mock_client($mock);
    $lines = [];
    Log::setHandler(collector($lines));
    try {
        $client->request('/nimserver/user/13888888888/update.action', ['mobile' => '13666666666']);
        check(false, 'an exception');
    } catch (ProtocolException $e) {
        check($e->httpStatus() === 404, 'the mock knows no such path');
    }
    $sent = events($lines, 'debug', 'request sent');
    check(count($sent) === 1 && str_contains($sent[0], 'endpoint=api path=/nimserver/user/138****8888/update.action attempt=1'), json_encode($sent));
    $gaveUp = events($lines, 'warning', 'gave up');
    check(count($gaveUp) === 1 && str_contains($gaveUp[0], 'attempts=1 reason=protocol_not_json advice=never'), json_encode($gaveUp));
    foreach ($lines as [, $message]) {
        check(!str_contains($message, '13888888888') && !str_contains($message, '13666666666'), "unmasked: '$message'");
    }
    $mock->stop();
});

test_case('log: the maximum level filters; removed, no more lines arrive', function () {
    $mock = MockServer::start();
    $client = mock_client($mock);
    $session = $client->startCall('liuxuanlin', '13888888888', '13777777777', 100);
    foreach (['info' => ['info'], Log::INFO => ['info'], 'WARN' => [], 'warning' => [], 'debug' => ['debug', 'info'], Log::TRACE => ['debug', 'info']] as $max => $want) {
        $lines = [];
        Log::setHandler(collector($lines), $max);
        $mock->injectFault('busy_503');
        $client->query($session);
        check(array_values(array_unique(array_column($lines, 0))) === $want, "up to $max: " . json_encode($lines));
    }
    // Off, or null: removed.
    foreach ([fn () => Log::setHandler(null), fn () => Log::setHandler(static fn () => null, 'off'), fn () => Log::setLogger(null)] as $remove) {
        $lines = [];
        Log::setHandler(collector($lines));
        $client->query($session);
        check(count($lines) === 2, 'set: lines');
        $remove();
        check(!Log::isSet(), 'removed');
        $mock->injectFault('busy_503');
        $client->query($session);
        $mock->injectFault('server_error', 3);
        try {
            $client->query($session);
        } catch (ApiException) {
        }
        check(count($lines) === 2, 'no more lines: ' . json_encode($lines));
    }
    Log::setHandler(null); // removing twice is harmless
    $mock->stop();
});

test_case('log: a second handler replaces the first', function () {
    $mock = MockServer::start();
    $client = mock_client($mock);
    [$first, $second] = [[], []];
    Log::setHandler(collector($first));
    Log::setHandler(collector($second), 'debug');
    $client->startCall('liuxuanlin', '13888888888', '13777777777', 100);
    check($first === [] && count($second) === 2, 'only the second');
    $mock->stop();
});

test_case('log: bad levels and loggers are refused; the handler set before stays', function () {
    $lines = [];
    Log::setHandler(collector($lines));
    foreach ([6, -1, 'verbose', '', 'notice'] as $level) {
        try {
            Log::setHandler(static fn () => null, $level);
            check(false, var_export($level, true) . ' refused');
        } catch (\InvalidArgumentException $e) {
            check(str_contains($e->getMessage(), 'off, error, warning, info, debug or trace'), $e->getMessage());
        }
    }
    try {
        Log::setLogger(new \stdClass());
        check(false, 'a logger without log() refused');
    } catch (\InvalidArgumentException $e) {
        check(str_contains($e->getMessage(), 'stdClass'), $e->getMessage());
    }
    $mock = MockServer::start();
    mock_client($mock)->startCall('liuxuanlin', '13888888888', '13777777777', 100);
    check(count(events($lines, 'debug', 'request sent')) === 1 && count(events($lines, 'debug', 'response')) === 1,
        'still the first handler: ' . json_encode($lines));
    $mock->stop();
});

test_case('log: a PSR-3 logger gets the level, the line and its fields as context', function () {
    $logger = new class () {
        public array $records = [];

        public function log(mixed $level, string|\Stringable $message, array $context = []): void
        {
            $this->records[] = [$level, (string) $message, $context];
        }
    };
    Log::setLogger($logger, 'debug');
    $mock = MockServer::start();
    $client = mock_client($mock);
    $mock->injectFault('server_error');
    try {
        $client->startCall('liuxuanlin', '13888888888', '13777777777', 100);
        check(false, 'an exception');
    } catch (ApiException $e) {
        check($e->retryAdvice() === 'outcome_unknown', 'a 500 start is not resent');
    }
    // The client's first event, as it was made: where its requests go.
    $ready = array_shift($logger->records);
    check($ready === ['debug', 'client ready base_url=' . $mock->baseUrl() . ' proxy=none', ['target' => 'yunxin_ecp',
        'event' => 'client ready', 'base_url' => $mock->baseUrl(), 'proxy' => 'none']], json_encode($ready));
    check(array_column($logger->records, 0) === ['debug', 'debug', 'warning'], json_encode($logger->records));
    [, $message, $context] = $logger->records[2];
    check(str_starts_with($message, 'gave up id='), $message);
    check($context === ['target' => 'yunxin_ecp', 'event' => 'gave up', 'id' => $context['id'], 'attempts' => 1,
        'reason' => 'api_500', 'advice' => 'outcome_unknown'], json_encode($context));
    check($logger->records[0][2]['path'] === '/call/ecp/startcall.action' && $logger->records[0][2]['attempt'] === 1,
        json_encode($logger->records[0][2]));
    check(Log::fields('retry id=00ab attempt=2 reason=api_503 delay_ms=07') === ['event' => 'retry', 'id' => '00ab',
        'attempt' => 2, 'reason' => 'api_503', 'delay_ms' => '07'], 'fields: numbers as integers, other text as is');
    $mock->stop();
});

test_case('log: a handler that throws: the call completes, the exception is reported once as a warning', function () {
    $mock = MockServer::start();
    $client = mock_client($mock);
    $calls = 0;
    Log::setHandler(static function (string $level, string $message) use (&$calls): void {
        $calls++;
        throw new \RuntimeException("handler broke on $level");
    });
    $warnings = [];
    set_error_handler(static function (int $no, string $text) use (&$warnings): bool {
        $warnings[] = [$no, $text];
        return true;
    });
    $session = $client->startCall('liuxuanlin', '13888888888', '13777777777', 100);
    check(strlen($session) === 36, 'the start still returns its session');
    check($calls === 2, 'the handler was called for both events');
    check(count($warnings) === 1 && $warnings[0][0] === E_USER_WARNING, json_encode($warnings));
    check(str_contains($warnings[0][1], 'the log handler threw RuntimeException (handler broke on debug) at ' . __FILE__)
        && str_contains($warnings[0][1], '(and failed on 1 more events)'), $warnings[0][1]);
    // A failed call: its own exception, after the warning.
    $mock->injectFault('server_error');
    try {
        $client->startCall('liuxuanlin', '13888888888', '13777777777', 100);
        check(false, 'an exception');
    } catch (ApiException $e) {
        check($e->getCode() === 500, 'the call\'s own error');
    }
    check(count($warnings) === 2 && str_contains($warnings[1][1], '(and failed on 2 more events)'), json_encode($warnings));
    // Calls that log nothing report nothing.
    Log::setHandler(null);
    $client2 = mock_client($mock);
    $client2->startCall('liuxuanlin', '13888888888', '13777777777', 100);
    check(count($warnings) === 2, 'nothing more');
    $mock->stop();
});

test_case('log: an error handler that turns the warning into an exception: error_log() gets it, the call returns', function () {
    $mock = MockServer::start();
    $client = mock_client($mock);
    Log::setHandler(static function (): void {
        throw new \DomainException('nope');
    });
    set_error_handler(static function (int $no, string $text): bool {
        throw new \ErrorException($text, 0, $no);
    });
    $log = tempnam(sys_get_temp_dir(), 'yx-log');
    $before = ini_set('error_log', $log);
    try {
        $session = $client->startCall('liuxuanlin', '13888888888', '13777777777', 100);
    } finally {
        ini_set('error_log', (string) $before);
    }
    $logged = (string) file_get_contents($log);
    unlink($log);
    check(strlen($session) === 36, 'the session');
    check(str_contains($logged, 'the log handler threw DomainException (nope)'), $logged);
    $mock->stop();
});

test_case('log: a handler\'s own client calls log nothing to it; changing the handler inside it is refused', function () {
    $mock = MockServer::start();
    $client = mock_client($mock);
    $lines = [];
    $inner = null;
    Log::setHandler(static function (string $level, string $message) use (&$lines, &$inner, $client): void {
        $lines[] = $message;
        if (count($lines) === 1) {
            $inner = $client->startCall('liuxuanlin', '13888888888', '13777777777', 100); // its events: dropped
        }
    });
    $outer = $client->startCall('liuxuanlin', '13888888888', '13777777777', 100);
    check(strlen((string) $inner) === 36 && $inner !== $outer, 'both calls placed');
    check(count($lines) === 2, 'only the outer call\'s two lines: ' . json_encode($lines));
    check($mock->startCount() === 2, 'two starts');

    $warnings = [];
    set_error_handler(static function (int $no, string $text) use (&$warnings): bool {
        $warnings[] = $text;
        return true;
    });
    Log::setHandler(static function (): void {
        Log::setHandler(null);
    });
    $client->startCall('liuxuanlin', '13888888888', '13777777777', 100);
    check(count($warnings) === 1 && str_contains($warnings[0], 'LogicException (the log handler cannot be changed from inside the log handler)'),
        json_encode($warnings));
    check(Log::isSet(), 'still set');
    $mock->stop();
});

test_case('log: a handler left set when the script ends is removed before PHP frees it', function () {
    // A shutdown function registered after it runs after the wrapper's: its call logs nothing.
    [$rc, $out, $err] = child(CHILD_SETUP . '
        Log::setHandler(function (string $level, string $message): void { echo "$level: $message\n"; });
        $client->startCall("liuxuanlin", "13888888888", "13777777777", 100);
        register_shutdown_function(function () use ($client) {
            $client->startCall("liuxuanlin", "13888888888", "13777777777", 100);
            echo Log::isSet() ? "still set\n" : "removed\n";
        });');
    check($rc === 0 && $err === '', "rc $rc: $err");
    $lines = explode("\n", trim($out));
    check(count($lines) === 3 && str_starts_with($lines[0], 'debug: request sent') && $lines[2] === 'removed', $out);
});

test_case('log: exit() or a fatal error inside the handler ends the process without hanging', function () {
    // What PHP prints for either depends on its version and on where the error struck, so only
    // what the wrapper guarantees is checked: the script stops there, the process ends with a
    // failure status instead of hanging or crashing, the callback is removed when it ends, the
    // library still serves a call afterwards, and the wrapper's own note says what was left.
    // The fatal error is a single allocation over memory_limit (64M): it fails at once, every
    // run, and leaves the heap with room for the shutdown functions (a loop filling the heap
    // failed wherever the last allocation fell, and could starve them).
    foreach ([
        'exit' => 'exit(3);',
        'memory' => '$a = str_repeat("x", 256 << 20);',
    ] as $what => $body) {
        [$rc, $out, $err] = child(CHILD_SETUP . '
            Log::setHandler(function (string $level, string $message): void { ' . $body . ' });
            // Registered after setHandler()\'s, so it runs once the wrapper has cleaned up.
            register_shutdown_function(function () use ($mock) {
                echo Log::isSet() ? "still set\n" : "removed\n";
                $after = new Client(new Credentials(MockServer::sampleAppKey(), MockServer::sampleAppSecret()),
                    ["base_url" => $mock->baseUrl()]);
                echo strlen($after->startCall("liuxuanlin", "13888888888", "13777777777", 100)), "\n";
            });
            $client->startCall("liuxuanlin", "13888888888", "13777777777", 100);
            echo "not reached\n";');
        // 255: PHP's status after a fatal error; 1 to 123: an exit status; 124 would be the
        // timeout (it hung), 128 and up a signal (it crashed).
        check($rc === 255 || ($rc >= 1 && $rc <= 123), "$what: exit code $rc: $err");
        check($out === "removed\n36\n", "$what: the callback removed at the end, the library still serving: $out");
        check(str_contains($err, 'restart this PHP process'), "$what: the wrapper says what it left: $err");
    }
    // An ordinary exception, by contrast: reported, and the script goes on.
    [$rc, $out, $err] = child(CHILD_SETUP . '
        Log::setHandler(function (): void { throw new Exception("x"); });
        echo strlen($client->startCall("liuxuanlin", "13888888888", "13777777777", 100)), "\n";');
    check($rc === 0 && $out === "36\n" && str_contains($err, 'Warning: YunxinEcp\\Log: the log handler threw Exception (x)'), "$rc $out $err");
});

test_case('log: under a web server (ffi.preload + php/preload.php) a handler left set ends with its request', function () {
    // One php -S process serves every request in turn, as a PHP-FPM worker does, with the library
    // loaded once (ffi.preload): a callback left set by one request would be called by the next
    // after PHP freed it.
    $root = dirname(__DIR__, 2);
    $temp = sys_get_temp_dir() . '/yx-php-log-' . bin2hex(random_bytes(6));
    mkdir($temp, 0700);
    $mock = MockServer::start();
    $server = null;
    try {
        file_put_contents("$temp/router.php", '<?php
            use YunxinEcp\{Client, Credentials, Log, MockServer};
            if (isset($_GET["ping"])) { echo "pong"; return; }
            $client = new Client(new Credentials(MockServer::sampleAppKey(), MockServer::sampleAppSecret()),
                ["base_url" => $_GET["mock"], "backoff_ms" => 5]);
            $lines = [];
            if (isset($_GET["set"])) {
                Log::setHandler(function (string $level, string $message) use (&$lines): void { $lines[] = "$level: $message"; });
            }
            if (isset($_GET["exit"])) {
                Log::setHandler(function (): void { exit(3); });
            }
            $session = $client->startCall("liuxuanlin", "13888888888", "13777777777", 100);
            echo json_encode(["pid" => getmypid(), "session" => strlen($session), "lines" => $lines]);');
        $library = getenv('YUNXIN_ECP_LIB') ?: "$root/target/release/libyunxin_ecp.so";
        file_put_contents("$temp/yunxin_ecp_php.h", \YunxinEcp\Ffi::preloadHeader('libyunxin_ecp.so'));
        $user = function_exists('posix_geteuid') ? posix_getpwuid(posix_geteuid())['name'] : (getenv('USER') ?: 'root');
        $env = getenv();
        unset($env['YUNXIN_ECP_LIB'], $env['YUNXIN_ECP_HEADER']);
        $env = ['LD_LIBRARY_PATH' => trim(dirname((string) realpath($library)) . ':' . ($env['LD_LIBRARY_PATH'] ?? ''), ':'),
            'YUNXIN_ECP_LIB' => '/nonexistent/libyunxin_ecp.so', 'YUNXIN_ECP_HEADER' => '/nonexistent/yunxin_ecp.h'] + $env;
        [$server, $port] = start_php_server(['ffi.enable=preload', "ffi.preload=$temp/yunxin_ecp_php.h",
            'opcache.enable=1', 'opcache.enable_cli=1', "opcache.preload=$root/php/preload.php",
            "opcache.preload_user=$user"], "$temp/router.php", $temp, $env, '?ping', 'pong');
        check($server !== null, 'php -S started: ' . @file_get_contents("$temp/server.err"));
        $get = static function (string $query) use ($port, $mock): array {
            $answer = @file_get_contents("http://127.0.0.1:$port/?$query&mock=" . rawurlencode($mock->baseUrl()));
            return json_decode((string) $answer, true) ?? ['answer' => $answer];
        };
        $first = $get('set=1');
        check(($first['session'] ?? 0) === 36 && count($first['lines'] ?? []) === 2
            && str_starts_with($first['lines'][0], 'debug: request sent'), 'the first request logged: ' . json_encode($first));
        $second = $get('');
        check(($second['session'] ?? 0) === 36 && ($second['lines'] ?? null) === [] && $second['pid'] === $first['pid'],
            'the next request of the same process: no handler, no crash: ' . json_encode($second));
        $third = $get('set=1');
        check(count($third['lines'] ?? []) === 2 && $third['pid'] === $first['pid'], 'set again: ' . json_encode($third));
        check(proc_get_status($server)['running'], 'the server still runs');
        $err = (string) file_get_contents("$temp/server.err");
        check(!preg_match('/Fatal|Warning|Segmentation/i', $err), $err);
        // A handler that exit()s jumps out of the library mid-event and ends its request with a
        // fatal error; the next request of the same process must still find no callback set.
        $get('exit=1');
        $after = $get('');
        check(($after['session'] ?? 0) === 36 && ($after['lines'] ?? null) === [] && $after['pid'] === $first['pid'],
            'after a handler exit()ed, the next request of the same process: ' . json_encode($after));
        check(proc_get_status($server)['running'], 'the server survived the handler that exit()ed');
    } finally {
        if ($server !== null) {
            proc_terminate($server);
            proc_close($server);
        }
        $mock->stop();
        foreach (glob("$temp/*") ?: [] as $file) {
            @unlink($file);
        }
        @rmdir($temp);
    }
});

finish('log');
