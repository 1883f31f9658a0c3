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

    /** The refinement of the kind: "html", "md5_mismatch", "connect", ... */
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
/** The answer could not be read: see reason(). */
class ProtocolException extends Exception {}
/** A callback was refused or unreadable: see reason(). */
class CallbackException extends Exception {}
/** An incoming signed request was refused (server side): see reason(). */
class AuthException extends Exception {}
/** No complete answer came back: see reason() and maybeSent(). */
class TransportException extends Exception {}

/** @internal Calls into the library and turns its conventions into PHP's. */
final class Native
{
    /** Calls a fallible function (its last argument, err_out, is added here); throws on error. */
    public static function call(string $function, mixed ...$args): void
    {
        $ffi = Ffi::get();
        $err = $ffi->new('yx_error*');
        $result = $ffi->$function(...[...$args, NativeFfi::addr($err)]);
        if ($result !== Result::OK) {
            throw self::exception($result, $err);
        }
    }

    /** Builds the exception for a failed call and frees the error object. */
    private static function exception(int $result, CData $err): Exception
    {
        $ffi = Ffi::get();
        $detail = ['kind' => 'other', 'message' => 'unknown error'];
        if (!NativeFfi::isNull($err)) {
            $json = $ffi->new('char*');
            if ($ffi->yx_error_to_json($err, NativeFfi::addr($json), null) === Result::OK) {
                $detail = json_decode(self::take($json), true, 512, JSON_THROW_ON_ERROR);
            } else {
                $detail['message'] = (string) $ffi->yx_error_message($err);
            }
            $ffi->yx_error_free($err);
        }
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

    /** Copies a `char *` the library returned into a PHP string and frees it. */
    public static function take(CData $string): string
    {
        try {
            return NativeFfi::string($string);
        } finally {
            Ffi::get()->yx_string_free($string);
        }
    }

    /** Calls a function whose out-parameter is a `char *` (before err_out); returns the text. */
    public static function string(string $function, mixed ...$args): string
    {
        $out = Ffi::get()->new('char*');
        self::call($function, ...[...$args, NativeFfi::addr($out)]);
        return self::take($out);
    }

    /** As string(), decoding the JSON the library wrote. */
    public static function json(string $function, mixed ...$args): mixed
    {
        return json_decode(self::string($function, ...$args), true, 512, JSON_THROW_ON_ERROR);
    }

    /** Calls a function whose out-parameter is a handle of `$type`; returns the handle. */
    public static function handle(string $type, string $function, mixed ...$args): CData
    {
        $out = Ffi::get()->new("$type*");
        self::call($function, ...[...$args, NativeFfi::addr($out)]);
        return $out;
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

    /**
     * Copies PHP strings into C memory for a `const char *` array or struct field; the copies
     * stay alive as long as `$keep`.
     *
     * @param list<CData> $keep
     */
    public static function cString(string $value, string $name, array &$keep): CData
    {
        $value = self::text($value, $name);
        $length = strlen($value);
        $buffer = NativeFfi::new('char[' . ($length + 1) . ']');
        if ($length > 0) {
            NativeFfi::memcpy($buffer, $value, $length);
        }
        $buffer[$length] = "\0";
        $keep[] = $buffer;
        return NativeFfi::cast('char*', NativeFfi::addr($buffer[0]));
    }

    /**
     * A `const char *[]` from a list of strings.
     *
     * @param list<string> $values
     * @param list<CData> $keep
     */
    public static function stringArray(array $values, string $name, array &$keep): ?CData
    {
        $values = array_values($values);
        if ($values === []) {
            return null;
        }
        $array = Ffi::get()->new('const char*[' . count($values) . ']');
        foreach ($values as $i => $value) {
            $array[$i] = self::cString((string) $value, "{$name}[$i]", $keep);
        }
        $keep[] = $array;
        return $array;
    }

    /**
     * A `yx_header[]` from ['Name' => 'value', ...] or [['Name', 'value'], ...].
     *
     * @param array<mixed> $headers
     * @param list<CData> $keep
     * @return array{0: ?CData, 1: int}
     */
    public static function headers(array $headers, array &$keep): array
    {
        $pairs = [];
        foreach ($headers as $name => $value) {
            if (is_array($value)) {
                [$name, $value] = array_values($value);
            }
            $pairs[] = [(string) $name, (string) $value];
        }
        if ($pairs === []) {
            return [null, 0];
        }
        $array = Ffi::get()->new('yx_header[' . count($pairs) . ']');
        foreach ($pairs as $i => [$name, $value]) {
            $array[$i]->name = self::cString($name, "headers[$i].name", $keep);
            $array[$i]->value = self::cString($value, "headers[$i].value", $keep);
        }
        $keep[] = $array;
        return [$array, count($pairs)];
    }
}

/** Functions without a handle: signing primitives, response parsing, the code table. */
final class YunxinEcp
{
    /** The library's version, e.g. "0.1.0". */
    public static function version(): string
    {
        return Ffi::get()->yx_version();
    }

    /** The library's ABI version. */
    public static function abiVersion(): int
    {
        return Ffi::get()->yx_abi_version();
    }

    /** Lowercase hex SHA1($secret . $nonce . $curTime): the bare CheckSum digest. */
    public static function checksum(string $secret, string $nonce, string $curTime): string
    {
        return Native::string(
            'yx_checksum',
            Native::text($secret, 'secret'),
            Native::text($nonce, 'nonce'),
            Native::text($curTime, 'cur_time'),
        );
    }

    /** Lowercase hex MD5 of raw bytes, hex-encoded once (32 characters). */
    public static function bodyMd5(string $body): string
    {
        return Native::string('yx_body_md5', $body, strlen($body));
    }

    /** A nonce of $length lowercase hex characters from the OS CSPRNG. */
    public static function generateNonce(int $length = 32): string
    {
        return Native::string('yx_generate_nonce', $length);
    }

    /** What a service code means. */
    public static function codeMeaning(int $code): string
    {
        return Ffi::get()->yx_code_meaning($code);
    }

    /** Whether a request to $endpoint answered $code may be sent again ("never", "safe", ...). */
    public static function codeRetryAdvice(int $code, int $endpoint): string
    {
        $ffi = Ffi::get();
        return $ffi->yx_retry_advice_code($ffi->yx_code_retry_advice($code, $endpoint));
    }

    /** @return list<array{code: int, meaning: string, retry_start: string, retry_query: string}> */
    public static function codeTable(): array
    {
        return Native::json('yx_code_table_json');
    }

    /** Minutes billed for a call: every started minute counts. */
    public static function billedMinutes(int $durationSec): int
    {
        return Ffi::get()->yx_billed_minutes($durationSec);
    }

    /** The cost in fen at $fenPerMinute (12 is the published rate). */
    public static function costFen(int $durationSec, int $fenPerMinute = 12): int
    {
        return Ffi::get()->yx_cost_fen($durationSec, $fenPerMinute);
    }

    /** Reads a start answer (Endpoint::START_CALL or START_CONF) and returns the session. */
    public static function parseStartResponse(int $endpoint, int $httpStatus, string $body): string
    {
        return Native::string('yx_parse_start_response', $endpoint, $httpStatus, $body, strlen($body));
    }

    /**
     * Reads a queryBySession answer into the record (see CallRecord::fromHandle for its keys).
     *
     * @return array<string, mixed>
     */
    public static function parseQueryResponse(int $httpStatus, string $body): array
    {
        $record = Native::handle('yx_call_record', 'yx_parse_query_response', $httpStatus, $body, strlen($body));
        return CallRecord::fromHandle($record);
    }

    /**
     * Parses a callback body without verifying it (for bodies verified already).
     *
     * @return array<string, mixed> ["type" => "call_end", record keys...] or
     *                              ["type" => "other", "event_type" => ..., "raw" => ...]
     */
    public static function parseCallback(string $body): array
    {
        $event = Native::handle('yx_callback_event', 'yx_callback_parse', $body, strlen($body));
        return CallbackVerifier::eventToArray($event);
    }

    /**
     * Server side: checks the auth headers of an incoming request; throws AuthException.
     *
     * @param array<mixed> $headers ['Name' => 'value'] or [['Name', 'value']]
     */
    public static function verifyRequest(Credentials $app, array $headers, ?int $nowSecs = null, int $windowSecs = 300): void
    {
        $keep = [];
        [$array, $count] = Native::headers($headers, $keep);
        Native::call('yx_server_verify_request', $app->handle(), $array, $count, $nowSecs ?? time(), $windowSecs);
    }

    /**
     * Server side: reads the parameters of a request to $path; throws ValidationException.
     *
     * @return array{request: string, params: array<string, mixed>}
     */
    public static function parseServerRequest(string $path, string $query, string $body): array
    {
        $request = new Request(Native::handle(
            'yx_request',
            'yx_server_parse_request',
            Native::text($path, 'path'),
            Native::text($query, 'query'),
            $body,
            strlen($body),
        ));
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
        return Native::string('yx_server_reply_bad_param', Native::text($field, 'field'));
    }
}

/** An app key and secret. The secret never appears in a message or a dump of this object. */
final class Credentials
{
    private CData $handle;

    public function __construct(string $appKey, #[\SensitiveParameter] string $appSecret)
    {
        $this->handle = Native::handle(
            'yx_credentials',
            'yx_credentials_new',
            Native::text($appKey, 'app_key'),
            Native::text($appSecret, 'app_secret'),
        );
    }

    /** Reads YUNXIN_APP_KEY and YUNXIN_APP_SECRET. */
    public static function fromEnv(): self
    {
        $self = (new \ReflectionClass(self::class))->newInstanceWithoutConstructor();
        $self->handle = Native::handle('yx_credentials', 'yx_credentials_from_env');
        return $self;
    }

    public function __destruct()
    {
        if (isset($this->handle)) {
            Ffi::get()->yx_credentials_free($this->handle);
        }
    }

    public function __clone()
    {
        throw new \LogicException('credentials cannot be cloned');
    }

    /** @return array<string, string> */
    public function __debugInfo(): array
    {
        return ['appKey' => $this->appKey(), 'appSecret' => '<redacted>'];
    }

    /** @internal */
    public function handle(): CData
    {
        return $this->handle;
    }

    public function appKey(): string
    {
        return Ffi::get()->yx_credentials_app_key($this->handle);
    }

    /** Signs with a given nonce and CurTime (seconds): the building block the vectors test. */
    public function sign(string $nonce, int $curTime): AuthHeaders
    {
        return new AuthHeaders(Native::handle(
            'yx_auth_headers',
            'yx_credentials_sign',
            $this->handle,
            Native::text($nonce, 'nonce'),
            $curTime,
        ));
    }

    /** Signs with a fresh nonce and one reading of the clock; once per request and retry. */
    public function signNow(): AuthHeaders
    {
        return new AuthHeaders(Native::handle('yx_auth_headers', 'yx_credentials_sign_now', $this->handle));
    }
}

/** The four auth headers of one request. */
final class AuthHeaders
{
    /** @internal */
    public function __construct(private CData $handle) {}

    public function __destruct()
    {
        Ffi::get()->yx_auth_headers_free($this->handle);
    }

    /** @internal */
    public function handle(): CData
    {
        return $this->handle;
    }

    public function checksum(): string
    {
        return Ffi::get()->yx_auth_headers_checksum($this->handle);
    }

    /**
     * @return array{app_key: string, nonce: string, cur_time: string, checksum: string,
     *               headers: list<array{0: string, 1: string}>}
     */
    public function toArray(): array
    {
        return Native::json('yx_auth_headers_to_json', $this->handle);
    }
}

/** A validated ECP request. */
final class Request
{
    /** @internal */
    public function __construct(private CData $handle) {}

    public function __destruct()
    {
        Ffi::get()->yx_request_free($this->handle);
    }

    /** A callback call: rings $caller, then $callee, for at most $maxDur seconds. */
    public static function startCall(string $callerAcc, string $caller, string $callee, int $maxDur): self
    {
        return new self(Native::handle(
            'yx_request',
            'yx_start_call_new',
            Native::text($callerAcc, 'caller_acc'),
            Native::text($caller, 'caller'),
            Native::text($callee, 'callee'),
            self::maxDur($maxDur),
        ));
    }

    /**
     * A conference of $caller and 2 to 7 $callees (a PHP list, sent as a real JSON array).
     *
     * @param list<string> $callees
     */
    public static function startConf(string $callerAcc, string $caller, array $callees, int $maxDur): self
    {
        $keep = [];
        return new self(Native::handle(
            'yx_request',
            'yx_start_conf_new',
            Native::text($callerAcc, 'caller_acc'),
            Native::text($caller, 'caller'),
            Native::stringArray($callees, 'callees', $keep),
            count($callees),
            self::maxDur($maxDur),
        ));
    }

    /** A query for one session; $kind is SessionKind::CALL or SessionKind::CONFERENCE. */
    public static function query(string $session, int $kind): self
    {
        return new self(Native::handle('yx_request', 'yx_query_new', Native::text($session, 'session'), $kind));
    }

    private static function maxDur(int $maxDur): int
    {
        // maxDur crosses as a uint32_t: out of range is refused here, not wrapped around.
        if ($maxDur < 0 || $maxDur > 0xFFFFFFFF) {
            throw new \InvalidArgumentException("maxDur $maxDur is out of range");
        }
        return $maxDur;
    }

    /** @internal */
    public function handle(): CData
    {
        return $this->handle;
    }

    public function endpoint(): int
    {
        return Ffi::get()->yx_request_endpoint($this->handle);
    }

    public function formBody(): string
    {
        return Native::string('yx_request_form_body', $this->handle);
    }

    /** @return array{request: string, params: array<string, mixed>} */
    public function toArray(): array
    {
        return Native::json('yx_request_to_json', $this->handle);
    }

    /**
     * The request ready for any HTTP client, with given auth headers.
     *
     * @return array{endpoint: string, method: string, url: string,
     *               headers: list<array{0: string, 1: string}>, body: string}
     */
    public function prepare(?string $baseUrl, AuthHeaders $auth): array
    {
        $prepared = Native::handle(
            'yx_prepared_request',
            'yx_request_prepare',
            $this->handle,
            $baseUrl === null ? null : Native::text($baseUrl, 'base_url'),
            $auth->handle(),
        );
        return self::preparedToArray($prepared);
    }

    /**
     * Signs now and prepares: once per attempt.
     *
     * @return array{endpoint: string, method: string, url: string,
     *               headers: list<array{0: string, 1: string}>, body: string}
     */
    public function prepareNow(?string $baseUrl, Credentials $credentials): array
    {
        $prepared = Native::handle(
            'yx_prepared_request',
            'yx_request_prepare_now',
            $this->handle,
            $baseUrl === null ? null : Native::text($baseUrl, 'base_url'),
            $credentials->handle(),
        );
        return self::preparedToArray($prepared);
    }

    /** @return array<string, mixed> */
    private static function preparedToArray(CData $prepared): array
    {
        try {
            return Native::json('yx_prepared_request_to_json', $prepared);
        } finally {
            Ffi::get()->yx_prepared_request_free($prepared);
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
    public static function fromHandle(CData $record): array
    {
        try {
            return Native::json('yx_call_record_to_json', $record);
        } finally {
            Ffi::get()->yx_call_record_free($record);
        }
    }
}

/** Verifies call-end callbacks for one app. */
final class CallbackVerifier
{
    private CData $handle;

    /** Refuses callbacks whose CurTime is more than $toleranceMs away (0 is not "off"). */
    public function __construct(Credentials $credentials, int $toleranceMs = 300000)
    {
        $this->handle = Native::handle('yx_callback_verifier', 'yx_callback_verifier_new', $credentials->handle(), $toleranceMs);
    }

    /** A verifier that does not check CurTime: only for re-verifying stored callbacks. */
    public static function skipTimeCheck(Credentials $credentials): self
    {
        $self = (new \ReflectionClass(self::class))->newInstanceWithoutConstructor();
        $self->handle = Native::handle('yx_callback_verifier', 'yx_callback_verifier_new_skip_time_check', $credentials->handle());
        return $self;
    }

    public function __destruct()
    {
        if (isset($this->handle)) {
            Ffi::get()->yx_callback_verifier_free($this->handle);
        }
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
        $keep = [];
        [$array, $count] = Native::headers($headers, $keep);
        if ($nowMs === null) {
            Native::call('yx_callback_verifier_verify_now', $this->handle, $body, strlen($body), $array, $count);
        } else {
            Native::call('yx_callback_verifier_verify', $this->handle, $body, strlen($body), $array, $count, $nowMs);
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
        $keep = [];
        [$array, $count] = Native::headers($headers, $keep);
        $event = $nowMs === null
            ? Native::handle('yx_callback_event', 'yx_callback_verifier_verify_and_parse_now', $this->handle, $body, strlen($body), $array, $count)
            : Native::handle('yx_callback_event', 'yx_callback_verifier_verify_and_parse', $this->handle, $body, strlen($body), $array, $count, $nowMs);
        return self::eventToArray($event);
    }

    /**
     * @internal
     * @return array<string, mixed>
     */
    public static function eventToArray(CData $event): array
    {
        try {
            return Native::json('yx_callback_event_to_json', $event);
        } finally {
            Ffi::get()->yx_callback_event_free($event);
        }
    }
}

/**
 * The blocking client: pooled connections, verified TLS, timeouts, and retries only where a
 * retry cannot place a second billable call.
 */
final class Client
{
    private CData $handle;

    /**
     * @param array{base_url?: string, connect_timeout_ms?: int, timeout_ms?: int,
     *              max_retries?: int, backoff_ms?: int, max_response_bytes?: int} $options
     */
    public function __construct(Credentials $credentials, array $options = [])
    {
        $ffi = Ffi::get();
        $builder = Native::handle('yx_client_builder', 'yx_client_builder_new', $credentials->handle());
        try {
            $setters = [
                'base_url' => 'yx_client_builder_set_base_url',
                'connect_timeout_ms' => 'yx_client_builder_set_connect_timeout_ms',
                'timeout_ms' => 'yx_client_builder_set_timeout_ms',
                'max_retries' => 'yx_client_builder_set_max_retries',
                'backoff_ms' => 'yx_client_builder_set_backoff_ms',
                'max_response_bytes' => 'yx_client_builder_set_max_response_bytes',
            ];
            foreach ($options as $name => $value) {
                if (!isset($setters[$name])) {
                    throw new \InvalidArgumentException("unknown client option $name");
                }
                if (is_string($value)) {
                    $value = Native::text($value, $name);
                } elseif (!is_int($value) || $value < 0) {
                    throw new \InvalidArgumentException("client option $name must be a non-negative integer");
                }
                Native::call($setters[$name], $builder, $value);
            }
            $this->handle = Native::handle('yx_client', 'yx_client_builder_build', $builder);
        } finally {
            $ffi->yx_client_builder_free($builder);
        }
    }

    public function __destruct()
    {
        if (isset($this->handle)) {
            Ffi::get()->yx_client_free($this->handle);
        }
    }

    public function baseUrl(): string
    {
        return Ffi::get()->yx_client_base_url($this->handle);
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
        return Native::string('yx_client_start', $this->handle, $request->handle());
    }

    /**
     * The record of a call (SessionKind::CALL) or conference (SessionKind::CONFERENCE).
     *
     * @return array<string, mixed>
     */
    public function query(string $session, int $kind = SessionKind::CALL): array
    {
        $request = Request::query($session, $kind);
        $record = Native::handle('yx_call_record', 'yx_client_query', $this->handle, $request->handle());
        return CallRecord::fromHandle($record);
    }
}

/** The local mock of the ECP API, in-process on an ephemeral port of 127.0.0.1. */
final class MockServer
{
    private ?CData $handle;

    private function __construct(CData $handle)
    {
        $this->handle = $handle;
    }

    /** Starts one with the default settings (the samples' app key and secret, accid liuxuanlin). */
    public static function start(): self
    {
        return new self(Native::handle('yx_mock_server', 'yx_mock_server_start'));
    }

    public static function sampleAppKey(): string
    {
        return Ffi::get()->yx_mock_sample_app_key();
    }

    public static function sampleAppSecret(): string
    {
        return Ffi::get()->yx_mock_sample_app_secret();
    }

    /** Stops the server: frees its port and joins its threads. */
    public function stop(): void
    {
        if ($this->handle !== null) {
            Ffi::get()->yx_mock_server_free($this->handle);
            $this->handle = null;
        }
    }

    public function __destruct()
    {
        $this->stop();
    }

    private function live(): CData
    {
        return $this->handle ?? throw new \LogicException('the mock server is stopped');
    }

    public function baseUrl(): string
    {
        return Ffi::get()->yx_mock_server_base_url($this->live());
    }

    /** Give this as the callback URL and the server POSTs its callbacks to itself. */
    public function inboxUrl(): string
    {
        return Ffi::get()->yx_mock_server_inbox_url($this->live());
    }

    public function setOutcomeAnswered(string $number, int $durationSec): void
    {
        Native::call('yx_mock_server_set_outcome_answered', $this->live(), Native::text($number, 'number'), $durationSec);
    }

    public function setOutcomeNoAnswer(string $number, string $hangCause): void
    {
        Native::call('yx_mock_server_set_outcome_no_answer', $this->live(), Native::text($number, 'number'), Native::text($hangCause, 'hang_cause'));
    }

    /** $kind: delay (uses $ms), reset_before_response, reset_mid_body, html_502, empty_body,
     *  garbage_json, oversized (uses $bytes), rate_limited, server_error, busy_503. */
    public function injectFault(string $kind, int $times = 1, int $ms = 0, int $bytes = 0): void
    {
        Native::call('yx_mock_server_inject_fault', $this->live(), Native::text($kind, 'kind'), $times, $ms, $bytes);
    }

    public function clearFaults(): void
    {
        Native::call('yx_mock_server_clear_faults', $this->live());
    }

    public function setCallbackUrl(?string $url): void
    {
        Native::call('yx_mock_server_set_callback_url', $this->live(), $url === null ? null : Native::text($url, 'url'));
    }

    public function setEcpEnabled(bool $enabled): void
    {
        Native::call('yx_mock_server_set_ecp_enabled', $this->live(), $enabled ? 1 : 0);
    }

    public function setLatencyMs(int $ms): void
    {
        Native::call('yx_mock_server_set_latency_ms', $this->live(), $ms);
    }

    public function reset(): void
    {
        Native::call('yx_mock_server_reset', $this->live());
    }

    public function startCount(): int
    {
        return Ffi::get()->yx_mock_server_start_count($this->live());
    }

    /** Calls and conferences placed; each gets a call-end callback. */
    public function sessionCount(): int
    {
        return Ffi::get()->yx_mock_server_session_count($this->live());
    }

    /** @return array<string, int> */
    public function stats(): array
    {
        return Native::json('yx_mock_server_stats_json', $this->live());
    }

    /** @return list<array<string, mixed>> */
    public function requests(): array
    {
        return Native::json('yx_mock_server_requests_json', $this->live());
    }

    /** @return list<array<string, mixed>> */
    public function sessions(): array
    {
        return Native::json('yx_mock_server_sessions_json', $this->live());
    }

    /** @return list<array<string, mixed>> */
    public function callbacks(): array
    {
        return Native::json('yx_mock_server_callbacks_json', $this->live());
    }

    /** Waits for at least $count inbox POSTs (or the timeout); returns how many arrived. */
    public function waitForInbox(int $count, int $timeoutMs = 10000): int
    {
        $ffi = Ffi::get();
        $received = $ffi->new('size_t');
        Native::call('yx_mock_server_wait_for_inbox', $this->live(), $count, $timeoutMs, NativeFfi::addr($received));
        return $received->cdata;
    }

    /**
     * Inbox POST number $index, body bytes and headers exactly as received.
     *
     * @return array{body: string, headers: list<array{0: string, 1: string}>, received_at_ms: int}
     */
    public function inbox(int $index): array
    {
        $ffi = Ffi::get();
        $received = Native::handle('yx_received_callback', 'yx_mock_server_inbox_get', $this->live(), $index);
        try {
            $length = $ffi->yx_received_callback_body_len($received);
            $body = $length === 0 ? '' : NativeFfi::string($ffi->yx_received_callback_body($received), $length);
            $headers = [];
            $array = $ffi->yx_received_callback_headers($received);
            $count = $ffi->yx_received_callback_header_count($received);
            for ($i = 0; $i < $count; $i++) {
                $headers[] = [NativeFfi::string($array[$i]->name), NativeFfi::string($array[$i]->value)];
            }
            return [
                'body' => $body,
                'headers' => $headers,
                'received_at_ms' => $ffi->yx_received_callback_received_at_ms($received),
            ];
        } finally {
            $ffi->yx_received_callback_free($received);
        }
    }
}
