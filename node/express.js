'use strict';
// Express middleware for call-end callbacks: reads the raw body itself (no body parser needed or
// wanted), verifies it, and hands the event on as `req.yunxinEvent`; a refused callback is
// answered here with the core's status and JSON body and never reaches the route's handler.

const { BodyConsumedError, checkedOptions, rawBodyOf, accepted, settleOnAnswer, refusalHeaders } = require('./callback-http.js');

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
 *
 * Repeated deliveries are handled once: each verified delivery is claimed in `guard` (default: a
 * fresh in-memory `DeliveryGuard` for this middleware; `deduplicate: false` for none) before
 * `next()`. A delivery handled before is answered 200 `{"result":"duplicate"}` without the
 * route, one being handled by another request 409, and a failed store 503. The delivery is
 * completed when the route answers 2xx (when the answer's head is written) and released when it
 * answers otherwise, its error reaches Express's error handler, or the connection closes before
 * any answer, so that the sender's next attempt is handled. `req.yunxinDelivery` says which
 * credentials matched.
 */
function verifiedCallback(verifier, options) {
  const settings = checkedOptions(verifier, options, 'express');
  return function yunxinCallback(req, res, next) {
    rawBodyOf(settings, req, req, req.rawBody)
      .then((got) => accepted(settings, got, req.headers))
      .then((outcome) => {
        if (outcome.refusal) {
          res.writeHead(outcome.refusal.status, refusalHeaders(outcome));
          res.end(outcome.refusal.body);
          return;
        }
        req.yunxinEvent = outcome.event;
        req.yunxinDelivery = outcome.delivery;
        settleOnAnswer(settings, outcome, res);
        next();
      })
      .catch(next);
  };
}

module.exports = { verifiedCallback, BodyConsumedError };
