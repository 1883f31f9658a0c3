// Types of yunxin-ecp/express (express.js): no dependency on @types/express.
/// <reference types="node" />
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CallbackEvent, CallbackVerifier, Delivery, DeliveryGuard, DeliveryStoreError } from './index';

/** What the callback middleware of every framework takes. */
export interface CallbackMiddlewareOptions {
  /** The largest body read, in bytes (default 1 MiB, the core's); a longer one is answered 413. */
  maxBodyBytes?: number;
  /**
   * Called for each refused callback, for the endpoint's log: never the body or a header
   * (`in_progress`, 409, and `store_unavailable`, 503, included).
   */
  onRefused?: (refusal: { status: number; reason: string }) => void;
  /**
   * Where verified deliveries are claimed before the handler runs, so that a repeat is not
   * handled twice. Default: a fresh in-memory `DeliveryGuard` per middleware; with several
   * processes, one over a shared store (`new DeliveryGuard({ store })`).
   */
  guard?: DeliveryGuard;
  /** `false`: no guard, every verified delivery reaches the handler (not with `guard`). */
  deduplicate?: boolean;
  /** Called for each repeat answered 200 `{"result":"duplicate"}` without the handler. */
  onDuplicate?: (delivery: Delivery) => void;
  /**
   * Called when the guard's store fails (the claim is then answered 503; a failed completion or
   * release leaves the answer as it was). Default: a process warning, as a completion not
   * recorded lets a repeat be handled again.
   */
  onStoreError?: (error: DeliveryStoreError) => void;
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
 * `req.yunxinEvent` (and `req.yunxinDelivery`) before calling `next()`; a refused callback is
 * answered 400, 403 or 413 with `{"error":"callback refused","reason":"..."}` and the route is not
 * called. A repeat of a delivery handled before is answered 200 `{"result":"duplicate"}`, one
 * being handled 409, a failed store 503, all without the route; the delivery is completed when
 * the route answers 2xx, released when it answers otherwise, fails, or the sender goes first.
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
      /** Which credentials matched, and the delivery's key, set with `yunxinEvent`. */
      yunxinDelivery?: Delivery;
    }
  }
}
