<?php
/**
 * The few functions every PHP suite shares: cases that pass or fail on their own, checks that
 * say what failed, and the closing "LABEL: N passed, M failed" line the test command reads.
 */

declare(strict_types=1);

$passed = 0;
$failed = 0;
/** @var ?callable $after_each runs after every case whatever happened (a suite sets it to undo what a case may leave set). */
$after_each = null;

/** Runs one case; any exception or failed check fails it, with the case's name on STDERR. */
function test_case(string $name, callable $body): void
{
    global $passed, $failed, $after_each;
    try {
        $body();
        $passed++;
    } catch (\Throwable $e) {
        $failed++;
        fwrite(STDERR, "FAIL [$name] " . $e->getMessage() . "\n");
    } finally {
        if ($after_each !== null) {
            $after_each();
        }
    }
}

function check(bool $condition, string $what): void
{
    if (!$condition) {
        throw new \RuntimeException("check failed: $what");
    }
}

/** Prints the summary line and exits with the suite's status. */
function finish(string $label): never
{
    global $passed, $failed;
    echo "$label: $passed passed, $failed failed\n";
    exit($failed === 0 ? 0 : 1);
}

/**
 * Starts PHP's built-in web server on a free port of 127.0.0.1 with the `-d` settings in
 * $settings, serving $router from $dir, and waits until GET /$probe answers $ready. Returns
 * [process, port], or [null, 0] when five tries did not bring one up (its stderr is in
 * $dir/server.err). The caller stops it with proc_terminate() and proc_close().
 *
 * @param list<string> $settings
 * @param array<string, string> $env
 * @return array{0: resource|null, 1: int}
 */
function start_php_server(array $settings, string $router, string $dir, array $env, string $probe, string $ready): array
{
    for ($attempt = 1; $attempt <= 5; $attempt++) {
        $socket = stream_socket_server('tcp://127.0.0.1:0');
        $port = (int) substr(strrchr(stream_socket_get_name($socket, false), ':'), 1);
        fclose($socket);
        $args = [PHP_BINARY];
        foreach ($settings as $setting) {
            array_push($args, '-d', $setting);
        }
        array_push($args, '-S', "127.0.0.1:$port", $router);
        $process = proc_open($args,
            [0 => ['file', '/dev/null', 'r'], 1 => ['file', '/dev/null', 'w'], 2 => ['file', "$dir/server.err", 'w']],
            $pipes, $dir, $env);
        // Bounded: 200 probes 50 ms apart, each ending when the server answers or dies.
        for ($i = 0; $i < 200 && proc_get_status($process)['running']; $i++) {
            if (@file_get_contents("http://127.0.0.1:$port/$probe") === $ready) {
                return [$process, $port];
            }
            usleep(50000);
        }
        proc_terminate($process);
        proc_close($process);
    }
    return [null, 0];
}
