<?php
/**
 * YunxinEcp\CallbackMiddleware, the PSR-15 middleware of php/CallbackMiddleware.php, on Debian's
 * PSR-7 implementation (nyholm/psr7, with its PSR-17 factory) and PSR-15's interfaces
 * (tests/php/psr15.php when no package provides them): refusals answered with the library's
 * status and body, a body over the cap refused (on its Content-Length, or once read past it), a
 * first delivery handed to the next handler with its event and delivery and a body still
 * readable, a repeat answered 200 duplicate without it, a handler's non-2xx answer or exception
 * releasing the delivery, a failing store answered 503. Digests computed with md5() and sha1().
 *
 * Usage: php tests/php/test_middleware.php   (closes with "middleware: N passed, M failed")
 */

declare(strict_types=1);

require __DIR__ . '/harness.php';

require dirname(__DIR__, 2) . '/php/YunxinEcp.php';

$nyholm = getenv('NYHOLM_PSR7_AUTOLOAD') ?: '/usr/share/php/Nyholm/Psr7/autoload.php';
if (!is_file($nyholm)) {
    fwrite(STDERR, "FAIL [middleware] no PSR-7 implementation: install php-nyholm-psr7\n");
    echo "middleware: 0 passed, 1 failed\n";
    exit(1);
}
require $nyholm;
require __DIR__ . '/psr15.php';
require dirname(__DIR__, 2) . '/php/CallbackMiddleware.php';

use Nyholm\Psr7\Factory\Psr17Factory;
use Psr\Http\Message\ResponseInterface;
use Psr\Http\Message\ServerRequestInterface;
use Psr\Http\Server\RequestHandlerInterface;
use YunxinEcp\CallbackMiddleware;
use YunxinEcp\CallbackVerifier;
use YunxinEcp\Credentials;
use YunxinEcp\Delivery;
use YunxinEcp\DeliveryGuard;
use YunxinEcp\DeliveryStore;

const APP = 'fd460d34e786e7754e505bc4fab0f027';
const SECRET = 'xxxxxxxx';
const BODY = '{"callback":"{\"session\":\"s-7\"}","eventType":"10"}';
const NOW = 1700000000000;

$factory = new Psr17Factory();

function request(Psr17Factory $factory, string $body = BODY, string $secret = SECRET, int $at = NOW, ?string $contentLength = null): ServerRequestInterface
{
    $md5 = md5($body);
    $request = $factory->createServerRequest('POST', 'http://127.0.0.1/ecp/callback')
        ->withHeader('AppKey', APP)->withHeader('CurTime', (string) $at)->withHeader('MD5', $md5)
        ->withHeader('CheckSum', sha1($secret . $md5 . $at))
        ->withBody($factory->createStream($body));
    return $contentLength === null ? $request : $request->withHeader('Content-Length', $contentLength);
}

/** The next handler: counts its calls, keeps what it saw, answers $status (or throws). */
final class Recorder implements RequestHandlerInterface
{
    public int $calls = 0;
    public mixed $event = null;
    public mixed $delivery = null;
    public string $body = '';

    public function __construct(private Psr17Factory $factory, public int|\Throwable $status = 204) {}

    public function handle(ServerRequestInterface $request): ResponseInterface
    {
        $this->calls++;
        $this->event = $request->getAttribute(CallbackMiddleware::EVENT);
        $this->delivery = $request->getAttribute(CallbackMiddleware::DELIVERY);
        $this->body = (string) $request->getBody();
        if ($this->status instanceof \Throwable) {
            throw $this->status;
        }
        return $this->factory->createResponse($this->status);
    }
}

function middleware(Psr17Factory $factory, DeliveryGuard|false|null $guard = null, ?int $cap = null): CallbackMiddleware
{
    return new CallbackMiddleware(new CallbackVerifier(new Credentials(APP, SECRET)), $factory, $guard, $cap, NOW);
}

/** @return array{0: int, 1: string, 2: string} status, body, Content-Type */
function answered(ResponseInterface $response): array
{
    return [$response->getStatusCode(), (string) $response->getBody(), $response->getHeaderLine('Content-Type')];
}

test_case('middleware: a first delivery reaches the handler with its event, delivery and body; a repeat does not', function () use ($factory) {
    $middleware = middleware($factory);
    $next = new Recorder($factory);
    $response = $middleware->process(request($factory), $next);
    check($response->getStatusCode() === 204 && $next->calls === 1, 'handled: ' . $response->getStatusCode());
    check(is_array($next->event) && $next->event['type'] === 'call_end' && $next->event['session'] === 's-7', json_encode($next->event));
    check($next->delivery instanceof Delivery && $next->delivery->credential === 0 && $next->delivery->appKey === APP, 'the delivery');
    check($next->body === BODY, 'the body is readable again: ' . $next->body);
    $repeat = answered($middleware->process(request($factory), $next));
    check($repeat === [200, '{"result":"duplicate"}', 'application/json'] && $next->calls === 1, json_encode($repeat));
});

test_case('middleware: refusals are the library\'s answers, the handler never runs', function () use ($factory) {
    $next = new Recorder($factory);
    $forged = answered(middleware($factory)->process(request($factory, BODY, 'stranger'), $next));
    check($forged === [403, '{"error":"callback refused","reason":"checksum_mismatch"}', 'application/json'], json_encode($forged));
    $notCallback = answered(middleware($factory)->process(request($factory, '[]'), $next));
    check($notCallback[0] === 400 && str_contains($notCallback[1], '"malformed"'), json_encode($notCallback));
    $stale = answered(middleware($factory)->process(request($factory, BODY, SECRET, NOW - 300001), $next));
    check($stale[0] === 403 && str_contains($stale[1], '"stale"'), json_encode($stale));
    // Over the cap: on a Content-Length that says so (nothing read), or once read past it.
    $declared = answered(middleware($factory, null, 10)->process(request($factory, BODY, SECRET, NOW, '99999999999999999999'), $next));
    check($declared === [413, '{"error":"callback refused","reason":"too_large"}', 'application/json'], json_encode($declared));
    $read = answered(middleware($factory, null, strlen(BODY) - 1)->process(request($factory), $next));
    check($read[0] === 413, json_encode($read));
    check(middleware($factory, null, strlen(BODY))->process(request($factory), $next)->getStatusCode() === 204, 'exactly the cap');
    check($next->calls === 1, 'the handler ran once: ' . $next->calls);
    try {
        middleware($factory, null, 0);
        check(false, 'a cap of 0 is refused');
    } catch (\InvalidArgumentException $e) {
        check(str_contains($e->getMessage(), 'max_body_bytes'), $e->getMessage());
    }
});

test_case('middleware: a non-2xx answer or an exception releases the delivery for the next attempt', function () use ($factory) {
    $guard = new DeliveryGuard();
    $middleware = middleware($factory, $guard);
    $failing = new Recorder($factory, 500);
    check($middleware->process(request($factory), $failing)->getStatusCode() === 500, 'the handler\'s 500 stands');
    check($guard->held() === 0, 'released: ' . $guard->held());
    $throwing = new Recorder($factory, new \DomainException('booking failed'));
    try {
        $middleware->process(request($factory), $throwing);
        check(false, 'the exception goes on');
    } catch (\DomainException $e) {
        check($e->getMessage() === 'booking failed', $e->getMessage());
    }
    check($guard->held() === 0, 'released after the exception');
    $next = new Recorder($factory, 200);
    check($middleware->process(request($factory), $next)->getStatusCode() === 200 && $next->calls === 1, 'handled at last');
    check(answered($middleware->process(request($factory), $next))[1] === '{"result":"duplicate"}', 'then a duplicate');
});

test_case('middleware: a store that fails is 503 without the handler; no guard handles every delivery', function () use ($factory) {
    $broken = new class implements DeliveryStore {
        public function claim(string $key, int $expiresAtMs, int $nowMs): string
        {
            throw new \RuntimeException('redis://:hunter22@127.0.0.1/0');
        }
        public function complete(string $key, int $expiresAtMs): void {}
        public function release(string $key): void {}
    };
    $log = tempnam(sys_get_temp_dir(), 'yx-php-log-');
    $previous = ini_set('error_log', $log);
    try {
        $next = new Recorder($factory);
        $answer = answered(middleware($factory, new DeliveryGuard($broken))->process(request($factory), $next));
        check($answer === [503, '{"error":"callback refused","reason":"store_unavailable"}', 'application/json'], json_encode($answer));
        check($next->calls === 0, 'not handled');
        check(!str_contains((string) file_get_contents($log), 'hunter22'), 'no secret in the log');
    } finally {
        ini_set('error_log', (string) $previous);
        @unlink($log);
    }
    $next = new Recorder($factory);
    $unguarded = middleware($factory, false);
    $unguarded->process(request($factory), $next);
    $unguarded->process(request($factory), $next);
    check($next->calls === 2, 'without a guard: ' . $next->calls);
});

finish('middleware');
