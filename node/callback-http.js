'use strict';
// What the framework middleware (express.js, fastify.js, koa.js) share: reading a callback's raw
// body within a cap, verifying it, claiming the delivery in a DeliveryGuard and settling it after
// the handler, and the answer to a refusal or a repeat. The cap's default, the statuses and the
// answer bodies are the core's (the same in every language); this file only moves bytes and
// decides when the handler's outcome is known.

const yunxin = require('./index.js');

const { native, call, typeError } = yunxin._internal;
const { CallbackVerifier, CallbackVerificationError, DeliveryGuard, DeliveryStoreError } = yunxin;

/**
 * The request's body was read before the callback middleware ran (a body parser mounted before
 * it), and its raw bytes were not kept as a Buffer in `req.rawBody`: the signature covers those
 * exact bytes, so a parsed or re-serialized body cannot be verified. A setup error (answered 500
 * by the framework's error handling), never a refusal of the sender.
 */
class BodyConsumedError extends Error {
  constructor() {
    super(
      'the callback body was read before the callback middleware (a body parser mounted before it?): ' +
        'mount the middleware before any body parser, or keep the raw bytes as a Buffer in req.rawBody ' +
        "(express.json({ verify: (req, res, buf) => { req.rawBody = buf } }))",
    );
    this.name = 'BodyConsumedError';
    this.code = 'YUNXIN_ECP_BODY_CONSUMED';
  }
}

function optionalFunction(options, name) {
  const f = options[name];
  if (f !== undefined && typeof f !== 'function') throw typeError(name, 'a function');
  return f;
}

/**
 * The guard of a middleware: the one given, else a fresh one in this process's memory (each
 * middleware its own, so that two endpoints never answer each other's deliveries), or none with
 * `deduplicate: false`.
 */
function checkedGuard(options) {
  const { guard, deduplicate } = options;
  if (deduplicate !== undefined && typeof deduplicate !== 'boolean') throw typeError('deduplicate', 'a boolean');
  if (guard !== undefined && !(guard instanceof DeliveryGuard)) throw typeError('guard', 'a DeliveryGuard');
  if (deduplicate === false) {
    if (guard !== undefined) throw typeError('guard', 'no guard with deduplicate: false (pass one or the other)');
    return null;
  }
  return guard === undefined ? new DeliveryGuard() : guard;
}

/** The checked options of a middleware: its verifier, body cap, guard and hooks. */
function checkedOptions(verifier, options, name) {
  if (!(verifier instanceof CallbackVerifier)) throw typeError('verifier', 'a CallbackVerifier');
  if (options === undefined) options = {};
  if (options === null || typeof options !== 'object') throw typeError('options', 'an object');
  const max = options.maxBodyBytes;
  if (max !== undefined && typeof max !== 'number') throw typeError('maxBodyBytes', 'a number');
  return {
    verifier,
    limit: call(() => native.callbackBodyLimit(max)),
    guard: checkedGuard(options),
    onRefused: optionalFunction(options, 'onRefused'),
    onDuplicate: optionalFunction(options, 'onDuplicate'),
    onStoreError: optionalFunction(options, 'onStoreError'),
    name,
  };
}

/** Whether the stream was read (or begun) by someone else before the middleware. */
function consumed(stream) {
  return stream.readableDidRead === true || stream.readableEnded === true || stream._body === true;
}

/**
 * Reads `stream` to its end, keeping at most `limit` bytes: resolves to the body, or to null as
 * soon as it passes the limit (the stream is then paused and left unread, so that nothing more
 * is held and the sender is held back by TCP).
 */
function readCapped(stream, limit) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    const cleanup = () => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.off('close', onClose);
    };
    function onData(chunk) {
      if (typeof chunk === 'string') chunk = Buffer.from(chunk);
      size += chunk.length;
      if (size > limit) {
        cleanup();
        stream.pause();
        chunks.length = 0;
        resolve(null);
        return;
      }
      chunks.push(chunk);
    }
    function onEnd() {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    }
    function onError(e) {
      cleanup();
      reject(e);
    }
    function onClose() {
      cleanup();
      const e = new Error('the callback request was closed before its body ended');
      e.code = 'ECONNRESET';
      reject(e);
    }
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
    stream.on('close', onClose);
    stream.resume();
  });
}

/** Calls a logging hook; its failure must not change the answer. */
function tell(hook, value) {
  if (!hook) return;
  try {
    hook(value);
  } catch {
    // Nothing: the hook is for the endpoint's log.
  }
}

function refused(settings, refusal, unread) {
  tell(settings.onRefused, { status: refusal.status, reason: refusal.reason });
  return { refusal, unread };
}

/**
 * A failing store, told to `onStoreError`, else as a process warning: never silent, as a
 * completion not recorded means a repeat is handled again. The error's message names its type
 * and the step only.
 */
function storeFailed(settings, error) {
  if (settings.onStoreError) tell(settings.onStoreError, error);
  else process.emitWarning(error.message, { type: 'DeliveryStoreError', code: 'YUNXIN_ECP_DELIVERY_STORE' });
}

/**
 * The raw body of `req` within the cap: from the stream (unless its `Content-Length` is over the
 * cap already), or from `rawBody` when a parser read the stream and kept the bytes. Resolves to
 * `{ body }` or `{ tooLarge, unread }`; rejects with `BodyConsumedError`.
 */
async function rawBodyOf(settings, req, stream, rawBody) {
  if (consumed(stream)) {
    if (!Buffer.isBuffer(rawBody)) throw new BodyConsumedError();
    return rawBody.length > settings.limit ? { tooLarge: true, unread: false } : { body: rawBody };
  }
  if (native.declaredTooLarge(headerValue(req.headers['content-length']), settings.limit)) {
    return { tooLarge: true, unread: true };
  }
  const body = await readCapped(stream, settings.limit);
  return body === null ? { tooLarge: true, unread: true } : { body };
}

function headerValue(v) {
  return typeof v === 'string' ? v : undefined;
}

/**
 * Verifies a raw body read by `rawBodyOf` and claims the delivery in the guard: resolves to
 * `{ event, delivery, claimed }` (claimed: the handler runs and `settle` must follow), or to
 * `{ refusal: { status, reason, body }, unread }`, the answer without the handler (unread: the
 * request's body was left in the socket, so the connection must close). The answers are the
 * core's: 400, 403 or 413 for a refusal, 200 `{"result":"duplicate"}` for a delivery handled
 * before, 409 for one being handled by another request, 503 when the store failed.
 */
async function accepted(settings, got, headers) {
  if (got.tooLarge) return refused(settings, native.tooLargeRefusal(), got.unread);
  let verifiedDelivery;
  try {
    verifiedDelivery = settings.verifier.verifyDelivery(got.body, headers);
  } catch (e) {
    if (e instanceof CallbackVerificationError) return refused(settings, native.callbackRefusal(String(e.reason)), false);
    throw e;
  }
  const { delivery, event } = verifiedDelivery;
  if (!settings.guard) return { event, delivery, claimed: false };
  let claim;
  try {
    claim = await settings.guard.claim(delivery);
  } catch (e) {
    if (!(e instanceof DeliveryStoreError)) throw e;
    storeFailed(settings, e);
    return refused(settings, native.callbackRefusal('store_unavailable'), false);
  }
  if (claim === 'duplicate') {
    tell(settings.onDuplicate, delivery);
    return { refusal: native.duplicateAnswer(), unread: false };
  }
  if (claim === 'in_progress') return refused(settings, native.callbackRefusal('in_progress'), false);
  return { event, delivery, claimed: true };
}

/** Whether a handler's answer was a success: only then are repeats duplicates. */
function succeeded(status) {
  return status >= 200 && status < 300;
}

/**
 * After the handler of a claimed delivery: completed when it succeeded (repeats are duplicates
 * from now on), else released (the sender's next attempt is handled). The in-memory guard is
 * settled before this returns; a store of one's own when its promise settles. A failing store is
 * told (`storeFailed`): the answer stands.
 */
function settle(settings, accepted, ok) {
  if (!accepted.claimed) return Promise.resolve();
  const step = ok ? settings.guard.complete(accepted.delivery) : settings.guard.release(accepted.delivery);
  return step.catch((e) => {
    if (e instanceof DeliveryStoreError) storeFailed(settings, e);
    else throw e;
  });
}

/**
 * Settles a claimed delivery on a Node `ServerResponse` whose handler is not awaited (Express):
 * when the answer's head is written, by its status (before a byte of it leaves, so that a
 * sender's next attempt finds the delivery settled), or released when the connection closes
 * before any answer (the sender saw none and delivers it again).
 */
function settleOnAnswer(settings, outcome, res) {
  if (!outcome.claimed) return;
  let done = false;
  const once = (ok) => {
    if (done) return;
    done = true;
    res.off('close', onClose);
    if (res.writeHead === writeHead) res.writeHead = original;
    settle(settings, outcome, ok).catch(() => {});
  };
  const onClose = () => once(res.headersSent && succeeded(res.statusCode));
  // Node's own implicit head (res.end, res.write) goes through res.writeHead too.
  const original = res.writeHead;
  function writeHead(...args) {
    const result = original.apply(this, args);
    once(succeeded(res.statusCode));
    return result;
  }
  res.writeHead = writeHead;
  res.on('close', onClose);
}

/** The refusal as headers for a Node `ServerResponse`. */
function refusalHeaders(outcome) {
  const headers = {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(outcome.refusal.body)),
  };
  if (outcome.unread) headers.Connection = 'close';
  return headers;
}

module.exports = { BodyConsumedError, checkedOptions, rawBodyOf, accepted, settle, settleOnAnswer, succeeded, refusalHeaders };
