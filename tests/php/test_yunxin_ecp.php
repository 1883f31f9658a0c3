<?php
/**
 * The PHP suite: every case of tests/vectors through the FFI wrapper (php/YunxinEcp.php), the
 * same way core/tests/vectors.rs runs them; digests cross-checked with PHP's own sha1() and
 * md5(); the wrapper's exceptions; and a client round trip against the in-process mock.
 *
 * Usage: php tests/php/test_yunxin_ecp.php [VECTOR_DIR]   (closes with "php: N passed, M failed")
 */

declare(strict_types=1);

require dirname(__DIR__, 2) . '/php/YunxinEcp.php';

use YunxinEcp\ApiException;
use YunxinEcp\AuthException;
use YunxinEcp\CallbackException;
use YunxinEcp\CallbackVerifier;
use YunxinEcp\Client;
use YunxinEcp\Credentials;
use YunxinEcp\Endpoint;
use YunxinEcp\Exception as EcpException;
use YunxinEcp\MockServer;
use YunxinEcp\ProtocolException;
use YunxinEcp\Request;
use YunxinEcp\SessionKind;
use YunxinEcp\TransportException;
use YunxinEcp\ValidationException;
use YunxinEcp\YunxinEcp;

$passed = 0;
$failed = 0;

/** Runs one case; any exception or failed check fails it. */
function test_case(string $name, callable $body): void
{
    global $passed, $failed;
    try {
        $body();
        $passed++;
    } catch (\Throwable $e) {
        $failed++;
        fwrite(STDERR, "FAIL [$name] " . $e->getMessage() . "\n");
    }
}

function check(bool $condition, string $what): void
{
    if (!$condition) {
        throw new \RuntimeException("check failed: $what");
    }
}

/** Sorts object keys recursively, so that comparisons ignore key order. */
function canon(mixed $value): mixed
{
    if (!is_array($value)) {
        return $value;
    }
    $value = array_map('canon', $value);
    if (!array_is_list($value)) {
        ksort($value);
    }
    return $value;
}

function same(mixed $got, mixed $want): void
{
    if (canon($got) !== canon($want)) {
        throw new \RuntimeException("\n  got  " . json_encode($got, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES)
            . "\n  want " . json_encode($want, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES));
    }
}

function load_vectors(string $dir, string $name): array
{
    return json_decode(file_get_contents("$dir/$name"), true, 512, JSON_THROW_ON_ERROR);
}

/** A validation error as the vectors spell it. */
function validation_json(ValidationException $e): array
{
    $error = ['field' => $e->field(), 'rule' => $e->rule()];
    if ($e->index() !== null) {
        $error['index'] = $e->index();
    }
    return ['error' => $error];
}

function no_secret(EcpException $e, string $secret): void
{
    if (strlen($secret) >= 4) {
        check(!str_contains($e->getMessage(), $secret), 'the secret is not in the message');
        check(!str_contains(json_encode($e->detail, JSON_UNESCAPED_UNICODE), $secret), 'nor in the detail');
    }
}

$dir = $argv[1] ?? dirname(__DIR__) . '/vectors';

// ---- signing.json ----
$v = load_vectors($dir, 'signing.json');
foreach ($v['sign'] as $c) {
    test_case("signing.json sign: {$c['name']}", function () use ($c) {
        $creds = new Credentials($c['app_key'], $c['secret']);
        try {
            $h = $creds->sign($c['nonce'], $c['cur_time'])->toArray();
            $got = ['headers' => $h['headers']];
            // PHP's own sha1() agrees with the library.
            check(sha1($c['secret'] . $h['nonce'] . $h['cur_time']) === $h['checksum'], 'sha1() agrees');
        } catch (ValidationException $e) {
            no_secret($e, $c['secret']);
            $got = validation_json($e);
        }
        same($got, $c['expect']);
    });
}
foreach ($v['credentials'] as $c) {
    test_case("signing.json credentials: {$c['name']}", function () use ($c) {
        try {
            $creds = new Credentials($c['app_key'], $c['secret']);
            check($creds->appKey() === $c['app_key'], 'app key');
            $got = 'ok';
        } catch (ValidationException $e) {
            $got = validation_json($e);
        }
        same($got, $c['expect']);
    });
}
foreach ($v['checksum'] as $c) {
    test_case("signing.json checksum: {$c['checksum']}", function () use ($c) {
        same(YunxinEcp::checksum($c['secret'], $c['nonce'], $c['cur_time']), $c['checksum']);
        same(sha1($c['secret'] . $c['nonce'] . $c['cur_time']), $c['checksum']);
    });
}

// ---- requests.json ----
$v = load_vectors($dir, 'requests.json');
$requestCreds = new Credentials($v['app_key'], $v['secret']);
foreach ($v['cases'] as $c) {
    test_case("requests.json: {$c['name']}", function () use ($c, $v, $requestCreds) {
        $p = $c['params'];
        try {
            $auth = $requestCreds->sign($v['nonce'], $v['cur_time']);
            $request = match ($c['request']) {
                'start_call' => Request::startCall($p['caller_acc'], $p['caller'], $p['callee'], $p['max_dur']),
                'start_conf' => Request::startConf($p['caller_acc'], $p['caller'], $p['callees'], $p['max_dur']),
                default => Request::query($p['session'], $p['kind'] === 'call' ? SessionKind::CALL : SessionKind::CONFERENCE),
            };
            $prepared = $request->prepare($c['base_url'] ?? null, $auth);
            check($prepared['body'] === $request->formBody(), 'form body');
            unset($prepared['endpoint']);
            $got = $prepared;
        } catch (ValidationException $e) {
            $got = validation_json($e);
        }
        same($got, $c['expect']);
    });
}

// ---- responses.json ----
$v = load_vectors($dir, 'responses.json');
foreach ($v['cases'] as $c) {
    test_case("responses.json: {$c['name']}", function () use ($c) {
        try {
            if ($c['endpoint'] === 'query_by_session') {
                $r = YunxinEcp::parseQueryResponse($c['http_status'], $c['body']);
                $got = ['ok' => [
                    'session' => $r['session'], 'duration_sec' => $r['duration_sec'],
                    'answered' => $r['answered'], 'billed_minutes' => $r['billed_minutes'],
                    'cost_fen' => $r['cost_fen'], 'legs' => count($r['legs']), 'members' => $r['members'],
                ]];
            } else {
                $endpoint = $c['endpoint'] === 'start_call' ? Endpoint::START_CALL : Endpoint::START_CONF;
                $got = ['ok' => ['session' => YunxinEcp::parseStartResponse($endpoint, $c['http_status'], $c['body'])]];
            }
        } catch (ApiException $e) {
            check(str_contains($e->getMessage(), '/call/ecp/'), 'the message names the endpoint');
            check($e->getCode() === $e->apiCode(), 'getCode() is the API code');
            $got = ['error' => ['kind' => 'api', 'code' => $e->apiCode(), 'message' => $e->apiMessage(), 'retry' => $e->retryAdvice()]];
        } catch (ProtocolException $e) {
            check(str_contains($e->getMessage(), '/call/ecp/'), 'the message names the endpoint');
            $got = ['error' => ['kind' => 'protocol', 'protocol' => $e->reason(), 'retry' => $e->retryAdvice()]];
        }
        same($got, $c['expect']);
    });
}

// ---- callbacks.json ----
$v = load_vectors($dir, 'callbacks.json');
foreach ($v['verify'] as $c) {
    test_case("callbacks.json verify: {$c['name']}", function () use ($c) {
        $creds = new Credentials($c['app_key'], $c['secret']);
        $verifier = !is_int($c['tolerance_ms'])
            ? CallbackVerifier::skipTimeCheck($creds)
            : new CallbackVerifier($creds, $c['tolerance_ms']);
        try {
            $verifier->verify($c['body'], $c['headers'], $c['now_ms']);
            $got = 'ok';
            // PHP's own md5() and sha1() agree with what the library accepted.
            $h = array_change_key_case(array_column($c['headers'], 1, 0), CASE_LOWER);
            check(md5($c['body']) === $h['md5'], 'md5() agrees');
            check(sha1($c['secret'] . $h['md5'] . $h['curtime']) === $h['checksum'], 'sha1() agrees');
            check(YunxinEcp::bodyMd5($c['body']) === md5($c['body']), 'bodyMd5() is md5()');
        } catch (CallbackException $e) {
            no_secret($e, $c['secret']);
            $got = $e->reason();
        }
        same($got, $c['expect']);
    });
}
foreach ($v['parse'] as $c) {
    test_case("callbacks.json parse: {$c['name']}", function () use ($c) {
        try {
            $event = YunxinEcp::parseCallback($c['body']);
            if ($event['type'] === 'call_end') {
                $got = ['type' => 'call_end'];
                foreach (['session', 'init_account', 'caller', 'callee', 'create_time_ms', 'start_time',
                    'status', 'duration_sec', 'answered', 'billed_minutes', 'cost_fen', 'members'] as $key) {
                    $got[$key] = $event[$key];
                }
                $got['hang_causes'] = array_column($event['legs'], 'hang_cause');
            } else {
                $got = ['type' => 'other', 'event_type' => $event['event_type'], 'raw' => $event['raw']];
            }
        } catch (CallbackException $e) {
            $got = ['error' => $e->reason()];
        }
        same($got, $c['expect']);
    });
}

// ---- server.json ----
$v = load_vectors($dir, 'server.json');
$app = new Credentials($v['app_key'], $v['secret']);
foreach ($v['cases'] as $c) {
    test_case("server.json: {$c['name']}", function () use ($c, $v, $app) {
        try {
            YunxinEcp::verifyRequest($app, $c['headers'], $c['now_secs'], $v['window_secs']);
        } catch (AuthException $e) {
            same(['reply' => YunxinEcp::replyBadHttpHeader(), 'refusal' => $e->reason()], $c['expect']);
            return;
        }
        try {
            $got = YunxinEcp::parseServerRequest($c['path'], $c['query'], $c['body']);
        } catch (ValidationException $e) {
            $got = ['reply' => YunxinEcp::replyBadParam($e->field()), 'field' => $e->field()];
        }
        same($got, $c['expect']);
    });
}

// ---- the wrapper beyond the vectors ----
const KEY = 'fd460d34e786e7754e505bc4fab0f027';
const SECRET = 'xxxxxxxx';

test_case('wrapper: versions', function () {
    check(YunxinEcp::abiVersion() === 1, 'ABI 1');
    check(preg_match('/^\d+\.\d+\.\d+/', YunxinEcp::version()) === 1, 'a version');
});

test_case('wrapper: API errors carry the code, the message and the retry advice', function () {
    try {
        YunxinEcp::parseStartResponse(Endpoint::START_CALL, 200, '{"desc":"bad http header","code":414}');
        check(false, 'an exception');
    } catch (ApiException $e) {
        check($e->getCode() === 414 && $e->apiCode() === 414, 'code 414');
        check($e->apiMessage() === 'bad http header', 'the desc');
        check($e->retryAdvice() === 'never', 'never retried');
        check($e->kind() === 'api' && $e->result === \YunxinEcp\Result::API, 'kind');
        check($e->maybeSent(), 'an answer came back');
        check($e->httpStatus() === 200, 'HTTP 200');
    }
    try {
        YunxinEcp::parseStartResponse(Endpoint::START_CONF, 200, '{"code":500,"msg":"server internal error"}');
        check(false, 'an exception');
    } catch (ApiException $e) {
        check($e->retryAdvice() === 'outcome_unknown', 'a 500 on a start may have placed the call');
    }
    check(YunxinEcp::codeRetryAdvice(500, Endpoint::QUERY_BY_SESSION) === 'safe', 'a 500 on a query is safe');
    check(YunxinEcp::codeMeaning(416) === 'rate limited', 'meaning');
    $table = YunxinEcp::codeTable();
    check(count($table) >= 23 && $table[0]['code'] === 200, 'the code table');
});

test_case('wrapper: validation errors name the field, the rule and the index', function () {
    try {
        Request::startConf('liuxuanlin', '13777777777', ['13888888888', '138 8888 8888'], 60);
        check(false, 'an exception');
    } catch (ValidationException $e) {
        check($e->field() === 'callee' && $e->rule() === 'separator' && $e->index() === 1, 'callee[1] separator');
        check($e->getCode() === \YunxinEcp\Result::VALIDATION, 'getCode() is the result kind');
    }
    try {
        Request::query('s', 3);
        check(false, 'an exception');
    } catch (ValidationException $e) {
        check($e->field() === 'type', 'type');
    }
});

test_case('wrapper: NUL bytes, invalid UTF-8 and out-of-range numbers are refused', function () {
    foreach ([fn () => new Credentials(KEY, "xx\0xx"), fn () => Request::startCall('liuxuanlin', "138\0", '13777777777', 1),
        fn () => Request::startCall('liuxuanlin', '13888888888', '13777777777', -1)] as $call) {
        try {
            $call();
            check(false, 'an exception');
        } catch (\InvalidArgumentException) {
        }
    }
    try {
        new Credentials(KEY, "secret-\xff");
        check(false, 'an exception');
    } catch (EcpException $e) {
        check($e->kind() === 'invalid_utf8' && $e->field() === 'app_secret', 'invalid UTF-8');
        check(!str_contains($e->getMessage(), "secret-\xff"), 'the value is not quoted');
    }
});

test_case('wrapper: the secret never shows', function () {
    $creds = new Credentials(KEY, 'very-secret-value');
    check(!str_contains(print_r($creds, true), 'very-secret-value'), 'print_r');
    ob_start();
    var_dump($creds);
    check(!str_contains((string) ob_get_clean(), 'very-secret-value'), 'var_dump');
});

test_case('wrapper: sign_now agrees with sha1(), nonces are fresh', function () {
    $creds = new Credentials(KEY, SECRET);
    $a = $creds->signNow()->toArray();
    $b = $creds->signNow()->toArray();
    check($a['nonce'] !== $b['nonce'] && strlen($a['nonce']) === 32, 'fresh nonces');
    check(abs((int) $a['cur_time'] - time()) <= 2, 'seconds, now');
    check(sha1(SECRET . $a['nonce'] . $a['cur_time']) === $a['checksum'], 'sha1()');
    check(strlen(YunxinEcp::generateNonce(128)) === 128, '128 characters');
    $prepared = Request::startCall('liuxuanlin', '13888888888', '13777777777', 100)->prepareNow(null, $creds);
    check($prepared['url'] === 'https://api.netease.im/call/ecp/startcall.action', 'the production URL by default');
});

test_case('wrapper: a callback signed now verifies; the C# sample\'s double-hex MD5 does not', function () {
    $creds = new Credentials(KEY, SECRET);
    $verifier = new CallbackVerifier($creds);
    $body = '{"callback":"{\"durationSec\":61,\"session\":\"s-2\"}","eventType":"10"}';
    $now = (string) (int) (microtime(true) * 1000);
    $md5 = md5($body);
    $headers = ['AppKey' => KEY, 'CurTime' => $now, 'MD5' => $md5, 'CheckSum' => sha1(SECRET . $md5 . $now)];
    $event = $verifier->verifyAndParse($body, $headers);
    check($event['type'] === 'call_end' && $event['session'] === 's-2' && $event['billed_minutes'] === 2, 'the record');
    $twice = bin2hex($md5);
    try {
        $verifier->verify($body, ['AppKey' => KEY, 'CurTime' => $now, 'MD5' => $twice, 'CheckSum' => sha1(SECRET . $twice . $now)]);
        check(false, 'refused');
    } catch (CallbackException $e) {
        check($e->reason() === 'md5_mismatch', 'md5_mismatch');
    }
    // Headers as PHP's $_SERVER spells them work too (names are case-insensitive).
    $verifier->verify($body, ['HTTP_APPKEY' => KEY] + ['CURTIME' => $now, 'md5' => $md5, 'CHECKSUM' => sha1(SECRET . $md5 . $now)]);
});

// ---- the client against the in-process mock ----
test_case('mock: start a call and a conference, query both, verify both callbacks', function () {
    $mock = MockServer::start();
    $creds = new Credentials(MockServer::sampleAppKey(), MockServer::sampleAppSecret());
    $client = new Client($creds, ['base_url' => $mock->baseUrl(), 'timeout_ms' => 20000, 'backoff_ms' => 10]);
    check($client->baseUrl() === $mock->baseUrl(), 'base URL');
    $mock->setCallbackUrl($mock->inboxUrl());
    $mock->setOutcomeAnswered('13777777777', 61);

    $call = $client->startCall('liuxuanlin', '13888888888', '13777777777', 100);
    $conf = $client->startConf('liuxuanlin', '13777777777', ['13888888888', '13666666666'], 600);
    check(strlen($call) === 36 && $call !== $conf, 'two sessions');
    check($mock->startCount() === 2, 'two starts');

    $record = $client->query($call, SessionKind::CALL);
    check($record['session'] === $call && $record['answered'] && $record['billed_minutes'] === 2, 'the call record');
    check(count($record['legs']) === 2, 'two legs');
    $record = $client->query($conf, SessionKind::CONFERENCE);
    check($record['is_conference'] && count($record['members']) === 3, 'the conference record');
    try {
        $client->query('no-such-session');
        check(false, 'an exception');
    } catch (ApiException $e) {
        check($e->getCode() === 404, '404');
    }

    check($mock->waitForInbox(2, 10000) === 2, 'two callbacks');
    $verifier = new CallbackVerifier($creds);
    $seen = [];
    for ($i = 0; $i < 2; $i++) {
        $post = $mock->inbox($i);
        $event = $verifier->verifyAndParse($post['body'], $post['headers']);
        $seen[] = $event['session'];
    }
    sort($seen);
    $want = [$call, $conf];
    sort($want);
    same($seen, $want);
    check(count($mock->sessions()) === 2 && $mock->stats()['sessions'] === 2, 'stats');
    check($mock->sessionCount() === 2, 'session count');
    $mock->stop();
});

test_case('mock: a start is never resent once it may have arrived', function () {
    $mock = MockServer::start();
    $creds = new Credentials(MockServer::sampleAppKey(), MockServer::sampleAppSecret());
    $client = new Client($creds, ['base_url' => $mock->baseUrl(), 'backoff_ms' => 10]);
    $mock->injectFault('server_error');
    try {
        $client->startCall('liuxuanlin', '13888888888', '13777777777', 100);
        check(false, 'an exception');
    } catch (ApiException $e) {
        check($e->getCode() === 500 && $e->retryAdvice() === 'outcome_unknown', '500, outcome unknown');
    }
    $mock->injectFault('reset_before_response');
    try {
        $client->startCall('liuxuanlin', '13888888888', '13777777777', 100);
        check(false, 'an exception');
    } catch (TransportException $e) {
        check($e->maybeSent() && $e->retryAdvice() === 'outcome_unknown', 'maybe sent');
    }
    check($mock->startCount() === 2, 'one attempt each');
    $mock->injectFault('rate_limited');
    $client->startCall('liuxuanlin', '13888888888', '13777777777', 100);
    check($mock->startCount() === 3, 'a 416 is retried');
    $mock->setEcpEnabled(false);
    try {
        $client->startCall('liuxuanlin', '13888888888', '13777777777', 100);
        check(false, 'an exception');
    } catch (ApiException $e) {
        check($e->getCode() === 403, '403');
    }
    $base = $mock->baseUrl();
    $mock->stop();
    try {
        (new Client($creds, ['base_url' => $base, 'max_retries' => 0]))->startCall('liuxuanlin', '13888888888', '13777777777', 100);
        check(false, 'an exception');
    } catch (TransportException $e) {
        check($e->reason() === 'connect' && !$e->maybeSent() && $e->retryAdvice() === 'safe', 'connect, not sent');
    }
});

test_case('client options: max_response_bytes sets the limit, zero settings are refused by name', function () {
    $mock = MockServer::start();
    $creds = new Credentials(MockServer::sampleAppKey(), MockServer::sampleAppSecret());
    $small = new Client($creds, ['base_url' => $mock->baseUrl(), 'max_retries' => 0, 'max_response_bytes' => 1024]);
    $usual = new Client($creds, ['base_url' => $mock->baseUrl(), 'max_retries' => 0]);
    // The same 2 KiB answer: too large under 1 KiB, fine under the default 1 MiB.
    $mock->injectFault('oversized', 1, 0, 2048);
    try {
        $small->startCall('liuxuanlin', '13888888888', '13777777777', 100);
        check(false, 'an exception');
    } catch (ProtocolException $e) {
        check($e->reason() === 'too_large', 'too_large');
    }
    $mock->injectFault('oversized', 1, 0, 2048);
    check(strlen($usual->startCall('liuxuanlin', '13888888888', '13777777777', 100)) === 36, '2 KiB accepted by default');
    foreach (['connect_timeout_ms' => 'connect_timeout', 'timeout_ms' => 'timeout', 'max_response_bytes' => 'max_response_bytes'] as $option => $field) {
        try {
            new Client($creds, [$option => 0]);
            check(false, "zero $option refused");
        } catch (ValidationException $e) {
            check($e->field() === $field && $e->rule() === 'not_positive', "zero $option: {$e->field()}/{$e->rule()}");
        }
    }
    // Absurd waits: refused naming the setting (they used to build, then overflow the clock
    // arithmetic of every request).
    foreach (['connect_timeout_ms' => 'connect_timeout', 'timeout_ms' => 'timeout', 'backoff_ms' => 'backoff'] as $option => $field) {
        try {
            new Client($creds, [$option => PHP_INT_MAX]);
            check(false, "absurd $option refused");
        } catch (ValidationException $e) {
            check($e->field() === $field && $e->rule() === 'at_most', "absurd $option: {$e->field()}/{$e->rule()}");
            check(str_contains($e->getMessage(), 'at most 600 seconds'), "absurd $option: the message says the limit");
        }
    }
    $mock->stop();
});

echo "php: $passed passed, $failed failed\n";
exit($failed === 0 ? 0 : 1);
