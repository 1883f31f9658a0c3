'use strict';
// Test helpers: the local ECP mock (the `yunxin-ecp-mock` binary) as a child process on a free
// port. Never part of a production code path: the mock is a separate program.

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');

/** The samples' app, which the mock accepts by default. */
const SAMPLE_APP = Object.freeze({ appKey: 'fd460d34e786e7754e505bc4fab0f027', appSecret: 'xxxxxxxx' });

/** An executable file named `name` in a directory of PATH, or null. */
function onPath(name) {
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      if (fs.statSync(candidate).isFile()) {
        fs.accessSync(candidate, fs.constants.X_OK);
        return candidate;
      }
    } catch {
      // Not there, or not executable: the next directory.
    }
  }
  return null;
}

function executable(file, how) {
  try {
    if (fs.statSync(file).isFile()) {
      fs.accessSync(file, fs.constants.X_OK);
      return;
    }
  } catch {
    // Reported below.
  }
  throw new Error(`no executable mock binary at ${path.resolve(file)} (${how})`);
}

/**
 * The command that runs the mock, as `[file, ...leading arguments]`: `binary` when given, else
 * `$YUNXIN_ECP_MOCK`, else `yunxin-ecp-mock` on PATH, else the operators' command `yunxin-ecp` on
 * PATH as `yunxin-ecp mock` (the same options); an error naming each place tried. The same
 * order as the Java MockServer's (which also reads a system property first).
 */
function mockCommand(binary) {
  if (binary !== undefined) {
    if (typeof binary !== 'string' || binary === '') throw new TypeError('binary: expected a path');
    if (!binary.includes(path.sep)) {
      // A bare name, as a shell would take it: looked up on PATH.
      const found = onPath(binary);
      if (!found) throw new Error(`no executable mock binary ${binary} on PATH (given as options.binary)`);
      return [found];
    }
    executable(binary, 'given as options.binary');
    return [binary];
  }
  const env = process.env.YUNXIN_ECP_MOCK;
  if (env) {
    executable(env, 'named by the environment variable YUNXIN_ECP_MOCK');
    return [env];
  }
  const mock = onPath('yunxin-ecp-mock');
  if (mock) return [mock];
  const cli = onPath('yunxin-ecp');
  if (cli) return [cli, 'mock'];
  const error = new Error(
    'no mock binary found; tried options.binary (not given), the environment variable ' +
      'YUNXIN_ECP_MOCK (unset), yunxin-ecp-mock on PATH, yunxin-ecp on PATH (as `yunxin-ecp mock`). ' +
      'Build it (cargo build --release -p yunxin-ecp-mock) or install the yunxin-ecp command, ' +
      'and name it with YUNXIN_ECP_MOCK=/path/to/yunxin-ecp-mock',
  );
  error.code = 'YUNXIN_ECP_NO_MOCK';
  throw error;
}

class MockServer {
  #child;
  #exited;
  /**
   * Starts the mock on 127.0.0.1 and a free port. `binary`: its path (else `$YUNXIN_ECP_MOCK`,
   * else `yunxin-ecp-mock` on PATH, else `yunxin-ecp mock` with `yunxin-ecp` on PATH);
   * `callbackUrl`: where it POSTs call-end callbacks; `args`: more command-line options.
   */
  static async start(options = {}) {
    const [binary, ...leading] = mockCommand(options.binary);
    const args = [...leading, '--host', '127.0.0.1', '--port', '0', '--exit-on-stdin-eof'];
    if (options.callbackUrl) args.push('--callback-url', options.callbackUrl);
    if (Array.isArray(options.args)) args.push(...options.args);
    const child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'inherit'] });
    const baseUrl = await new Promise((resolve, reject) => {
      let out = '';
      const settle = (fn, value) => {
        clearTimeout(timer);
        child.off('error', onError);
        child.off('exit', onExit);
        child.stdout.off('data', onData);
        fn(value);
      };
      const timer = setTimeout(() => {
        child.kill();
        settle(reject, new Error(`the mock (${binary}) printed no base URL within 30 s`));
      }, 30000);
      const onError = (e) => settle(reject, new Error(`could not start the mock (${binary}): ${e.message}`));
      const onExit = (code) => settle(reject, new Error(`the mock (${binary}) exited with ${code} before listening`));
      // Only until the first line that names the URL: the mock may print a line per request
      // afterwards, which is read and dropped (and must not touch the listeners stop() uses).
      const onData = (chunk) => {
        out += chunk;
        const m = /listening on (\S+)/.exec(out);
        if (m) settle(resolve, m[1]);
        else if (out.length > 65536) {
          child.kill();
          settle(reject, new Error(`the mock (${binary}) printed no base URL in its first 64 KiB`));
        }
      };
      child.once('error', onError);
      child.once('exit', onExit);
      child.stdout.on('data', onData);
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
      // Bounded: killed after 5 s, and no longer waited for 5 s after that.
      let timer;
      const late = new Promise((resolve) => {
        timer = setTimeout(() => {
          this.#child.kill('SIGKILL');
          timer = setTimeout(resolve, 5000);
        }, 5000);
      });
      await Promise.race([this.#exited, late]);
      clearTimeout(timer);
    }
  }
}

module.exports = { MockServer, SAMPLE_APP, mockCommand };
