'use strict';
// Test helpers: the local ECP mock (the `yunxin-ecp-mock` binary) as a child process on a free
// port. Never part of a production code path: the mock is a separate program.

const { spawn } = require('node:child_process');
const http = require('node:http');

/** The samples' app, which the mock accepts by default. */
const SAMPLE_APP = Object.freeze({ appKey: 'fd460d34e786e7754e505bc4fab0f027', appSecret: 'xxxxxxxx' });

class MockServer {
  #child;
  #exited;
  /**
   * Starts the mock on 127.0.0.1 and a free port. `binary`: its path (default
   * `$YUNXIN_ECP_MOCK`, else `yunxin-ecp-mock` on PATH); `callbackUrl`: where it POSTs call-end
   * callbacks; `args`: more command-line options.
   */
  static async start(options = {}) {
    const binary = options.binary || process.env.YUNXIN_ECP_MOCK || 'yunxin-ecp-mock';
    const args = ['--host', '127.0.0.1', '--port', '0', '--exit-on-stdin-eof'];
    if (options.callbackUrl) args.push('--callback-url', options.callbackUrl);
    if (Array.isArray(options.args)) args.push(...options.args);
    const child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'inherit'] });
    const baseUrl = await new Promise((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => {
        child.kill();
        reject(new Error(`the mock (${binary}) printed no base URL within 30 s`));
      }, 30000);
      child.once('error', (e) => {
        clearTimeout(timer);
        reject(new Error(`could not start the mock (${binary}): ${e.message}`));
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the mock (${binary}) exited with ${code} before listening`));
      });
      child.stdout.on('data', (chunk) => {
        out += chunk;
        const m = /listening on (\S+)/.exec(out);
        if (m && out.length < 65536) {
          clearTimeout(timer);
          child.removeAllListeners('exit');
          resolve(m[1]);
        }
      });
    });
    child.stdout.resume();
    const mock = new MockServer(child, baseUrl);
    return mock;
  }
  constructor(child, baseUrl) {
    this.#child = child;
    this.#exited = new Promise((resolve) => child.once('exit', resolve));
    /** The mock's base URL, for `new Client({ baseUrl })`. */
    this.baseUrl = baseUrl;
  }
  /** A control request under /_mock: `POST` with form fields, or `GET` without. Resolves to the JSON answer. */
  control(method, path, fields) {
    const url = new URL(`/_mock/${path.replace(/^\/+/, '')}`, this.baseUrl);
    const body = fields ? new URLSearchParams(fields).toString() : '';
    return new Promise((resolve, reject) => {
      const req = http.request(url, {
        method,
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': Buffer.byteLength(body) },
        agent: false,
      });
      req.on('error', reject);
      req.on('response', (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode !== 200) return reject(new Error(`mock control ${path}: ${res.statusCode} ${text}`));
          try {
            resolve(JSON.parse(text));
          } catch {
            resolve(text);
          }
        });
      });
      req.end(body);
    });
  }
  /** Queues a fault (`busy_503`, `redirect`, `delay` with `ms`, `oversized` with `bytes`, ...) for the next request(s). */
  fault(kind, extra = {}) {
    const fields = { kind };
    for (const [k, v] of Object.entries(extra)) fields[k] = String(v);
    return this.control('POST', 'fault', fields);
  }
  /** `GET /_mock/stats`. */
  stats() {
    return this.control('GET', 'stats');
  }
  /** Stops the mock and waits for it to exit. */
  async stop() {
    if (this.#child.exitCode === null && this.#child.signalCode === null) {
      this.#child.stdin.end();
      const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5000);
      await this.#exited;
      clearTimeout(timer);
    }
  }
}

module.exports = { MockServer, SAMPLE_APP };
