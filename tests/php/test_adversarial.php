<?php
/**
 * PHP traces with arguments, and hostile callers of the wrapper (php/YunxinEcp.php).
 *
 * An exception's trace keeps the arguments of every frame on the stack when it was created
 * (unless zend.exception_ignore_args is on, as Debian's php.ini sets it; PHP's own default and
 * php.ini-development leave it off). Every error path of the wrapper is run in a child PHP
 * process under both settings; the child catches the exception and renders it every way PHP
 * can ((string), getTraceAsString(), var_export, print_r, var_dump, json_encode of the trace),
 * or lets it go uncaught. The parent checks that no child died by a signal and that the app
 * secret, recognisable here, shows in none of the output.
 *
 * Then hostile callers: clones, explicit and repeated __destruct() calls, objects used after
 * close, objects made without their constructor, wrong types, out-of-range integers, NUL bytes,
 * huge strings: each in a child, which must exit normally after the expected outcome.
 *
 * Usage: php tests/php/test_adversarial.php           (closes with "adversarial: N passed, M failed")
 *        php tests/php/test_adversarial.php --child caught|uncaught|hostile NAME   (one child)
 */

declare(strict_types=1);

require dirname(__DIR__, 2) . '/php/YunxinEcp.php';

use YunxinEcp\AuthException;
use YunxinEcp\CallbackException;
use YunxinEcp\CallbackVerifier;
use YunxinEcp\Client;
use YunxinEcp\Credentials;
use YunxinEcp\Endpoint;
use YunxinEcp\Exception as EcpException;
use YunxinEcp\MockServer;
use YunxinEcp\Request;
use YunxinEcp\SessionKind;
use YunxinEcp\ValidationException;
use YunxinEcp\YunxinEcp;

/** The app secret of these tests: any output holding it leaked it. */
const SECRET = 'Recognisable-S3cret-7e1f0c2a';
const KEY = 'fd460d34e786e7754e505bc4fab0f027';

/** A mock server and a client of it with the sample credentials. */
function mock_client(array $options = []): array
{
    $mock = MockServer::start();
    $creds = new Credentials(MockServer::sampleAppKey(), MockServer::sampleAppSecret());
    $client = new Client($creds, $options + ['base_url' => $mock->baseUrl(), 'max_retries' => 0, 'backoff_ms' => 1]);
    return [$mock, $client];
}

/** A forged callback: well-formed headers, a CheckSum that does not match. */
function forged_callback(): array
{
    $body = '{"callback":"{\"durationSec\":61,\"session\":\"s-1\"}","eventType":"10"}';
    $now = (string) (int) (microtime(true) * 1000);
    $md5 = md5($body);
    return [$body, ['AppKey' => KEY, 'CurTime' => $now, 'MD5' => $md5, 'CheckSum' => sha1('not the secret' . $md5 . $now)]];
}

/**
 * Every error path of the wrapper: each throws out of the wrapper. Those marked with the secret
 * have it on the stack when the exception is created.
 *
 * @return array<string, array{0: callable, 1: bool}> name => [path, carries the secret]
 */
function error_paths(): array
{
    return [
        'validation: an app key' => [fn () => new Credentials('bad key', SECRET), true],
        'validation: a secret that is not UTF-8' => [fn () => new Credentials(KEY, SECRET . "\xff"), true],
        'validation: a secret with a NUL byte' => [fn () => new Credentials(KEY, SECRET . "\0"), true],
        'validation: a checksum nonce that is not UTF-8' => [fn () => YunxinEcp::checksum(SECRET, "\xff", '1'), true],
        'validation: a checksum nonce with a NUL byte' => [fn () => YunxinEcp::checksum(SECRET, "n\0", '1'), true],
        'validation: a signing nonce' => [fn () => (new Credentials(KEY, SECRET))->sign('', 1), false],
        'validation: a conference callee' => [
            fn () => Request::startConf('liuxuanlin', '13777777777', ['13888888888', '138 8888 8888'], 60), false],
        'validation: a query type' => [fn () => Request::query('s', 3), false],
        'validation: a client option' => [fn () => new Client(new Credentials(KEY, SECRET), ['timeout_ms' => 0]), false],
        'validation: a server request' => [fn () => YunxinEcp::parseServerRequest('/call/ecp/startcall.action', '', 'x=1'), false],
        'validation: a base URL' => [
            fn () => Request::startCall('liuxuanlin', '13888888888', '13777777777', 60)
                ->prepareNow('not a url', new Credentials(KEY, SECRET)), false],
        'callback: verifyAndParse of a forged callback' => [function () {
            [$body, $headers] = forged_callback();
            (new CallbackVerifier(new Credentials(KEY, SECRET)))->verifyAndParse($body, $headers);
        }, false],
        'callback: verifyAndParse at a given time' => [function () {
            [$body, $headers] = forged_callback();
            (new CallbackVerifier(new Credentials(KEY, SECRET)))->verifyAndParse($body, $headers, 1);
        }, false],
        'callback: verify of a forged callback' => [function () {
            [$body, $headers] = forged_callback();
            CallbackVerifier::skipTimeCheck(new Credentials(KEY, SECRET))->verify($body, $headers);
        }, false],
        'callback: an unreadable body' => [fn () => YunxinEcp::parseCallback('not json'), false],
        'auth: an unsigned request' => [fn () => YunxinEcp::verifyRequest(new Credentials(KEY, SECRET), ['AppKey' => KEY]), false],
        'api: a 414 answer' => [
            fn () => YunxinEcp::parseStartResponse(Endpoint::START_CALL, 200, '{"desc":"bad http header","code":414}'), false],
        'protocol: an HTML answer' => [fn () => YunxinEcp::parseQueryResponse(502, '<html>bad gateway</html>'), false],
        'api: the mock answers 500' => [function () {
            [$mock, $client] = mock_client();
            $mock->injectFault('server_error');
            $client->startCall('liuxuanlin', '13888888888', '13777777777', 100);
        }, false],
        'api: the mock knows no such session' => [function () {
            [$mock, $client] = mock_client();
            $client->query('no-such-session', SessionKind::CALL);
        }, false],
        'protocol: the mock answers garbage' => [function () {
            [$mock, $client] = mock_client();
            $mock->injectFault('garbage_json');
            $client->startConf('liuxuanlin', '13777777777', ['13888888888', '13666666666'], 100);
        }, false],
        'protocol: the mock answers too much' => [function () {
            [$mock, $client] = mock_client(['max_response_bytes' => 1024]);
            $mock->injectFault('oversized', 1, 0, 4096);
            $client->startCall('liuxuanlin', '13888888888', '13777777777', 100);
        }, false],
        'transport: the mock resets the connection' => [function () {
            [$mock, $client] = mock_client();
            $mock->injectFault('reset_before_response');
            $client->startCall('liuxuanlin', '13888888888', '13777777777', 100);
        }, false],
        'transport: nothing listens' => [function () {
            [$mock, $client] = mock_client();
            $mock->stop();
            $client->query('s', SessionKind::CALL);
        }, false],
        'wrapper: a stopped mock' => [function () {
            [$mock] = mock_client();
            $mock->stop();
            $mock->injectFault('server_error');
        }, false],
        'wrapper: a header with a NUL byte' => [function () {
            [$body, $headers] = forged_callback();
            (new CallbackVerifier(new Credentials(KEY, SECRET)))->verifyAndParse($body, ['X' => "a\0b"] + $headers);
        }, false],
        'validation: an unknown client setting' => [fn () => new Client(new Credentials(KEY, SECRET), ['timeout' => 1]), false],
        'validation: an API path' => [function () {
            [$mock, $client] = mock_client();
            $client->request('nimserver/user/create.action', ['accid' => 'a']);
        }, false],
        'api: an API answer of 414' => [
            fn () => YunxinEcp::parseApiResponse(Request::api('/nimserver/user/create.action'), 200, '{"code":414,"desc":"x"}'), false],
        'protocol: an API path the mock does not know' => [function () {
            [$mock, $client] = mock_client();
            $client->request('/nimserver/user/create.action', ['accid' => 'a']);
        }, false],
        'invalid argument: a control route the mock refuses' => [function () {
            [$mock] = mock_client();
            $mock->injectFault('no_such_fault');
        }, false],
        'wrapper: an API parameter with a NUL byte' => [fn () => Request::api('/a', ['k' => "v\0"]), false],
        'wrapper: client settings that are not JSON' => [fn () => new Client(new Credentials(KEY, SECRET), ['base_url' => "\xff"]), false],
    ];
}

/** Every rendering of an exception and its trace. */
function render(\Throwable $e): void
{
    echo "== ", get_class($e), "\n";
    echo "== var_export\n", var_export($e->getTrace(), true), "\n";
    echo "== json_encode\n", json_encode($e->getTrace(), JSON_PARTIAL_OUTPUT_ON_ERROR | JSON_INVALID_UTF8_SUBSTITUTE), "\n";
    echo "== (string)\n", (string) $e, "\n";
    echo "== getTraceAsString\n", $e->getTraceAsString(), "\n";
    echo "== print_r\n", print_r($e->getTrace(), true), "\n";
    echo "== print_r of the exception\n", print_r($e, true), "\n";
    echo "== var_dump\n";
    var_dump($e->getTrace());
    echo "== frame arguments: ", implode(', ', array_map(
        fn ($arg) => get_debug_type($arg),
        array_merge(...array_map(fn (array $frame) => $frame['args'] ?? [], $e->getTrace())),
    )), "\n";
}

/** The child for one error path: catches and renders, or lets the exception go uncaught. */
function child_error_path(string $name, bool $caught): void
{
    [$path] = error_paths()[$name];
    if (!$caught) {
        $path();
        echo "no exception\n";
        exit(3);
    }
    try {
        $path();
        echo "no exception\n";
        exit(3);
    } catch (\Throwable $e) {
    }
    // Right away, then again once the memory the path used has been reused.
    render($e);
    gc_collect_cycles();
    $junk = [];
    for ($i = 0; $i < 2000; $i++) {
        $junk[] = str_repeat(chr(65 + $i % 26), 8 + $i % 64);
    }
    render($e);
    echo "== rendered\n";
}

/**
 * Hostile callers. Each returns normally when the wrapper behaved (a refusal is an exception of
 * the class given, checked here); a crash kills the child.
 *
 * @return array<string, callable>
 */
function hostile_cases(): array
{
    $refused = function (string $class, callable $call, string $what): void {
        try {
            $call();
        } catch (\Throwable $e) {
            if (!$e instanceof $class) {
                throw new \RuntimeException("$what: " . get_class($e) . ' (' . $e->getMessage() . "), not $class");
            }
            return;
        }
        throw new \RuntimeException("$what: accepted, not refused with $class");
    };
    $creds = fn () => new Credentials(KEY, SECRET);
    return [
        'clones share the native object' => function () use ($creds) {
            $request = Request::startCall('liuxuanlin', '13888888888', '13777777777', 100);
            $auth = (new Credentials(KEY, SECRET))->sign('abc', 1);
            $verifier = new CallbackVerifier($creds());
            [$mock, $client] = mock_client();
            $copies = [clone $request, clone $auth, clone $verifier, clone $client];
            $body = $request->toArray();
            $checksum = $auth->checksum();
            unset($request, $auth, $verifier, $client);
            gc_collect_cycles();
            expect($copies[0]->toArray() === $body, 'the cloned request');
            expect($copies[1]->checksum() === $checksum, 'the cloned auth headers');
            [$forged, $headers] = forged_callback();
            try {
                $copies[2]->verify($forged, $headers);
            } catch (CallbackException) {
            }
            expect(strlen($copies[3]->startCall('liuxuanlin', '13888888888', '13777777777', 100)) === 36, 'the cloned client');
            expect($mock->startCount() === 1, 'the call reached the mock');
            $copies = [];
            gc_collect_cycles();
        },
        'credentials and mock servers are not cloned' => function () use ($refused, $creds) {
            $refused(\LogicException::class, fn () => clone $creds(), 'clone of credentials');
            $mock = MockServer::start();
            $refused(\LogicException::class, fn () => clone $mock, 'clone of a mock server');
            expect(strlen($mock->baseUrl()) > 0, 'the mock still serves');
            // Nor the library handles inside (internal, but reachable).
            $c = $creds();
            $refused(\LogicException::class, fn () => clone $c->handle(), 'clone of a handle');
            expect($c->appKey() === KEY, 'the credentials still work');
            unset($c);
        },
        'destructors called by hand, twice, then the objects used' => function () {
            [$mock, $client] = mock_client();
            $objects = [
                'credentials' => new Credentials(KEY, SECRET),
                'auth headers' => (new Credentials(KEY, SECRET))->sign('abc', 1),
                'request' => Request::startCall('liuxuanlin', '13888888888', '13777777777', 100),
                'verifier' => new CallbackVerifier(new Credentials(KEY, SECRET)),
                'client' => $client,
                'mock' => $mock,
            ];
            foreach ($objects as $name => $object) {
                for ($i = 0; $i < 2; $i++) {
                    try {
                        $object->__destruct();
                    } catch (\Error) {
                        // No destructor to call: the object is left as it was.
                    }
                }
            }
            // Each object either still works or refuses with a LogicException; none reads freed memory.
            $uses = [
                'credentials' => fn ($o) => $o->sign('abc', 1)->checksum(),
                'auth headers' => fn ($o) => $o->toArray(),
                'request' => fn ($o) => $o->toArray(),
                'verifier' => fn ($o) => $o->verify(...forged_callback()),
                'client' => fn ($o) => $o->query('no-such-session'),
                'mock' => fn ($o) => $o->baseUrl(),
            ];
            foreach ($uses as $name => $use) {
                try {
                    $use($objects[$name]);
                } catch (\LogicException | EcpException) {
                }
            }
            unset($mock, $client);
            print_r($objects);
            var_dump($objects);
        },
        'a stopped mock is refused, twice stopped is fine' => function () use ($refused) {
            $mock = MockServer::start();
            $mock->stop();
            $mock->stop();
            $refused(\LogicException::class, fn () => $mock->baseUrl(), 'baseUrl after stop');
            $refused(\LogicException::class, fn () => $mock->stats(), 'stats after stop');
            $refused(\LogicException::class, fn () => $mock->inbox(), 'inbox after stop');
            $refused(\LogicException::class, fn () => $mock->waitForInbox(1, 1), 'waitForInbox after stop');
            $refused(\LogicException::class, fn () => $mock->control('POST', '/_mock/reset'), 'control after stop');
        },
        'objects made without a constructor' => function () {
            foreach ([Credentials::class, Request::class, \YunxinEcp\AuthHeaders::class, CallbackVerifier::class,
                Client::class, MockServer::class] as $class) {
                $made = [(new \ReflectionClass($class))->newInstanceWithoutConstructor()];
                $length = strlen($class);
                try {
                    $made[] = unserialize("O:$length:\"$class\":0:{}");
                } catch (\Throwable) {
                }
                foreach ($made as $object) {
                    print_r($object);
                    foreach (['appKey', 'checksum', 'baseUrl', 'toArray', 'stats', 'inbox'] as $method) {
                        if (method_exists($object, $method)) {
                            try {
                                $object->$method();
                            } catch (\Error | \LogicException) {
                            }
                        }
                    }
                }
                unset($made, $object);
            }
        },
        'serialize is refused and shows no secret' => function () use ($creds) {
            $c = $creds();
            try {
                $text = serialize($c);
            } catch (\Throwable $e) {
                $text = (string) $e;
            }
            expect(!str_contains($text, SECRET), 'serialize');
            foreach ([print_r($c, true), var_export($c, true), json_encode($c), print_r((array) $c, true)] as $dump) {
                expect(!str_contains((string) $dump, SECRET), 'a dump');
            }
        },
        'client settings of the wrong type are refused, naming the setting' => function () use ($refused, $creds) {
            foreach ([['base_url' => 5, 'base_url'], ['base_url' => null, 'base_url'], ['timeout_ms' => '5', 'timeout_ms'],
                ['timeout_ms' => 1.5, 'timeout_ms'], ['max_retries' => 0x1_0000_0000, 'max_retries'],
                ['backoff_ms' => -1, 'backoff_ms'], ['connect_timeout_ms' => null, 'connect_timeout_ms'],
                ['base_url' => "http://a\0b", 'base_url'], [0 => 1, 'settings'], ['timeout' => 1, 'settings']] as $case) {
                $field = array_pop($case);
                try {
                    new Client($creds(), $case);
                    throw new \RuntimeException(json_encode($case) . ' accepted');
                } catch (ValidationException $e) {
                    expect($e->field() === $field, json_encode($case) . " names {$e->field()}, not $field");
                }
            }
            $refused(\InvalidArgumentException::class, fn () => new Client($creds(), ['base_url' => "http://\xff"]), 'not UTF-8');
        },
        'integers out of the C range are refused, not wrapped' => function () use ($refused, $creds) {
            $c = $creds();
            [$body, $headers] = forged_callback();
            $mock = MockServer::start();
            foreach ([
                'sign at -1' => fn () => $c->sign('abc', -1),
                'a negative tolerance' => fn () => new CallbackVerifier($c, -1),
                'verify at -1' => fn () => (new CallbackVerifier($c))->verify($body, $headers, -1),
                'verifyAndParse at -1' => fn () => (new CallbackVerifier($c))->verifyAndParse($body, $headers, -1),
                'a query type of 2^32 + 1' => fn () => Request::query('s', 0x1_0000_0001),
                'maxDur 2^32' => fn () => Request::startCall('liuxuanlin', '13888888888', '13777777777', 0x1_0000_0000),
                'HTTP status 65536 + 200' => fn () => YunxinEcp::parseStartResponse(Endpoint::START_CALL, 65536 + 200, '{"code":200,"obj":{"session":"s"}}'),
                'HTTP status -1' => fn () => YunxinEcp::parseQueryResponse(-1, '{}'),
                'endpoint 2^32 + 1' => fn () => YunxinEcp::parseStartResponse(0x1_0000_0001, 200, '{"code":200,"obj":{"session":"s"}}'),
                'a retry advice for endpoint 2^32 + 3' => fn () => YunxinEcp::codeRetryAdvice(500, 0x1_0000_0003),
                'a window of -1' => fn () => YunxinEcp::verifyRequest($c, [], 1, -1),
                'now -1' => fn () => YunxinEcp::verifyRequest($c, [], -1),
                'a nonce of -1 characters' => fn () => YunxinEcp::generateNonce(-1),
                'billing -1 seconds' => fn () => YunxinEcp::billedMinutes(-1),
                'costing at -1 fen' => fn () => YunxinEcp::costFen(60, -1),
                'waiting -1 ms' => fn () => $mock->waitForInbox(1, -1),
                'waiting for -1 callbacks' => fn () => $mock->waitForInbox(-1, 1),
            ] as $what => $call) {
                $refused(\InvalidArgumentException::class, $call, $what);
            }
            // The mock's settings travel as form fields, as decimal text: the mock refuses what
            // it cannot take, and nothing wraps around on the way.
            foreach ([
                'a latency of -1 ms' => fn () => $mock->control('POST', '/_mock/latency', ['ms' => -1]),
                'a delay of -1 ms' => fn () => $mock->injectFault('delay', 1, -1),
                'an answer of -1 bytes' => fn () => $mock->injectFault('oversized', 1, 0, -1),
                'a call of -1 seconds' => fn () => $mock->setOutcomeAnswered('13777777777', -1),
            ] as $what => $call) {
                $refused(EcpException::class, $call, $what);
            }
            $mock->injectFault('delay', 0x1_0000_0000);
            expect($mock->stats()['faults_pending'] === 0x1_0000_0000, 'a fault 2^32 times is not wrapped to 0');
            // What the C side takes as it is still passes.
            expect(YunxinEcp::codeMeaning(-1) !== '' && YunxinEcp::billedMinutes(0) === 0, 'in range');
        },
        'headers and lists of the wrong shape are refused' => function () use ($refused, $creds) {
            $verifier = new CallbackVerifier($creds());
            [$body] = forged_callback();
            foreach ([[['AppKey']], [['AppKey', 'a', 'b']], ['AppKey' => null], ['AppKey' => new \stdClass()],
                ['AppKey' => ['a' => 'b']], ['AppKey' => 1.5], [[new \stdClass(), 'a']], ["App\0Key" => 'a']] as $headers) {
                $refused(\InvalidArgumentException::class, fn () => $verifier->verify($body, $headers, 1), 'headers ' . print_r($headers, true));
                $refused(\InvalidArgumentException::class, fn () => YunxinEcp::verifyRequest($creds(), $headers), 'server headers');
                $refused(\InvalidArgumentException::class, fn () => Request::api('/a', $headers), 'API parameters');
            }
            foreach ([[['13888888888']], [null, '13888888888'], [new \stdClass(), '13888888888'], ["138\0", '13888888888'],
                ['13888888888', 1.5]] as $callees) {
                $refused(\InvalidArgumentException::class,
                    fn () => Request::startConf('liuxuanlin', '13777777777', $callees, 60), 'callees ' . print_r($callees, true));
            }
            // Integers are numbers as text: a header value or a callee may be one.
            $request = Request::startConf('liuxuanlin', '13777777777', [13888888888, '13666666666'], 60);
            expect($request->toArray()['params']['callees'][0] === '13888888888', 'an integer callee');
        },
        'NUL bytes in text arguments are refused; bodies are bytes' => function () use ($refused, $creds) {
            $c = $creds();
            $mock = MockServer::start();
            foreach ([
                'app key' => fn () => new Credentials("k\0", SECRET),
                'nonce' => fn () => $c->sign("n\0", 1),
                'checksum cur time' => fn () => YunxinEcp::checksum(SECRET, 'n', "1\0"),
                'caller' => fn () => Request::startCall('liuxuanlin', "138\0", '13777777777', 1),
                'session' => fn () => Request::query("s\0", SessionKind::CALL),
                'base URL' => fn () => Request::query('s', SessionKind::CALL)->prepareNow("http://a\0", $c),
                'server path' => fn () => YunxinEcp::parseServerRequest("/a\0", '', ''),
                'API path' => fn () => Request::api("/a\0"),
                'API parameter name' => fn () => Request::api('/a', ["k\0" => 'v']),
                'API parameter value' => fn () => Request::api('/a', [['k', "v\0"]]),
                'mock control route' => fn () => $mock->control('GET', "/_mock/stats\0"),
            ] as $what => $call) {
                $refused(\InvalidArgumentException::class, $call, $what);
            }
            // The mock's form fields are percent-encoded: a NUL byte reaches it intact, and it judges.
            $refused(EcpException::class, fn () => $mock->injectFault("delay\0"), 'a fault kind with a NUL byte');
            expect(YunxinEcp::bodyMd5("a\0b") === md5("a\0b"), 'a body with a NUL byte');
            try {
                YunxinEcp::parseCallback("{\"a\":\"\0\"}");
            } catch (CallbackException) {
            }
        },
        'huge strings' => function () use ($refused, $creds) {
            $big = str_repeat("\xAB", 32 << 20);
            expect(YunxinEcp::bodyMd5($big) === md5($big), 'the MD5 of 32 MiB');
            $refused(CallbackException::class, fn () => YunxinEcp::parseCallback($big), 'a 32 MiB callback');
            try {
                expect((new Credentials(str_repeat('k', 1 << 20), SECRET))->appKey() === str_repeat('k', 1 << 20), 'a 1 MiB app key');
            } catch (ValidationException) {
            }
            $refused(ValidationException::class, fn () => Request::startConf('liuxuanlin', '13777777777',
                array_fill(0, 100000, '13888888888'), 60), '100000 callees');
            $verifier = new CallbackVerifier($creds());
            $headers = [];
            for ($i = 0; $i < 10000; $i++) {
                $headers[] = ["X-$i", str_repeat('v', 100)];
            }
            $refused(CallbackException::class, fn () => $verifier->verify('{}', $headers), '10000 headers');
        },
        'no native memory grows over repeated failures' => function () {
            $rss = function (): int {
                $statm = explode(' ', (string) file_get_contents('/proc/self/statm'));
                return (int) $statm[1] * 4096;
            };
            [$body, $headers] = forged_callback();
            $round = function () use ($body, $headers) {
                for ($i = 0; $i < 2000; $i++) {
                    try {
                        new Credentials('bad key', SECRET);
                    } catch (ValidationException) {
                    }
                    $c = new Credentials(KEY, SECRET);
                    try {
                        (new CallbackVerifier($c))->verifyAndParse($body, $headers);
                    } catch (CallbackException) {
                    }
                    try {
                        Request::startConf('liuxuanlin', '13777777777', ['13888888888', 'x'], 60);
                    } catch (ValidationException) {
                    }
                    $c->sign('abc', 1)->toArray();
                }
            };
            $round();
            $before = $rss();
            for ($r = 0; $r < 5; $r++) {
                $round();
            }
            $grown = $rss() - $before;
            expect($grown < (4 << 20), "RSS grew by $grown bytes over 10000 rounds");
        },
    ];
}

function expect(bool $ok, string $what): void
{
    if (!$ok) {
        throw new \RuntimeException("check failed: $what");
    }
}

// ---- a child ----
if (($argv[1] ?? '') === '--child') {
    [, , $mode, $name] = $argv;
    if ($mode === 'hostile') {
        hostile_cases()[$name]();
        gc_collect_cycles();
        echo "== ok\n";
        exit(0);
    }
    child_error_path($name, $mode === 'caught');
    exit(0);
}

// ---- the parent ----
$passed = 0;
$failed = 0;

/**
 * Runs this file as a child under PHP's built-in ini defaults (no php.ini), FFI on, and the given
 * zend.exception_ignore_args.
 *
 * @return array{status: int, signal: int, out: string}
 */
function run_child(string $mode, string $name, int $ignoreArgs): array
{
    static $ffiShared = null;
    $ffiShared ??= trim((string) shell_exec(escapeshellarg(PHP_BINARY) . ' -n -r ' . escapeshellarg('echo extension_loaded("ffi") ? 1 : 0;'))) !== '1';
    $command = [PHP_BINARY, '-n'];
    if ($ffiShared) {
        array_push($command, '-d', 'extension=ffi');
    }
    array_push($command, '-d', 'ffi.enable=1', '-d', "zend.exception_ignore_args=$ignoreArgs",
        '-d', 'display_errors=1', '-d', 'log_errors=1', '-d', 'memory_limit=512M',
        __FILE__, '--child', $mode, $name);
    $out = tempnam(sys_get_temp_dir(), 'yx-adv-out-');
    $err = tempnam(sys_get_temp_dir(), 'yx-adv-err-');
    $process = proc_open($command, [0 => ['file', '/dev/null', 'r'], 1 => ['file', $out, 'w'], 2 => ['file', $err, 'w']], $pipes);
    $deadline = microtime(true) + 60;
    $timedOut = false;
    do {
        usleep(5000);
        $status = proc_get_status($process);
        if ($status['running'] && microtime(true) > $deadline) {
            proc_terminate($process, 9);
            $timedOut = true;
        }
    } while ($status['running']);
    proc_close($process);
    $text = ($timedOut ? "timed out after 60 s\n" : '') . file_get_contents($out) . "\n" . file_get_contents($err);
    unlink($out);
    unlink($err);
    return ['status' => $status['exitcode'], 'signal' => $status['signaled'] ? $status['termsig'] : 0, 'out' => $text];
}

function verdict(string $name, array $problems, string $out): void
{
    global $passed, $failed;
    if ($problems === []) {
        $passed++;
        return;
    }
    $failed++;
    fwrite(STDERR, "FAIL [$name] " . implode('; ', $problems) . "\n");
    if (getenv('ADVERSARIAL_VERBOSE')) {
        fwrite(STDERR, $out . "\n");
    }
}

foreach (error_paths() as $name => [, $carriesSecret]) {
    foreach ([0, 1] as $ignoreArgs) {
        foreach (['caught', 'uncaught'] as $mode) {
            $run = run_child($mode, $name, $ignoreArgs);
            $problems = [];
            if ($run['signal'] !== 0) {
                $problems[] = "the child died by signal {$run['signal']}";
            } elseif ($mode === 'caught' && ($run['status'] !== 0 || !str_contains($run['out'], "== rendered\n"))) {
                $problems[] = "the child exited {$run['status']} before rendering everything";
            } elseif ($mode === 'uncaught' && ($run['status'] !== 255 || !str_contains($run['out'], 'Uncaught '))) {
                $problems[] = "the uncaught exception was not reported (exit {$run['status']})";
            }
            if (str_contains($run['out'], SECRET)) {
                $problems[] = 'the secret shows';
            }
            if (preg_match('/^== frame arguments: .*FFI\\\\CData/m', $run['out'])) {
                $problems[] = 'an FFI\\CData is an argument of a frame in the trace';
            }
            if (str_contains($run['out'], 'no exception')) {
                $problems[] = 'the path threw nothing';
            }
            verdict("$mode, exception_ignore_args=$ignoreArgs: $name", $problems, $run['out']);
        }
    }
}

foreach (array_keys(hostile_cases()) as $name) {
    $run = run_child('hostile', $name, 0);
    $problems = [];
    if ($run['signal'] !== 0) {
        $problems[] = "the child died by signal {$run['signal']}";
    } elseif ($run['status'] !== 0 || !str_contains($run['out'], "== ok\n")) {
        $problems[] = "exit {$run['status']}: " . trim(substr($run['out'], 0, 600));
    }
    if (str_contains($run['out'], SECRET)) {
        $problems[] = 'the secret shows';
    }
    verdict("hostile: $name", $problems, $run['out']);
}

echo "adversarial: $passed passed, $failed failed\n";
exit($failed === 0 ? 0 : 1);
