'use strict';
// A Fastify plugin for call-end callbacks: one POST route whose body is read raw by the plugin
// (in its own encapsulated context every content-type parser is replaced by one that only
// collects the bytes within the cap, so the app's JSON parser never sees them), verified, and
// handed to the handler; a refused callback is answered with the core's status and JSON body.

const { BodyConsumedError, checkedOptions, rawBodyOf, accepted, settle, succeeded, refusalHeaders } = require('./callback-http.js');
const { _internal } = require('./index.js');

const { typeError } = _internal;

/** What the plugin's parser hands to its route: the raw body, or that it was over the cap. */
class RawCallbackBody {
  constructor(got) {
    this.got = got;
  }
}

/**
 * `app.register(verifiedCallback, { verifier, url: '/ecp/callback', handler: async (event,
 * request, reply) => { ... } })`.
 *
 * The handler gets the verified event (also `request.yunxinEvent`); what it returns is the reply,
 * as for any Fastify handler, and nothing (undefined) answers an empty 200. Options:
 * `maxBodyBytes` (default 1 MiB; the plugin's own cap, whatever the app's `bodyLimit`): a longer
 * body is answered 413 unread when its `Content-Length` says so, else as soon as the body read
 * passes it; `onRefused({ status, reason })`: called for each refusal, for the endpoint's log.
 * The app's parsers (the built-in JSON one, any added globally) stay in force on its other routes.
 *
 * Repeated deliveries are handled once, as with Express (`guard`, `deduplicate`): the delivery is
 * completed when the handler resolves with a 2xx reply, and released when it throws or replies
 * otherwise; the reply leaves after that. `request.yunxinDelivery` says which credentials matched.
 */
async function verifiedCallback(instance, options) {
  if (options === null || typeof options !== 'object') throw typeError('options', 'an object');
  const settings = checkedOptions(options.verifier, options, 'fastify');
  if (typeof options.url !== 'string') throw typeError('url', 'a string');
  if (typeof options.handler !== 'function') throw typeError('handler', 'a function');
  const handler = options.handler;

  instance.removeAllContentTypeParsers();
  instance.addContentTypeParser('*', (request, payload, done) => {
    rawBodyOf(settings, request.raw, payload, undefined).then(
      (got) => done(null, new RawCallbackBody(got)),
      (e) => done(e, undefined),
    );
  });
  if (!instance.hasRequestDecorator('yunxinEvent')) instance.decorateRequest('yunxinEvent', null);
  if (!instance.hasRequestDecorator('yunxinDelivery')) instance.decorateRequest('yunxinDelivery', null);

  instance.post(options.url, async function yunxinCallback(request, reply) {
    // No body at all (no Content-Type and no length): Fastify calls no parser.
    const got = request.body instanceof RawCallbackBody ? request.body.got : { body: Buffer.alloc(0) };
    const outcome = await accepted(settings, got, request.headers);
    if (outcome.refusal) {
      reply.code(outcome.refusal.status).headers(refusalHeaders(outcome));
      return reply.send(outcome.refusal.body);
    }
    request.yunxinEvent = outcome.event;
    request.yunxinDelivery = outcome.delivery;
    let result;
    try {
      result = await handler.call(this, outcome.event, request, reply);
    } catch (e) {
      await settle(settings, outcome, false);
      throw e;
    }
    // The status the handler set stands (Fastify starts at 200): a 503 must not become a 200.
    await settle(settings, outcome, succeeded(reply.statusCode));
    if (reply.sent) return reply;
    return result === undefined ? reply.send() : result;
  });
}

module.exports = { verifiedCallback, BodyConsumedError };
