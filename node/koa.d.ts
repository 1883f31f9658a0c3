// Types of yunxin-ecp/koa (koa.js).
import type { Middleware } from 'koa';
import type { CallbackEvent, CallbackVerifier, Delivery } from './index';
import type { CallbackMiddlewareOptions } from './express';

export type { CallbackMiddlewareOptions };
export { BodyConsumedError } from './express';

/** What the middleware puts in `ctx.state`. */
export interface YunxinCallbackState {
  /** The verified callback. */
  yunxinEvent: CallbackEvent;
  /** Which credentials matched, and the delivery's key (optional in the type, so that a state typed before it still fits; always set by the middleware). */
  yunxinDelivery?: Delivery;
}

/**
 * Koa middleware: reads the raw body of `ctx.req` (within `maxBodyBytes`), verifies it and sets
 * `ctx.state.yunxinEvent` before `await next()`; a refused callback is answered 400, 403 or 413
 * with `{"error":"callback refused","reason":"..."}` and `next` is not called; so is a repeat of
 * a delivery handled before (200 `{"result":"duplicate"}`), one being handled (409) and a failed
 * store (503). The delivery is completed when `next` ends with a 2xx status, else released. Mount
 * it before any body parser (else `BodyConsumedError`, a 500).
 */
export declare function verifiedCallback<StateT = {}, ContextT = {}>(
  verifier: CallbackVerifier,
  options?: CallbackMiddlewareOptions,
): Middleware<StateT & YunxinCallbackState, ContextT>;
