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
