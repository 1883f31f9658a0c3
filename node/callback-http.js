'use strict';
// What the framework middleware (express.js, fastify.js, koa.js) share: reading a callback's raw
// body within a cap, verifying it, and the answer to a refusal. The cap's default, the statuses
// and the answer bodies are the core's (the same in every language); this file only moves bytes.

const yunxin = require('./index.js');

const { native, call, typeError } = yunxin._internal;
const { CallbackVerifier, CallbackVerificationError } = yunxin;

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

/** The checked options of a middleware: its verifier and body cap. */
function checkedOptions(verifier, options, name) {
  if (!(verifier instanceof CallbackVerifier)) throw typeError('verifier', 'a CallbackVerifier');
  if (options === undefined) options = {};
  if (options === null || typeof options !== 'object') throw typeError('options', 'an object');
  const max = options.maxBodyBytes;
  if (max !== undefined && typeof max !== 'number') throw typeError('maxBodyBytes', 'a number');
  const onRefused = options.onRefused;
  if (onRefused !== undefined && typeof onRefused !== 'function') throw typeError('onRefused', 'a function');
  return { verifier, limit: call(() => native.callbackBodyLimit(max)), onRefused, name };
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

function refused(settings, refusal, unread) {
  if (settings.onRefused) {
    try {
      settings.onRefused({ status: refusal.status, reason: refusal.reason });
    } catch {
      // A logging hook's failure must not change the answer.
    }
  }
  return { refusal, unread };
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
 * Verifies a raw body read by `rawBodyOf`: `{ event }`, or `{ refusal: { status, reason, body },
 * unread }` (unread: the request's body was left in the socket, so the connection must close).
 */
function verified(settings, got, headers) {
  if (got.tooLarge) return refused(settings, native.tooLargeRefusal(), got.unread);
  try {
    return { event: settings.verifier.verifyAndParse(got.body, headers) };
  } catch (e) {
    if (e instanceof CallbackVerificationError) return refused(settings, native.callbackRefusal(String(e.reason)), false);
    throw e;
  }
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

module.exports = { BodyConsumedError, checkedOptions, rawBodyOf, verified, refusalHeaders };
