<?php
/**
 * End to end: examples/php/callback_handler.php served by PHP's built-in web server receives the
 * mock's signed call-end callback, verifies it through FFI and logs the record once; a replayed
 * delivery is not logged twice; a forged one is refused with 401.
 *
 * The server runs as production (PHP-FPM) should: with PHP's default ffi.enable=preload, only
 * preloaded code may use FFI in a web request, so the header Ffi::preloadHeader() writes is
 * preloaded with ffi.preload (the library found by the dynamic loader: its FFI_LIB names
 * libyunxin_ecp.so, here through LD_LIBRARY_PATH) and the wrapper with opcache.preload.
 * Prints "callback e2e: N passed, M failed" (run.sh folds it into the PHP total).
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

/** POSTs a body with headers; returns the HTTP status. */
function post(string $url, string $body, array $headers): int
{
    $lines = [];
    foreach ($headers as [$name, $value]) {
        $lines[] = "$name: $value";
    }
    $context = stream_context_create(['http' => [
        'method' => 'POST', 'header' => implode("\r\n", $lines), 'content' => $body,
        'ignore_errors' => true, 'timeout' => 10,
    ]]);
    @file_get_contents($url, false, $context);
    preg_match('/^HTTP\/\S+ (\d+)/', $http_response_header[0] ?? '', $m);
    return (int) ($m[1] ?? 0);
}

// Only needed when running as root (opcache refuses to preload as root without it).
$user = function_exists('posix_geteuid') ? posix_getpwuid(posix_geteuid())['name'] : (getenv('USER') ?: 'root');
$log = tempnam(sys_get_temp_dir(), 'yx-callbacks-');
$preloadHeader = tempnam(sys_get_temp_dir(), 'yx-preload-');
file_put_contents($preloadHeader, Ffi::preloadHeader('libyunxin_ecp.so'));
$root = dirname(__DIR__, 2);
$library = getenv('YUNXIN_ECP_LIB') ?: 'libyunxin_ecp.so';
$libraryDir = str_contains($library, '/') ? dirname(realpath($library)) : '';
$env = [
    'LD_LIBRARY_PATH' => trim($libraryDir . ':' . (getenv('LD_LIBRARY_PATH') ?: ''), ':'),
] + getenv() + [
    'YUNXIN_APP_KEY' => MockServer::sampleAppKey(),
    'YUNXIN_APP_SECRET' => MockServer::sampleAppSecret(),
    'YUNXIN_CALLBACK_LOG' => $log,
];

/**
 * Starts `php -S` with the example handler on a free port. The port is picked by binding port 0
 * and released for the server to take, so on a busy machine another process can take it first:
 * then the server exits, and another port is tried. Ready means: still running, and answering as the handler does.
 *
 * @return array{0: resource, 1: int}
 */
function start_handler(string $root, string $user, string $preloadHeader, array $env): array
{
    for ($attempt = 1; $attempt <= 5; $attempt++) {
        $socket = stream_socket_server('tcp://127.0.0.1:0');
        $port = (int) substr(strrchr(stream_socket_get_name($socket, false), ':'), 1);
        fclose($socket);
        $server = proc_open(
            [
                PHP_BINARY,
                '-d', 'ffi.enable=preload',
                '-d', "ffi.preload=$preloadHeader",
                '-d', 'opcache.enable=1',
                '-d', 'opcache.enable_cli=1',
                '-d', "opcache.preload=$root/php/YunxinEcp.php",
                '-d', 'opcache.preload_user=' . $user,
                '-S', "127.0.0.1:$port",
                "$root/examples/php/callback_handler.php",
            ],
            [0 => ['file', '/dev/null', 'r'], 1 => ['file', '/dev/null', 'w'], 2 => ['file', '/dev/null', 'w']],
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
                // Ours answers a GET of the callback path with 405 (POST only).
                $context = stream_context_create(['http' => ['ignore_errors' => true, 'timeout' => 5]]);
                @file_get_contents("http://127.0.0.1:$port/yunxin/callback", false, $context);
                $status = $http_response_header[0] ?? '';
                if (str_contains($status, ' 405') && proc_get_status($server)['running']) {
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

[$server, $port] = start_handler($root, $user, $preloadHeader, $env);
$url = "http://127.0.0.1:$port/yunxin/callback";

$mock = MockServer::start();
try {
    $mock->setCallbackUrl($url);
    $mock->setOutcomeAnswered('13777777777', 61);
    $client = new Client(new Credentials(MockServer::sampleAppKey(), MockServer::sampleAppSecret()), ['base_url' => $mock->baseUrl()]);
    $session = $client->startCall('liuxuanlin', '13888888888', '13777777777', 100);

    $lines = [];
    for ($i = 0; $i < 200 && count($lines) < 1; $i++) {
        usleep(50000);
        $lines = array_values(array_filter(explode("\n", (string) file_get_contents($log))));
    }
    expect(count($lines) === 1, 'the handler logged the record');
    $record = json_decode($lines[0] ?? '{}', true);
    expect(($record['session'] ?? null) === $session, 'of the placed call');
    expect(($record['billed_minutes'] ?? null) === 2 && ($record['cost_fen'] ?? null) === 24, 'billed 2 minutes, 24 fen');

    $deliveries = $mock->callbacks();
    expect(count($deliveries) === 1 && $deliveries[0]['status'] === 200, 'the mock saw HTTP 200');

    // A repeated delivery (the service may repeat): 200 again, logged once.
    $delivery = $deliveries[0];
    expect(post($url, $delivery['body'], $delivery['headers']) === 200, 'a replay within the tolerance is acknowledged');
    usleep(200000);
    expect(count(array_filter(explode("\n", (string) file_get_contents($log)))) === 1, 'and not logged twice');

    // A forged body: refused.
    expect(post($url, str_replace('61', '6100', $delivery['body']), $delivery['headers']) === 401, 'a forged body gets 401');
} finally {
    $mock->stop();
    proc_terminate($server);
    proc_close($server);
    @unlink($log);
    @unlink($preloadHeader);
}
echo "callback e2e: $passed passed, $failed failed\n";
exit($failed === 0 ? 0 : 1);
