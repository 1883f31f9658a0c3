'use strict';
// Koa middleware for call-end callbacks: reads the raw body of `ctx.req` itself (no body parser
// needed or wanted), verifies it, and hands the event on as `ctx.state.yunxinEvent`; a refused
// callback is answered here with the core's status and JSON body and `next` is not called.

const { BodyConsumedError, checkedOptions, rawBodyOf, accepted, settle, succeeded, refusalHeaders } = require('./callback-http.js');

/**
 * `router.post('/ecp/callback', verifiedCallback(verifier), (ctx) => { ctx.state.yunxinEvent ... })`.
 *
 * Options as for Express (`maxBodyBytes`, default 1 MiB; `onRefused`). Mount it before any body
 * parser: when one has read the stream, the bytes kept as a Buffer in `ctx.request.rawBody` or
 * `ctx.req.rawBody` are verified, and without them a `BodyConsumedError` is thrown (a 500 from
 * Koa's error handling). `@koa/bodyparser`'s `rawBody` is a decoded string, not the bytes: it is
 * not used.
 *
 * Repeated deliveries are handled once, as with Express (`guard`, `deduplicate`): the delivery is
 * completed when `await next()` ends with a 2xx `ctx.status`, and released when it throws or
 * ends with another status; the answer leaves after that. `ctx.state.yunxinDelivery` says which
 * credentials matched.
 */
function verifiedCallback(verifier, options) {
  const settings = checkedOptions(verifier, options, 'koa');
  return async function yunxinCallback(ctx, next) {
    const kept = Buffer.isBuffer(ctx.request.rawBody) ? ctx.request.rawBody : ctx.req.rawBody;
    const got = await rawBodyOf(settings, ctx.req, ctx.req, kept);
    const outcome = await accepted(settings, got, ctx.req.headers);
    if (outcome.refusal) {
      ctx.status = outcome.refusal.status;
      ctx.set(refusalHeaders(outcome));
      ctx.body = outcome.refusal.body;
      ctx.type = 'application/json; charset=utf-8';
      return;
    }
    ctx.state.yunxinEvent = outcome.event;
    ctx.state.yunxinDelivery = outcome.delivery;
    let ok = false;
    try {
      await next();
      ok = succeeded(ctx.status);
    } finally {
      await settle(settings, outcome, ok);
    }
  };
}

module.exports = { verifiedCallback, BodyConsumedError };
