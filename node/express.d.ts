// Types of yunxin-ecp/express (express.js): no dependency on @types/express.
/// <reference types="node" />
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CallbackEvent, CallbackVerifier } from './index';

/** What the callback middleware of every framework takes. */
export interface CallbackMiddlewareOptions {
  /** The largest body read, in bytes (default 1 MiB, the core's); a longer one is answered 413. */
  maxBodyBytes?: number;
  /** Called for each refused callback, for the endpoint's log: never the body or a header. */
  onRefused?: (refusal: { status: number; reason: string }) => void;
}

/**
 * The request's body was read by a body parser mounted before the middleware and its raw bytes
 * were not kept as a Buffer in `req.rawBody`: mount the middleware first (`code`:
 * `YUNXIN_ECP_BODY_CONSUMED`; Express answers 500).
 */
export declare class BodyConsumedError extends Error {
  readonly code: 'YUNXIN_ECP_BODY_CONSUMED';
}

/**
 * Express middleware: reads the raw body (within `maxBodyBytes`), verifies it and sets
 * `req.yunxinEvent` before calling `next()`; a refused callback is answered 400, 403 or 413 with
 * `{"error":"callback refused","reason":"..."}` and the route is not called.
 */
export declare function verifiedCallback(
  verifier: CallbackVerifier,
  options?: CallbackMiddlewareOptions,
): (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;

declare global {
  namespace Express {
    interface Request {
      /** The verified callback, set by `verifiedCallback` of `yunxin-ecp/express`. */
      yunxinEvent?: CallbackEvent;
    }
  }
}
