<?php
/**
 * End to end: examples/php/callback_handler.php served by PHP's built-in web server, which
 * applies ffi.enable as PHP-FPM does (its SAPI, cli-server, is not the command line), set up
 * each documented way:
 *
 * 1. production: PHP's default ffi.enable=preload, the header Ffi::preloadHeader() writes in
 *    ffi.preload (its FFI_LIB names libyunxin_ecp.so, found by the dynamic loader, here through
 *    LD_LIBRARY_PATH) and php/preload.php as opcache.preload; YUNXIN_ECP_LIB and
 *    YUNXIN_ECP_HEADER point nowhere, so only the preloaded scope can serve. The mock places a
 *    call and delivers its signed call-end callback: logged once, a replay acknowledged and not
 *    logged twice, a forged body refused with 403;
 * 2. php/preload.php alone (no ffi.preload): the preloaded wrapper reads the header itself;
 * 3. the development one-liner of the example's comment, run as written from the repository
 *    root: `php -d ffi.enable=1 -S 127.0.0.1:PORT examples/php/callback_handler.php`, without
 *    YUNXIN_ECP_LIB (the wrapper finds target/release by itself). Callbacks signed here with
 *    PHP's own md5() and sha1(): 200 and the record logged for a genuine one, 403 for a forged
 *    body, a forged CheckSum, another app's key or a stale CurTime, 400 for a signed body that
 *    is not a callback, 405 for a GET;
 * 4. the same without `-d ffi.enable=1`, under PHP's default: every POST fails (500), and the
 *    server's log says which setting to change.
 *
 * Each server picks a free port. Prints "callback e2e: N passed, M failed" (run.sh folds it
 * into the PHP total).
 */

declare(strict_types=1);

require dirname(__DIR__, 2) . '/php/YunxinEcp.php';

use YunxinEcp\Client;
use YunxinEcp\Credentials;
use YunxinEcp\Ffi;
use YunxinEcp\MockServer;

$passed = 0;
$failed = 0;
function expect(bool $ok, string $what): void
{
    global $passed, $failed;
    $ok ? $passed++ : $failed++;
    if (!$ok) {
        fwrite(STDERR, "FAIL [callback e2e] $what\n");
    }
}

/**
 * Sends a request; returns the HTTP status (0: no answer).
 *
 * @param list<array{0: string, 1: string}> $headers
 */
function http(string $method, string $url, string $body = '', array $headers = []): int
{
    $lines = [];
    foreach ($headers as [$name, $value]) {
        $lines[] = "$name: $value";
    }
    $context = stream_context_create(['http' => [
        'method' => $method, 'header' => implode("\r\n", $lines), 'content' => $body,
        'ignore_errors' => true, 'timeout' => 10,
    ]]);
    $http_response_header = [];
    @file_get_contents($url, false, $context);
    preg_match('/^HTTP\/\S+ (\d+)/', $http_response_header[0] ?? '', $m);
    return (int) ($m[1] ?? 0);
}

function post(string $url, string $body, array $headers): int
{
    return http('POST', $url, $body, $headers);
}

/**
 * A call-end callback as the service signs it, computed here with PHP's md5() and sha1() (not
 * the library): MD5 = md5(body), CheckSum = sha1(secret . MD5 . CurTime), CurTime in ms.
 *
 * @return list<array{0: string, 1: string}>
 */
function signed_headers(string $appKey, string $secret, string $body, ?int $curTimeMs = null): array
{
    $md5 = md5($body);
    $curTime = (string) ($curTimeMs ?? (int) floor(microtime(true) * 1000));
    return [
        ['Content-Type', 'application/json'],
        ['AppKey', $appKey],
        ['CurTime', $curTime],
        ['MD5', $md5],
        ['CheckSum', sha1($secret . $md5 . $curTime)],
    ];
}

/** A call-end body for a new session (the handler deduplicates on the session, across runs too). */
function call_end_body(string $session, int $durationSec): string
{
    return json_encode([
        'eventType' => '10',
        'callback' => json_encode(['session' => $session, 'durationSec' => $durationSec, 'status' => 'SUCCESS']),
    ]);
}

/** @return list<array<string, mixed>> the records the handler logged */
function logged(string $log): array
{
    return array_map(fn ($line) => json_decode($line, true), array_values(array_filter(explode("\n", (string) file_get_contents($log)))));
}

/** @return array<string, mixed> the record the handler logged last */
function last_logged(string $log): array
{
    $records = logged($log);
    return $records === [] ? [] : $records[count($records) - 1];
}

/**
 * Starts `php ARGS -S 127.0.0.1:PORT examples/php/callback_handler.php` from the repository root
 * on a free port. The port is picked by binding port 0 and released for the server to take, so
 * on a busy machine another process can take it first: then the server exits, and another port
 * is tried. Ready means: still running, and answering a GET as the handler does (405).
 *
 * @param list<string> $args the php options before -S
 * @param array<string, string> $env
 * @return array{0: resource, 1: int}
 */
function start_handler(string $root, array $args, array $env, string $stderr): array
{
    for ($attempt = 1; $attempt <= 5; $attempt++) {
        $socket = stream_socket_server('tcp://127.0.0.1:0');
        $port = (int) substr(strrchr(stream_socket_get_name($socket, false), ':'), 1);
        fclose($socket);
        $server = proc_open(
            [PHP_BINARY, ...$args, '-S', "127.0.0.1:$port", 'examples/php/callback_handler.php'],
            [0 => ['file', '/dev/null', 'r'], 1 => ['file', '/dev/null', 'w'], 2 => ['file', $stderr, 'w']],
            $pipes,
            $root,
            $env,
        );
        for ($i = 0; $i < 200; $i++) {
            if (!proc_get_status($server)['running']) {
                break; // the port was taken meanwhile: try another
            }
            $probe = @fsockopen('127.0.0.1', $port, $errno, $errstr, 1.0);
            if ($probe !== false) {
                fclose($probe);
                if (http('GET', "http://127.0.0.1:$port/yunxin/callback") === 405 && proc_get_status($server)['running']) {
                    return [$server, $port];
                }
                break;
            }
            usleep(50000);
        }
        proc_terminate($server);
        proc_close($server);
    }
    fwrite(STDERR, "callback e2e: php -S did not start on any of 5 ports\n");
    exit(1);
}

/** @param resource $server */
function stop_handler($server): void
{
    proc_terminate($server);
    proc_close($server);
}

$root = dirname(__DIR__, 2);
$appKey = MockServer::sampleAppKey();
$secret = MockServer::sampleAppSecret();
$user = function_exists('posix_geteuid') ? posix_getpwuid(posix_geteuid())['name'] : (getenv('USER') ?: 'root');
$temp = sys_get_temp_dir() . '/yx-php-e2e-' . bin2hex(random_bytes(6));
mkdir($temp, 0700);
$log = "$temp/callbacks.log";
$stderr = "$temp/server.err";
touch($log);
$preloadHeader = "$temp/yunxin_ecp_php.h";
file_put_contents($preloadHeader, Ffi::preloadHeader('libyunxin_ecp.so'));
$library = getenv('YUNXIN_ECP_LIB') ?: "$root/target/release/libyunxin_ecp.so";
$libraryDir = dirname((string) realpath($library));

/** The environment of a server: this one's, without the wrapper's variables, plus $extra. */
function server_env(array $extra): array
{
    $env = getenv();
    unset($env['YUNXIN_ECP_LIB'], $env['YUNXIN_ECP_HEADER']);
    return $extra + $env;
}

$app = ['YUNXIN_APP_KEY' => $appKey, 'YUNXIN_APP_SECRET' => $secret, 'YUNXIN_CALLBACK_LOG' => $log];
// Only needed when running as root (opcache refuses to preload as root without it).
$preloading = ['-d', 'opcache.enable=1', '-d', 'opcache.enable_cli=1', '-d', "opcache.preload=$root/php/preload.php",
    '-d', "opcache.preload_user=$user"];

try {
    // ---- 1. production: ffi.preload + opcache.preload=php/preload.php ----
    [$server, $port] = start_handler($root, ['-d', 'ffi.enable=preload', '-d', "ffi.preload=$preloadHeader", ...$preloading],
        server_env($app + [
            'LD_LIBRARY_PATH' => trim($libraryDir . ':' . (getenv('LD_LIBRARY_PATH') ?: ''), ':'),
            'YUNXIN_ECP_LIB' => '/nonexistent/libyunxin_ecp.so',
            'YUNXIN_ECP_HEADER' => '/nonexistent/yunxin_ecp.h',
        ]), $stderr);
    $url = "http://127.0.0.1:$port/yunxin/callback";
    $mock = MockServer::start();
    try {
        $mock->setCallbackUrl($url);
        $mock->setOutcomeAnswered('13777777777', 61);
        $client = new Client(new Credentials($appKey, $secret), ['base_url' => $mock->baseUrl()]);
        $session = $client->startCall('liuxuanlin', '13888888888', '13777777777', 100);

        $lines = [];
        for ($i = 0; $i < 200 && count($lines) < 1; $i++) {
            usleep(50000);
            $lines = logged($log);
        }
        expect(count($lines) === 1, 'preload.php + ffi.preload: the handler logged the record');
        $record = $lines[0] ?? [];
        expect(($record['session'] ?? null) === $session, 'of the placed call');
        expect(($record['billed_minutes'] ?? null) === 2 && ($record['cost_fen'] ?? null) === 24, 'billed 2 minutes, 24 fen');

        $deliveries = $mock->callbacks();
        expect(count($deliveries) === 1 && $deliveries[0]['status'] === 200, 'the mock saw HTTP 200');

        // A repeated delivery (the service may repeat): 200 again, logged once. The mock's
        // callback log shows no live CheckSum, so the repeat is signed here, as the service
        // signs each delivery.
        $delivery = $deliveries[0] ?? ['body' => '', 'headers' => []];
        $resigned = signed_headers($appKey, $secret, $delivery['body']);
        expect(post($url, $delivery['body'], $delivery['headers']) === 403, 'the logged delivery (CheckSum redacted) gets 403');
        expect(post($url, $delivery['body'], $resigned) === 200, 'a repeated delivery is acknowledged');
        usleep(200000);
        expect(count(logged($log)) === 1, 'and not logged twice');

        // A forged body: refused.
        expect(post($url, str_replace('61', '6100', $delivery['body']), $resigned) === 403, 'a forged body gets 403');
    } finally {
        $mock->stop();
        stop_handler($server);
    }

    // ---- 2. php/preload.php alone: the preloaded wrapper reads the header and opens the library ----
    [$server, $port] = start_handler($root, ['-d', 'ffi.enable=preload', ...$preloading],
        server_env($app + ['YUNXIN_ECP_LIB' => $library]), $stderr);
    try {
        $url = "http://127.0.0.1:$port/yunxin/callback";
        $session = 'php-e2e-preload-' . bin2hex(random_bytes(8));
        $body = call_end_body($session, 30);
        expect(post($url, $body, signed_headers($appKey, $secret, $body)) === 200, 'preload.php alone: a genuine callback gets 200');
        expect((last_logged($log)['session'] ?? null) === $session, 'preload.php alone: and its record is logged');
        expect(post($url, $body, signed_headers($appKey, 'another secret', $body)) === 403, 'preload.php alone: a forged CheckSum gets 403');
    } finally {
        stop_handler($server);
    }

    // ---- 3. the development one-liner, as the example documents it ----
    // From a checkout the wrapper finds target/release by itself; elsewhere (CARGO_TARGET_DIR)
    // it needs YUNXIN_ECP_LIB.
    $found = is_file("$root/target/release/libyunxin_ecp.so");
    [$server, $port] = start_handler($root, ['-d', 'ffi.enable=1'],
        server_env($app + ($found ? [] : ['YUNXIN_ECP_LIB' => $library])), $stderr);
    try {
        $url = "http://127.0.0.1:$port/";
        $session = 'php-e2e-dev-' . bin2hex(random_bytes(8));
        $body = call_end_body($session, 125);
        $headers = signed_headers($appKey, $secret, $body);
        expect(post($url, $body, $headers) === 200, 'php -d ffi.enable=1 -S: a genuine callback gets 200');
        $record = last_logged($log);
        expect(($record['session'] ?? null) === $session && ($record['billed_minutes'] ?? null) === 3
            && ($record['cost_fen'] ?? null) === 36 && ($record['answered'] ?? null) === true,
            'php -d ffi.enable=1 -S: verifyRequest() read the body and headers, and the record is logged');
        expect(post($url, str_replace('125', '12500', $body), $headers) === 403, 'php -d ffi.enable=1 -S: a forged body gets 403');
        expect(post($url, $body, signed_headers($appKey, 'another secret', $body)) === 403, 'a forged CheckSum gets 403');
        $otherApp = signed_headers('another-app-key', $secret, $body);
        expect(post($url, $body, $otherApp) === 403, "another app's AppKey gets 403");
        $stale = signed_headers($appKey, $secret, $body, (int) floor(microtime(true) * 1000) - 600000);
        expect(post($url, $body, $stale) === 403, 'a CurTime ten minutes old gets 403');
        expect(post($url, $body, array_slice($headers, 0, 4)) === 403, 'no CheckSum gets 403');
        expect(post($url, 'not a callback', signed_headers($appKey, $secret, 'not a callback')) === 400,
            'a signed body that is not a callback gets 400');
        expect(http('GET', $url) === 405, 'a GET gets 405');
        expect(count(array_filter(logged($log), fn ($r) => ($r['session'] ?? null) === $session)) === 1, 'logged once');
    } finally {
        stop_handler($server);
    }

    // ---- 4. the one-liner without -d ffi.enable=1: PHP's default refuses FFI to the request ----
    [$server, $port] = start_handler($root, [], server_env($app + ['YUNXIN_ECP_LIB' => $library]), $stderr);
    try {
        $body = call_end_body('php-e2e-refused', 1);
        expect(post("http://127.0.0.1:$port/", $body, signed_headers($appKey, $secret, $body)) === 500,
            'php -S under ffi.enable=preload: the request fails');
    } finally {
        stop_handler($server);
    }
    $said = (string) file_get_contents($stderr);
    expect(str_contains($said, 'ffi.enable=preload (PHP\'s default)') && str_contains($said, 'cli-server SAPI')
        && str_contains($said, 'php -d ffi.enable=1 -S') && str_contains($said, "opcache.preload=$root/php/preload.php"),
        'and the server log names the settings that would allow FFI');
} finally {
    foreach (glob("$temp/*") ?: [] as $file) {
        @unlink($file);
    }
    @rmdir($temp);
}
echo "callback e2e: $passed passed, $failed failed\n";
exit($failed === 0 ? 0 : 1);
