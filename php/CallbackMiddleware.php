<?php
/**
 * yunxin_ecp for PHP frameworks: a PSR-15 middleware that verifies the call-end callback and
 * hands each delivery to the next handler once (Slim, Mezzio, Laminas, any PSR-15 pipeline).
 *
 *     require 'php/YunxinEcp.php';
 *     require 'php/CallbackMiddleware.php';      // after Composer's autoloader (psr/http-server-middleware)
 *
 *     $middleware = new YunxinEcp\CallbackMiddleware(
 *         new YunxinEcp\CallbackVerifier(YunxinEcp\Credentials::fromEnv()),
 *         $responseFactory,                      // any PSR-17 ResponseFactoryInterface
 *         new YunxinEcp\DeliveryGuard($redisStore),   // PHP-FPM: a store several workers share
 *     );
 *     // Slim: $app->post('/ecp/callback', $handler)->add($middleware);
 *     // the handler reads $request->getAttribute(YunxinEcp\CallbackMiddleware::EVENT) (and ::DELIVERY)
 *
 * The file declares the middleware only where the PSR-15 and PSR-17 interfaces are there
 * (psr/http-server-middleware and psr/http-factory through Composer, or Debian's packages), so
 * that loading it elsewhere does nothing rather than fail.
 */

declare(strict_types=1);

namespace YunxinEcp;

use Psr\Http\Message\ResponseFactoryInterface;
use Psr\Http\Message\ResponseInterface;
use Psr\Http\Message\ServerRequestInterface;
use Psr\Http\Server\MiddlewareInterface;
use Psr\Http\Server\RequestHandlerInterface;

if (!interface_exists(MiddlewareInterface::class) || !interface_exists(ResponseFactoryInterface::class)) {
    return;
}

/**
 * Verifies the callback of each request it sees and answers it itself unless the delivery is
 * one to handle:
 *
 * - refused: the library's refusal answer (403, 400 when the body is not a callback, 413 over
 *   $maxBodyBytes: at once when Content-Length says so, else as soon as the body passes it);
 * - a repeat of a delivery handled before: 200 {"result":"duplicate"}, the handler not called;
 *   one being handled right now by another request: 409; the guard's store failed: 503;
 * - otherwise the next handler runs with the attributes EVENT (the event, as
 *   YunxinEcp::parseCallback() returns it) and DELIVERY (the Delivery), and the request's body
 *   readable again from its start. Its answer stands; a 2xx completes the delivery (its repeats
 *   are duplicates from now on), any other status or an exception releases it, so that the
 *   sender's next attempt is handled.
 *
 * $guard: null for a guard of this middleware's own in this process's memory (a long-running
 * worker: RoadRunner, Swoole, ReactPHP; PHP-FPM starts every request afresh, so there pass a
 * guard over a shared store), false for none.
 */
final class CallbackMiddleware implements MiddlewareInterface
{
    /** The request attribute holding the verified event. */
    public const EVENT = 'yunxin_ecp.event';
    /** The request attribute holding the Delivery. */
    public const DELIVERY = 'yunxin_ecp.delivery';

    /** The most asked of the body stream at once. */
    private const CHUNK_BYTES = 64 * 1024;

    private ?DeliveryGuard $guard;
    private int $maxBodyBytes;

    public function __construct(
        private CallbackVerifier $verifier,
        private ResponseFactoryInterface $responses,
        DeliveryGuard|false|null $guard = null,
        ?int $maxBodyBytes = null,
        private ?int $nowMs = null,
    ) {
        $this->guard = $guard === false ? null : ($guard ?? new DeliveryGuard());
        $this->maxBodyBytes = $maxBodyBytes ?? CallbackVerifier::defaultMaxBodyBytes();
        CallbackVerifier::checkCap($this->maxBodyBytes);
    }

    public function process(ServerRequestInterface $request, RequestHandlerInterface $handler): ResponseInterface
    {
        try {
            $body = $this->body($request);
            [$delivery, $event] = $this->verifier->verifyDelivery($body, $request->getHeaders(), $this->nowMs);
        } catch (CallbackException $e) {
            return $this->answer($e->answer());
        }
        $turnedAway = $this->guard?->admit($delivery, $this->nowMs);
        if ($turnedAway !== null) {
            return $this->answer($turnedAway);
        }
        $request = $request->withAttribute(self::EVENT, $event)->withAttribute(self::DELIVERY, $delivery);
        try {
            $response = $handler->handle($request);
        } catch (\Throwable $failed) {
            $this->guard?->settle($delivery, false);
            throw $failed;
        }
        $status = $response->getStatusCode();
        $this->guard?->settle($delivery, $status >= 200 && $status < 300);
        return $response;
    }

    /**
     * The raw body, read from the request's stream no further than one byte past the cap (a
     * declared Content-Length over it refused unread), then rewound when the stream allows, so
     * that the handler can read it again.
     */
    private function body(ServerRequestInterface $request): string
    {
        if (CallbackVerifier::declaredTooLarge($request->getHeaderLine('Content-Length'), $this->maxBodyBytes)) {
            throw new BodyTooLargeException($this->maxBodyBytes);
        }
        $stream = $request->getBody();
        if ($stream->isSeekable()) {
            $stream->rewind();
        }
        $body = '';
        while (!$stream->eof()) {
            $chunk = $stream->read(min(self::CHUNK_BYTES, $this->maxBodyBytes + 1 - strlen($body)));
            if ($chunk === '') {
                break;
            }
            $body .= $chunk;
            if (strlen($body) > $this->maxBodyBytes) {
                throw new BodyTooLargeException($this->maxBodyBytes);
            }
        }
        if ($stream->isSeekable()) {
            $stream->rewind();
        }
        return $body;
    }

    private function answer(CallbackAnswer $answer): ResponseInterface
    {
        $response = $this->responses->createResponse($answer->status);
        if ($answer->body === '') {
            return $response;
        }
        $response->getBody()->write($answer->body);
        return $response->withHeader('Content-Type', 'application/json');
    }
}
