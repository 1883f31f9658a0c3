// Types of yunxin-ecp/fastify (fastify.js).
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { CallbackEvent, CallbackVerifier, Delivery } from './index';
import type { CallbackMiddlewareOptions } from './express';

export type { CallbackMiddlewareOptions };
export { BodyConsumedError } from './express';

export interface VerifiedCallbackOptions extends CallbackMiddlewareOptions {
  verifier: CallbackVerifier;
  /** The route's path (under the plugin's `prefix`, if registered with one). */
  url: string;
  /**
   * Called with each verified callback (also `request.yunxinEvent`); what it returns is the reply,
   * and undefined answers an empty 200. A repeated delivery is answered without it (the
   * delivery is completed when it resolves with a 2xx reply, released when it throws or replies
   * otherwise); a repeat the sender signed afresh is not: deduplicate those on `event.session`.
   */
  handler: (event: CallbackEvent, request: FastifyRequest, reply: FastifyReply) => unknown;
}

/**
 * A plugin adding one POST route for callbacks: its body is read raw by the plugin (the app's
 * content-type parsers are replaced in the plugin's context only), verified, and handed to
 * `handler`; a refused callback is answered 400, 403 or 413 with
 * `{"error":"callback refused","reason":"..."}`, a repeat of a delivery handled before 200
 * `{"result":"duplicate"}`, one being handled 409, a failed store 503.
 */
export declare const verifiedCallback: FastifyPluginAsync<VerifiedCallbackOptions>;

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified callback, on the route of `yunxin-ecp/fastify`'s plugin (null elsewhere). */
    yunxinEvent: CallbackEvent | null;
    /** Which credentials matched, and the delivery's key, on the plugin's route (null elsewhere). */
    yunxinDelivery: Delivery | null;
  }
}
