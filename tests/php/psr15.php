<?php
/**
 * PSR-15's two interfaces (psr/http-server-handler and psr/http-server-middleware 1.0, as
 * published by PHP-FIG), declared here when no package provides them: Debian packages PSR-7 and
 * PSR-17 but not PSR-15, and the suites run without Composer's registry. The signatures are the
 * standard's, so a middleware that satisfies these satisfies the packages'.
 */

declare(strict_types=1);

namespace Psr\Http\Server;

use Psr\Http\Message\ResponseInterface;
use Psr\Http\Message\ServerRequestInterface;

if (!interface_exists(RequestHandlerInterface::class)) {
    interface RequestHandlerInterface
    {
        public function handle(ServerRequestInterface $request): ResponseInterface;
    }
}

if (!interface_exists(MiddlewareInterface::class)) {
    interface MiddlewareInterface
    {
        public function process(ServerRequestInterface $request, RequestHandlerInterface $handler): ResponseInterface;
    }
}
