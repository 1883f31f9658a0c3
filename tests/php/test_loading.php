<?php
/**
 * How the wrapper finds the library and the header, and what it says when it cannot, each case
 * in a PHP child process started from / with a clean environment (no YUNXIN_ECP_LIB,
 * YUNXIN_ECP_HEADER or LD_LIBRARY_PATH unless the case sets them):
 *
 * - YUNXIN_ECP_LIB naming a missing file: refused, the message listing every place in order
 *   and what to set;
 * - copies of the wrapper laid out as an unpacked SDK (php/, include/, lib/) and as a checkout
 *   (php/, include/, target/release/) find their library by themselves, lib/ first;
 * - nothing anywhere: every place listed with what it found;
 * - a library file that cannot be loaded, a library name the loader does not know, a relative
 *   YUNXIN_ECP_LIB, a missing header;
 * - FFI disabled (ffi.enable=0) and the FFI extension absent (php -n): the message names the
 *   settings.
 *
 * Usage: php tests/php/test_loading.php   (closes with "loading: N passed, M failed")
 */

declare(strict_types=1);

require __DIR__ . '/harness.php';

/** Whether $haystack holds every one of $needles, in this order. */
function in_order(string $haystack, array $needles): bool
{
    $at = 0;
    foreach ($needles as $needle) {
        $found = strpos($haystack, $needle, $at);
        if ($found === false) {
            return false;
        }
        $at = $found + strlen($needle);
    }
    return true;
}

$root = dirname(__DIR__, 2);
$library = (string) realpath(getenv('YUNXIN_ECP_LIB') ?: "$root/target/release/libyunxin_ecp.so");
if (!is_file($library)) {
    fwrite(STDERR, "loading: no library at $library (build it first, or set YUNXIN_ECP_LIB)\n");
    echo "loading: 0 passed, 1 failed\n";
    exit(1);
}
$temp = sys_get_temp_dir() . '/yx-php-loading-' . bin2hex(random_bytes(6));

/**
 * A copy of the wrapper and the header under $temp/$name as $dirs says, the library linked in
 * at each of $libs (paths relative to the tree). Returns the tree's root.
 */
function tree(string $name, bool $header, array $libs, ?string $libraryContent = null): string
{
    global $temp, $root, $library;
    $tree = "$temp/$name";
    @mkdir("$tree/php", 0700, true);
    copy("$root/php/YunxinEcp.php", "$tree/php/YunxinEcp.php");
    if ($header) {
        @mkdir("$tree/include", 0700, true);
        copy("$root/include/yunxin_ecp.h", "$tree/include/yunxin_ecp.h");
    }
    foreach ($libs as $lib) {
        @mkdir(dirname("$tree/$lib"), 0700, true);
        $libraryContent === null ? symlink($library, "$tree/$lib") : file_put_contents("$tree/$lib", $libraryContent);
    }
    return $tree;
}

/**
 * Runs the wrapper at $wrapper in a child PHP: its version, a CheckSum and the library the
 * preload header names, or the exception it threw.
 *
 * @param array<string, string> $env added to a clean environment
 * @param list<string> $phpArgs
 * @return array{version?: string, checksum?: string, lib?: string, class?: string, message?: string}
 */
function child(string $wrapper, array $env = [], array $phpArgs = [], string $cwd = '/'): array
{
    $code = <<<'PHP'
        require $argv[1];
        try {
            $out = [
                'version' => YunxinEcp\YunxinEcp::version(),
                'checksum' => YunxinEcp\YunxinEcp::checksum('xxxxxxxx', 'nonce', '1440570500'),
            ];
            preg_match('/^#define FFI_LIB "(.*)"$/m', YunxinEcp\Ffi::preloadHeader(), $m);
            $out['lib'] = stripcslashes($m[1] ?? '');
        } catch (Throwable $e) {
            $out = ['class' => get_class($e), 'message' => $e->getMessage()];
        }
        echo json_encode($out);
        PHP;
    $base = getenv();
    unset($base['YUNXIN_ECP_LIB'], $base['YUNXIN_ECP_HEADER'], $base['LD_LIBRARY_PATH']);
    $process = proc_open([PHP_BINARY, ...$phpArgs, '-r', $code, $wrapper],
        [0 => ['file', '/dev/null', 'r'], 1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes, $cwd, $env + $base);
    $stdout = stream_get_contents($pipes[1]);
    $stderr = stream_get_contents($pipes[2]);
    fclose($pipes[1]);
    fclose($pipes[2]);
    $status = proc_close($process);
    $result = json_decode((string) $stdout, true);
    if ($status !== 0 || !is_array($result)) {
        throw new \RuntimeException("the child failed ($status): $stdout $stderr");
    }
    return $result;
}

/** The child loaded the library (at $lib, when given). */
function loaded(array $result, ?string $lib = null): void
{
    check(isset($result['version']), 'loaded, not ' . ($result['class'] ?? '?') . ': ' . ($result['message'] ?? ''));
    // The documented vector: SHA1("xxxxxxxx" . "nonce" . "1440570500").
    check($result['checksum'] === sha1('xxxxxxxxnonce1440570500'), 'a working library');
    if ($lib !== null) {
        check($result['lib'] === $lib, "the library at $lib, not {$result['lib']}");
    }
}

/** The child threw a RuntimeException whose message holds $needles in this order. */
function refused(array $result, array $needles): void
{
    check(($result['class'] ?? null) === 'RuntimeException', 'refused with a RuntimeException, not '
        . ($result['class'] ?? 'loaded'));
    check(in_order($result['message'], $needles), "the message holds, in order, " . json_encode($needles)
        . ":\n" . $result['message']);
}

// Whether the system's dynamic loader knows the library (ffi-c/install.sh /usr/local + ldconfig):
// then a tree without a library of its own loads that one.
$systemLoader = (function (): bool {
    try {
        \FFI::cdef('uint32_t yx_abi_version(void);', 'libyunxin_ecp.so');
        return true;
    } catch (\Throwable) {
        return false;
    }
})();
$advice = ['Set YUNXIN_ECP_LIB', 'ffi-c/install.sh', 'ldconfig'];

try {
    test_case('YUNXIN_ECP_LIB naming a missing file is refused, listing every place', function () use ($root, $advice) {
        $result = child("$root/php/YunxinEcp.php", ['YUNXIN_ECP_LIB' => '/nonexistent/libyunxin_ecp.so']);
        refused($result, [
            'YUNXIN_ECP_LIB names a file that does not exist',
            '1. YUNXIN_ECP_LIB=/nonexistent/libyunxin_ecp.so: no such file',
            "2. $root/lib/libyunxin_ecp.so (an unpacked SDK): not tried",
            "3. $root/target/release/libyunxin_ecp.so (a checkout",
            "4. libyunxin_ecp.so from the system's dynamic loader",
            ...$advice,
        ]);
    });

    test_case('an unpacked SDK (php/, include/, lib/) finds lib/ by itself', function () {
        $tree = tree('sdk', true, ['lib/libyunxin_ecp.so']);
        loaded(child("$tree/php/YunxinEcp.php"), "$tree/lib/libyunxin_ecp.so");
    });

    test_case('a checkout (php/, include/, target/release/) finds target/release by itself', function () {
        $tree = tree('checkout', true, ['target/release/libyunxin_ecp.so']);
        loaded(child("$tree/php/YunxinEcp.php"), "$tree/target/release/libyunxin_ecp.so");
    });

    test_case('lib/ comes before target/release, YUNXIN_ECP_LIB before both', function () use ($library) {
        $tree = tree('both', true, ['lib/libyunxin_ecp.so', 'target/release/libyunxin_ecp.so']);
        loaded(child("$tree/php/YunxinEcp.php"), "$tree/lib/libyunxin_ecp.so");
        loaded(child("$tree/php/YunxinEcp.php", ['YUNXIN_ECP_LIB' => $library]), $library);
    });

    test_case('a relative YUNXIN_ECP_LIB is taken from the working directory, written absolute', function () use ($library) {
        loaded(child(dirname(__DIR__, 2) . '/php/YunxinEcp.php', ['YUNXIN_ECP_LIB' => './' . basename($library)], [], dirname($library)), $library);
    });

    test_case('nothing anywhere: every place is listed with what it found', function () use ($systemLoader, $advice) {
        $tree = tree('bare', true, []);
        $result = child("$tree/php/YunxinEcp.php");
        if ($systemLoader) {
            loaded($result, 'libyunxin_ecp.so'); // installed on this machine: found there
            return;
        }
        refused($result, [
            'the library was not found or could not be loaded',
            '1. YUNXIN_ECP_LIB: not set',
            "2. $tree/lib/libyunxin_ecp.so (an unpacked SDK): no such file",
            "3. $tree/target/release/libyunxin_ecp.so (a checkout, after cargo build --release -p yunxin-ecp-ffi): no such file",
            "4. libyunxin_ecp.so from the system's dynamic loader (ldconfig's directories, LD_LIBRARY_PATH): FFI could not load it",
            ...$advice,
        ]);
    });

    test_case('the system loader: LD_LIBRARY_PATH serves a tree without a library', function () use ($library) {
        $tree = tree('loader', true, []);
        loaded(child("$tree/php/YunxinEcp.php", ['LD_LIBRARY_PATH' => dirname($library)]), 'libyunxin_ecp.so');
    });

    test_case('a library file that cannot be loaded is named, and nothing after it is tried', function () use ($advice) {
        $tree = tree('broken', true, ['lib/libyunxin_ecp.so'], "not a shared library\n");
        refused(child("$tree/php/YunxinEcp.php"), [
            '1. YUNXIN_ECP_LIB: not set',
            "2. $tree/lib/libyunxin_ecp.so (an unpacked SDK): FFI could not load it",
            '3. ', 'not tried: the place above came first',
            '4. ', 'not tried: the place above came first',
            ...$advice,
        ]);
    });

    test_case('a YUNXIN_ECP_LIB name the loader does not know', function () use ($root, $advice) {
        refused(child("$root/php/YunxinEcp.php", ['YUNXIN_ECP_LIB' => 'libno_such_yunxin.so']), [
            '1. YUNXIN_ECP_LIB=libno_such_yunxin.so: FFI could not load it',
            '2. ', 'not tried', '3. ', 'not tried', '4. ', 'not tried', ...$advice,
        ]);
    });

    test_case('a missing header is named, with the variable to set', function () use ($root) {
        $tree = tree('noheader', false, ['lib/libyunxin_ecp.so']);
        refused(child("$tree/php/YunxinEcp.php"), ["cannot read the yunxin_ecp header $tree/include/yunxin_ecp.h", 'YUNXIN_ECP_HEADER']);
        // YUNXIN_ECP_HEADER serves that tree.
        loaded(child("$tree/php/YunxinEcp.php", ['YUNXIN_ECP_HEADER' => "$root/include/yunxin_ecp.h"]));
    });

    test_case('a header that is no regular file, or over 1 MiB, is refused without reading it whole', function () use ($root, $temp) {
        // /dev/zero never ends: read whole, it would exhaust memory_limit (a fatal error, no message).
        refused(child("$root/php/YunxinEcp.php", ['YUNXIN_ECP_HEADER' => '/dev/zero']),
            ['cannot read the yunxin_ecp header /dev/zero', 'YUNXIN_ECP_HEADER']);
        $big = "$temp/big.h";
        file_put_contents($big, str_repeat("/* padding */\n", intdiv(1024 * 1024, 14) + 1));
        refused(child("$root/php/YunxinEcp.php", ['YUNXIN_ECP_HEADER' => $big]),
            ["the yunxin_ecp header $big is larger than 1048576 bytes", 'YUNXIN_ECP_HEADER']);
    });

    test_case('ffi.enable=0: the message says what the CLI and a web server need', function () use ($root) {
        refused(child("$root/php/YunxinEcp.php", [], ['-d', 'ffi.enable=0']), [
            'FFI is disabled: ffi.enable=0 (the cli SAPI)',
            "The command line (the cli SAPI) needs ffi.enable=preload (PHP's default) or ffi.enable=1",
            'A web server (PHP-FPM', 'needs ffi.enable=preload and the wrapper preloaded',
            "opcache.preload=$root/php/preload.php", 'ffi.preload=', 'ffi.enable=1', 'ini_set() cannot change it',
        ]);
    });

    test_case('no FFI extension (php -n): the message says to enable it', function () use ($root) {
        refused(child("$root/php/YunxinEcp.php", [], ['-n']), ["PHP's FFI extension is not loaded", 'extension=ffi']);
    });
} finally {
    exec('rm -rf ' . escapeshellarg($temp));
}

finish('loading');
