<?php
/**
 * yunxin_ecp for PHP: YunXin's CheckSum signing and the ECP (专线电话) API through PHP's FFI
 * extension and libyunxin_ecp, instead of hand-rolled signing code.
 *
 *     require 'php/YunxinEcp.php';
 *     use YunxinEcp\{Client, Credentials};
 *
 *     $client = new Client(Credentials::fromEnv());
 *     $session = $client->startCall('liuxuanlin', '13888888888', '13777777777', 100);
 *     $answer = $client->request('/nimserver/user/create.action', ['accid' => 'zhangsan']);
 *
 * Every failure is an exception (YunxinEcp\Exception and its subclasses) carrying the error's
 * kind, the API code and message, the retry advice and whether the request may have been sent.
 * Every string and handle the library returns is freed here: callers never see a pointer.
 *
 * Loading: Ffi::get() uses the scope YUNXIN_ECP when it was preloaded (ffi.preload, with the
 * header Ffi::preloadHeader() writes), otherwise it reads the C header (YUNXIN_ECP_HEADER, else
 * ../include/yunxin_ecp.h from this file) and opens the library: YUNXIN_ECP_LIB if set, else
 * ../lib/libyunxin_ecp.so (an unpacked SDK), else ../target/release/libyunxin_ecp.so (a checkout),
 * else libyunxin_ecp.so from the system's loader path (ffi-c/install.sh /usr/local, then ldconfig).
 * When none serves, the exception lists each place and what it found there.
 *
 * FFI must be allowed: PHP's default ffi.enable=preload allows it on the command line and in
 * preloaded code. Under a web server (PHP-FPM, Apache, php -S) preload the wrapper with
 * php/preload.php, whose comment holds the php.ini lines; for development only, ffi.enable=1
 * does too:
 *
 *     YUNXIN_APP_KEY=... YUNXIN_APP_SECRET=... php -d ffi.enable=1 -S 127.0.0.1:8080 examples/php/callback_handler.php
 *
 * A callback endpoint is a few lines (see CallbackVerifier::verifyRequest()):
 *
 *     $event = (new CallbackVerifier(Credentials::fromEnv()))->verifyRequest(); // or CallbackException
 *     // catch (CallbackException $e) { http_response_code($e->answerStatus()); }  (403, 400, or 413 over 1 MiB)
 *
 * Or handle each delivery once, however often the service delivers it (a rotation's two secrets
 * accepted; see CallbackVerifier::handleRequest(), DeliveryGuard, and php/CallbackMiddleware.php
 * for PSR-15):
 *
 *     (new CallbackVerifier([$old, $new]))->handleRequest(function (array $event, Delivery $d): void {
 *         // book it
 *     }, new DeliveryGuard($yourStore))->send();
 *
 * The client's attempts, retries and give-ups, as log lines (see Log; or Log::setLogger($psr3)):
 *
 *     Log::setHandler(fn (string $level, string $message) => error_log("yunxin_ecp $level: $message"), 'info');
 *
 * With Composer, the repository's composer.json (package yunxin-ecp/yunxin-ecp) loads this file.
 */

declare(strict_types=1);

namespace YunxinEcp;

use FFI as NativeFfi;
use FFI\CData;

/** The ECP endpoints, and any other API path (yx_endpoint): what parseStartResponse() and codeRetryAdvice() take. */
final class Endpoint
{
    public const START_CALL = 1;
    public const START_CONF = 2;
    public const QUERY_BY_SESSION = 3;
    public const API = 4;
}

/** The query's `type` (yx_session_kind). */
final class SessionKind
{
    public const CALL = 1;
    public const CONFERENCE = 2;
}

/**
 * The library, loaded once per process (or preloaded once per PHP-FPM pool).
 *
 * Where it is looked for, in this order (the first that applies is used, and a failure names
 * every place with what was found there):
 *
 * 1. YUNXIN_ECP_LIB, when set: that file (or, without a slash, that name for the dynamic
 *    loader), and nothing else;
 * 2. ../lib/libyunxin_ecp.so from this file: the wrapper in an unpacked C SDK (php/, include/, lib/);
 * 3. ../target/release/libyunxin_ecp.so from this file: a checkout after
 *    `cargo build --release -p yunxin-ecp-ffi`;
 * 4. libyunxin_ecp.so by name, for the system's dynamic loader (ldconfig's directories, e.g.
 *    after `ffi-c/install.sh /usr/local` and `ldconfig`, and LD_LIBRARY_PATH).
 *
 * The header: YUNXIN_ECP_HEADER when set, else ../include/yunxin_ecp.h from this file (the SDK's,
 * the checkout's, the Composer package's). Neither is read when the scope YUNXIN_ECP was
 * preloaded (ffi.preload, see preloadHeader() and php/preload.php).
 */
final class Ffi
{
    private const NAME = 'libyunxin_ecp.so';
    /** The most of a header the wrapper reads: yunxin_ecp.h is some 50 KB. */
    private const HEADER_MAX_BYTES = 1024 * 1024;

    private static ?NativeFfi $ffi = null;

    /** The loaded library. */
    public static function get(): NativeFfi
    {
        return self::$ffi ??= self::load();
    }

    /**
     * Loads the library explicitly, e.g. from a build directory. Without arguments: the
     * preloaded scope if there is one, else the library and header found as the class comment says.
     */
    public static function load(?string $library = null, ?string $header = null): NativeFfi
    {
        if (!class_exists(NativeFfi::class, false)) {
            throw new \RuntimeException("PHP's FFI extension is not loaded in this PHP (" . PHP_BINARY . ', SAPI '
                . PHP_SAPI . '): enable it with extension=ffi in php.ini (on Debian and Ubuntu it comes with'
                . ' php-common: phpenmod ffi)');
        }
        if ($library === null && $header === null) {
            $scope = null;
            try {
                $scope = NativeFfi::scope('YUNXIN_ECP');
            } catch (NativeFfi\Exception $e) {
                self::refuseIfRestricted($e->getMessage()); // else: not preloaded, read the header below
            }
            if ($scope !== null) {
                return self::$ffi = self::checked($scope, 'the preloaded libyunxin_ecp (ffi.preload)');
            }
        }
        $header = self::header($header);
        $declarations = self::declarations($header);
        [$path, $places] = self::locate($library);
        try {
            return self::$ffi = self::checked(NativeFfi::cdef($declarations, $path), $path);
        } catch (NativeFfi\ParserException $e) {
            throw new \RuntimeException("cannot read the yunxin_ecp header $header: {$e->getMessage()}");
        } catch (NativeFfi\Exception $e) {
            self::refuseIfRestricted($e->getMessage());
            // FFI opens the library, then resolves every declared function: a library of another
            // ABI fails on a function it lacks. Name the versions when it can tell its own.
            try {
                $abi = NativeFfi::cdef('uint32_t yx_abi_version(void);', $path);
            } catch (NativeFfi\Exception) {
                // Not even that: the library could not be opened.
                throw new \RuntimeException(self::notLoaded($places, $e->getMessage()));
            }
            self::checked($abi, $path);
            throw new \RuntimeException("$path: {$e->getMessage()}");
        }
    }

    /**
     * The header for PHP's ffi.preload: the declarations with the FFI_SCOPE and FFI_LIB
     * directives FFI::load() reads (FFI_LIB: the library as load() finds it, as an absolute path
     * when it is a file, else the name for the dynamic loader). Under PHP-FPM only preloaded code
     * may use FFI (with the default ffi.enable=preload), and PHP refuses FFI::load() in a preload
     * script run as opcache.preload_user, so the scope has to come from ffi.preload: write this
     * to a file once per install or upgrade of the library, e.g.
     *
     *     php -r 'require "php/YunxinEcp.php"; echo YunxinEcp\Ffi::preloadHeader();' > yunxin_ecp_php.h
     *
     * and preload the wrapper with php/preload.php (its comment has the php.ini lines).
     */
    public static function preloadHeader(?string $library = null, ?string $header = null): string
    {
        $declarations = self::declarations(self::header($header));
        $path = self::locate($library)[0];
        return "#define FFI_SCOPE \"YUNXIN_ECP\"\n#define FFI_LIB \"" . addcslashes($path, '"\\') . "\"\n" . $declarations;
    }

    /**
     * The library to open: $library when given, else the first place of the class comment's
     * order that applies. Throws when YUNXIN_ECP_LIB names a file that does not exist.
     *
     * @return array{0: string, 1: list<array{0: string, 1: string}>} the path or name, and every
     *         place with what was found there ("use": the one returned)
     */
    private static function locate(?string $library): array
    {
        if ($library !== null) {
            return [$library, [["the library argument $library", 'use']]];
        }
        $root = dirname(__DIR__);
        $files = ["$root/lib/" . self::NAME, "$root/target/release/" . self::NAME];
        $places = [
            ['YUNXIN_ECP_LIB', 'not set'],
            ["$files[0] (an unpacked SDK)", 'no such file'],
            ["$files[1] (a checkout, after cargo build --release -p yunxin-ecp-ffi)", 'no such file'],
            [self::NAME . " from the system's dynamic loader (ldconfig's directories, LD_LIBRARY_PATH)", 'use'],
        ];
        $env = getenv('YUNXIN_ECP_LIB');
        $chosen = 3;
        $path = self::NAME;
        if ($env !== false && $env !== '') {
            // Set: the only place tried, even when it is wrong.
            $places[0] = ["YUNXIN_ECP_LIB=$env", 'use'];
            $chosen = 0;
            $path = $env; // without a slash: a name for the dynamic loader
            if (str_contains($env, '/')) {
                if (!is_file($env)) {
                    $places[0][1] = 'no such file';
                    throw new \RuntimeException(self::notFound(self::skipped($places, 0, 'YUNXIN_ECP_LIB is set'),
                        'YUNXIN_ECP_LIB names a file that does not exist'));
                }
                $path = realpath($env) ?: $env;
            }
        } else {
            foreach ($files as $i => $file) {
                if (is_file($file)) {
                    $places[$i + 1][1] = 'use';
                    [$chosen, $path] = [$i + 1, $file];
                    break;
                }
            }
        }
        return [$path, self::skipped($places, $chosen, 'the place above came first')];
    }

    /**
     * @param list<array{0: string, 1: string}> $places
     * @return list<array{0: string, 1: string}> the places after $chosen marked as not tried
     */
    private static function skipped(array $places, int $chosen, string $why): array
    {
        for ($i = $chosen + 1; $i < count($places); $i++) {
            $places[$i][1] = "not tried: $why";
        }
        return $places;
    }

    /** @param list<array{0: string, 1: string}> $places */
    private static function notLoaded(array $places, string $error): string
    {
        $places = array_map(static fn (array $place): array => $place[1] === 'use'
            ? [$place[0], "FFI could not load it ($error)"] : $place, $places);
        return self::notFound($places, 'the library was not found or could not be loaded');
    }

    /** @param list<array{0: string, 1: string}> $places */
    private static function notFound(array $places, string $why): string
    {
        $message = "cannot load libyunxin_ecp: $why. The places, in the order the wrapper looks:";
        foreach ($places as $i => [$what, $found]) {
            $message .= "\n  " . ($i + 1) . ". $what: $found";
        }
        return $message . "\nSet YUNXIN_ECP_LIB to the library's path, or install it with ffi-c/install.sh"
            . ' (e.g. ffi-c/install.sh /usr/local) and run ldconfig.';
    }

    /**
     * FFI refuses every call where ffi.enable does not allow it: say which setting would. It is
     * a php.ini (PHP_INI_SYSTEM) setting, which ini_set() cannot change.
     */
    private static function refuseIfRestricted(string $error): void
    {
        if (!str_contains($error, 'ffi.enable')) {
            return;
        }
        $value = (string) ini_get('ffi.enable');
        $sapi = PHP_SAPI;
        $web = "A web server (PHP-FPM, Apache's mod_php, php -S) needs ffi.enable=preload and the wrapper"
            . ' preloaded: opcache.enable=1, opcache.preload=' . __DIR__ . '/preload.php and ffi.preload=<the'
            . ' header YunxinEcp\\Ffi::preloadHeader() writes> (php/preload.php has the php.ini lines); for'
            . ' development only, ffi.enable=1 serves too (php -d ffi.enable=1 -S 127.0.0.1:8080 handler.php).'
            . ' ffi.enable is a php.ini setting: ini_set() cannot change it.';
        if (strtolower($value) === 'preload') {
            throw new \RuntimeException("FFI is restricted: ffi.enable=preload (PHP's default) allows it only on the"
                . " command line (the cli SAPI) and in preloaded code, and this is the $sapi SAPI running code that"
                . " was not preloaded. $web");
        }
        throw new \RuntimeException('FFI is disabled: ffi.enable=' . ($value === '' ? '0' : $value) . " (the $sapi SAPI)."
            . " The command line (the cli SAPI) needs ffi.enable=preload (PHP's default) or ffi.enable=1, in php.ini"
            . " or as php -d ffi.enable=preload. $web");
    }

    /** The C header to read: $header, else YUNXIN_ECP_HEADER, else ../include/yunxin_ecp.h from here. */
    private static function header(?string $header): string
    {
        $env = getenv('YUNXIN_ECP_HEADER');
        return $header ?? ($env !== false && $env !== '' ? $env : dirname(__DIR__) . '/include/yunxin_ecp.h');
    }

    /**
     * The C header as FFI::cdef() takes it. Its parser knows no preprocessor: every directive
     * goes, and so do the `#ifdef __cplusplus` blocks (which hold only `extern "C" {` or its
     * `}`). The header is generated so that nothing else needs undoing. Dropped lines stay
     * empty, so that a parse error names the header's own line number.
     */
    private static function declarations(string $header): string
    {
        // Only a regular file, read with a cap: a YUNXIN_ECP_HEADER naming /dev/zero or a FIFO
        // would otherwise fill memory or block before the first call says anything.
        $code = is_file($header) ? @file_get_contents($header, false, null, 0, self::HEADER_MAX_BYTES + 1) : false;
        if ($code === false) {
            throw new \RuntimeException("cannot read the yunxin_ecp header $header: set YUNXIN_ECP_HEADER to the"
                . ' yunxin_ecp.h of the library\'s release (without it the wrapper reads ../include/yunxin_ecp.h'
                . ' from its own directory)');
        }
        if (strlen($code) > self::HEADER_MAX_BYTES) {
            throw new \RuntimeException("the yunxin_ecp header $header is larger than " . self::HEADER_MAX_BYTES
                . ' bytes: it is not the yunxin_ecp.h of a release (set YUNXIN_ECP_HEADER to that)');
        }
        $lines = explode("\n", $code);
        $inCplusplus = false;
        foreach ($lines as &$line) {
            $directive = str_starts_with(ltrim($line), '#');
            // A C++ block opens at its #ifdef and closes at the next directive, its #endif.
            $inCplusplus = $directive ? str_starts_with(ltrim($line), '#ifdef __cplusplus') : $inCplusplus;
            $line = $directive || $inCplusplus ? '' : $line;
        }
        return implode("\n", $lines);
    }

    /** The #define of the header's ABI version is a directive, dropped above: the class constant stands in. */
    private static function checked(NativeFfi $ffi, string $what): NativeFfi
    {
        $abi = $ffi->yx_abi_version();
        if ($abi !== YunxinEcp::ABI_VERSION) {
            throw new \RuntimeException("$what has ABI version $abi; this wrapper speaks ABI version "
                . YunxinEcp::ABI_VERSION . ': install the library and the wrapper of one release');
        }
        return $ffi;
    }
}

/**
 * A failure reported by the library. getCode() is the service's code for API errors (414, 500,
 * ...) and the yx_result value otherwise.
 */
class Exception extends \RuntimeException
{
    /**
     * @param int $result the yx_result the function returned
     * @param array<string, mixed> $detail the error's JSON form (yx_error_to_json)
     * @param ?string $serverReply the service's answer to a request refused this way (auth and
     *                             validation errors; yx_server_reply_refusal)
     */
    public function __construct(
        public readonly int $result,
        public readonly array $detail,
        private readonly ?string $serverReply = null,
    ) {
        $code = $this->kind() === 'api' ? (int) ($detail['code'] ?? 0) : $result;
        parent::__construct((string) ($detail['message'] ?? 'unknown error'), $code);
    }

    /** The kind: "validation", "api", "protocol", "callback", "auth", "transport", ... */
    public function kind(): string
    {
        return (string) ($this->detail['kind'] ?? 'other');
    }

    /** The argument or parameter concerned (validation, NULL or UTF-8 errors, missing headers). */
    public function field(): ?string
    {
        return $this->detail['field'] ?? null;
    }

    /** The broken rule of a validation error ("country_code", "length", ...). */
    public function rule(): ?string
    {
        return $this->detail['rule'] ?? null;
    }

    /** The position of a bad entry in a list parameter. */
    public function index(): ?int
    {
        return $this->detail['index'] ?? null;
    }

    /** The service's code for API errors, else null. */
    public function apiCode(): ?int
    {
        return $this->detail['code'] ?? null;
    }

    /** The service's own message (msg, else desc). */
    public function apiMessage(): ?string
    {
        return $this->detail['api_message'] ?? null;
    }

    /** The HTTP status of the answer, if one came back. */
    public function httpStatus(): ?int
    {
        return $this->detail['http_status'] ?? null;
    }

    /** The refinement of the kind: "html", "redirect", "md5_mismatch", "connect", ... */
    public function reason(): ?string
    {
        return $this->detail['reason'] ?? null;
    }

    /** "never", "safe", "backoff", "once_after_delay" or "outcome_unknown". */
    public function retryAdvice(): string
    {
        return (string) ($this->detail['retry'] ?? 'never');
    }

    /** Whether the request may have reached the service (and a start placed a call). */
    public function maybeSent(): bool
    {
        return (bool) ($this->detail['maybe_sent'] ?? false);
    }

    /** The body of the answer, for API and protocol errors. */
    public function rawBody(): ?string
    {
        return $this->detail['raw_body'] ?? null;
    }

    /**
     * Server side: the body to answer a refused request with (HTTP 200), byte for byte as the
     * service does: `{"desc":"bad http header","code":414}` for an AuthException of
     * verifyRequest(), `{"code":414,"msg":"bad param '<field>'"}` for a ValidationException of
     * parseServerRequest(). It is read while the library's error object lives, which the
     * exception does not keep; null for errors the service has no answer for.
     */
    public function serverReply(): ?string
    {
        return $this->serverReply;
    }
}

/** An argument broke a rule: see field() and rule(). Nothing was sent. */
class ValidationException extends Exception {}
/** The service answered with a code other than 200: see apiCode() and retryAdvice(). */
class ApiException extends Exception {}
/** The answer could not be read, or was a redirect (never followed): see reason(). */
class ProtocolException extends Exception {}
/** A callback was refused or unreadable: see reason(), and answer() for the endpoint's answer. */
class CallbackException extends Exception
{
    /**
     * The answer a callback endpoint gives this refusal, as every language's integrations give
     * it (the library decides): 413 for a body over the cap (reason "too_large"), 400 for a
     * genuine body that is no callback ("malformed"), else 403, with the JSON body
     * {"error":"callback refused","reason":"..."}. Answering it is all an endpoint does with a
     * refused callback: never process the body.
     */
    public function answer(): CallbackAnswer
    {
        return CallbackAnswer::forReason($this->reason() ?? 'refused');
    }

    /** The HTTP status of answer(). */
    public function answerStatus(): int
    {
        return $this->answer()->status;
    }
}

/**
 * A callback body over the cap of CallbackVerifier::verifyRequest() or readBody(), refused
 * before it was read whole (reason "too_large", answerStatus() 413): an endpoint anyone can
 * reach must not hold an attacker's gigabytes to learn that their MD5 does not match.
 */
final class BodyTooLargeException extends CallbackException
{
    /** YX_CALLBACK of yx_result: the kind every callback refusal has. */
    private const RESULT = 4;

    public function __construct(int $maxBodyBytes)
    {
        parent::__construct(self::RESULT, [
            'kind' => 'callback',
            'reason' => 'too_large',
            'field' => 'body',
            'max_body_bytes' => $maxBodyBytes,
            'message' => "body larger than $maxBodyBytes bytes",
        ]);
    }

    /** The cap the body went over. */
    public function maxBodyBytes(): int
    {
        return (int) $this->detail['max_body_bytes'];
    }
}
/** An incoming signed request was refused (server side): see reason(). */
class AuthException extends Exception {}
/** No complete answer came back: see reason() and maybeSent(). */
class TransportException extends Exception {}
/**
 * A delivery store of your own (DeliveryStore) failed: it threw, or its claim() answered
 * something else than "first", "duplicate" or "in_progress". The message names the exception's
 * class and the step, never its message, which may hold what the store connects with (a Redis
 * URL with its password); the exception is not kept as the previous one for the same reason.
 * Integrations answer it 503 (reason "store_unavailable"), so that the sender tries again.
 */
final class DeliveryStoreException extends Exception
{
    /** YX_OTHER of yx_result: the failure is the store's, not the library's. */
    private const RESULT = 13;

    /** @internal */
    public function __construct(string $message, string $step)
    {
        parent::__construct(self::RESULT, [
            'kind' => 'delivery_store',
            'reason' => 'store_unavailable',
            'field' => $step,
            'message' => $message,
        ]);
    }

    /** The store's method that failed: "claim", "complete" or "release". */
    public function step(): string
    {
        return (string) $this->detail['field'];
    }
}

/**
 * @internal One object of the library (a `yx_credentials *`, `yx_request *`, ...), freed with its
 * `<type>_free` function by close() or when the last reference to this goes. The wrapper classes
 * hold one each and hand it to Native, never the pointer itself (see Native for why).
 */
final class Handle
{
    /** The `<type> *` the library writes the new object's address to: from then on, the handle. */
    private CData $cell;
    private bool $open = false;

    public function __construct(public readonly string $type)
    {
        $this->cell = Ffi::get()->new("$type*");
    }

    public function __destruct()
    {
        $this->close();
    }

    /** Frees the library's object; later uses are refused with a LogicException. Idempotent. */
    public function close(): void
    {
        if ($this->open) {
            try {
                Native::value("{$this->type}_free", [$this]);
            } finally {
                $this->open = false;
            }
        }
    }

    public function isOpen(): bool
    {
        return $this->open;
    }

    /** @internal For Native: the pointer to pass to the library. */
    public function pointer(): CData
    {
        if (!$this->open) {
            throw new \LogicException("the {$this->type} is closed");
        }
        return $this->cell;
    }

    /** @internal For Native: where a constructor function writes the pointer (`<type> **`). */
    public function target(): CData
    {
        if ($this->open) {
            throw new \LogicException("the {$this->type} is open already");
        }
        return NativeFfi::addr($this->cell);
    }

    /** @internal For Native: the constructor function succeeded. */
    public function opened(): void
    {
        $this->open = !NativeFfi::isNull($this->cell);
    }

    /** Two handles of one pointer would free it twice: share the object instead. */
    public function __clone()
    {
        $this->open = false; // the copy, destroyed once this throws, must not free the object
        throw new \LogicException('a library handle cannot be cloned');
    }

    /** @return array<string, mixed> */
    public function __serialize(): array
    {
        throw new \LogicException('a library handle cannot be serialized');
    }

    /** @param array<string, mixed> $data */
    public function __unserialize(array $data): void
    {
        throw new \LogicException('a library handle cannot be unserialized');
    }

    /** @return array{type: string, open: bool} */
    public function __debugInfo(): array
    {
        return ['type' => $this->type, 'open' => $this->open];
    }
}

/**
 * @internal A list argument, checked when made: Native passes it to the library as two
 * arguments, a C array and its length.
 */
final class CList
{
    /** @param list<string>|list<array{0: string, 1: string}> $items */
    private function __construct(public readonly bool $pairs, public readonly array $items) {}

    /**
     * A `const char *[]`: strings (or integers, as decimal text) without NUL bytes.
     *
     * @param array<mixed> $values
     */
    public static function strings(array $values, string $name): self
    {
        $items = [];
        foreach (array_values($values) as $i => $value) {
            $items[] = self::text($value, "{$name}[$i]");
        }
        return new self(false, $items);
    }

    /**
     * A `yx_pair[]` (headers, or the parameters of an API request) from ['name' => 'value', ...],
     * [['name', 'value'], ...] or ['name' => ['value', ...], ...] (PSR-7's getHeaders(), Symfony's
     * $request->headers->all()); the last two allow a name twice.
     *
     * @param array<mixed> $pairs
     */
    public static function pairs(array $pairs, string $name): self
    {
        $items = [];
        foreach ($pairs as $key => $value) {
            $i = count($items);
            if (is_array($value) && is_string($key) && array_is_list($value)) {
                foreach ($value as $one) {
                    $i = count($items);
                    $items[] = [self::text($key, "{$name}[$i].name"), self::text($one, "{$name}[$i].value")];
                }
                continue;
            }
            if (is_array($value)) {
                if (!array_is_list($value) || count($value) !== 2) {
                    throw new \InvalidArgumentException("{$name}[$i] must be a name and a value");
                }
                [$key, $value] = $value;
            }
            $items[] = [self::text($key, "{$name}[$i].name"), self::text($value, "{$name}[$i].value")];
        }
        return new self(true, $items);
    }

    private static function text(mixed $value, string $name): string
    {
        if (is_int($value)) {
            return (string) $value;
        }
        if (!is_string($value)) {
            throw new \InvalidArgumentException("$name must be a string, not " . get_debug_type($value));
        }
        return Native::text($value, $name);
    }
}

/**
 * @internal A list of handles argument (`const <type> *const *` and its length), checked when
 * made: each entry an object of $class holding a handle.
 */
final class HandleList
{
    /** @param list<Handle> $handles */
    private function __construct(public readonly string $type, public readonly array $handles) {}

    /**
     * @param array<mixed> $objects objects with a handle() method, of $class (sensitive: a
     *                              secret passed by mistake among them stays out of traces)
     */
    public static function of(#[\SensitiveParameter] array $objects, string $class, string $type, string $name): self
    {
        $handles = [];
        foreach (array_values($objects) as $i => $object) {
            if (!$object instanceof $class) {
                throw new \InvalidArgumentException("{$name}[$i] must be a $class, not " . get_debug_type($object));
            }
            $handles[] = $object->handle();
        }
        return new self($type, $handles);
    }
}

/**
 * @internal Calls into the library and turns its conventions into PHP's.
 *
 * Every call goes through invoke(), and every FFI\CData lives in its locals or in a Handle's
 * property: no PHP function here or in the classes above takes a CData argument. An exception
 * keeps the arguments of every frame on the stack when it is made (unless
 * zend.exception_ignore_args is on), and a CData among them outlives what it points to: an
 * FFI::addr() of a local `yx_request *` out-variable points into that local's buffer and names
 * that local's type, both freed when the frame that owned the local returned, so rendering the
 * trace later ((string), print_r, an uncaught exception's report) read freed memory. For the
 * same reason the exception of a failed call is made from plain values, after the error object
 * is read and freed.
 *
 * The C arguments ($args) are plain PHP values: int, string (bytes, or a C string checked with
 * text()), null (a NULL pointer), Handle (its pointer), \SensitiveParameterValue (its value: a
 * secret, which so never shows in a trace), CList (its C array and length), HandleList (the
 * pointers of its handles as a C array, and its length) and \Closure (a C
 * function pointer FFI makes of it: Log's trampoline, which Log keeps alive while it is set).
 *
 * After every call into the library, whatever a log handler threw during it is reported (see
 * Log): the call's own outcome stands.
 */
final class Native
{
    private const RANGES = [
        'uint64_t' => [0, PHP_INT_MAX],
        'uint32_t' => [0, 0xFFFF_FFFF],
        'uint16_t' => [0, 0xFFFF],
        'int32_t' => [-0x8000_0000, 0x7FFF_FFFF],
    ];

    /** Calls a fallible function (its last argument, err_out, is added here); throws on error. */
    public static function call(string $function, array $args = []): void
    {
        self::invoke($function, $args, true);
    }

    /**
     * As call(), in the library $ffi loaded rather than Ffi::get()'s: Log removes its callback
     * from the library it set it in, even after Ffi::load() replaced that one.
     */
    public static function callOn(NativeFfi $ffi, string $function, array $args = []): void
    {
        self::invoke($function, $args, true, null, $ffi);
    }

    /** As call(), for a function whose out-parameter (before err_out) is a `char *`: the text. */
    public static function string(string $function, array $args = []): string
    {
        return self::invoke($function, $args, true, 'string');
    }

    /** As string(), decoding the JSON the library wrote. */
    public static function json(string $function, array $args = []): mixed
    {
        return json_decode(self::string($function, $args), true, 512, JSON_THROW_ON_ERROR);
    }

    /** As call(), for a function whose out-parameter is a new `$type *`: its handle. */
    public static function handle(string $type, string $function, array $args = []): Handle
    {
        $handle = new Handle($type);
        self::invoke($function, $args, true, $handle);
        return $handle;
    }

    /**
     * As handle(), for a result read once: the new object's JSON form ($toJson, e.g.
     * yx_call_record_to_json), the object freed right away.
     */
    public static function jsonOfNew(string $type, string $function, array $args, string $toJson): mixed
    {
        $handle = self::handle($type, $function, $args);
        try {
            return self::json($toJson, [$handle]);
        } finally {
            $handle->close();
        }
    }

    /**
     * The name/value pairs of a header list: the new `yx_headers *` a fallible function writes
     * (freed here), or the borrowed `const yx_headers *` an accessor returns.
     *
     * @return list<array{0: string, 1: string}>
     */
    public static function headers(string $function, array $args, bool $fallible): array
    {
        return self::invoke($function, $args, $fallible, 'headers');
    }

    /**
     * As call(), for yx_callback_verifier_verify_delivery: its `yx_delivery` out-parameter as
     * [credential, cur_time_ms, expires_at_ms, key], and the event into $event when given (NULL
     * when not: the body is then not parsed). An expiry past PHP_INT_MAX (none: no time check)
     * reads as PHP_INT_MAX.
     *
     * @return array{0: int, 1: int, 2: int, 3: string}
     */
    public static function delivery(string $function, array $args, ?Handle $event): array
    {
        return self::invoke($function, $args, true, ['delivery', $event]);
    }

    /** yx_delivery_guard_claim: the yx_claim value it writes. */
    public static function claim(array $args): int
    {
        return self::invoke('yx_delivery_guard_claim', $args, true, 'claim');
    }

    /** As call(), for a function writing a `uint16_t` status and a `char *` text: [status, text]. */
    public static function statusAndText(string $function, array $args): array
    {
        return self::invoke($function, $args, true, 'status');
    }

    /** Calls a function without err_out; returns its number or `const char *` as PHP's (null: void or NULL). */
    public static function value(string $function, array $args = []): int|string|null
    {
        return self::invoke($function, $args, false);
    }

    /**
     * A PHP string as a C string argument (null: a NULL pointer, "the default"). C strings end
     * at the first NUL byte, so a string holding one would be cut short silently: refuse it
     * instead. The value may be a secret (see secret()): no trace shows it.
     */
    public static function text(#[\SensitiveParameter] ?string $value, string $name): ?string
    {
        if ($value !== null && str_contains($value, "\0")) {
            throw new \InvalidArgumentException("$name contains a NUL byte");
        }
        return $value;
    }

    /** text() for a secret: the value travels wrapped, so no frame of a trace shows it. */
    public static function secret(#[\SensitiveParameter] string $value, string $name): \SensitiveParameterValue
    {
        return new \SensitiveParameterValue(self::text($value, $name));
    }

    /**
     * An integer for a C integer $type (`uint64_t` also for `size_t`): one out of its range is
     * refused, where FFI would wrap it around (-1 seconds as 2^64 - 1).
     */
    public static function int(int $value, string $name, string $type = 'uint64_t'): int
    {
        [$min, $max] = self::RANGES[$type];
        if ($value < $min || $value > $max) {
            throw new \InvalidArgumentException("$name $value is out of range ($min to $max)");
        }
        return $value;
    }

    /**
     * The one place that calls the library.
     *
     * @param list<mixed> $args
     * @param Handle|'string'|'headers'|'status'|array{0: 'delivery', 1: ?Handle}|null $out what the
     *        function gives back besides its result
     * @param ?NativeFfi $ffi the library to call; null: Ffi::get()
     */
    private static function invoke(
        string $function,
        array $args,
        bool $fallible,
        Handle|string|array|null $out = null,
        ?NativeFfi $ffi = null,
    ): mixed {
        $ffi ??= Ffi::get();
        $keep = []; // C copies of strings and the arrays holding them, alive until the call returns
        $cString = static function (string $value) use (&$keep): CData {
            $length = strlen($value);
            $buffer = NativeFfi::new('char[' . ($length + 1) . ']');
            if ($length > 0) {
                NativeFfi::memcpy($buffer, $value, $length);
            }
            $keep[] = $buffer;
            return NativeFfi::cast('char*', NativeFfi::addr($buffer[0]));
        };
        $cargs = [];
        foreach ($args as $arg) {
            if ($arg instanceof Handle) {
                $cargs[] = $arg->pointer();
            } elseif ($arg instanceof \SensitiveParameterValue) {
                $cargs[] = $arg->getValue();
            } elseif ($arg instanceof CList) {
                $count = count($arg->items);
                if ($count === 0) {
                    array_push($cargs, null, 0);
                    continue;
                }
                $array = $ffi->new(($arg->pairs ? 'yx_pair' : 'const char*') . "[$count]");
                foreach ($arg->items as $i => $item) {
                    if ($arg->pairs) {
                        $array[$i]->name = $cString($item[0]);
                        $array[$i]->value = $cString($item[1]);
                    } else {
                        $array[$i] = $cString($item);
                    }
                }
                $keep[] = $array;
                array_push($cargs, $array, $count);
            } elseif ($arg instanceof HandleList) {
                $count = count($arg->handles);
                if ($count === 0) {
                    array_push($cargs, null, 0);
                    continue;
                }
                $array = $ffi->new("{$arg->type}*[$count]");
                foreach ($arg->handles as $i => $handle) {
                    $array[$i] = $handle->pointer();
                }
                $keep[] = $array;
                array_push($cargs, $array, $count);
            } elseif ($arg === null || is_int($arg) || is_string($arg) || $arg instanceof \Closure) {
                $cargs[] = $arg;
            } else {
                throw new \LogicException("$function: cannot pass " . get_debug_type($arg));
            }
        }
        $cell = null;
        $status = null;
        if ($out instanceof Handle) {
            $cargs[] = $out->target();
        } elseif (is_array($out)) {
            $cell = $ffi->new('yx_delivery');
            $cargs[] = NativeFfi::addr($cell);
            $cargs[] = $out[1]?->target();
        } elseif ($out === 'claim') {
            $cell = $ffi->new('int32_t');
            $cargs[] = NativeFfi::addr($cell);
        } elseif ($out === 'status') {
            $status = $ffi->new('uint16_t');
            $cell = $ffi->new('char*');
            array_push($cargs, NativeFfi::addr($status), NativeFfi::addr($cell));
        } elseif ($out !== null && $fallible) {
            $cell = $ffi->new($out === 'string' ? 'char*' : 'yx_headers*');
            $cargs[] = NativeFfi::addr($cell);
        }
        $err = null;
        if ($fallible) {
            $err = $ffi->new('yx_error*');
            $cargs[] = NativeFfi::addr($err);
        }

        try {
            $result = $ffi->$function(...$cargs);
        } catch (\Throwable $e) {
            // FFI refused an argument: a bug of this file. That exception's trace holds the C
            // arguments, which die with this frame: pass on its message only.
            throw new \LogicException("$function: {$e->getMessage()}");
        } finally {
            // A log handler that threw during the call: said now, once the library has returned
            // (never while it waits for the callback to return). Never throws.
            Log::reportFailures();
        }

        if ($fallible && $result !== 0) {
            $detail = ['kind' => 'other', 'message' => 'unknown error'];
            $reply = null;
            if (!NativeFfi::isNull($err)) {
                // A `char *` written about the error: its text, or null when the library has none.
                $about = static function (string $function) use ($ffi, $err): ?string {
                    $text = $ffi->new('char*');
                    if ($ffi->$function($err, NativeFfi::addr($text), null) !== 0 || NativeFfi::isNull($text)) {
                        return null;
                    }
                    $copy = NativeFfi::string($text);
                    $ffi->yx_string_free($text);
                    return $copy;
                };
                $decoded = json_decode((string) $about('yx_error_to_json'), true);
                $detail = is_array($decoded) ? $decoded : ['kind' => 'other', 'message' => (string) $ffi->yx_error_message($err)];
                if (in_array($detail['kind'] ?? null, ['auth', 'validation'], true)) {
                    $reply = $about('yx_server_reply_refusal');
                }
                $ffi->yx_error_free($err);
            }
            throw self::exception($result, $detail, $reply);
        }

        if ($out instanceof Handle) {
            $out->opened();
            return null;
        }
        if (is_array($out)) {
            $out[1]?->opened();
            $expires = $cell->expires_at_ms;
            return [
                $cell->credential,
                $cell->cur_time_ms,
                $expires < 0 ? PHP_INT_MAX : $expires, // FFI wraps a uint64_t past PHP_INT_MAX
                NativeFfi::string($cell->key),
            ];
        }
        if ($out === 'claim') {
            return $cell->cdata;
        }
        if ($out === 'status') {
            $text = NativeFfi::string($cell);
            $ffi->yx_string_free($cell);
            return [$status->cdata, $text];
        }
        if ($out === 'string') {
            if (NativeFfi::isNull($cell)) {
                return '';
            }
            $text = NativeFfi::string($cell);
            $ffi->yx_string_free($cell);
            return $text;
        }
        if ($out === 'headers') {
            $list = $fallible ? $cell : $result;
            $pairs = [];
            if ($list !== null && !NativeFfi::isNull($list)) {
                for ($i = 0, $count = $ffi->yx_headers_count($list); $i < $count; $i++) {
                    $pairs[] = [$ffi->yx_headers_name($list, $i), $ffi->yx_headers_value($list, $i)];
                }
                if ($fallible) {
                    $ffi->yx_headers_free($list); // ours; an accessor's list is only lent
                }
            }
            return $pairs;
        }
        if ($result instanceof CData) {
            if (NativeFfi::typeof($result)->getKind() === NativeFfi\CType::TYPE_VOID) {
                return null;
            }
            throw new \LogicException("$function returns a pointer: read it in invoke()");
        }
        return $result;
    }

    /** The exception of a failed call, from plain values. */
    private static function exception(int $result, array $detail, ?string $reply): Exception
    {
        return match ($detail['kind'] ?? null) {
            'validation' => new ValidationException($result, $detail, $reply),
            'api' => new ApiException($result, $detail),
            'protocol' => new ProtocolException($result, $detail),
            'callback' => new CallbackException($result, $detail),
            'auth' => new AuthException($result, $detail, $reply),
            'transport' => new TransportException($result, $detail),
            default => new Exception($result, $detail),
        };
    }
}

/** Functions without a handle: signing primitives, response parsing, the code table, the server side. */
final class YunxinEcp
{
    /** The ABI this wrapper speaks (the header's YX_ABI_VERSION); the library must report the same. */
    public const ABI_VERSION = 2;

    /** The names of yx_retry_advice's values, as the error JSON spells them. */
    private const RETRY_ADVICE = ['never', 'safe', 'backoff', 'once_after_delay', 'outcome_unknown'];

    /** The library's version, e.g. "0.1.0". */
    public static function version(): string
    {
        return Native::value('yx_version');
    }

    /** The library's ABI version. */
    public static function abiVersion(): int
    {
        return Native::value('yx_abi_version');
    }

    /** Lowercase hex SHA1($secret . $nonce . $curTime): the bare CheckSum digest. */
    public static function checksum(#[\SensitiveParameter] string $secret, string $nonce, string $curTime): string
    {
        return Native::string('yx_checksum', [
            Native::secret($secret, 'secret'),
            Native::text($nonce, 'nonce'),
            Native::text($curTime, 'cur_time'),
        ]);
    }

    /** Lowercase hex MD5 of raw bytes, hex-encoded once (32 characters). */
    public static function bodyMd5(string $body): string
    {
        return Native::string('yx_body_md5', [$body, strlen($body)]);
    }

    /** A nonce of $length lowercase hex characters from the OS CSPRNG. */
    public static function generateNonce(int $length = 32): string
    {
        return Native::string('yx_generate_nonce', [Native::int($length, 'length')]);
    }

    /** What a service code means. */
    public static function codeMeaning(int $code): string
    {
        return Native::value('yx_code_meaning', [$code]);
    }

    /** Whether a request to $endpoint (an Endpoint value) answered $code may be sent again ("never", "safe", ...). */
    public static function codeRetryAdvice(int $code, int $endpoint): string
    {
        return self::RETRY_ADVICE[Native::value('yx_code_retry_advice', [$code, Native::int($endpoint, 'endpoint', 'int32_t')])];
    }

    /** @return list<array{code: int, meaning: string, retry_start: string, retry_query: string}> */
    public static function codeTable(): array
    {
        return Native::json('yx_code_table_json');
    }

    /** Minutes billed for a call: every started minute counts. */
    public static function billedMinutes(int $durationSec): int
    {
        return Native::value('yx_billed_minutes', [Native::int($durationSec, 'duration_sec')]);
    }

    /** The cost in fen at $fenPerMinute (12 is the published rate). */
    public static function costFen(int $durationSec, int $fenPerMinute = 12): int
    {
        return Native::value('yx_cost_fen', [Native::int($durationSec, 'duration_sec'), Native::int($fenPerMinute, 'fen_per_minute')]);
    }

    /** Reads a start answer (Endpoint::START_CALL or START_CONF) and returns the session. */
    public static function parseStartResponse(int $endpoint, int $httpStatus, string $body): string
    {
        return Native::string('yx_parse_start_response', [
            Native::int($endpoint, 'endpoint', 'int32_t'), Native::int($httpStatus, 'http_status', 'uint16_t'), $body, strlen($body),
        ]);
    }

    /**
     * Reads a queryBySession answer into the record. Keys: session, init_account, caller,
     * callee, members (list or null), create_time_ms, start_time, duration_sec, status, legs
     * (list of endpoint, end_time, hang_cause), raw, answered, billed_minutes, cost_fen,
     * is_conference.
     *
     * @return array<string, mixed>
     */
    public static function parseQueryResponse(int $httpStatus, string $body): array
    {
        return Native::jsonOfNew('yx_call_record', 'yx_parse_query_response', [
            Native::int($httpStatus, 'http_status', 'uint16_t'), $body, strlen($body),
        ], 'yx_call_record_to_json');
    }

    /**
     * Reads the answer to a request of Request::api(): its whole JSON body. A code other than
     * 200 is an ApiException, an answer that is no such JSON a ProtocolException.
     *
     * @return array<string, mixed>
     */
    public static function parseApiResponse(Request $request, int $httpStatus, string $body): array
    {
        return Native::json('yx_parse_api_response', [
            $request->handle(), Native::int($httpStatus, 'http_status', 'uint16_t'), $body, strlen($body),
        ]);
    }

    /**
     * Parses a callback body without verifying it (for bodies verified already).
     *
     * @return array<string, mixed> ["type" => "call_end", record keys...] or
     *                              ["type" => "other", "event_type" => ..., "raw" => ...]
     */
    public static function parseCallback(string $body): array
    {
        return Native::jsonOfNew('yx_callback_event', 'yx_callback_parse', [$body, strlen($body)], 'yx_callback_event_to_json');
    }

    /**
     * Signs a callback body as the service signs its deliveries, to test a receiver (this app's
     * own callback handler) without copying the algorithm: the headers to POST with exactly
     * these bytes (the signature covers the bytes, not their JSON meaning). $curTimeMs is Unix
     * milliseconds (null or 0: now); one that can only be seconds is a ValidationException
     * (field cur_time_ms, rule seconds), since a receiver would refuse it as decades old.
     *
     *     $headers = YunxinEcp::signCallback($credentials, $body);
     *     $event = (new CallbackVerifier($credentials))->verifyAndParse($body, $headers);
     *
     * @return array{'Content-Type': string, AppKey: string, CurTime: string, MD5: string, CheckSum: string}
     *         in the order a delivery sends them; CurTime in milliseconds, MD5 of the body,
     *         CheckSum = sha1(secret . MD5 . CurTime)
     */
    public static function signCallback(Credentials $credentials, string $body, ?int $curTimeMs = null): array
    {
        $pairs = Native::headers('yx_callback_sign', [
            $credentials->handle(), $body, strlen($body), Native::int($curTimeMs ?? 0, 'cur_time_ms'),
        ], true);
        return array_column($pairs, 1, 0);
    }

    /**
     * Server side: checks the auth headers of an incoming request at $nowSecs (null or 0: now);
     * throws AuthException, whose serverReply() is the answer to send.
     *
     * @param array<mixed> $headers ['Name' => 'value'], ['Name' => ['value', ...]] or [['Name', 'value']]
     */
    public static function verifyRequest(Credentials $app, array $headers, ?int $nowSecs = null, int $windowSecs = 300): void
    {
        Native::call('yx_server_verify_request', [
            $app->handle(),
            CList::pairs($headers, 'headers'),
            Native::int($nowSecs ?? 0, 'now_secs'),
            Native::int($windowSecs, 'window_secs'),
        ]);
    }

    /**
     * Server side: reads the parameters of a request to $path; throws ValidationException,
     * whose serverReply() is the answer to send.
     *
     * @return array{request: string, params: array<string, mixed>}
     */
    public static function parseServerRequest(string $path, string $query, string $body): array
    {
        return Native::jsonOfNew('yx_request', 'yx_server_parse_request', [
            Native::text($path, 'path'), Native::text($query, 'query'), $body, strlen($body),
        ], 'yx_request_to_json');
    }
}

/** An app key and secret. The secret never appears in a message, a trace or a dump of this object. */
final class Credentials
{
    private Handle $handle;

    public function __construct(string $appKey, #[\SensitiveParameter] string $appSecret)
    {
        $this->handle = Native::handle('yx_credentials', 'yx_credentials_new', [
            Native::text($appKey, 'app_key'),
            Native::secret($appSecret, 'app_secret'),
        ]);
    }

    /** Reads YUNXIN_APP_KEY and YUNXIN_APP_SECRET. */
    public static function fromEnv(): self
    {
        $self = (new \ReflectionClass(self::class))->newInstanceWithoutConstructor();
        $self->handle = Native::handle('yx_credentials', 'yx_credentials_from_env');
        return $self;
    }

    public function __clone()
    {
        throw new \LogicException('credentials cannot be cloned');
    }

    /** @return array<string, ?string> */
    public function __debugInfo(): array
    {
        $open = isset($this->handle) && $this->handle->isOpen();
        return ['appKey' => $open ? $this->appKey() : null, 'appSecret' => '<redacted>'];
    }

    /** @internal */
    public function handle(): Handle
    {
        return $this->handle;
    }

    public function appKey(): string
    {
        return Native::value('yx_credentials_app_key', [$this->handle]);
    }

    /** Signs with a given nonce and CurTime (seconds; 0 reads the clock): the building block the vectors test. */
    public function sign(string $nonce, int $curTime): AuthHeaders
    {
        return $this->signed(Native::text($nonce, 'nonce'), Native::int($curTime, 'cur_time'));
    }

    /** Signs with a fresh nonce and one reading of the clock; once per request and retry. */
    public function signNow(): AuthHeaders
    {
        return $this->signed(null, 0);
    }

    private function signed(?string $nonce, int $curTime): AuthHeaders
    {
        return new AuthHeaders($this, Native::headers('yx_credentials_sign', [$this->handle, $nonce, $curTime], true));
    }
}

/** The four auth headers of one request (AppKey, Nonce, CurTime, CheckSum): nothing in them is secret. */
final class AuthHeaders
{
    /** @var array<string, string> */
    private array $byName;

    /**
     * @internal
     * @param list<array{0: string, 1: string}> $headers
     */
    public function __construct(private Credentials $credentials, private array $headers)
    {
        $this->byName = array_column($headers, 1, 0);
    }

    public function checksum(): string
    {
        return $this->byName['CheckSum'];
    }

    /**
     * @return array{app_key: string, nonce: string, cur_time: string, checksum: string,
     *               headers: list<array{0: string, 1: string}>}
     */
    public function toArray(): array
    {
        return [
            'app_key' => $this->byName['AppKey'],
            'nonce' => $this->byName['Nonce'],
            'cur_time' => $this->byName['CurTime'],
            'checksum' => $this->byName['CheckSum'],
            'headers' => $this->headers,
        ];
    }

    /**
     * @internal The library prepares a request from the credentials, the nonce and the CurTime,
     * not from headers: these three reproduce this signature.
     *
     * @return array{0: Credentials, 1: string, 2: int}
     */
    public function signedWith(): array
    {
        return [$this->credentials, $this->byName['Nonce'], (int) $this->byName['CurTime']];
    }
}

/** A validated request: an ECP start or query, or a request to any other server API. */
final class Request
{
    private function __construct(private Handle $handle) {}

    /** A callback call: rings $caller, then $callee, for at most $maxDur seconds. */
    public static function startCall(string $callerAcc, string $caller, string $callee, int $maxDur): self
    {
        return self::made('yx_start_call_new', [
            Native::text($callerAcc, 'caller_acc'),
            Native::text($caller, 'caller'),
            Native::text($callee, 'callee'),
            Native::int($maxDur, 'maxDur', 'uint32_t'),
        ]);
    }

    /**
     * A conference of $caller and 2 to 7 $callees (a PHP list, sent as a real JSON array).
     *
     * @param list<string> $callees
     */
    public static function startConf(string $callerAcc, string $caller, array $callees, int $maxDur): self
    {
        return self::made('yx_start_conf_new', [
            Native::text($callerAcc, 'caller_acc'),
            Native::text($caller, 'caller'),
            CList::strings($callees, 'callees'),
            Native::int($maxDur, 'maxDur', 'uint32_t'),
        ]);
    }

    /** A query for one session; $kind is SessionKind::CALL or SessionKind::CONFERENCE. */
    public static function query(string $session, int $kind): self
    {
        return self::made('yx_query_new', [Native::text($session, 'session'), Native::int($kind, 'kind', 'int32_t')]);
    }

    /**
     * A form POST to any YunXin server API: $path such as "/nimserver/user/create.action" (a
     * plain absolute path, else a ValidationException naming "path"), $params sent in order.
     * Only an $idempotent request is retried after it may have arrived.
     *
     * @param array<mixed> $params ['name' => 'value'], ['name' => ['value', ...]] or [['name', 'value']]
     */
    public static function api(string $path, array $params = [], bool $idempotent = false): self
    {
        return self::made('yx_api_request_new', [
            Native::text($path, 'path'), CList::pairs($params, 'params'), $idempotent ? 1 : 0,
        ]);
    }

    /** The request a `yx_*_new` function makes. */
    private static function made(string $function, array $args): self
    {
        return new self(Native::handle('yx_request', $function, $args));
    }

    /** @internal */
    public function handle(): Handle
    {
        return $this->handle;
    }

    /**
     * The kind and parameters: ["request" => "start_call"|"start_conf"|"query"|"api",
     * "params" => [...]].
     *
     * @return array{request: string, params: array<string, mixed>}
     */
    public function toArray(): array
    {
        return Native::json('yx_request_to_json', [$this->handle]);
    }

    /**
     * The request ready for any HTTP client, signed as $auth is (its nonce and CurTime).
     *
     * @return array<string, mixed> as prepareNow()
     */
    public function prepare(?string $baseUrl, AuthHeaders $auth): array
    {
        [$credentials, $nonce, $curTime] = $auth->signedWith();
        return $this->prepared($baseUrl, $credentials, $nonce, $curTime);
    }

    /**
     * Signs now and prepares: once per attempt. $baseUrl null is the production gateway.
     *
     * @return array{method: 'POST', url: string, headers: list<array{0: string, 1: string}>, body: string}
     */
    public function prepareNow(?string $baseUrl, Credentials $credentials): array
    {
        return $this->prepared($baseUrl, $credentials, null, 0);
    }

    /** @return array{method: 'POST', url: string, headers: list<array{0: string, 1: string}>, body: string} */
    private function prepared(?string $baseUrl, Credentials $credentials, ?string $nonce, int $curTime): array
    {
        $prepared = Native::handle('yx_prepared_request', 'yx_request_prepare', [
            $this->handle, $credentials->handle(), Native::text($baseUrl, 'base_url'), $nonce, $curTime,
        ]);
        try {
            return [
                'method' => 'POST', // always
                'url' => Native::value('yx_prepared_request_url', [$prepared]),
                'headers' => Native::headers('yx_prepared_request_headers', [$prepared], false),
                'body' => Native::value('yx_prepared_request_body', [$prepared]),
            ];
        } finally {
            $prepared->close();
        }
    }
}

/**
 * Verifies call-end callbacks for one app, or for several credentials at once: during an
 * AppSecret rotation the old and the new, or several apps served by one endpoint.
 *
 *     $verifier = new CallbackVerifier([$old, $new]);   // a rotation: either secret is accepted
 *     $verifier->handleRequest(function (array $event, Delivery $delivery): void {
 *         // book $event once: a repeated delivery never reaches here
 *     }, new DeliveryGuard($redisStore))->send();
 */
final class CallbackVerifier
{
    /** The most readBody() asks of the stream at once. */
    private const CHUNK_BYTES = 64 * 1024;

    private Handle $handle;
    /** @var list<string> the AppKey of each credentials, in the order given */
    private array $appKeys;
    /** The guard handleRequest() uses when given none: deliveries kept in this process. */
    private ?DeliveryGuard $ownGuard = null;

    /**
     * Refuses callbacks whose CurTime is more than $toleranceMs away (0 is not "off").
     * $credentials: one Credentials, or a list of 1 to 8 (a ValidationException naming
     * "credentials" otherwise), each tried whatever the outcome; verify() says which matched.
     *
     * @param Credentials|list<Credentials> $credentials
     */
    public function __construct(#[\SensitiveParameter] Credentials|array $credentials, int $toleranceMs = 300000)
    {
        $this->open($credentials, ['tolerance_ms' => Native::int($toleranceMs, 'tolerance_ms')]);
    }

    /**
     * A verifier that does not check CurTime: only for re-verifying stored callbacks.
     *
     * @param Credentials|list<Credentials> $credentials
     */
    public static function skipTimeCheck(#[\SensitiveParameter] Credentials|array $credentials): self
    {
        $self = (new \ReflectionClass(self::class))->newInstanceWithoutConstructor();
        $self->open($credentials, ['check_time' => false]);
        return $self;
    }

    /**
     * @param Credentials|list<Credentials> $credentials
     * @param array<string, mixed> $options
     */
    private function open(#[\SensitiveParameter] Credentials|array $credentials, array $options): void
    {
        $list = is_array($credentials) ? $credentials : [$credentials];
        $this->handle = Native::handle('yx_callback_verifier', 'yx_callback_verifier_new_multi', [
            HandleList::of($list, Credentials::class, 'yx_credentials', 'credentials'),
            json_encode($options, JSON_THROW_ON_ERROR),
        ]);
        $this->appKeys = array_map(static fn (Credentials $c): string => $c->appKey(), array_values($list));
    }

    /** @return list<string> the AppKey of each credentials, in the order given */
    public function appKeys(): array
    {
        return $this->appKeys;
    }

    /**
     * The most bytes of a callback body verifyRequest(), readBody() and handleRequest() read
     * unless told otherwise: the library's (1 MiB, where a call-end callback is a few KiB).
     */
    public static function defaultMaxBodyBytes(): int
    {
        return Native::value('yx_callback_default_max_body_bytes');
    }

    /**
     * The headers of the current request: getallheaders() where the SAPI has it (PHP-FPM,
     * Apache, php -S), else rebuilt from $_SERVER (its HTTP_* keys, and CONTENT_TYPE and
     * CONTENT_LENGTH, which CGI passes without the prefix). Header names are matched
     * case-insensitively, so HTTP_CHECKSUM serves for CheckSum.
     *
     * @return array<string, string>
     */
    public static function requestHeaders(): array
    {
        if (function_exists('getallheaders')) {
            $headers = getallheaders();
            if (is_array($headers)) {
                return $headers;
            }
        }
        $headers = [];
        foreach ($_SERVER as $key => $value) {
            if (!is_string($key) || !is_scalar($value)) {
                continue;
            }
            if (str_starts_with($key, 'HTTP_')) {
                $key = substr($key, 5);
            } elseif ($key !== 'CONTENT_TYPE' && $key !== 'CONTENT_LENGTH') {
                continue;
            }
            // One name per header: HTTP_CONTENT_TYPE and CONTENT_TYPE, where both are set, are one.
            $headers[ucwords(strtolower(str_replace('_', '-', $key)), '-')] = (string) $value;
        }
        return $headers;
    }

    /**
     * Verifies and parses the callback of the current request: its raw body from php://input and
     * its headers from requestHeaders(), or the $body and $headers given, as a framework
     * controller has them:
     *
     *     $event = $verifier->verifyRequest();                                    // plain PHP
     *     $event = $verifier->verifyRequest($request->getContent(), $request->headers->all());
     *                                                                             // Symfony, Laravel
     *     $event = $verifier->verifyRequest((string) $request->getBody(), $request->getHeaders());
     *                                                                             // PSR-7
     *
     * php://input is read through readBody(), so a body over $maxBodyBytes (null: the library's
     * default, defaultMaxBodyBytes()) is refused (a BodyTooLargeException) without being held
     * whole; a $body given longer than that is refused the same way. A framework that hands out
     * the body as a stream can bound it the same way:
     * verifyRequest(CallbackVerifier::readBody($request->getContent(true), ...), ...).
     *
     * Answer a CallbackException with its answer() (413 for a body over the cap, 400 when its
     * reason() is "malformed": a genuine body that is not a callback, else 403), never
     * processing the body; a genuine callback with 200 within 5 s. A delivery can repeat:
     * handleRequest() handles each once.
     *
     * @param ?array<mixed> $headers ['Name' => 'value'], ['Name' => ['value']] or [['Name', 'value']]
     * @return array<string, mixed> see YunxinEcp::parseCallback()
     */
    public function verifyRequest(
        ?string $body = null,
        ?array $headers = null,
        ?int $nowMs = null,
        ?int $maxBodyBytes = null,
    ): array {
        return $this->verifyDelivery(self::requestBody($body, $maxBodyBytes), $headers ?? self::requestHeaders(), $nowMs)[1];
    }

    /**
     * Handles the callback of the current request (or the $body and $headers given, as
     * verifyRequest() takes them) once, however often it is delivered: verifies it, claims the
     * delivery in $guard, and calls $handler($event, $delivery) only for its first delivery.
     * Returns the answer to send (CallbackAnswer::send() sends it):
     *
     * - refused: the refusal's answer (403, 400, 413 over $maxBodyBytes), the handler not called;
     * - handled before: 200 {"result":"duplicate"}, the handler not called again;
     * - being handled right now by another request: 409 (the sender tries again later);
     * - the guard's store failed (a DeliveryStoreException): 503, the handler not called, so that
     *   the sender tries again rather than the callback being dropped or handled twice;
     * - handled: 200 with an empty body, and the delivery completed (its repeats are
     *   duplicates from now on); a handler that throws releases it (the sender's next attempt is
     *   handled) and its exception goes on to the caller.
     *
     * $guard: null for the verifier's own guard, which keeps deliveries in this process's memory
     * (a long-running worker: RoadRunner, Swoole, ReactPHP; PHP-FPM starts every request afresh,
     * so there pass a guard over a shared store: new DeliveryGuard($redisStore)); false for no
     * guard at all (every delivery handled).
     *
     * @param callable(array<string, mixed>, Delivery): mixed $handler
     * @param ?array<mixed> $headers
     */
    public function handleRequest(
        callable $handler,
        DeliveryGuard|false|null $guard = null,
        ?string $body = null,
        ?array $headers = null,
        ?int $nowMs = null,
        ?int $maxBodyBytes = null,
    ): CallbackAnswer {
        try {
            [$delivery, $event] = $this->verifyDelivery(self::requestBody($body, $maxBodyBytes),
                $headers ?? self::requestHeaders(), $nowMs);
        } catch (CallbackException $e) {
            return $e->answer();
        }
        $guard = $guard === null ? ($this->ownGuard ??= new DeliveryGuard()) : $guard;
        if ($guard === false) {
            $handler($event, $delivery);
            return CallbackAnswer::handled();
        }
        $turnedAway = $guard->admit($delivery, $nowMs);
        if ($turnedAway !== null) {
            return $turnedAway;
        }
        try {
            $handler($event, $delivery);
        } catch (\Throwable $failed) {
            $guard->settle($delivery, false);
            throw $failed;
        }
        $guard->settle($delivery, true);
        return CallbackAnswer::handled();
    }

    /** The raw body: $body checked against the cap, else php://input read through readBody(). */
    private static function requestBody(?string $body, ?int $maxBodyBytes): string
    {
        $maxBodyBytes ??= self::defaultMaxBodyBytes();
        self::checkCap($maxBodyBytes);
        if ($body !== null) {
            if (strlen($body) > $maxBodyBytes) {
                throw new BodyTooLargeException($maxBodyBytes);
            }
            return $body;
        }
        $input = fopen('php://input', 'rb');
        if ($input === false) {
            throw new \RuntimeException('cannot read the request body from php://input');
        }
        try {
            // The CGI variable, as every SAPI sets it: the length the client declared.
            return self::readBody($input, $_SERVER['CONTENT_LENGTH'] ?? null, $maxBodyBytes);
        } finally {
            fclose($input);
        }
    }

    /**
     * Reads a request body from $stream to its end, at most $maxBodyBytes of it (null: the
     * library's default, defaultMaxBodyBytes()): a declared $contentLength (the Content-Length
     * header's value) over the cap is refused before a byte is read, and a body that turns out
     * longer than the cap (no usable Content-Length, chunked, or more than declared) is refused
     * once the cap is passed, having read at most one byte past it. Both are a
     * BodyTooLargeException (answerStatus() 413).
     *
     * @param resource $stream a readable blocking stream: php://input, a framework's body stream
     * @param int|string|null $contentLength the declared length; null, or anything but a decimal
     *                                       number, leaves only the bound while reading
     */
    public static function readBody(mixed $stream, int|string|null $contentLength = null, ?int $maxBodyBytes = null): string
    {
        $maxBodyBytes ??= self::defaultMaxBodyBytes();
        self::checkCap($maxBodyBytes);
        if (!is_resource($stream)) {
            throw new \InvalidArgumentException('stream must be a readable stream resource, not ' . get_debug_type($stream));
        }
        if (self::declaredTooLarge($contentLength, $maxBodyBytes)) {
            throw new BodyTooLargeException($maxBodyBytes);
        }
        // Unbuffered, PHP asks the stream for no more than each fread() does (else 8 KiB at once).
        @stream_set_read_buffer($stream, 0);
        $body = '';
        while (true) {
            $chunk = fread($stream, min(self::CHUNK_BYTES, $maxBodyBytes + 1 - strlen($body)));
            if ($chunk === false) {
                throw new \RuntimeException('cannot read the request body');
            }
            if ($chunk === '') {
                return $body; // the end (a blocking stream returns nothing only there)
            }
            $body .= $chunk;
            if (strlen($body) > $maxBodyBytes) {
                throw new BodyTooLargeException($maxBodyBytes);
            }
        }
    }

    /**
     * @internal Whether a declared Content-Length already says more than the cap (null, or
     * anything but a decimal number, says nothing).
     */
    public static function declaredTooLarge(int|string|null $contentLength, int $maxBodyBytes): bool
    {
        if (is_string($contentLength) && preg_match('/^[0-9]+$/D', $contentLength) === 1) {
            // More digits than PHP_INT_MAX has is over any cap (and would not convert).
            $contentLength = strlen(ltrim($contentLength, '0')) > 18 ? PHP_INT_MAX : (int) $contentLength;
        }
        return is_int($contentLength) && $contentLength > $maxBodyBytes;
    }

    /** @internal */
    public static function checkCap(int $maxBodyBytes): void
    {
        if ($maxBodyBytes <= 0) {
            throw new \InvalidArgumentException("max_body_bytes must be a positive number of bytes, not $maxBodyBytes");
        }
    }

    /**
     * Verifies $body (the raw bytes: readBody() of php://input, never re-encoded JSON)
     * against its headers at $nowMs (Unix milliseconds; null or 0: now). Returns the Delivery:
     * which credentials matched, and what identifies it for a DeliveryGuard. Throws
     * CallbackException.
     *
     * @param array<mixed> $headers ['Name' => 'value'], ['Name' => ['value', ...]] or [['Name', 'value']]
     */
    public function verify(string $body, array $headers, ?int $nowMs = null): Delivery
    {
        return $this->delivery(Native::delivery('yx_callback_verifier_verify_delivery',
            $this->verifyArgs($body, $headers, $nowMs), null));
    }

    /**
     * Verifies, then parses: [Delivery, event] for a handler that guards against repeated
     * deliveries itself (DeliveryGuard::admit() and settle()). A genuine body that is not a
     * callback is a CallbackException with reason "malformed".
     *
     * @param array<mixed> $headers
     * @return array{0: Delivery, 1: array<string, mixed>} the event as YunxinEcp::parseCallback()
     */
    public function verifyDelivery(string $body, array $headers, ?int $nowMs = null): array
    {
        $event = new Handle('yx_callback_event');
        try {
            $delivery = $this->delivery(Native::delivery('yx_callback_verifier_verify_delivery',
                $this->verifyArgs($body, $headers, $nowMs), $event));
            return [$delivery, Native::json('yx_callback_event_to_json', [$event])];
        } finally {
            $event->close();
        }
    }

    /**
     * Verifies, then parses: the usual entry point of a web handler.
     *
     * @param array<mixed> $headers
     * @return array<string, mixed> see YunxinEcp::parseCallback()
     */
    public function verifyAndParse(string $body, array $headers, ?int $nowMs = null): array
    {
        return Native::jsonOfNew('yx_callback_event', 'yx_callback_verifier_verify_and_parse',
            $this->verifyArgs($body, $headers, $nowMs), 'yx_callback_event_to_json');
    }

    /** @param array{0: int, 1: int, 2: int, 3: string} $fields */
    private function delivery(array $fields): Delivery
    {
        [$credential, $curTimeMs, $expiresAtMs, $key] = $fields;
        return new Delivery($credential, $this->appKeys[$credential], $curTimeMs, $key, $expiresAtMs);
    }

    /** @param array<mixed> $headers */
    private function verifyArgs(string $body, array $headers, ?int $nowMs): array
    {
        return [$this->handle, $body, strlen($body), CList::pairs($headers, 'headers'), Native::int($nowMs ?? 0, 'now_ms')];
    }
}

/**
 * A callback that passed verification: which of the verifier's credentials signed it
 * ($credential, an index, and $appKey), its CurTime, and what identifies this delivery ($key, 40
 * hex characters: a Redis key or a table's unique column) until $expiresAtMs, after which a
 * repeat of it is refused as stale anyway (PHP_INT_MAX without a time check).
 */
final class Delivery
{
    /** @internal */
    public function __construct(
        public readonly int $credential,
        public readonly string $appKey,
        public readonly int $curTimeMs,
        public readonly string $key,
        public readonly int $expiresAtMs,
    ) {}
}

/** The answer a callback endpoint sends: a status and a body (JSON, or empty). */
final class CallbackAnswer
{
    /** @internal */
    public function __construct(public readonly int $status, public readonly string $body) {}

    /**
     * The library's answer for $reason, the same in every language: a refusal's reason (400
     * "malformed", 403 for the others, 413 "too_large"), "in_progress" (409), "store_unavailable"
     * (503) or "duplicate" (200 {"result":"duplicate"}).
     */
    public static function forReason(string $reason): self
    {
        [$status, $body] = Native::statusAndText('yx_callback_answer', [Native::text($reason, 'reason')]);
        return new self($status, $body);
    }

    /** @internal A callback handled: 200, nothing more to say. */
    public static function handled(): self
    {
        return new self(200, '');
    }

    /** Sends it as the current request's answer: the status, the JSON Content-Type, the body. */
    public function send(): void
    {
        http_response_code($this->status);
        if ($this->body !== '') {
            header('Content-Type: application/json');
            echo $this->body;
        }
    }
}

/**
 * Where accepted deliveries are remembered, for a DeliveryGuard: the library's memory
 * (MemoryDeliveryStore), or a store of your own that several processes share (Redis: claim is
 * `SET key pending NX PXAT expiresAtMs` then GET, complete `SET key done PXAT expiresAtMs`,
 * release `DEL key`; a table with a unique key column). Each method must be one atomic step of
 * the store, so that two requests carrying the same delivery at once get one "first" between
 * them. The guard calls it from PHP, never through the library. Whatever it throws is a
 * DeliveryStoreException naming its class and the step.
 */
interface DeliveryStore
{
    /**
     * Marks $key in progress unless the store holds it; says what it held: "first" (it did not:
     * the handler runs), "duplicate" (handled before) or "in_progress" (being handled).
     * $expiresAtMs: when the entry may be forgotten.
     */
    public function claim(string $key, int $expiresAtMs, int $nowMs): string;

    /** Marks a claimed $key handled: every later claim is "duplicate". */
    public function complete(string $key, int $expiresAtMs): void;

    /** Forgets a claimed $key whose handler failed, so that the next delivery is handled. */
    public function release(string $key): void;
}

/**
 * Deliveries kept in this process's memory by the library: each only while a repeat of it would
 * pass the time check, and at most $capacity of them (null: the library's default, 100000).
 * Serves one long-running process (RoadRunner, Swoole, ReactPHP, a test); PHP-FPM starts every
 * request afresh, so there use a shared store of your own.
 */
final class MemoryDeliveryStore implements DeliveryStore
{
    private Handle $handle;

    public function __construct(?int $capacity = null)
    {
        $options = $capacity === null ? null : json_encode(['capacity' => $capacity], JSON_THROW_ON_ERROR);
        $this->handle = Native::handle('yx_delivery_guard', 'yx_delivery_guard_new', [$options]);
    }

    public function claim(string $key, int $expiresAtMs, int $nowMs): string
    {
        $claim = Native::claim([$this->handle, Native::text($key, 'key'), Native::int($expiresAtMs, 'expires_at_ms'),
            Native::int($nowMs, 'now_ms')]);
        return match ($claim) {
            1 => 'first',
            2 => 'duplicate',
            default => 'in_progress',
        };
    }

    public function complete(string $key, int $expiresAtMs): void
    {
        Native::call('yx_delivery_guard_complete', [$this->handle, Native::text($key, 'key'),
            Native::int($expiresAtMs, 'expires_at_ms')]);
    }

    public function release(string $key): void
    {
        Native::call('yx_delivery_guard_release', [$this->handle, Native::text($key, 'key')]);
    }

    /** Deliveries held now. */
    public function held(): int
    {
        return Native::value('yx_delivery_guard_held', [$this->handle]);
    }

    /** Deliveries dropped before they expired to stay within the capacity: above 0, raise it. */
    public function evicted(): int
    {
        return Native::value('yx_delivery_guard_evicted', [$this->handle]);
    }
}

/**
 * Guards a handler against processing one callback twice: claim($delivery) before handling it
 * says "first" (handle it, then complete() it, or release() it when handling failed so that the
 * sender's next attempt is handled), "duplicate" (handled before: answer 200) or "in_progress"
 * (another request is handling it: answer 409 so the sender tries later). admit() and settle()
 * do that with the answers, for an integration of your own; CallbackVerifier::handleRequest()
 * and CallbackMiddleware use them.
 *
 *     $guard = new DeliveryGuard();                    // this process's memory (a long-running worker)
 *     $guard = new DeliveryGuard(new RedisDeliveryStore($redis));   // your DeliveryStore: PHP-FPM
 */
final class DeliveryGuard
{
    private DeliveryStore $store;

    /**
     * $store: a store of your own, or null for a MemoryDeliveryStore of $capacity (null: the
     * library's default); a capacity with a store of your own is refused.
     */
    public function __construct(?DeliveryStore $store = null, ?int $capacity = null)
    {
        if ($store !== null && $capacity !== null) {
            throw new \InvalidArgumentException('capacity is for the memory store: pass a store or a capacity, not both');
        }
        $this->store = $store ?? new MemoryDeliveryStore($capacity);
    }

    public function store(): DeliveryStore
    {
        return $this->store;
    }

    /**
     * Claims a verified delivery at $nowMs (null: now): "first", "duplicate" or "in_progress".
     * A store that fails is a DeliveryStoreException.
     */
    public function claim(Delivery $delivery, ?int $nowMs = null): string
    {
        $nowMs ??= (int) floor(microtime(true) * 1000);
        $claim = $this->step('claim', fn () => $this->store->claim($delivery->key, $delivery->expiresAtMs, $nowMs));
        if (!in_array($claim, ['first', 'duplicate', 'in_progress'], true)) {
            throw new DeliveryStoreException("the store's claim() must return 'first', 'duplicate' or 'in_progress', not "
                . (is_string($claim) ? json_encode(mb_substr($claim, 0, 32), JSON_INVALID_UTF8_SUBSTITUTE) : get_debug_type($claim)), 'claim');
        }
        return $claim;
    }

    /** The handler of a claimed delivery succeeded: repeats are duplicates from now on. */
    public function complete(Delivery $delivery): void
    {
        $this->step('complete', fn () => $this->store->complete($delivery->key, $delivery->expiresAtMs));
    }

    /** The handler of a claimed delivery failed: the sender's next attempt is handled. */
    public function release(Delivery $delivery): void
    {
        $this->step('release', fn () => $this->store->release($delivery->key));
    }

    /**
     * Claims $delivery; null when its handler is to run, else the answer that ends the request
     * without it: a duplicate (200 {"result":"duplicate"}), one being handled by another request
     * (409), a failed store (503, said with error_log(): the store's class and step only).
     */
    public function admit(Delivery $delivery, ?int $nowMs = null): ?CallbackAnswer
    {
        try {
            $claim = $this->claim($delivery, $nowMs);
        } catch (DeliveryStoreException $e) {
            error_log("yunxin_ecp: call-end callback turned away (503): {$e->getMessage()}");
            return CallbackAnswer::forReason('store_unavailable');
        }
        return $claim === 'first' ? null : CallbackAnswer::forReason($claim);
    }

    /**
     * After the handler of an admitted delivery: completes it when $handled, else releases it.
     * A failing store is said with error_log() (its class and step): the answer stands.
     */
    public function settle(Delivery $delivery, bool $handled): void
    {
        try {
            $handled ? $this->complete($delivery) : $this->release($delivery);
        } catch (DeliveryStoreException $e) {
            error_log('yunxin_ecp: call-end callback ' . ($handled ? 'completion' : 'failure') . " not recorded: {$e->getMessage()}");
        }
    }

    /** Deliveries held in memory (null with a store of your own). */
    public function held(): ?int
    {
        return $this->store instanceof MemoryDeliveryStore ? $this->store->held() : null;
    }

    /** Deliveries dropped from memory to stay within the capacity (null with a store of your own). */
    public function evicted(): ?int
    {
        return $this->store instanceof MemoryDeliveryStore ? $this->store->evicted() : null;
    }

    /**
     * One step of the store; what a store of your own throws becomes a DeliveryStoreException
     * naming its class and the step (its message and trace stay out: they may hold secrets).
     */
    private function step(string $step, \Closure $call): mixed
    {
        if ($this->store instanceof MemoryDeliveryStore) {
            return $call();
        }
        try {
            return $call();
        } catch (\Throwable $e) {
            throw new DeliveryStoreException($e::class . " thrown by the store's $step()", $step);
        }
    }
}

/**
 * The blocking client: pooled connections, verified TLS, timeouts, and retries only where a
 * retry cannot place a second billable call.
 */
final class Client
{
    private Handle $handle;

    /**
     * $options are the library's settings, checked by it (an unknown key or a value of the
     * wrong type is a ValidationException naming it).
     *
     * @param array{base_url?: string, connect_timeout_ms?: int, timeout_ms?: int,
     *              max_retries?: int, backoff_ms?: int, max_response_bytes?: int} $options
     */
    public function __construct(Credentials $credentials, array $options = [])
    {
        try {
            $settings = $options === [] ? null : json_encode((object) $options, JSON_THROW_ON_ERROR | JSON_UNESCAPED_SLASHES);
        } catch (\JsonException $e) {
            throw new \InvalidArgumentException("the client settings are not JSON: {$e->getMessage()}");
        }
        $this->handle = Native::handle('yx_client', 'yx_client_new', [$credentials->handle(), $settings]);
    }

    /** Places a call; returns the session. On an exception, see its retryAdvice(). */
    public function startCall(string $callerAcc, string $caller, string $callee, int $maxDur): string
    {
        return $this->start(Request::startCall($callerAcc, $caller, $callee, $maxDur));
    }

    /**
     * Places a conference; returns the session.
     *
     * @param list<string> $callees
     */
    public function startConf(string $callerAcc, string $caller, array $callees, int $maxDur): string
    {
        return $this->start(Request::startConf($callerAcc, $caller, $callees, $maxDur));
    }

    /** Sends a start request built with Request::startCall() or Request::startConf(). */
    public function start(Request $request): string
    {
        return Native::string('yx_client_start', [$this->handle, $request->handle()]);
    }

    /**
     * The record of a call (SessionKind::CALL) or conference (SessionKind::CONFERENCE); its keys
     * are those of YunxinEcp::parseQueryResponse().
     *
     * @return array<string, mixed>
     */
    public function query(string $session, int $kind = SessionKind::CALL): array
    {
        $request = Request::query($session, $kind);
        return Native::jsonOfNew('yx_call_record', 'yx_client_query', [$this->handle, $request->handle()], 'yx_call_record_to_json');
    }

    /**
     * Sends a request to any YunXin server API (see Request::api()) and returns its whole JSON
     * answer; a code other than 200 is an ApiException.
     *
     * @param array<mixed> $params ['name' => 'value'], ['name' => ['value', ...]] or [['name', 'value']]
     * @return array<string, mixed>
     */
    public function request(string $path, array $params, bool $idempotent = false): array
    {
        $request = Request::api($path, $params, $idempotent);
        return Native::json('yx_client_request', [$this->handle, $request->handle()]);
    }
}

/**
 * The blocking client's log events, handed to a PHP callable: one handler per process (per
 * request under PHP-FPM), as the library has one log callback.
 *
 *     Log::setHandler(function (string $level, string $message): void {
 *         error_log("yunxin_ecp $level: $message");
 *     }, 'info');                                     // retries and give-ups only
 *     Log::setLogger($psr3Logger);                    // or any object with log($level, $message, $context)
 *     Log::setHandler(null);                          // removes it
 *
 * The events (levels as PSR-3 names them): "debug" `client ready` (base_url, proxy) when a
 * client is made, then `request sent` (with endpoint, path and
 * attempt), `response` (http_status, code, elapsed_ms) or `no response` for each attempt;
 * "info" `retry` (reason, delay_ms); "warning" `gave up` (attempts, reason, advice). Fields
 * are key=value pairs after the event's name, and `id` tells one call's lines from another's,
 * e.g. `retry id=1f0c9a2e attempt=1 reason=api_503 delay_ms=3`. Phone numbers are masked
 * (138****8888); no header, body, nonce, CheckSum or secret ever appears.
 *
 * The handler runs on PHP's own thread, inside the client call that logs (the library calls it
 * back through a C function pointer PHP's FFI makes of a closure, kept here while it is set):
 *
 * - What it throws is caught there, for nothing may unwind through the library, and never
 *   changes the call's outcome (a start that placed a call still returns its session): once the
 *   call returns, the first exception (and how many events failed) is reported with
 *   trigger_error(E_USER_WARNING); if an error handler turns that warning into an exception,
 *   the message goes to error_log() instead.
 * - exit(), and fatal errors inside it (memory_limit, a max_execution_time that expires while
 *   it runs), end the script while the library is in the middle of the event: PHP reports
 *   "Throwing from FFI callbacks is not allowed", jumping over the library's frames (which
 *   holds no lock while the handler runs). The wrapper still removes the callback when the
 *   request ends, and says with error_log() that a PHP-FPM worker is best restarted: the
 *   frames jumped over never freed what they held. Keep handlers short, and never exit() in
 *   one.
 * - Client calls the handler makes (through this wrapper) log nothing to it: an event raised
 *   while the handler runs is dropped, so a handler cannot recurse into itself. Changing the
 *   handler from inside it is refused (a LogicException, reported as above).
 *
 * PHP frees its callbacks when the request ends: the handler is removed then (by a shutdown
 * function) so that no later request of the same process calls into freed memory. Each
 * setHandler() holds one small FFI callback until then.
 */
final class Log
{
    public const OFF = 0;
    public const ERROR = 1;
    public const WARNING = 2;
    public const INFO = 3;
    public const DEBUG = 4;
    public const TRACE = 5;

    /** The target of every event (the C callback's `target`), given to PSR-3 loggers as context. */
    public const TARGET = 'yunxin_ecp';

    /** yx_log_level's values as the handler gets them (PSR-3's names; "trace" is not used today). */
    private const WORDS = [self::ERROR => 'error', self::WARNING => 'warning', self::INFO => 'info',
        self::DEBUG => 'debug', self::TRACE => 'trace'];

    private static ?\Closure $handler = null;
    /** The closure FFI turned into the C function pointer the library holds. */
    private static ?\Closure $trampoline = null;
    /** The library it was set in (Ffi::load() may replace Ffi::get()'s afterwards). */
    private static ?NativeFfi $ffi = null;
    /** > 0 while the handler runs; left so by a fatal error inside it. */
    private static int $depth = 0;
    /** The first exception the handler threw since the last report, and how many it threw. */
    private static ?string $failure = null;
    private static int $failures = 0;
    private static bool $atShutdown = false;

    private function __construct() {}

    /**
     * Sends the client's events up to $maxLevel (self::DEBUG: every attempt; self::INFO: retries
     * and give-ups; self::WARNING: give-ups; or the name: "debug", "info", "warning", ...) to
     * $handler(string $level, string $message), replacing any handler set before. Null, or a
     * $maxLevel of "off", removes it. The library refuses (an Exception of kind
     * "invalid_argument") when another logger owns the process.
     */
    public static function setHandler(?callable $handler, int|string $maxLevel = 'debug'): void
    {
        if (self::$depth > 0) {
            throw new \LogicException('the log handler cannot be changed from inside the log handler');
        }
        $level = self::level($maxLevel);
        if ($handler === null || $level === self::OFF) {
            self::remove();
            return;
        }
        $handler = \Closure::fromCallable($handler);
        $ffi = Ffi::get();
        if (self::$ffi !== null && self::$ffi !== $ffi) {
            self::remove(); // set in a library Ffi::load() has replaced since
        }
        // FFI makes a C function of it, called with the C arguments: the level, the target,
        // the message (const char *: PHP strings) and the userdata (NULL).
        // (Untyped: a TypeError here could not be caught.)
        $trampoline = static function (mixed $level, mixed $target, mixed $message, mixed $userdata = null): void {
            self::dispatch((int) $level, (string) $message);
        };
        Native::callOn($ffi, 'yx_set_log_callback', [$trampoline, null, $level]);
        // The library now calls the new closure: the one before it (if any) may go.
        [self::$handler, self::$trampoline, self::$ffi] = [$handler, $trampoline, $ffi];
        if (!self::$atShutdown) {
            register_shutdown_function(static function (): void {
                self::shutdown();
            });
            self::$atShutdown = true;
        }
    }

    /**
     * Sends the events to a PSR-3 logger (any object with a log($level, $message, $context)
     * method; no dependency on psr/log): the level as PSR-3 names it ("trace" as "debug"), the
     * line as the message, and the target, the event and its fields as the context
     * (['target' => 'yunxin_ecp', 'event' => 'retry', 'id' => '1f0c9a2e', 'attempt' => 1, ...]).
     */
    public static function setLogger(?object $logger, int|string $maxLevel = 'debug'): void
    {
        if ($logger !== null && !method_exists($logger, 'log')) {
            throw new \InvalidArgumentException('the logger must have a log($level, $message, $context) method: '
                . get_debug_type($logger) . ' has none');
        }
        self::setHandler($logger === null ? null : static function (string $level, string $message) use ($logger): void {
            $logger->log($level === 'trace' ? 'debug' : $level, $message, ['target' => self::TARGET] + self::fields($message));
        }, $maxLevel);
    }

    /**
     * The event's name and fields of one line: "retry id=1f0c9a2e attempt=1 reason=api_503"
     * gives ['event' => 'retry', 'id' => '1f0c9a2e', 'attempt' => 1, 'reason' => 'api_503'].
     *
     * @return array<string, string|int>
     */
    public static function fields(string $message): array
    {
        $fields = ['event' => preg_replace('/ \w+=.*$/s', '', $message)];
        preg_match_all('/ (\w+)=(\S*)/', $message, $pairs, PREG_SET_ORDER);
        foreach ($pairs as [, $key, $value]) {
            $fields[$key] = preg_match('/^(0|[1-9]\d{0,17})$/', $value) ? (int) $value : $value;
        }
        return $fields;
    }

    /** Whether a handler is set. */
    public static function isSet(): bool
    {
        return self::$handler !== null;
    }

    /**
     * @internal For Native, after each call into the library: reports what the handler threw
     * during it. Never throws.
     */
    public static function reportFailures(): void
    {
        if (self::$failures === 0 || self::$depth > 0) {
            return; // (a call made by the handler itself: reported after the outer call)
        }
        $message = 'YunxinEcp\\Log: the log handler threw ' . self::$failure
            . (self::$failures > 1 ? ' (and failed on ' . (self::$failures - 1) . ' more events)' : '')
            . '; the events were dropped, the call went on';
        [self::$failure, self::$failures] = [null, 0];
        try {
            trigger_error($message, E_USER_WARNING);
        } catch (\Throwable) {
            // An error handler made it an exception, which would hide the call's outcome.
            error_log($message);
        }
    }

    /** Removes the callback from the library, then lets its closure go. */
    private static function remove(): void
    {
        if (self::$ffi !== null) {
            Native::callOn(self::$ffi, 'yx_set_log_callback', [null, null, self::OFF]);
        }
        [self::$handler, self::$trampoline, self::$ffi] = [null, null, null];
    }

    /** The C callback: never throws (nothing may unwind through the library). */
    private static function dispatch(int $level, string $message): void
    {
        $handler = self::$handler;
        if ($handler === null || self::$depth > 0) {
            return;
        }
        self::$depth++;
        try {
            $handler(self::WORDS[$level] ?? 'trace', $message);
        } catch (\Throwable $e) {
            self::$failures++;
            self::$failure ??= $e::class . " ({$e->getMessage()}) at {$e->getFile()}:{$e->getLine()}";
        } finally {
            self::$depth--;
        }
    }

    private static function shutdown(): void
    {
        self::$atShutdown = false; // a handler set by a later shutdown function needs another
        if (self::$depth > 0) {
            // exit() or a fatal error inside the handler jumped out of the library mid-event.
            // The library holds no lock while the handler runs, so the callback can and must
            // still be removed: PHP frees the closure now, and a later request would call it.
            self::$depth = 0;
            error_log('YunxinEcp\\Log: exit() or a fatal error inside the log handler jumped out of libyunxin_ecp'
                . ' in the middle of a log event; the handler is removed, but restart this PHP process (under'
                . ' PHP-FPM, this worker) when you can: what the skipped frames held was never freed');
        }
        self::remove();
    }

    private static function level(int|string $level): int
    {
        if (is_int($level)) {
            if ($level >= self::OFF && $level <= self::TRACE) {
                return $level;
            }
        } else {
            $names = ['off' => self::OFF, 'warn' => self::WARNING] + array_flip(self::WORDS);
            if (isset($names[strtolower($level)])) {
                return $names[strtolower($level)];
            }
        }
        throw new \InvalidArgumentException('the log level must be off, error, warning, info, debug or trace (or '
            . self::OFF . ' to ' . self::TRACE . '), not ' . var_export($level, true));
    }
}

/** The local mock of the ECP API, in-process on an ephemeral port of 127.0.0.1. */
final class MockServer
{
    private function __construct(private Handle $handle) {}

    /** Starts one with the default settings (the samples' app key and secret, accid liuxuanlin). */
    public static function start(): self
    {
        return new self(Native::handle('yx_mock_server', 'yx_mock_server_start'));
    }

    public static function sampleAppKey(): string
    {
        return Native::value('yx_mock_sample_app_key');
    }

    public static function sampleAppSecret(): string
    {
        return Native::value('yx_mock_sample_app_secret');
    }

    /** Stops the server: frees its port and joins its threads. */
    public function stop(): void
    {
        if (isset($this->handle)) {
            $this->handle->close();
        }
    }

    public function __destruct()
    {
        $this->stop();
    }

    /** One server, one owner: a copy would stop it when either went. */
    public function __clone()
    {
        unset($this->handle); // the copy, destroyed once this throws, must not stop the server
        throw new \LogicException('a mock server cannot be cloned');
    }

    private function live(): Handle
    {
        if (!isset($this->handle) || !$this->handle->isOpen()) {
            throw new \LogicException('the mock server is stopped');
        }
        return $this->handle;
    }

    public function baseUrl(): string
    {
        return Native::value('yx_mock_server_base_url', [$this->live()]);
    }

    /** Give this as the callback URL and the server POSTs its callbacks to itself. */
    public function inboxUrl(): string
    {
        return $this->baseUrl() . '/_mock/inbox';
    }

    /**
     * Steers the mock or reads what it saw through its control API: $method "GET" or "POST",
     * $path a route under /_mock (GET /_mock lists them), $form the POST's fields. Returns the
     * decoded JSON answer; a route the mock refuses is an Exception of kind "invalid_argument".
     *
     * @param array<string, string|int> $form
     */
    public function control(string $method, string $path, array $form = []): mixed
    {
        return Native::json('yx_mock_server_control', [
            $this->live(),
            Native::text($method, 'method'),
            Native::text($path, 'path'),
            $form === [] ? null : http_build_query($form, '', '&', PHP_QUERY_RFC3986),
        ]);
    }

    /** Calls to $number are answered and last $durationSec seconds. */
    public function setOutcomeAnswered(string $number, int $durationSec): void
    {
        $this->control('POST', '/_mock/outcome', ['number' => $number, 'duration_sec' => $durationSec]);
    }

    /** $kind: delay (uses $ms), reset_before_response, reset_mid_body, html_502, empty_body,
     *  garbage_json, oversized (uses $bytes), rate_limited, server_error, busy_503, redirect. */
    public function injectFault(string $kind, int $times = 1, int $ms = 0, int $bytes = 0): void
    {
        $this->control('POST', '/_mock/fault', ['kind' => $kind, 'times' => $times, 'ms' => $ms, 'bytes' => $bytes]);
    }

    public function clearFaults(): void
    {
        $this->control('POST', '/_mock/faults/clear');
    }

    /** Where call-end callbacks go; null: nowhere. */
    public function setCallbackUrl(?string $url): void
    {
        $this->control('POST', '/_mock/callback_url', ['url' => $url ?? '']);
    }

    public function setEcpEnabled(bool $enabled): void
    {
        $this->control('POST', '/_mock/ecp_enabled', ['enabled' => $enabled ? 'true' : 'false']);
    }

    /** @return array<string, int> requests, start_count, sessions, callbacks, connections, ... */
    public function stats(): array
    {
        return $this->control('GET', '/_mock/stats');
    }

    /** Start requests that reached the service handler, whatever the answer. */
    public function startCount(): int
    {
        return $this->stats()['start_count'];
    }

    /** Calls and conferences placed; each gets a call-end callback. */
    public function sessionCount(): int
    {
        return $this->stats()['sessions'];
    }

    /** @return list<array<string, mixed>> the records of the calls and conferences placed */
    public function sessions(): array
    {
        return $this->control('GET', '/_mock/sessions');
    }

    /**
     * The callback deliveries as the control API shows them, CheckSum redacted: verify a
     * delivery as the receiver got it (inbox(), or your own handler).
     *
     * @return list<array<string, mixed>> session, url, attempt, body, headers, status, error
     */
    public function callbacks(): array
    {
        return $this->control('GET', '/_mock/callbacks');
    }

    /**
     * The POSTs the inbox received, body and headers as received: read from the mock in this
     * process, since GET /_mock/inbox, open to anyone who reaches the port, redacts CheckSum.
     *
     * @return list<array{body: string, headers: list<array{0: string, 1: string}>, received_at_ms: int}>
     */
    public function inbox(): array
    {
        return $this->waitForInbox(0, 0);
    }

    /**
     * Waits until the inbox holds at least $count POSTs or $timeoutMs pass; returns the inbox
     * (as inbox(): however many arrived).
     *
     * @return list<array{body: string, headers: list<array{0: string, 1: string}>, received_at_ms: int}>
     */
    public function waitForInbox(int $count, int $timeoutMs = 10000): array
    {
        return Native::json('yx_mock_server_wait_for_inbox', [
            $this->live(), Native::int($count, 'count'), Native::int($timeoutMs, 'timeout_ms'),
        ]);
    }
}
