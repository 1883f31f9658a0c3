'use strict';
// yunxin-ecp for Node.js: the Rust core as a native addon. Every rule (signing, validation,
// callbacks, retries, redirects, the size cap, redaction, log events) is the core's; this file
// only loads the addon, maps its errors to classes, and drives the core's exchange over Node's
// own http/https, so that no request blocks the event loop.

const http = require('node:http');
const https = require('node:https');
const path = require('node:path');
const util = require('node:util');
const { EventEmitter } = require('node:events');

// ---------------------------------------------------------------------------------------------
// Loading the addon

function platformTag() {
  const { platform, arch } = process;
  if (platform === 'linux') {
    let musl = false;
    try {
      const report = process.report && process.report.getReport();
      musl = !!(report && report.header && !report.header.glibcVersionRuntime);
    } catch {
      musl = false;
    }
    return `linux-${arch}-${musl ? 'musl' : 'gnu'}`;
  }
  if (platform === 'win32') return `win32-${arch}-msvc`;
  return `${platform}-${arch}`;
}

function loadNative() {
  const tag = platformTag();
  const candidates = [];
  if (process.env.YUNXIN_ECP_NATIVE) candidates.push(process.env.YUNXIN_ECP_NATIVE);
  candidates.push(path.join(__dirname, `yunxin-ecp.${tag}.node`));
  candidates.push(`yunxin-ecp-${tag}`);
  const tried = [];
  for (const candidate of candidates) {
    try {
      return require(candidate);
    } catch (e) {
      tried.push(`  ${candidate}: ${e && e.code ? e.code + ' ' : ''}${e && e.message ? e.message.split('\n')[0] : e}`);
    }
  }
  const error = new Error(
    `yunxin-ecp: no native addon for this platform (${tag}, Node ${process.version}); tried:\n` +
      tried.join('\n') +
      '\nThe package ships yunxin-ecp.linux-x64-gnu.node (glibc 2.17 or later); on another ' +
      'platform, build it from the repository with `npx napi build --platform --release` in node/.',
  );
  error.code = 'YUNXIN_ECP_NO_ADDON';
  throw error;
}

const native = loadNative();

// ---------------------------------------------------------------------------------------------
// Errors: the core's error view, as classes

const MARK = '\u0001yunxin-ecp:';

/** The root of every error this package throws about a request, a callback or a setting. */
class YunxinError extends Error {
  constructor(message, view = {}) {
    super(message);
    this.name = new.target.name;
    /** `validation`, `api`, `protocol`, `transport`, `callback`, `entropy` or `aborted`. */
    this.kind = view.kind;
    /** Whether the same request may be sent again: `never`, `safe`, `backoff`, `once_after_delay`, `outcome_unknown`. */
    this.retryAdvice = view.retry || 'never';
    /** Whether the request may have reached the service. */
    this.maybeSent = !!view.maybe_sent;
    /** The refused field, argument or header. */
    this.field = view.field ?? undefined;
    /** The validation rule's code (`length`, `country_code`, ...). */
    this.rule = view.rule ?? undefined;
    /** For list parameters, the offending entry. */
    this.index = view.index ?? undefined;
    /** Why: the protocol error's kind, the callback's refusal, the transport step. */
    this.reason = view.reason ?? undefined;
    /** The service's code (`ApiError`). */
    this.code = view.code ?? undefined;
    this.apiMessage = view.api_message ?? undefined;
    this.meaning = view.meaning ?? undefined;
    this.httpStatus = view.http_status ?? undefined;
    this.endpoint = view.endpoint ?? undefined;
    this.path = view.path ?? undefined;
    this.attempts = view.attempts ?? undefined;
    this.detail = view.detail ?? undefined;
    this.rawBody = view.raw_body ?? undefined;
  }
}
/** A parameter or setting refused before anything was sent (`field`, `rule`). */
class ValidationError extends YunxinError {}
/** The service answered a code other than 200 (`code`, `apiMessage`, `meaning`). */
class ApiError extends YunxinError {}
/** The answer was not a readable answer (`reason`: `redirect`, `html`, `too_large`, ...). */
class ProtocolError extends YunxinError {}
/** No complete answer came (`reason`: `connect`, `timeout`, `tls`, `io`). */
class TransportError extends YunxinError {}
/** A transport timeout. */
class TimeoutError extends TransportError {}
/** A callback refused (`reason`: `md5_mismatch`, `checksum_mismatch`, `stale`, `duplicate_header`, ...). */
class CallbackVerificationError extends YunxinError {}
/** The call was aborted through its `AbortSignal`; `retryAdvice` is `outcome_unknown` when a start may have been placed. */
class AbortedError extends YunxinError {}
/**
 * A `DeliveryGuard`'s store failed: it threw or rejected, or its `claim` answered something
 * other than `'first'`, `'duplicate'` or `'in_progress'` (`step`: which of its methods). The
 * message names the error's type and the step, never the error's own message, and the error is
 * not kept as `cause`: a store's error may carry its connection string. Answer the callback 503
 * so that the sender delivers it again.
 */
class DeliveryStoreError extends YunxinError {
  constructor(message, view) {
    super(message, view);
    /** `claim`, `complete` or `release`. */
    this.step = undefined;
  }
}

function typeError(argument, expected) {
  const e = new TypeError(`${argument}: expected ${expected}`);
  e.code = 'ERR_INVALID_ARG_TYPE';
  e.argument = argument;
  return e;
}

function fromView(view) {
  switch (view.kind) {
    case 'type':
      return typeError(view.field, view.message.replace(/^[^:]*: expected /, ''));
    case 'validation':
      return new ValidationError(view.message, view);
    case 'api':
      return new ApiError(view.message, view);
    case 'protocol':
      return new ProtocolError(view.message, view);
    case 'transport':
      return view.reason === 'timeout'
        ? new TimeoutError(view.message, view)
        : new TransportError(view.message, view);
    case 'callback':
      return new CallbackVerificationError(view.message, view);
    case 'delivery_store':
      return new DeliveryStoreError(view.message, view);
    default:
      return new YunxinError(view.message, view);
  }
}

function converted(e) {
  if (e instanceof Error && typeof e.message === 'string' && e.message.startsWith(MARK)) {
    return fromView(JSON.parse(e.message.slice(MARK.length)));
  }
  return e;
}

function call(fn) {
  try {
    return fn();
  } catch (e) {
    throw converted(e);
  }
}

// ---------------------------------------------------------------------------------------------
// Arguments

function isPlainObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !Buffer.isBuffer(v);
}
function str(v, name) {
  if (typeof v !== 'string') throw typeError(name, 'a string');
  return v;
}
function num(v, name) {
  if (typeof v !== 'number') throw typeError(name, 'a number');
  return v;
}
function optNum(v, name) {
  return v === undefined ? undefined : num(v, name);
}
function obj(v, name) {
  if (!isPlainObject(v)) throw typeError(name, 'an object');
  return v;
}
function body(v, name) {
  if (typeof v === 'string') return v;
  if (Buffer.isBuffer(v)) return v;
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  throw typeError(name, 'a Buffer, a Uint8Array or a string');
}
// The only headers a callback verifier reads (the core's names, lowercase): the rest of a
// request's headers are not converted for the addon at all.
const CALLBACK_HEADERS = new Set(native.callbackHeaderNames());
const HEADERS_EXPECTED = 'an object of strings (or arrays of strings), or [name, value] pairs';

/**
 * A callback's headers for the addon, from `IncomingHttpHeaders` (an array value is a header
 * sent several times: each copy is kept, so the core refuses it; an undefined value is an absent
 * header) or from `[name, value]` pairs (`rawHeaders` paired up, a fetch `Headers`' entries).
 * Names the verifier does not read are left out. The rest go as one string,
 * `name\nvalue\nname\nvalue` (one conversion instead of ten), or as `[name, value, ...]` in
 * the case HTTP never delivers, a newline inside a name or a value.
 */
function callbackHeaders(h) {
  const out = [];
  let newline = false;
  const add = (name, value) => {
    out.push(name, value);
    if (!newline && (name.includes('\n') || value.includes('\n'))) newline = true;
  };
  if (Array.isArray(h)) {
    for (const pair of h) {
      if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string' || typeof pair[1] !== 'string') {
        throw typeError('headers', HEADERS_EXPECTED);
      }
      if (CALLBACK_HEADERS.has(pair[0].toLowerCase())) add(pair[0], pair[1]);
    }
  } else if (h !== null && typeof h === 'object') {
    for (const name of Object.keys(h)) {
      const value = h[name];
      if (value === undefined || value === null) continue;
      const read = CALLBACK_HEADERS.has(name.toLowerCase());
      if (typeof value === 'string') {
        if (read) add(name, value);
      } else if (Array.isArray(value)) {
        for (const v of value) {
          if (typeof v !== 'string') throw typeError('headers', HEADERS_EXPECTED);
          if (read) add(name, v);
        }
      } else {
        throw typeError('headers', HEADERS_EXPECTED);
      }
    }
  } else {
    throw typeError('headers', HEADERS_EXPECTED);
  }
  return newline ? out : out.join('\n');
}

function signalArg(options) {
  if (options === undefined) return undefined;
  obj(options, 'options');
  const s = options.signal;
  if (s === undefined || s === null) return undefined;
  if (typeof s !== 'object' || typeof s.aborted !== 'boolean' || typeof s.addEventListener !== 'function') {
    throw typeError('signal', 'an AbortSignal');
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// Signing and credentials

// Each Credentials' native object and app key (public, kept here so that signing need not ask
// the addon for it each time).
const nativeOf = new WeakMap();

function record(c, name) {
  const r = nativeOf.get(c);
  if (!r) throw typeError(name, 'a Credentials');
  return r;
}

function unwrapCredentials(c, name = 'credentials') {
  return record(c, name).native;
}

function wrapNative(c, n) {
  nativeOf.set(c, { native: n, appKey: n.appKey });
}

/** The header object from the addon's `nonce curTime checkSum`. */
function packedHeaders(appKey, packed) {
  const i = packed.indexOf(' ');
  const j = packed.indexOf(' ', i + 1);
  return { AppKey: appKey, Nonce: packed.slice(0, i), CurTime: packed.slice(i + 1, j), CheckSum: packed.slice(j + 1) };
}

function signedNow(r) {
  let packed;
  try {
    packed = r.native.signNowPacked();
  } catch (e) {
    throw converted(e);
  }
  return packedHeaders(r.appKey, packed);
}

/** An app key and its secret. The secret stays in the native addon and is never shown. */
class Credentials {
  constructor(appKey, appSecret) {
    str(appKey, 'appKey');
    str(appSecret, 'appSecret');
    wrapNative(this, call(() => new native.Credentials(appKey, appSecret)));
  }
  /** From `YUNXIN_APP_KEY` and `YUNXIN_APP_SECRET`. */
  static fromEnv() {
    const c = Object.create(Credentials.prototype);
    wrapNative(c, call(() => native.Credentials.fromEnv()));
    return c;
  }
  get appKey() {
    return record(this, 'this').appKey;
  }
  /** The four headers signed with this nonce and `CurTime` (Unix seconds). */
  sign(nonce, curTime) {
    str(nonce, 'nonce');
    num(curTime, 'curTime');
    return call(() => unwrapCredentials(this, 'this').sign(nonce, curTime));
  }
  /** The four headers signed now, with a fresh nonce from the OS CSPRNG. */
  signNow() {
    return signedNow(record(this, 'this'));
  }
  toJSON() {
    return { appKey: this.appKey };
  }
  toString() {
    return unwrapCredentials(this, 'this').describe();
  }
  [util.inspect.custom]() {
    return `Credentials { appKey: ${util.inspect(this.appKey)}, appSecret: '<redacted>' }`;
  }
}

/** The CheckSum: lowercase hex SHA-1 of `secret + nonce + curTime`. */
function checksum(secret, nonce, curTime) {
  str(secret, 'secret');
  str(nonce, 'nonce');
  if (typeof curTime !== 'string' && typeof curTime !== 'number') {
    throw typeError('curTime', 'a string or a number');
  }
  return call(() => native.checksum(secret, nonce, curTime));
}

/** The four auth headers (`AppKey`, `Nonce`, `CurTime`, `CheckSum`): signed now, or with the given nonce and time. */
function signHeaders(credentials, options) {
  const r = record(credentials, 'credentials');
  if (options === undefined) return signedNow(r);
  obj(options, 'options');
  if (options.nonce === undefined && options.curTime === undefined) return signedNow(r);
  return call(() => r.native.sign(str(options.nonce, 'nonce'), num(options.curTime, 'curTime')));
}

// ---------------------------------------------------------------------------------------------
// Callbacks

/**
 * The delivery object of a packed `credential curTimeMs expiresAtMs key` from the addon (one
 * string crossing instead of an object of five keys); the app key is the verifier's own.
 */
function deliveryOf(packed, appKeys) {
  const a = packed.indexOf(' ');
  const b = packed.indexOf(' ', a + 1);
  const c = packed.indexOf(' ', b + 1);
  const credential = Number(packed.slice(0, a));
  return {
    credential,
    appKey: appKeys[credential],
    curTimeMs: Number(packed.slice(a + 1, b)),
    key: packed.slice(c + 1),
    expiresAtMs: Number(packed.slice(b + 1, c)),
  };
}

/** One `Credentials` or an array of them, as the addon's objects (the count is the core's rule). */
function credentialsList(credentials) {
  if (!Array.isArray(credentials)) return [record(credentials, 'credentials').native];
  return credentials.map((c, i) => record(c, `credentials[${i}]`).native);
}

/**
 * Verifies call-end callbacks on the raw body bytes and the request's headers, signed with one
 * `Credentials` or with any of an array of 1 to 8: during an AppSecret rotation the old and the
 * new, or several apps on one endpoint (each matched by its AppKey). Every one is tried whatever
 * the outcome; the delivery returned says which matched.
 */
class CallbackVerifier {
  #native;
  #appKeys;
  constructor(credentials, options = {}) {
    const list = credentialsList(credentials);
    obj(options, 'options');
    const tolerance = optNum(options.toleranceMs, 'toleranceMs');
    const skip = options.skipTimeCheck === true;
    this.#native = call(() => new native.CallbackVerifier(list, tolerance, skip));
    this.#appKeys = Object.freeze(this.#native.appKeys);
  }
  /** The app key of each credentials, in the order given. */
  get appKeys() {
    return this.#appKeys;
  }
  /**
   * Throws `CallbackVerificationError` unless the body and headers are a valid signed callback;
   * returns the delivery: `{ credential, appKey, curTimeMs, key, expiresAtMs }`.
   */
  verify(rawBody, headers, options = {}) {
    const b = body(rawBody, 'rawBody');
    const h = callbackHeaders(headers);
    obj(options, 'options');
    const now = optNum(options.nowMs, 'nowMs');
    let packed;
    try {
      packed = this.#native.verify(b, h, now);
    } catch (e) {
      throw converted(e);
    }
    return deliveryOf(packed, this.#appKeys);
  }
  /** Verifies, then parses: `{ delivery, event }`, for a handler that guards against repeated deliveries. */
  verifyDelivery(rawBody, headers, options = {}) {
    const b = body(rawBody, 'rawBody');
    const h = callbackHeaders(headers);
    obj(options, 'options');
    const now = optNum(options.nowMs, 'nowMs');
    let out;
    try {
      out = this.#native.verifyDelivery(b, h, now);
    } catch (e) {
      throw converted(e);
    }
    return { delivery: deliveryOf(out.delivery, this.#appKeys), event: out.event };
  }
  /** Verifies, then parses: `{ type: 'call_end', session, answered, billedMinutes, costFen, ... }` or `{ type: 'other', eventType, raw }`. */
  verifyAndParse(rawBody, headers, options = {}) {
    const b = body(rawBody, 'rawBody');
    const h = callbackHeaders(headers);
    obj(options, 'options');
    const now = optNum(options.nowMs, 'nowMs');
    try {
      return this.#native.verifyAndParse(b, h, now);
    } catch (e) {
      throw converted(e);
    }
  }
  [util.inspect.custom]() {
    return `CallbackVerifier { appKeys: ${util.inspect([...this.#appKeys])} }`;
  }
}

/**
 * A callback body signed as the service signs it, for testing a receiver: the headers to send
 * (`Content-Type`, `AppKey`, `CurTime` in milliseconds, `MD5`, `CheckSum`), at `curTimeMs`
 * (default: now).
 */
function signCallback(credentials, rawBody, curTimeMs) {
  const n = record(credentials, 'credentials').native;
  const b = body(rawBody, 'body');
  const at = optNum(curTimeMs, 'curTimeMs');
  const flat = call(() => native.signCallback(n, b, at));
  const headers = {};
  for (let i = 0; i < flat.length; i += 2) headers[flat[i]] = flat[i + 1];
  return headers;
}

// ---------------------------------------------------------------------------------------------
// Repeated deliveries

// What a store's claim() may answer: the core's codes.
const CLAIM_CODES = Object.freeze(native.claimCodes());

/**
 * What a thrown value is called in a `DeliveryStoreError`: its class's name when that is a plain
 * identifier, else its `typeof`; never its message or its text.
 */
function thrownType(e) {
  if (e !== null && typeof e === 'object') {
    const name = e.constructor && e.constructor.name;
    return typeof name === 'string' && /^[A-Za-z_$][\w$]{0,63}$/.test(name) ? name : 'an object';
  }
  return e === undefined ? 'undefined' : `a ${typeof e}`;
}

/** `reason` is the refusal it leads to; `step` the store's method that failed. */
function storeError(detail, step) {
  const e = new DeliveryStoreError(native.storeErrorMessage(detail), { kind: 'delivery_store', reason: 'store_unavailable' });
  e.step = step;
  return e;
}

function deliveryArg(d) {
  if (d === null || typeof d !== 'object' || typeof d.key !== 'string' || typeof d.expiresAtMs !== 'number') {
    throw typeError('delivery', 'a delivery from CallbackVerifier.verify or verifyDelivery');
  }
  return d;
}

/**
 * Guards a handler against processing one callback twice. `claim(delivery)` before handling it
 * resolves to `'first'` (handle it, then `complete` it, or `release` it when handling failed so
 * that the sender's next attempt is handled), `'duplicate'` (handled before: answer 200) or
 * `'in_progress'` (another request is handling it: answer 409 so that the sender tries later).
 *
 * `new DeliveryGuard()` keeps deliveries in this process (the core's bounded store: at most
 * `capacity`, default 100,000, each until a repeat would be stale). `new DeliveryGuard({ store })`
 * uses a store written in JavaScript instead (several processes sharing Redis or a table): an
 * object with `claim(key, expiresAtMs, nowMs)` resolving to one of the three answers,
 * `complete(key, expiresAtMs)` and `release(key)`, each atomic. It is called from JavaScript,
 * awaited; whatever it throws or rejects with, or a wrong answer, rejects with
 * `DeliveryStoreError`.
 */
class DeliveryGuard {
  #memory;
  #store;
  constructor(options = {}) {
    obj(options, 'options');
    if (options.store !== undefined) {
      const s = options.store;
      if (s === null || typeof s !== 'object' || !['claim', 'complete', 'release'].every((m) => typeof s[m] === 'function')) {
        throw typeError('store', 'an object with claim(), complete() and release() methods');
      }
      if (options.capacity !== undefined) {
        throw typeError('capacity', 'no capacity with a store of your own (it bounds the memory store)');
      }
      this.#store = s;
    } else {
      const capacity = optNum(options.capacity, 'capacity');
      this.#memory = call(() => new native.MemoryDeliveries(capacity));
    }
  }
  /** Claims a verified delivery at `nowMs` (default: the clock). */
  async claim(delivery, options = {}) {
    const d = deliveryArg(delivery);
    obj(options, 'options');
    const now = optNum(options.nowMs, 'nowMs');
    if (this.#memory) return call(() => this.#memory.claim(d.key, d.expiresAtMs, now));
    let answer;
    try {
      answer = await this.#store.claim(d.key, d.expiresAtMs, now === undefined ? Date.now() : now);
    } catch (e) {
      throw storeError(`${thrownType(e)} thrown by the store's claim()`, 'claim');
    }
    if (!CLAIM_CODES.includes(answer)) {
      throw storeError(
        `the store's claim() must answer ${CLAIM_CODES.map((c) => `'${c}'`).join(', ')}; it answered ${thrownType(answer)}`,
        'claim',
      );
    }
    return answer;
  }
  /** The handler of a claimed delivery succeeded: repeats are duplicates from now on. */
  async complete(delivery) {
    const d = deliveryArg(delivery);
    if (this.#memory) return call(() => this.#memory.complete(d.key, d.expiresAtMs));
    try {
      await this.#store.complete(d.key, d.expiresAtMs);
    } catch (e) {
      throw storeError(`${thrownType(e)} thrown by the store's complete()`, 'complete');
    }
  }
  /** The handler of a claimed delivery failed: the sender's next attempt is handled. */
  async release(delivery) {
    const d = deliveryArg(delivery);
    if (this.#memory) return call(() => this.#memory.release(d.key));
    try {
      await this.#store.release(d.key);
    } catch (e) {
      throw storeError(`${thrownType(e)} thrown by the store's release()`, 'release');
    }
  }
  /** Deliveries held in memory (null with a store of one's own). */
  get held() {
    return this.#memory ? this.#memory.held : null;
  }
  /** Deliveries dropped from memory before they expired, to stay within `capacity` (null with a store of one's own): above zero, a repeat could be handled again. */
  get evicted() {
    return this.#memory ? this.#memory.evicted : null;
  }
  [util.inspect.custom]() {
    return this.#memory ? `DeliveryGuard { held: ${this.#memory.held} }` : 'DeliveryGuard { store: [own] }';
  }
}

/** Parses a callback body that was verified already. */
function parseCallback(rawBody) {
  const b = body(rawBody, 'rawBody');
  return call(() => native.parseCallback(b));
}

// ---------------------------------------------------------------------------------------------
// The exchange

function settingsArgs(o) {
  const s = {};
  if (o.baseUrl !== undefined) s.baseUrl = str(o.baseUrl, 'baseUrl');
  for (const k of ['connectTimeoutMs', 'timeoutMs', 'maxRetries', 'backoffMs', 'maxResponseBytes']) {
    if (o[k] !== undefined) s[k] = num(o[k], k);
  }
  return s;
}

/**
 * The core's sans-IO exchange, for a program on its own HTTP stack: `send()` gives each attempt
 * (signed afresh), `receive`/`tooLarge`/`fail` take what happened and say what next. The
 * fourth argument's `entropy` ({ nonces, nowSecs, jitter }) fixes nonces, clock and jitter:
 * for tests only, never for requests to the service.
 */
class Exchange {
  #native;
  constructor(request, credentials, settings = {}, testing = {}) {
    obj(request, 'request');
    const n = unwrapCredentials(credentials);
    const s = settingsArgs(obj(settings, 'settings'));
    obj(testing, 'options');
    const entropy = testing.entropy === undefined ? undefined : obj(testing.entropy, 'entropy');
    this.#native = call(() => new native.Exchange(request, n, s, entropy));
  }
  send() {
    return call(() => this.#native.send());
  }
  receive(status, location, responseBody, elapsedMs) {
    num(status, 'status');
    if (location !== undefined && location !== null) str(location, 'location');
    const b = body(responseBody, 'body');
    num(elapsedMs, 'elapsedMs');
    return call(() =>
      this.#native.receive(status, location ?? undefined, Buffer.isBuffer(b) ? b : Buffer.from(b), elapsedMs),
    );
  }
  tooLarge(status, elapsedMs) {
    return call(() => this.#native.tooLarge(num(status, 'status'), num(elapsedMs, 'elapsedMs')));
  }
  fail(kind, maybeSent, detail, elapsedMs) {
    str(kind, 'kind');
    if (typeof maybeSent !== 'boolean') throw typeError('maybeSent', 'a boolean');
    return call(() => this.#native.fail(kind, maybeSent, str(detail, 'detail'), num(elapsedMs, 'elapsedMs')));
  }
  /** The caller gave up on the attempt in flight: the retry advice (`outcome_unknown` when a start may have been placed). */
  cancel(maybeSent) {
    if (typeof maybeSent !== 'boolean') throw typeError('maybeSent', 'a boolean');
    return this.#native.cancel(maybeSent);
  }
  /** `{ level, name, fields, line }` for each event since the last call. */
  takeEvents() {
    return this.#native.takeEvents();
  }
}

// ---------------------------------------------------------------------------------------------
// The driver: one attempt over Node's http/https

const USER_AGENT = `${native.userAgent()} node/${process.versions.node}`;

function classify(err, ready) {
  const code = (err && err.code) || '';
  if (/^(ERR_TLS|ERR_SSL|CERT_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED|HOSTNAME_MISMATCH|ERR_OSSL)/.test(code)) {
    return 'tls';
  }
  if (!ready) return 'connect';
  return 'io';
}

function sendAttempt(attempt, signal, agent) {
  return new Promise((resolve) => {
    const started = performance.now();
    const url = new URL(attempt.url);
    const isHttps = url.protocol === 'https:';
    const payload = Buffer.from(attempt.body, 'utf8');
    const headers = { ...attempt.headers, 'Content-Length': String(payload.length), 'User-Agent': USER_AGENT };
    let ready = false; // the connection is open (TLS done): from here the request may have left
    let settled = false;
    let connectTimer;
    let totalTimer;
    let req;
    const finish = (outcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(connectTimer);
      clearTimeout(totalTimer);
      if (signal) signal.removeEventListener('abort', onAbort);
      outcome.elapsedMs = Math.max(0, performance.now() - started);
      resolve(outcome);
      if (req && outcome.type !== 'answer') req.destroy();
    };
    const onAbort = () => finish({ type: 'aborted', maybeSent: ready });
    req = (isHttps ? https : http).request(url, { method: attempt.method, headers, agent });
    req.on('socket', (socket) => {
      if (req.reusedSocket || (!socket.connecting && !isHttps)) {
        ready = true;
        clearTimeout(connectTimer);
        return;
      }
      socket.once(isHttps ? 'secureConnect' : 'connect', () => {
        ready = true;
        clearTimeout(connectTimer);
      });
    });
    req.on('error', (err) => {
      finish({ type: 'fail', kind: classify(err, ready), maybeSent: ready, detail: String(err && err.message) });
    });
    req.on('response', (res) => {
      const status = res.statusCode || 0;
      const location = typeof res.headers.location === 'string' ? res.headers.location : undefined;
      const cap = attempt.maxResponseBytes;
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > cap) {
        finish({ type: 'too_large', status });
        return;
      }
      const chunks = [];
      let length = 0;
      res.on('data', (chunk) => {
        length += chunk.length;
        if (length > cap) {
          finish({ type: 'too_large', status });
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => finish({ type: 'answer', status, location, body: Buffer.concat(chunks, length) }));
      res.on('error', (err) => finish({ type: 'fail', kind: 'io', maybeSent: true, detail: String(err && err.message) }));
      res.on('close', () => {
        if (!res.complete) finish({ type: 'fail', kind: 'io', maybeSent: true, detail: 'connection closed mid-answer' });
      });
    });
    connectTimer = setTimeout(() => {
      if (!ready) finish({ type: 'fail', kind: 'timeout', maybeSent: false, detail: 'connect timed out' });
    }, attempt.connectTimeoutMs);
    totalTimer = setTimeout(
      () => finish({ type: 'fail', kind: 'timeout', maybeSent: ready, detail: 'timed out' }),
      attempt.timeoutMs,
    );
    if (signal) signal.addEventListener('abort', onAbort, { once: true });
    req.end(payload);
  });
}

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const done = (aborted) => {
      clearTimeout(timer);
      if (signal) signal.removeEventListener('abort', onAbort);
      resolve(aborted);
    };
    const onAbort = () => done(true);
    const timer = setTimeout(() => done(false), ms);
    if (signal) signal.addEventListener('abort', onAbort, { once: true });
  });
}

function abortedError(advice, maybeSent, signal) {
  const message =
    advice === 'outcome_unknown'
      ? 'aborted after the request may have been sent: its outcome is unknown (query before sending it again)'
      : 'aborted before the request could take effect';
  const e = new AbortedError(message, { kind: 'aborted', retry: advice, maybe_sent: maybeSent, reason: 'aborted' });
  if (signal && signal.reason !== undefined) e.cause = signal.reason;
  return e;
}

// ---------------------------------------------------------------------------------------------
// The client

/**
 * A Promise client over the core's exchange and Node's http/https. Events (masked: never a
 * header or a body) are emitted as `client.on('event', ({ level, name, fields, line }) => ...)`.
 */
class Client extends EventEmitter {
  #credentials;
  #settings;
  #agents;
  constructor(options = {}) {
    super();
    obj(options, 'options');
    const credentials = options.credentials === undefined ? Credentials.fromEnv() : options.credentials;
    unwrapCredentials(credentials);
    this.#credentials = credentials;
    const checked = call(() => native.checkSettings(settingsArgs(options)));
    this.#settings = checked;
    this.#agents = {
      // Reads may share kept-alive connections; a start or another API's write gets a fresh one
      // each attempt, so that a stale pooled socket never makes its outcome unknown.
      reuse: {
        http: new http.Agent({ keepAlive: true }),
        https: new https.Agent({ keepAlive: true }),
      },
      fresh: {
        http: new http.Agent({ keepAlive: false }),
        https: new https.Agent({ keepAlive: false }),
      },
    };
  }
  /** Where requests go. */
  get baseUrl() {
    return this.#settings.baseUrl;
  }
  /** The checked settings: baseUrl, connectTimeoutMs, timeoutMs, maxRetries, backoffMs, maxResponseBytes. */
  get settings() {
    return { ...this.#settings };
  }
  /** Places a callback call; resolves to `{ session, raw }`. */
  startCall(params, options) {
    obj(params, 'params');
    const r = { kind: 'start_call' };
    r.callerAcc = str(params.callerAcc, 'callerAcc');
    r.caller = str(params.caller, 'caller');
    r.callee = str(params.callee, 'callee');
    r.maxDur = num(params.maxDur, 'maxDur');
    return this.#run(r, signalArg(options));
  }
  /** Starts a conference; resolves to `{ session, raw }`. */
  startConf(params, options) {
    obj(params, 'params');
    const r = { kind: 'start_conf' };
    r.callerAcc = str(params.callerAcc, 'callerAcc');
    r.caller = str(params.caller, 'caller');
    if (!Array.isArray(params.callees) || !params.callees.every((c) => typeof c === 'string')) {
      throw typeError('callees', 'an array of strings');
    }
    r.callees = params.callees;
    r.maxDur = num(params.maxDur, 'maxDur');
    return this.#run(r, signalArg(options));
  }
  /** The record of a call (`type: 'call'`, the default) or conference (`type: 'conference'`). */
  query(session, options = {}) {
    str(session, 'session');
    obj(options, 'options');
    const type = options.type === undefined ? 'call' : str(options.type, 'type');
    return this.#run({ kind: 'query', session, type }, signalArg(options));
  }
  /** Any YunXin server API: `{ path, params, idempotent }`; resolves to the whole JSON answer. */
  request(params, options) {
    obj(params, 'params');
    const r = { kind: 'api', path: str(params.path, 'path') };
    if (params.params !== undefined) {
      if (params.params === null || typeof params.params !== 'object') {
        throw typeError('params', 'an object of strings or [name, value] pairs');
      }
      r.params = params.params;
    }
    if (params.idempotent !== undefined) {
      if (typeof params.idempotent !== 'boolean') throw typeError('idempotent', 'a boolean');
      r.idempotent = params.idempotent;
    }
    return this.#run(r, signalArg(options));
  }
  /** Closes the kept-alive connections. */
  close() {
    for (const group of Object.values(this.#agents)) {
      group.http.destroy();
      group.https.destroy();
    }
  }
  #flush(exchange) {
    const events = exchange.takeEvents();
    if (this.listenerCount('event') === 0) return;
    for (const event of events) this.emit('event', event);
  }
  async #run(request, signal) {
    const exchange = new Exchange(request, this.#credentials, this.#settings);
    if (signal && signal.aborted) {
      throw abortedError(exchange.cancel(false), false, signal);
    }
    const reuse = request.kind === 'query' || (request.kind === 'api' && request.idempotent === true);
    const group = reuse ? this.#agents.reuse : this.#agents.fresh;
    // Bounded: the core allows at most 10 retries.
    for (let i = 0; i < 12; i++) {
      const attempt = exchange.send();
      this.#flush(exchange);
      const agent = attempt.url.startsWith('https:') ? group.https : group.http;
      const outcome = await sendAttempt(attempt, signal, agent);
      if (outcome.type === 'aborted') {
        const advice = exchange.cancel(outcome.maybeSent);
        this.#flush(exchange);
        throw abortedError(advice, outcome.maybeSent && advice === 'outcome_unknown', signal);
      }
      let next;
      try {
        if (outcome.type === 'answer') {
          next = exchange.receive(outcome.status, outcome.location, outcome.body, outcome.elapsedMs);
        } else if (outcome.type === 'too_large') {
          next = exchange.tooLarge(outcome.status, outcome.elapsedMs);
        } else {
          next = exchange.fail(outcome.kind, outcome.maybeSent, outcome.detail, outcome.elapsedMs);
        }
      } finally {
        this.#flush(exchange);
      }
      if (next.done) return next.answer;
      if (await sleep(next.retryAfterMs, signal)) {
        const advice = exchange.cancel(false);
        this.#flush(exchange);
        throw abortedError(advice, false, signal);
      }
    }
    throw new YunxinError('the exchange did not end within its retries', { kind: 'other' });
  }
  [util.inspect.custom]() {
    return `Client { baseUrl: ${util.inspect(this.baseUrl)}, appKey: ${util.inspect(this.#credentials.appKey)} }`;
  }
}

/** The base URL a client uses when none is given: `YUNXIN_BASE_URL` if set (checked), else the service's. */
function defaultBaseUrl() {
  return call(() => native.defaultBaseUrl());
}

module.exports = {
  checksum,
  signHeaders,
  Credentials,
  CallbackVerifier,
  signCallback,
  DeliveryGuard,
  parseCallback,
  Exchange,
  Client,
  defaultBaseUrl,
  USER_AGENT,
  YunxinError,
  ValidationError,
  ApiError,
  ProtocolError,
  TransportError,
  TimeoutError,
  CallbackVerificationError,
  AbortedError,
  DeliveryStoreError,
};

// For the framework middleware of this package (express.js, fastify.js, koa.js) only: the addon
// and the error conversion, not enumerable and not part of the typed API.
Object.defineProperty(module.exports, '_internal', { value: Object.freeze({ native, call, typeError }) });
