'use strict';
// How MockServer finds the mock: options.binary, else $YUNXIN_ECP_MOCK, else yunxin-ecp-mock on
// PATH, else `yunxin-ecp mock` with yunxin-ecp on PATH; an error naming every place tried.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { MockServer, mockCommand } = require('../../node/testing.js');

const MOCK = process.env.YUNXIN_ECP_MOCK || path.join(__dirname, '..', '..', 'target', 'release', 'yunxin-ecp-mock');

function tempDir(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'yunxin-ecp-mock-path-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function script(dir, name, text) {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text, { mode: 0o755 });
  return file;
}

/** Runs `fn` with YUNXIN_ECP_MOCK and PATH as given (undefined: unset), then puts them back. */
async function withEnv(env, fn) {
  const saved = { YUNXIN_ECP_MOCK: process.env.YUNXIN_ECP_MOCK, PATH: process.env.PATH };
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

test('options.binary comes first, and must be an executable file', async (t) => {
  const dir = tempDir(t);
  const given = script(dir, 'my-mock', '#!/bin/sh\n');
  await withEnv({ YUNXIN_ECP_MOCK: MOCK }, () => {
    assert.deepEqual(mockCommand(given), [given]);
    assert.throws(() => mockCommand(path.join(dir, 'absent')), /no executable mock binary at .*absent \(given as options.binary\)/);
  });
});

test('then $YUNXIN_ECP_MOCK, then yunxin-ecp-mock on PATH, then yunxin-ecp mock', async (t) => {
  const mockDir = tempDir(t);
  const cliDir = tempDir(t);
  const onPathMock = script(mockDir, 'yunxin-ecp-mock', '#!/bin/sh\n');
  const cli = script(cliDir, 'yunxin-ecp', '#!/bin/sh\n');
  await withEnv({ YUNXIN_ECP_MOCK: MOCK, PATH: `${mockDir}${path.delimiter}${cliDir}` }, () => {
    assert.deepEqual(mockCommand(), [MOCK]);
  });
  await withEnv({ YUNXIN_ECP_MOCK: undefined, PATH: `${cliDir}${path.delimiter}${mockDir}` }, () => {
    assert.deepEqual(mockCommand(), [onPathMock]);
  });
  await withEnv({ YUNXIN_ECP_MOCK: undefined, PATH: cliDir }, () => {
    assert.deepEqual(mockCommand(), [cli, 'mock']);
  });
  await withEnv({ YUNXIN_ECP_MOCK: path.join(mockDir, 'absent'), PATH: cliDir }, () => {
    assert.throws(() => mockCommand(), /\(named by the environment variable YUNXIN_ECP_MOCK\)/);
  });
});

test('nothing found: the error names every place tried', async (t) => {
  const empty = tempDir(t);
  await withEnv({ YUNXIN_ECP_MOCK: undefined, PATH: empty }, async () => {
    assert.throws(() => mockCommand(), (e) => {
      assert.equal(e.code, 'YUNXIN_ECP_NO_MOCK');
      for (const place of ['options.binary', 'YUNXIN_ECP_MOCK', 'yunxin-ecp-mock on PATH', 'yunxin-ecp on PATH']) {
        assert.ok(e.message.includes(place), `${place} in ${e.message}`);
      }
      return true;
    });
    await assert.rejects(MockServer.start(), (e) => e.code === 'YUNXIN_ECP_NO_MOCK');
  });
});

test('a mock started as `yunxin-ecp mock` answers', async (t) => {
  // A stand-in for the operators' command: it insists on the `mock` subcommand, then runs the mock
  // binary with the options that follow it.
  const dir = tempDir(t);
  script(dir, 'yunxin-ecp', `#!/bin/sh\n[ "$1" = mock ] || { echo "expected the mock subcommand, got $1" >&2; exit 2; }\nshift\nexec '${MOCK}' "$@"\n`);
  const mock = await withEnv({ YUNXIN_ECP_MOCK: undefined, PATH: `${dir}${path.delimiter}/usr/bin${path.delimiter}/bin` }, () =>
    MockServer.start(),
  );
  t.after(() => mock.stop());
  assert.match(mock.baseUrl, /^http:\/\/127\.0\.0\.1:\d+/);
  const stats = await mock.stats();
  assert.equal(typeof stats, 'object');
});
