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
 *
 * Every failure is an exception (YunxinEcp\Exception and its subclasses) carrying the result
 * kind, the API code and message, the retry advice and whether the request may have been sent.
 * Every string and handle the library returns is freed here: callers never see a pointer.
 *
 * Loading: Ffi::get() uses the scope YUNXIN_ECP when it was preloaded (see php/preload.php),
 * otherwise it reads the PHP-FFI header (YUNXIN_ECP_HEADER, default include/yunxin_ecp_php.h
 * next to this directory) and opens the library (YUNXIN_ECP_LIB, default libyunxin_ecp.so from
 * the system's library path). FFI must be enabled: ffi.enable=preload (PHP's default, which
 * allows the CLI and preloaded code) or ffi.enable=true.
 */

declare(strict_types=1);

namespace YunxinEcp;

use FFI as NativeFfi;
use FFI\CData;

/** The result kinds of the C ABI (yx_result). */
final class Result
{
    public const OK = 0;
    public const VALIDATION = 1;
    public const API = 2;
    public const PROTOCOL = 3;
    public const CALLBACK = 4;
    public const AUTH = 5;
    public const TRANSPORT = 6;
    public const ENTROPY = 7;
    public const NULL_ARGUMENT = 8;
    public const INVALID_UTF8 = 9;
    public const INVALID_ARGUMENT = 10;
    public const IO = 11;
    public const PANIC = 12;
    public const OTHER = 13;
}

/** The three ECP endpoints (yx_endpoint). */
final class Endpoint
{
    public const START_CALL = 1;
    public const START_CONF = 2;
    public const QUERY_BY_SESSION = 3;
}

/** The query's `type` (yx_session_kind). */
final class SessionKind
{
    public const CALL = 1;
    public const CONFERENCE = 2;
}

/** The library, loaded once per process (or preloaded once per PHP-FPM pool). */
final class Ffi
{
    private static ?NativeFfi $ffi = null;

    /** The loaded library. */
    public static function get(): NativeFfi
    {
        if (self::$ffi === null) {
            self::$ffi = self::load();
        }
        return self::$ffi;
    }

    /**
     * Loads the library explicitly, e.g. from a build directory. Without arguments: the
     * preloaded scope if there is one, else YUNXIN_ECP_LIB / YUNXIN_ECP_HEADER, else the defaults.
     */
    public static function load(?string $library = null, ?string $header = null): NativeFfi
    {
        if ($library === null && $header === null) {
            try {
                return self::$ffi = self::checked(NativeFfi::scope('YUNXIN_ECP'));
            } catch (\Throwable) {
                // Not preloaded: read the header below.
            }
        }
        $library ??= getenv('YUNXIN_ECP_LIB') ?: 'libyunxin_ecp.so';
        $header ??= getenv('YUNXIN_ECP_HEADER') ?: dirname(__DIR__) . '/include/yunxin_ecp_php.h';
        $code = @file_get_contents($header);
        if ($code === false) {
            throw new \RuntimeException("cannot read the yunxin_ecp header $header");
        }
        // FFI::cdef() takes declarations only: drop the two directives that FFI::load() reads.
        $code = preg_replace('/^#define FFI_(SCOPE|LIB) .*$/m', '', $code);
        return self::$ffi = self::checked(NativeFfi::cdef($code, $library));
    }

    private static function checked(NativeFfi $ffi): NativeFfi
    {
        if ($ffi->yx_abi_version() !== 1) {
            throw new \RuntimeException('libyunxin_ecp has ABI ' . $ffi->yx_abi_version()
                . '; this wrapper speaks ABI 1');
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
    /** @param array<string, mixed> $detail the error's JSON form (yx_error_to_json) */
    public function __construct(
        public readonly int $result,
        public readonly array $detail,
    ) {
        $code = $result === Result::API ? (int) ($detail['code'] ?? 0) : $result;
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
}

/** An argument broke a rule: see field() and rule(). Nothing was sent. */
class ValidationException extends Exception {}
/** The service answered with a code other than 200: see apiCode() and retryAdvice(). */
class ApiException extends Exception {}
/** The answer could not be read, or was a redirect (never followed): see reason(). */
class ProtocolException extends Exception {}
/** A callback was refused or unreadable: see reason(). */
class CallbackException extends Exception {}
/** An incoming signed request was refused (server side): see reason(). */
class AuthException extends Exception {}
/** No complete answer came back: see reason() and maybeSent(). */
class TransportException extends Exception {}

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
    private function __construct(public readonly bool $headers, public readonly array $items) {}

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
     * A `yx_header[]` from ['Name' => 'value', ...] or [['Name', 'value'], ...].
     *
     * @param array<mixed> $headers
     */
    public static function headers(array $headers): self
    {
        $items = [];
        foreach ($headers as $name => $value) {
            $i = count($items);
            if (is_array($value)) {
                if (!array_is_list($value) || count($value) !== 2) {
                    throw new \InvalidArgumentException("headers[$i] must be a name and a value");
                }
                [$name, $value] = $value;
            }
            $items[] = [self::text($name, "headers[$i].name"), self::text($value, "headers[$i].value")];
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
 * @internal Calls into the library and turns its conventions into PHP's.
 *
 * Every call goes through invoke(), and every FFI\CData lives in its locals or in a Handle's
 * property: no PHP function here or in the classes above takes a CData argument. An exception
 * keeps the arguments of every frame on the stack when it is made (unless
 * zend.exception_ignore_args is on), and a CData among them outlives what it points to: an
 * FFI::addr() of a local `yx_request *` out-variable points into that local's buffer and names
 * that local's type, both freed when the frame that owned the local returned, so rendering the
 * trace later ((string), print_r, an uncaught exception's report) read freed memory.
 *
 * The C arguments ($args) are plain PHP values: int, string (bytes, or a C string checked with
 * text()), null (a NULL pointer), Handle (its pointer), \SensitiveParameterValue (its value: a
 * secret, which so never shows in a trace) and CList (its C array and length).
 */
final class Native
{
    /** Calls a fallible function (its last argument, err_out, is added here); throws on error. */
    public static function call(string $function, array $args = []): void
    {
        self::invoke($function, $args, true);
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

    /** As call(), for a function whose out-parameter is a `size_t`. */
    public static function size(string $function, array $args = []): int
    {
        return self::invoke($function, $args, true, 'size_t');
    }

    /** Calls a function without err_out; returns its number or `const char *` as PHP's (null: void). */
    public static function value(string $function, array $args = []): int|string|null
    {
        return self::invoke($function, $args, false);
    }

    /** Calls a function returning `const uint8_t *`: its $length bytes. */
    public static function bytes(string $function, array $args, int $length): string
    {
        return self::invoke($function, $args, false, 'bytes', $length);
    }

    /**
     * Calls a function returning `const yx_header *`: its $count pairs.
     *
     * @return list<array{0: string, 1: string}>
     */
    public static function headers(string $function, array $args, int $count): array
    {
        return self::invoke($function, $args, false, 'headers', $count);
    }

    /**
     * A PHP string as a C string argument. C strings end at the first NUL byte, so a string
     * holding one would be cut short silently: refuse it instead.
     */
    public static function text(string $value, string $name): string
    {
        if (str_contains($value, "\0")) {
            throw new \InvalidArgumentException("$name contains a NUL byte");
        }
        return $value;
    }

    /** text() for a secret: the value travels wrapped, so no frame of a trace shows it. */
    public static function secret(#[\SensitiveParameter] string $value, string $name): \SensitiveParameterValue
    {
        if (str_contains($value, "\0")) {
            throw new \InvalidArgumentException("$name contains a NUL byte");
        }
        return new \SensitiveParameterValue($value);
    }

    /** An integer for a `uint64_t` or `size_t`: a negative one is refused, not wrapped around. */
    public static function u64(int $value, string $name): int
    {
        return self::range($value, $name, 0, PHP_INT_MAX);
    }

    /** An integer for a `uint32_t`. */
    public static function u32(int $value, string $name): int
    {
        return self::range($value, $name, 0, 0xFFFF_FFFF);
    }

    /** An integer for a `uint16_t`. */
    public static function u16(int $value, string $name): int
    {
        return self::range($value, $name, 0, 0xFFFF);
    }

    /** An integer for an `int32_t`. */
    public static function i32(int $value, string $name): int
    {
        return self::range($value, $name, -0x8000_0000, 0x7FFF_FFFF);
    }

    private static function range(int $value, string $name, int $min, int $max): int
    {
        if ($value < $min || $value > $max) {
            throw new \InvalidArgumentException("$name $value is out of range ($min to $max)");
        }
        return $value;
    }

    /**
     * The one place that calls the library.
     *
     * @param list<mixed> $args
     * @param Handle|'string'|'size_t'|'bytes'|'headers'|null $out
     */
    private static function invoke(string $function, array $args, bool $fallible, Handle|string|null $out = null, int $length = 0): mixed
    {
        $ffi = Ffi::get();
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
                $array = $ffi->new(($arg->headers ? 'yx_header' : 'const char*') . "[$count]");
                foreach ($arg->items as $i => $item) {
                    if ($arg->headers) {
                        $array[$i]->name = $cString($item[0]);
                        $array[$i]->value = $cString($item[1]);
                    } else {
                        $array[$i] = $cString($item);
                    }
                }
                $keep[] = $array;
                array_push($cargs, $array, $count);
            } elseif ($arg === null || is_int($arg) || is_string($arg)) {
                $cargs[] = $arg;
            } else {
                throw new \LogicException("$function: cannot pass " . get_debug_type($arg));
            }
        }
        $cell = null;
        if ($out instanceof Handle) {
            $cargs[] = $out->target();
        } elseif ($out === 'string' || $out === 'size_t') {
            $cell = $ffi->new($out === 'string' ? 'char*' : 'size_t');
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
        }

        if ($fallible && $result !== Result::OK) {
            $detail = ['kind' => 'other', 'message' => 'unknown error'];
            if (!NativeFfi::isNull($err)) {
                $json = $ffi->new('char*');
                if ($ffi->yx_error_to_json($err, NativeFfi::addr($json), null) === Result::OK && !NativeFfi::isNull($json)) {
                    $decoded = json_decode(NativeFfi::string($json), true);
                    $ffi->yx_string_free($json);
                    if (is_array($decoded)) {
                        $detail = $decoded;
                    }
                } else {
                    $detail['message'] = (string) $ffi->yx_error_message($err);
                }
                $ffi->yx_error_free($err);
            }
            // Made here, with every CData of the call still a local of this frame.
            throw self::exception($result, $detail);
        }

        if ($out instanceof Handle) {
            $out->opened();
            return null;
        }
        if ($out === 'string') {
            if (NativeFfi::isNull($cell)) {
                return '';
            }
            $text = NativeFfi::string($cell);
            $ffi->yx_string_free($cell);
            return $text;
        }
        if ($out === 'size_t') {
            return $cell->cdata;
        }
        if ($out === 'bytes') {
            return $length === 0 || $result === null || NativeFfi::isNull($result) ? '' : NativeFfi::string($result, $length);
        }
        if ($out === 'headers') {
            $pairs = [];
            for ($i = 0; $i < $length; $i++) {
                $pairs[] = [NativeFfi::string($result[$i]->name), NativeFfi::string($result[$i]->value)];
            }
            return $pairs;
        }
        if ($result instanceof CData) {
            if (NativeFfi::typeof($result)->getKind() === NativeFfi\CType::TYPE_VOID) {
                return null;
            }
            throw new \LogicException("$function returns a pointer: read it with bytes() or headers()");
        }
        return $result;
    }

    /** The exception of a failed call, from plain values. */
    private static function exception(int $result, array $detail): Exception
    {
        return match ($result) {
            Result::VALIDATION => new ValidationException($result, $detail),
            Result::API => new ApiException($result, $detail),
            Result::PROTOCOL => new ProtocolException($result, $detail),
            Result::CALLBACK => new CallbackException($result, $detail),
            Result::AUTH => new AuthException($result, $detail),
            Result::TRANSPORT => new TransportException($result, $detail),
            default => new Exception($result, $detail),
        };
    }
}

/** Functions without a handle: signing primitives, response parsing, the code table. */
final class YunxinEcp
{
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
        return Native::string('yx_generate_nonce', [Native::u64($length, 'length')]);
    }

    /** What a service code means. */
    public static function codeMeaning(int $code): string
    {
        return Native::value('yx_code_meaning', [$code]);
    }

    /** Whether a request to $endpoint answered $code may be sent again ("never", "safe", ...). */
    public static function codeRetryAdvice(int $code, int $endpoint): string
    {
        $advice = Native::value('yx_code_retry_advice', [$code, Native::i32($endpoint, 'endpoint')]);
        return Native::value('yx_retry_advice_code', [$advice]);
    }

    /** @return list<array{code: int, meaning: string, retry_start: string, retry_query: string}> */
    public static function codeTable(): array
    {
        return Native::json('yx_code_table_json');
    }

    /** Minutes billed for a call: every started minute counts. */
    public static function billedMinutes(int $durationSec): int
    {
        return Native::value('yx_billed_minutes', [Native::u64($durationSec, 'duration_sec')]);
    }

    /** The cost in fen at $fenPerMinute (12 is the published rate). */
    public static function costFen(int $durationSec, int $fenPerMinute = 12): int
    {
        return Native::value('yx_cost_fen', [Native::u64($durationSec, 'duration_sec'), Native::u64($fenPerMinute, 'fen_per_minute')]);
    }

    /** Reads a start answer (Endpoint::START_CALL or START_CONF) and returns the session. */
    public static function parseStartResponse(int $endpoint, int $httpStatus, string $body): string
    {
        return Native::string('yx_parse_start_response', [
            Native::i32($endpoint, 'endpoint'),
            Native::u16($httpStatus, 'http_status'),
            $body,
            strlen($body),
        ]);
    }

    /**
     * Reads a queryBySession answer into the record (see CallRecord::fromHandle for its keys).
     *
     * @return array<string, mixed>
     */
    public static function parseQueryResponse(int $httpStatus, string $body): array
    {
        return CallRecord::fromHandle(Native::handle('yx_call_record', 'yx_parse_query_response', [
            Native::u16($httpStatus, 'http_status'),
            $body,
            strlen($body),
        ]));
    }

    /**
     * Parses a callback body without verifying it (for bodies verified already).
     *
     * @return array<string, mixed> ["type" => "call_end", record keys...] or
     *                              ["type" => "other", "event_type" => ..., "raw" => ...]
     */
    public static function parseCallback(string $body): array
    {
        return CallbackVerifier::eventToArray(Native::handle('yx_callback_event', 'yx_callback_parse', [$body, strlen($body)]));
    }

    /**
     * Server side: checks the auth headers of an incoming request; throws AuthException.
     *
     * @param array<mixed> $headers ['Name' => 'value'] or [['Name', 'value']]
     */
    public static function verifyRequest(Credentials $app, array $headers, ?int $nowSecs = null, int $windowSecs = 300): void
    {
        Native::call('yx_server_verify_request', [
            $app->handle(),
            CList::headers($headers),
            Native::u64($nowSecs ?? time(), 'now_secs'),
            Native::u64($windowSecs, 'window_secs'),
        ]);
    }

    /**
     * Server side: reads the parameters of a request to $path; throws ValidationException.
     *
     * @return array{request: string, params: array<string, mixed>}
     */
    public static function parseServerRequest(string $path, string $query, string $body): array
    {
        $request = new Request(Native::handle('yx_request', 'yx_server_parse_request', [
            Native::text($path, 'path'),
            Native::text($query, 'query'),
            $body,
            strlen($body),
        ]));
        return $request->toArray();
    }

    /** {"desc":"bad http header","code":414} */
    public static function replyBadHttpHeader(): string
    {
        return Native::string('yx_server_reply_bad_http_header');
    }

    /** {"code":414,"msg":"bad param '<field>'"} */
    public static function replyBadParam(string $field): string
    {
        return Native::string('yx_server_reply_bad_param', [Native::text($field, 'field')]);
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

    /** Signs with a given nonce and CurTime (seconds): the building block the vectors test. */
    public function sign(string $nonce, int $curTime): AuthHeaders
    {
        return new AuthHeaders(Native::handle('yx_auth_headers', 'yx_credentials_sign', [
            $this->handle,
            Native::text($nonce, 'nonce'),
            Native::u64($curTime, 'cur_time'),
        ]));
    }

    /** Signs with a fresh nonce and one reading of the clock; once per request and retry. */
    public function signNow(): AuthHeaders
    {
        return new AuthHeaders(Native::handle('yx_auth_headers', 'yx_credentials_sign_now', [$this->handle]));
    }
}

/** The four auth headers of one request. */
final class AuthHeaders
{
    /** @internal */
    public function __construct(private Handle $handle)
    {
        if ($handle->type !== 'yx_auth_headers') {
            throw new \InvalidArgumentException("a {$handle->type} is not auth headers");
        }
    }

    /** @internal */
    public function handle(): Handle
    {
        return $this->handle;
    }

    public function checksum(): string
    {
        return Native::value('yx_auth_headers_checksum', [$this->handle]);
    }

    /**
     * @return array{app_key: string, nonce: string, cur_time: string, checksum: string,
     *               headers: list<array{0: string, 1: string}>}
     */
    public function toArray(): array
    {
        return Native::json('yx_auth_headers_to_json', [$this->handle]);
    }
}

/** A validated ECP request. */
final class Request
{
    /** @internal */
    public function __construct(private Handle $handle)
    {
        if ($handle->type !== 'yx_request') {
            throw new \InvalidArgumentException("a {$handle->type} is not a request");
        }
    }

    /** A callback call: rings $caller, then $callee, for at most $maxDur seconds. */
    public static function startCall(string $callerAcc, string $caller, string $callee, int $maxDur): self
    {
        return new self(Native::handle('yx_request', 'yx_start_call_new', [
            Native::text($callerAcc, 'caller_acc'),
            Native::text($caller, 'caller'),
            Native::text($callee, 'callee'),
            Native::u32($maxDur, 'maxDur'),
        ]));
    }

    /**
     * A conference of $caller and 2 to 7 $callees (a PHP list, sent as a real JSON array).
     *
     * @param list<string> $callees
     */
    public static function startConf(string $callerAcc, string $caller, array $callees, int $maxDur): self
    {
        return new self(Native::handle('yx_request', 'yx_start_conf_new', [
            Native::text($callerAcc, 'caller_acc'),
            Native::text($caller, 'caller'),
            CList::strings($callees, 'callees'),
            Native::u32($maxDur, 'maxDur'),
        ]));
    }

    /** A query for one session; $kind is SessionKind::CALL or SessionKind::CONFERENCE. */
    public static function query(string $session, int $kind): self
    {
        return new self(Native::handle('yx_request', 'yx_query_new', [
            Native::text($session, 'session'),
            Native::i32($kind, 'kind'),
        ]));
    }

    /** @internal */
    public function handle(): Handle
    {
        return $this->handle;
    }

    public function endpoint(): int
    {
        return Native::value('yx_request_endpoint', [$this->handle]);
    }

    public function formBody(): string
    {
        return Native::string('yx_request_form_body', [$this->handle]);
    }

    /** @return array{request: string, params: array<string, mixed>} */
    public function toArray(): array
    {
        return Native::json('yx_request_to_json', [$this->handle]);
    }

    /**
     * The request ready for any HTTP client, with given auth headers.
     *
     * @return array{endpoint: string, method: string, url: string,
     *               headers: list<array{0: string, 1: string}>, body: string}
     */
    public function prepare(?string $baseUrl, AuthHeaders $auth): array
    {
        return self::preparedToArray(Native::handle('yx_prepared_request', 'yx_request_prepare', [
            $this->handle,
            $baseUrl === null ? null : Native::text($baseUrl, 'base_url'),
            $auth->handle(),
        ]));
    }

    /**
     * Signs now and prepares: once per attempt.
     *
     * @return array{endpoint: string, method: string, url: string,
     *               headers: list<array{0: string, 1: string}>, body: string}
     */
    public function prepareNow(?string $baseUrl, Credentials $credentials): array
    {
        return self::preparedToArray(Native::handle('yx_prepared_request', 'yx_request_prepare_now', [
            $this->handle,
            $baseUrl === null ? null : Native::text($baseUrl, 'base_url'),
            $credentials->handle(),
        ]));
    }

    /** @return array<string, mixed> */
    private static function preparedToArray(Handle $prepared): array
    {
        try {
            return Native::json('yx_prepared_request_to_json', [$prepared]);
        } finally {
            $prepared->close();
        }
    }
}

/** Call records, as PHP arrays. */
final class CallRecord
{
    /**
     * Reads a record handle into an array and frees the handle. Keys: session, init_account,
     * caller, callee, members (list or null), create_time_ms, start_time, duration_sec, status,
     * legs (list of endpoint, end_time, hang_cause), raw, answered, billed_minutes, cost_fen,
     * is_conference.
     *
     * @internal
     * @return array<string, mixed>
     */
    public static function fromHandle(Handle $record): array
    {
        try {
            return Native::json('yx_call_record_to_json', [$record]);
        } finally {
            $record->close();
        }
    }
}

/** Verifies call-end callbacks for one app. */
final class CallbackVerifier
{
    private Handle $handle;

    /** Refuses callbacks whose CurTime is more than $toleranceMs away (0 is not "off"). */
    public function __construct(Credentials $credentials, int $toleranceMs = 300000)
    {
        $this->handle = Native::handle('yx_callback_verifier', 'yx_callback_verifier_new', [
            $credentials->handle(),
            Native::u64($toleranceMs, 'tolerance_ms'),
        ]);
    }

    /** A verifier that does not check CurTime: only for re-verifying stored callbacks. */
    public static function skipTimeCheck(Credentials $credentials): self
    {
        $self = (new \ReflectionClass(self::class))->newInstanceWithoutConstructor();
        $self->handle = Native::handle('yx_callback_verifier', 'yx_callback_verifier_new_skip_time_check', [$credentials->handle()]);
        return $self;
    }

    /**
     * The headers of the current request, from getallheaders() or $_SERVER (names are matched
     * case-insensitively, so HTTP_CHECKSUM serves for CheckSum).
     *
     * @return array<string, string>
     */
    public static function requestHeaders(): array
    {
        if (function_exists('getallheaders')) {
            return getallheaders();
        }
        $headers = [];
        foreach ($_SERVER as $key => $value) {
            if (is_string($key) && str_starts_with($key, 'HTTP_')) {
                $headers[str_replace('_', '-', substr($key, 5))] = (string) $value;
            }
        }
        return $headers;
    }

    /**
     * Verifies $body (the raw bytes: file_get_contents('php://input'), never re-encoded JSON)
     * against its headers at $nowMs (default: now). Throws CallbackException.
     *
     * @param array<mixed> $headers ['Name' => 'value'] or [['Name', 'value']]
     */
    public function verify(string $body, array $headers, ?int $nowMs = null): void
    {
        if ($nowMs === null) {
            Native::call('yx_callback_verifier_verify_now', [$this->handle, $body, strlen($body), CList::headers($headers)]);
        } else {
            Native::call('yx_callback_verifier_verify', [
                $this->handle, $body, strlen($body), CList::headers($headers), Native::u64($nowMs, 'now_ms'),
            ]);
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
        $event = $nowMs === null
            ? Native::handle('yx_callback_event', 'yx_callback_verifier_verify_and_parse_now', [
                $this->handle, $body, strlen($body), CList::headers($headers),
            ])
            : Native::handle('yx_callback_event', 'yx_callback_verifier_verify_and_parse', [
                $this->handle, $body, strlen($body), CList::headers($headers), Native::u64($nowMs, 'now_ms'),
            ]);
        return self::eventToArray($event);
    }

    /**
     * Reads an event handle into an array and frees the handle.
     *
     * @internal
     * @return array<string, mixed>
     */
    public static function eventToArray(Handle $event): array
    {
        try {
            return Native::json('yx_callback_event_to_json', [$event]);
        } finally {
            $event->close();
        }
    }
}

/**
 * The blocking client: pooled connections, verified TLS, timeouts, and retries only where a
 * retry cannot place a second billable call.
 */
final class Client
{
    /** Each option's setter, and the largest value it takes (null: a string). */
    private const OPTIONS = [
        'base_url' => ['yx_client_builder_set_base_url', null],
        'connect_timeout_ms' => ['yx_client_builder_set_connect_timeout_ms', PHP_INT_MAX],
        'timeout_ms' => ['yx_client_builder_set_timeout_ms', PHP_INT_MAX],
        'max_retries' => ['yx_client_builder_set_max_retries', 0xFFFF_FFFF],
        'backoff_ms' => ['yx_client_builder_set_backoff_ms', PHP_INT_MAX],
        'max_response_bytes' => ['yx_client_builder_set_max_response_bytes', PHP_INT_MAX],
    ];

    private Handle $handle;

    /**
     * @param array{base_url?: string, connect_timeout_ms?: int, timeout_ms?: int,
     *              max_retries?: int, backoff_ms?: int, max_response_bytes?: int} $options
     */
    public function __construct(Credentials $credentials, array $options = [])
    {
        $settings = [];
        foreach ($options as $name => $value) {
            if (!is_string($name) || !isset(self::OPTIONS[$name])) {
                throw new \InvalidArgumentException("unknown client option $name");
            }
            [$setter, $max] = self::OPTIONS[$name];
            if ($max === null) {
                if (!is_string($value)) {
                    throw new \InvalidArgumentException("client option $name must be a string");
                }
                $settings[$setter] = Native::text($value, $name);
            } elseif (!is_int($value) || $value < 0 || $value > $max) {
                throw new \InvalidArgumentException("client option $name must be an integer from 0 to $max");
            } else {
                $settings[$setter] = $value;
            }
        }
        $builder = Native::handle('yx_client_builder', 'yx_client_builder_new', [$credentials->handle()]);
        try {
            foreach ($settings as $setter => $value) {
                Native::call($setter, [$builder, $value]);
            }
            $this->handle = Native::handle('yx_client', 'yx_client_builder_build', [$builder]);
        } finally {
            $builder->close();
        }
    }

    public function baseUrl(): string
    {
        return Native::value('yx_client_base_url', [$this->handle]);
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
     * The record of a call (SessionKind::CALL) or conference (SessionKind::CONFERENCE).
     *
     * @return array<string, mixed>
     */
    public function query(string $session, int $kind = SessionKind::CALL): array
    {
        $request = Request::query($session, $kind);
        return CallRecord::fromHandle(Native::handle('yx_call_record', 'yx_client_query', [$this->handle, $request->handle()]));
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
        return Native::value('yx_mock_server_inbox_url', [$this->live()]);
    }

    public function setOutcomeAnswered(string $number, int $durationSec): void
    {
        Native::call('yx_mock_server_set_outcome_answered', [
            $this->live(), Native::text($number, 'number'), Native::u64($durationSec, 'duration_sec'),
        ]);
    }

    public function setOutcomeNoAnswer(string $number, string $hangCause): void
    {
        Native::call('yx_mock_server_set_outcome_no_answer', [
            $this->live(), Native::text($number, 'number'), Native::text($hangCause, 'hang_cause'),
        ]);
    }

    /** $kind: delay (uses $ms), reset_before_response, reset_mid_body, html_502, empty_body,
     *  garbage_json, oversized (uses $bytes), rate_limited, server_error, busy_503, redirect. */
    public function injectFault(string $kind, int $times = 1, int $ms = 0, int $bytes = 0): void
    {
        Native::call('yx_mock_server_inject_fault', [
            $this->live(),
            Native::text($kind, 'kind'),
            Native::u32($times, 'times'),
            Native::u64($ms, 'ms'),
            Native::u64($bytes, 'bytes'),
        ]);
    }

    public function clearFaults(): void
    {
        Native::call('yx_mock_server_clear_faults', [$this->live()]);
    }

    public function setCallbackUrl(?string $url): void
    {
        Native::call('yx_mock_server_set_callback_url', [$this->live(), $url === null ? null : Native::text($url, 'url')]);
    }

    public function setEcpEnabled(bool $enabled): void
    {
        Native::call('yx_mock_server_set_ecp_enabled', [$this->live(), $enabled ? 1 : 0]);
    }

    public function setLatencyMs(int $ms): void
    {
        Native::call('yx_mock_server_set_latency_ms', [$this->live(), Native::u64($ms, 'latency_ms')]);
    }

    public function reset(): void
    {
        Native::call('yx_mock_server_reset', [$this->live()]);
    }

    public function startCount(): int
    {
        return Native::value('yx_mock_server_start_count', [$this->live()]);
    }

    /** Calls and conferences placed; each gets a call-end callback. */
    public function sessionCount(): int
    {
        return Native::value('yx_mock_server_session_count', [$this->live()]);
    }

    /** @return array<string, int> */
    public function stats(): array
    {
        return Native::json('yx_mock_server_stats_json', [$this->live()]);
    }

    /** @return list<array<string, mixed>> */
    public function requests(): array
    {
        return Native::json('yx_mock_server_requests_json', [$this->live()]);
    }

    /** @return list<array<string, mixed>> */
    public function sessions(): array
    {
        return Native::json('yx_mock_server_sessions_json', [$this->live()]);
    }

    /** @return list<array<string, mixed>> */
    public function callbacks(): array
    {
        return Native::json('yx_mock_server_callbacks_json', [$this->live()]);
    }

    /** Waits for at least $count inbox POSTs (or the timeout); returns how many arrived. */
    public function waitForInbox(int $count, int $timeoutMs = 10000): int
    {
        return Native::size('yx_mock_server_wait_for_inbox', [
            $this->live(), Native::u64($count, 'count'), Native::u64($timeoutMs, 'timeout_ms'),
        ]);
    }

    /**
     * Inbox POST number $index, body bytes and headers exactly as received.
     *
     * @return array{body: string, headers: list<array{0: string, 1: string}>, received_at_ms: int}
     */
    public function inbox(int $index): array
    {
        $received = Native::handle('yx_received_callback', 'yx_mock_server_inbox_get', [
            $this->live(), Native::u64($index, 'index'),
        ]);
        try {
            $length = Native::value('yx_received_callback_body_len', [$received]);
            $count = Native::value('yx_received_callback_header_count', [$received]);
            return [
                'body' => Native::bytes('yx_received_callback_body', [$received], $length),
                'headers' => Native::headers('yx_received_callback_headers', [$received], $count),
                'received_at_ms' => Native::value('yx_received_callback_received_at_ms', [$received]),
            ];
        } finally {
            $received->close();
        }
    }
}
