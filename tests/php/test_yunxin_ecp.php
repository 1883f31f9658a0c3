<?php
/**
 * The PHP suite: every case of tests/vectors through the FFI wrapper (php/YunxinEcp.php), the
 * same way core/tests/vectors.rs runs them; digests cross-checked with PHP's own sha1() and
 * md5(); the wrapper's exceptions; a client round trip against the in-process mock; and requests
 * to any server API, sent by the client or prepared and parsed without it.
 *
 * Usage: php tests/php/test_yunxin_ecp.php [VECTOR_DIR]   (closes with "php: N passed, M failed")
 */

declare(strict_types=1);

require __DIR__ . '/harness.php';

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
            if ($c['cur_time'] === 0) {
                // The C ABI reads the clock for a CurTime of 0: the digest of "0" is checked bare.
                check(abs((int) $h['cur_time'] - time()) <= 2, 'a CurTime of 0 reads the clock');
                $checksum = YunxinEcp::checksum($c['secret'], $c['nonce'], '0');
                $got['headers'] = [$h['headers'][0], $h['headers'][1], ['CurTime', '0'], ['CheckSum', $checksum]];
            }
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
            same($request->toArray(), ['request' => $c['request'], 'params' => $p]);
            $got = $request->prepare($c['base_url'] ?? null, $auth);
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
// signCallback() gives the headers of the genuine callbacks: every "ok" case that carries the
// five headers in a delivery's order, CurTime in milliseconds.
$signable = array_filter($v['verify'], fn (array $c): bool => $c['expect'] === 'ok'
    && array_column($c['headers'], 0) === ['Content-Type', 'AppKey', 'CurTime', 'MD5', 'CheckSum']
    && strlen($c['headers'][2][1]) === 13);
test_case('callbacks.json sign: the vectors hold genuine callbacks to sign', function () use ($signable) {
    check(count($signable) >= 5, 'at least five cases');
});
foreach ($signable as $c) {
    test_case("callbacks.json sign: {$c['name']}", function () use ($c) {
        $headers = YunxinEcp::signCallback(new Credentials($c['app_key'], $c['secret']), $c['body'], (int) $c['headers'][2][1]);
        same(array_map(null, array_keys($headers), array_values($headers)), $c['headers']);
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
            same(['reply' => $e->serverReply(), 'refusal' => $e->reason()], $c['expect']);
            return;
        }
        try {
            $got = YunxinEcp::parseServerRequest($c['path'], $c['query'], $c['body']);
        } catch (ValidationException $e) {
            $got = ['reply' => $e->serverReply(), 'field' => $e->field()];
        }
        same($got, $c['expect']);
    });
}

// ---- the wrapper beyond the vectors ----
const KEY = 'fd460d34e786e7754e505bc4fab0f027';
const SECRET = 'xxxxxxxx';

test_case('wrapper: versions', function () {
    check(YunxinEcp::abiVersion() === 2 && YunxinEcp::ABI_VERSION === 2, 'ABI 2');
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
        check($e->kind() === 'api' && $e->result === 2, 'kind, and the yx_result YX_API');
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
        check($e->getCode() === $e->result && $e->result === 1, 'getCode() is the yx_result (YX_VALIDATION)');
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

test_case('wrapper: signCallback() signs as md5() and sha1() do, and the verifier accepts it', function () {
    $creds = new Credentials(KEY, SECRET);
    $body = '{"callback":"{\\"durationSec\\":61,\\"session\\":\\"s-sign\\"}","eventType":"10"}';
    $at = 1700000000123;
    $headers = YunxinEcp::signCallback($creds, $body, $at);
    $md5 = md5($body);
    same($headers, ['Content-Type' => 'application/json', 'AppKey' => KEY, 'CurTime' => '1700000000123',
        'MD5' => $md5, 'CheckSum' => sha1(SECRET . $md5 . '1700000000123')]);
    same(array_keys($headers), ['Content-Type', 'AppKey', 'CurTime', 'MD5', 'CheckSum']);
    $event = (new CallbackVerifier($creds))->verifyAndParse($body, $headers, $at + 1000);
    check($event['type'] === 'call_end' && $event['session'] === 's-sign' && $event['billed_minutes'] === 2, 'the record');
    // The bytes are signed, not their JSON: any other bytes are refused.
    try {
        (new CallbackVerifier($creds))->verify($body . ' ', $headers, $at);
        check(false, 'a byte more refused');
    } catch (CallbackException $e) {
        check($e->reason() === 'md5_mismatch', 'md5_mismatch');
    }
    // Signed with another secret: the receiver's verifier refuses it.
    $stranger = YunxinEcp::signCallback(new Credentials(KEY, 'not-the-secret'), $body, $at);
    check($stranger['MD5'] === $md5 && $stranger['CheckSum'] === sha1('not-the-secret' . $md5 . '1700000000123'), 'sha1() agrees');
    try {
        (new CallbackVerifier($creds))->verify($body, $stranger, $at);
        check(false, 'another secret refused');
    } catch (CallbackException $e) {
        check($e->reason() === 'checksum_mismatch', 'checksum_mismatch');
        no_secret($e, 'not-the-secret');
    }
});

test_case('wrapper: signCallback() without a time reads the clock, in milliseconds', function () {
    $creds = new Credentials(KEY, SECRET);
    $body = '{"callback":"{}","eventType":"10"}';
    $headers = YunxinEcp::signCallback($creds, $body);
    check(strlen($headers['CurTime']) === 13, '13 digits');
    check(abs((int) $headers['CurTime'] - (int) (microtime(true) * 1000)) < 60000, 'this minute');
    check($headers['CheckSum'] === sha1(SECRET . md5($body) . $headers['CurTime']), 'sha1() agrees');
    (new CallbackVerifier($creds))->verify($body, $headers); // against the clock
    // An empty body signs too: md5('') is its MD5.
    check(YunxinEcp::signCallback($creds, '', 1700000000000)['MD5'] === md5(''), 'md5 of nothing');
});

test_case('wrapper: signCallback() refuses seconds and negative times by name', function () {
    $creds = new Credentials(KEY, SECRET);
    try {
        YunxinEcp::signCallback($creds, '{}', 1700000000);
        check(false, 'seconds refused');
    } catch (ValidationException $e) {
        check($e->field() === 'cur_time_ms' && $e->rule() === 'seconds', 'field cur_time_ms, rule seconds');
        no_secret($e, SECRET);
    }
    try {
        YunxinEcp::signCallback($creds, '{}', -1);
        check(false, 'negative refused');
    } catch (\InvalidArgumentException $e) {
        check(str_contains($e->getMessage(), 'cur_time_ms'), 'names cur_time_ms');
    }
});

/** A call-end callback signed now with PHP's md5() and sha1(): [body, headers as getallheaders() gives them]. */
function signed_callback(string $session, int $durationSec): array
{
    $body = json_encode(['callback' => json_encode(['durationSec' => $durationSec, 'session' => $session]), 'eventType' => '10']);
    $now = (string) (int) (microtime(true) * 1000);
    $md5 = md5($body);
    return [$body, ['Content-Type' => 'application/json', 'AppKey' => KEY, 'CurTime' => $now, 'MD5' => $md5,
        'CheckSum' => sha1(SECRET . $md5 . $now)]];
}

test_case('wrapper: verifyRequest() with the body and headers a framework controller has', function () {
    $verifier = new CallbackVerifier(new Credentials(KEY, SECRET));
    [$body, $headers] = signed_callback('s-req', 61);
    // getallheaders()'s form, [name, value] pairs, and PSR-7's / Symfony's name => list of values.
    $forms = [
        'getallheaders' => $headers,
        'pairs' => array_map(null, array_keys($headers), array_values($headers)),
        'psr-7' => array_combine(array_map('strtolower', array_keys($headers)), array_map(fn ($v) => [$v], $headers)),
    ];
    foreach ($forms as $form => $given) {
        $event = $verifier->verifyRequest($body, $given);
        check($event['type'] === 'call_end' && $event['session'] === 's-req' && $event['billed_minutes'] === 2, "the record ($form)");
    }
    $refusals = [
        'md5_mismatch' => [str_replace('61', '6100', $body), $headers],
        'checksum_mismatch' => [$body, ['CheckSum' => sha1('another secret')] + $headers],
        'missing_header' => [$body, array_diff_key($headers, ['CheckSum' => 1])],
        // Two values of one signature header, as PSR-7 hands them: refused, not one of them picked.
        'duplicate_header' => [$body, ['checksum' => [$headers['CheckSum'], $headers['CheckSum']]] + $forms['psr-7']],
    ];
    foreach ($refusals as $reason => [$forgedBody, $forgedHeaders]) {
        try {
            $verifier->verifyRequest($forgedBody, $forgedHeaders);
            check(false, "$reason refused");
        } catch (CallbackException $e) {
            check($e->reason() === $reason, "$reason, not {$e->reason()}");
        }
    }
    // A genuine body that is no callback: refused as malformed (the example answers 400).
    $now = (string) (int) (microtime(true) * 1000);
    try {
        $verifier->verifyRequest('not json', ['CurTime' => $now, 'MD5' => md5('not json'), 'CheckSum' => sha1(SECRET . md5('not json') . $now)]);
        check(false, 'malformed refused');
    } catch (CallbackException $e) {
        check($e->reason() === 'malformed', "malformed, not {$e->reason()}");
    }
});

test_case('wrapper: verifyRequest() reads the current request: php://input and the headers in $_SERVER', function () {
    // The command line has no getallheaders() (PHP-FPM, Apache and php -S have; callback_e2e.php
    // covers php -S): the headers come from $_SERVER, as CGI passes them.
    check(!function_exists('getallheaders'), 'no getallheaders() in the CLI');
    $verifier = new CallbackVerifier(new Credentials(KEY, SECRET));
    [$body, $headers] = signed_callback('s-server', 1);
    $saved = $_SERVER;
    try {
        $_SERVER['HTTP_APPKEY'] = KEY;
        $_SERVER['HTTP_CURTIME'] = $headers['CurTime'];
        $_SERVER['HTTP_MD5'] = $headers['MD5'];
        $_SERVER['HTTP_CHECKSUM'] = $headers['CheckSum'];
        $_SERVER['CONTENT_TYPE'] = 'application/json';
        $_SERVER['HTTP_CONTENT_TYPE'] = 'application/json'; // php -S sets both: one header
        $_SERVER['CONTENT_LENGTH'] = (string) strlen($body);
        $_SERVER['HTTPS'] = 'on'; // no header
        $got = CallbackVerifier::requestHeaders();
        ksort($got);
        same($got, ['Appkey' => KEY, 'Checksum' => $headers['CheckSum'], 'Content-Length' => (string) strlen($body),
            'Content-Type' => 'application/json', 'Curtime' => $headers['CurTime'], 'Md5' => $headers['MD5']]);
        $event = $verifier->verifyRequest($body);
        check($event['session'] === 's-server' && $event['billed_minutes'] === 1, 'the record, headers from $_SERVER');
        // Without a body it reads php://input: empty on the command line, so the MD5 cannot match.
        try {
            $verifier->verifyRequest();
            check(false, 'refused');
        } catch (CallbackException $e) {
            check($e->reason() === 'md5_mismatch', "md5_mismatch, not {$e->reason()}");
        }
    } finally {
        $_SERVER = $saved;
    }
});

test_case('wrapper: a parameter given as name => list of values is sent once per value', function () {
    $request = Request::api('/nimserver/x.action', ['ids' => ['a', 'b'], ['k', 'v'], 'n' => 1]);
    same($request->toArray()['params']['params'], [['ids', 'a'], ['ids', 'b'], ['k', 'v'], ['n', '1']]);
    try {
        Request::api('/nimserver/x.action', ['ids' => ['a', ['b']]]);
        check(false, 'refused');
    } catch (\InvalidArgumentException $e) {
        check($e->getMessage() === 'params[1].value must be a string, not array', $e->getMessage());
    }
});

// ---- the client against the in-process mock ----
test_case('mock: start a call and a conference, query both, verify both callbacks', function () {
    $mock = MockServer::start();
    $creds = new Credentials(MockServer::sampleAppKey(), MockServer::sampleAppSecret());
    $client = new Client($creds, ['base_url' => $mock->baseUrl(), 'timeout_ms' => 20000, 'backoff_ms' => 10]);
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

    $posts = $mock->waitForInbox(2, 10000);
    check(count($posts) === 2 && $mock->inbox() === $posts, 'two callbacks');
    $verifier = new CallbackVerifier($creds);
    $seen = [];
    foreach ($posts as $post) {
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

test_case('mock: a wrong secret (414) shows the library\'s message unchanged, which points to yunxin-ecp doctor', function () {
    $mock = MockServer::start();
    $secret = 'a wrong secret 5f0c';
    $client = new Client(new Credentials(MockServer::sampleAppKey(), $secret), ['base_url' => $mock->baseUrl(), 'max_retries' => 0]);
    try {
        $client->startCall('liuxuanlin', '13888888888', '13777777777', 100);
        check(false, 'refused');
    } catch (ApiException $e) {
        check($e->getCode() === 414 && $e->apiCode() === 414 && $e->apiMessage() === 'bad http header', "{$e->getCode()} {$e->apiMessage()}");
        // The wrapper adds nothing and cuts nothing: the message is the error JSON's.
        check($e->getMessage() === $e->detail['message'], $e->getMessage());
        check(str_contains($e->getMessage(), 'yunxin-ecp doctor'), $e->getMessage());
        check(!str_contains($e->getMessage(), $secret), 'no secret');
        // The same words as the library gives any reader of such an answer.
        try {
            YunxinEcp::parseStartResponse(Endpoint::START_CALL, 200, '{"desc":"bad http header","code":414}');
            check(false, 'parsed as refused');
        } catch (ApiException $parsed) {
            check($parsed->getMessage() === $e->getMessage(), $parsed->getMessage());
        }
    } finally {
        $mock->stop();
    }
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
    foreach (['connect_timeout_ms', 'timeout_ms', 'max_response_bytes'] as $option) {
        try {
            new Client($creds, [$option => 0]);
            check(false, "zero $option refused");
        } catch (ValidationException $e) {
            check($e->field() === $option && $e->rule() === 'not_positive', "zero $option: {$e->field()}/{$e->rule()}");
        }
    }
    // Absurd waits: refused naming the setting (they used to build, then overflow the clock
    // arithmetic of every request).
    foreach (['connect_timeout_ms', 'timeout_ms', 'backoff_ms'] as $option) {
        try {
            new Client($creds, [$option => PHP_INT_MAX]);
            check(false, "absurd $option refused");
        } catch (ValidationException $e) {
            check($e->field() === $option && $e->rule() === 'at_most', "absurd $option: {$e->field()}/{$e->rule()}");
            check(str_contains($e->getMessage(), 'at most 600000 milliseconds'), "absurd $option: the message says the limit");
        }
    }
    $mock->stop();
});

// ---- requests to any server API ----
test_case('api requests: a bad path is refused naming "path", before anything is sent', function () {
    $client = new Client(new Credentials(KEY, SECRET), ['base_url' => 'http://127.0.0.1:9']);
    foreach (['nimserver/user/create.action', 'https://api.netease.im/x', '/a/../b', '//a/b', '/a?b=1', ''] as $path) {
        foreach ([fn () => Request::api($path, ['accid' => 'a']), fn () => $client->request($path, ['accid' => 'a'])] as $call) {
            try {
                $call();
                check(false, "$path refused");
            } catch (ValidationException $e) {
                $rule = $path === '' ? 'empty' : 'api_path';
                check($e->field() === 'path' && $e->rule() === $rule, "'$path': {$e->field()}/{$e->rule()}");
            }
        }
    }
    try {
        Request::api('/a', ['' => 'v']);
        check(false, 'an empty name refused');
    } catch (ValidationException $e) {
        check(str_starts_with((string) $e->field(), 'param'), "an empty name: {$e->field()}");
    }
});

test_case('api requests: prepared and parsed without a client', function () {
    $creds = new Credentials(KEY, SECRET);
    $request = Request::api('/nimserver/user/create.action', ['accid' => 'zhang san', ['props', '{"a":1}'], 'n' => 7], true);
    same($request->toArray(), ['request' => 'api', 'params' => [
        'path' => '/nimserver/user/create.action',
        'params' => [['accid', 'zhang san'], ['props', '{"a":1}'], ['n', '7']],
        'idempotent' => true,
    ]]);
    $prepared = $request->prepare('http://127.0.0.1:8080', $creds->sign('abc', 1700000000));
    check($prepared['method'] === 'POST' && $prepared['url'] === 'http://127.0.0.1:8080/nimserver/user/create.action', 'the URL');
    parse_str($prepared['body'], $form);
    same($form, ['accid' => 'zhang san', 'props' => '{"a":1}', 'n' => '7']);
    same(array_column($prepared['headers'], 0), ['AppKey', 'Nonce', 'CurTime', 'CheckSum', 'Content-Type']);
    check($prepared['headers'][3][1] === sha1(SECRET . 'abc' . '1700000000'), 'signed as the auth headers are');
    $fresh = Request::api('/nimserver/user/create.action')->prepareNow(null, $creds);
    check($fresh['url'] === 'https://api.netease.im/nimserver/user/create.action' && $fresh['body'] === '', 'no parameters');

    same(YunxinEcp::parseApiResponse($request, 200, '{"code":200,"info":{"accid":"a","token":"t"}}'),
        ['code' => 200, 'info' => ['accid' => 'a', 'token' => 't']]);
    try {
        YunxinEcp::parseApiResponse($request, 200, '{"code":414,"desc":"already register"}');
        check(false, 'an exception');
    } catch (ApiException $e) {
        check($e->getCode() === 414 && $e->apiMessage() === 'already register', '414 and the desc');
        check(str_contains($e->getMessage(), '/nimserver/user/create.action'), 'the message names the path');
    }
    try {
        YunxinEcp::parseApiResponse($request, 502, '<html>bad gateway</html>');
        check(false, 'an exception');
    } catch (ProtocolException $e) {
        check($e->httpStatus() === 502 && $e->rawBody() === '<html>bad gateway</html>', 'the status and the body');
    }
    try {
        YunxinEcp::parseApiResponse(Request::query('s', SessionKind::CALL), 200, '{"code":200}');
        check(false, 'an exception');
    } catch (EcpException $e) {
        check($e->kind() === 'invalid_argument' && $e->field() === 'request', 'an ECP request is not parsed as an API answer');
    }
    // codeRetryAdvice() names the advice as the errors do, for every endpoint.
    $plain = Request::api('/nimserver/user/create.action');
    foreach ([414, 416, 500, 503, 999] as $code) {
        $body = json_encode(['code' => $code]);
        foreach ([
            Endpoint::START_CALL => fn () => YunxinEcp::parseStartResponse(Endpoint::START_CALL, 200, $body),
            Endpoint::QUERY_BY_SESSION => fn () => YunxinEcp::parseQueryResponse(200, $body),
            Endpoint::API => fn () => YunxinEcp::parseApiResponse($plain, 200, $body),
        ] as $endpoint => $parse) {
            try {
                $parse();
                check(false, "$code refused");
            } catch (ApiException $e) {
                check(YunxinEcp::codeRetryAdvice($code, $endpoint) === $e->retryAdvice(), "$code at $endpoint: {$e->retryAdvice()}");
            }
        }
    }
});

test_case('mock: api requests answer the whole body; an unknown path is a protocol error', function () {
    $mock = MockServer::start();
    $client = new Client(new Credentials(MockServer::sampleAppKey(), MockServer::sampleAppSecret()),
        ['base_url' => $mock->baseUrl(), 'backoff_ms' => 10]);
    $session = $client->startCall('liuxuanlin', '13888888888', '13777777777', 100);
    $answer = $client->request('/call/ecp/queryBySession.action', ['session' => $session, 'type' => 1], true);
    check($answer['code'] === 200 && $answer['obj']['session'] === $session && isset($answer['obj']['durationSec']), 'the raw record');
    try {
        $client->request('/call/ecp/queryBySession.action', ['session' => 'no-such-session', 'type' => 1]);
        check(false, 'an exception');
    } catch (ApiException $e) {
        check($e->getCode() === 404, '404');
    }
    // The mock knows only the ECP paths: anything else is HTTP 404 with a plain "not found".
    $requests = $mock->stats()['requests'];
    try {
        $client->request('/nimserver/user/create.action', ['accid' => 'a']);
        check(false, 'an exception');
    } catch (ProtocolException $e) {
        check($e->reason() === 'not_json' && $e->httpStatus() === 404 && $e->rawBody() === 'not found', 'HTTP 404, not JSON');
        check($e->retryAdvice() === 'never', 'refused by an HTTP layer: never sent again');
    }
    check($mock->stats()['requests'] === $requests + 1, 'sent once, not retried');
    $mock->stop();
});

finish('php');
