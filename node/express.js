'use strict';
// Express middleware for call-end callbacks: reads the raw body itself (no body parser needed or
// wanted), verifies it, and hands the event on as `req.yunxinEvent`; a refused callback is
// answered here with the core's status and JSON body and never reaches the route's handler.

const { BodyConsumedError, checkedOptions, rawBodyOf, verified, refusalHeaders } = require('./callback-http.js');

/**
 * `app.post('/ecp/callback', verifiedCallback(verifier), (req, res) => { req.yunxinEvent ... })`.
 *
 * Options: `maxBodyBytes` (default 1 MiB): a longer body is answered 413 unread when its
 * `Content-Length` says so, else as soon as the body read passes it; `onRefused({ status,
 * reason })`: called for each refusal, for the endpoint's log. Mount it before any body parser
 * (`express.json()` reads the stream, and the signature covers the exact bytes): when a parser
 * has read the body, the bytes it kept as a Buffer in `req.rawBody` are verified (see
 * `express.json({ verify })`), and without them the request is passed to `next` with a
 * `BodyConsumedError` (a 500 from Express's error handler).
 */
function verifiedCallback(verifier, options) {
  const settings = checkedOptions(verifier, options, 'express');
  return function yunxinCallback(req, res, next) {
    rawBodyOf(settings, req, req, req.rawBody)
      .then((got) => {
        const outcome = verified(settings, got, req.headers);
        if (outcome.refusal) {
          res.writeHead(outcome.refusal.status, refusalHeaders(outcome));
          res.end(outcome.refusal.body);
          return;
        }
        req.yunxinEvent = outcome.event;
        next();
      })
      .catch(next);
  };
}

module.exports = { verifiedCallback, BodyConsumedError };
