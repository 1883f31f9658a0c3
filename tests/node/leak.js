'use strict';
// No native leak: 1,000,000 sign + verify cycles through the addon (every 10th verify refused, so
// that errors are made and thrown too), and the resident set size before and after, each taken
// after a full collection (run with --expose-gc). Growth over 16 MiB fails: what a leak of even
// a few bytes a cycle would give, while the allocator's own settling stays well under it.
// Prints the figures; exits non-zero on a leak. Run by tests/node/run.sh as one check.

const crypto = require('node:crypto');
const yx = require('../../node/index.js');

const CYCLES = Number(process.env.YUNXIN_LEAK_CYCLES || 1_000_000);
const LIMIT_MIB = 16;

if (typeof global.gc !== 'function') {
  console.error('leak: run with node --expose-gc');
  process.exit(2);
}

const credentials = new yx.Credentials('fd460d34e786e7754e505bc4fab0f027', 'xxxxxxxx');
const verifier = new yx.CallbackVerifier(credentials, { skipTimeCheck: true });
const body = Buffer.from(JSON.stringify({ eventType: '10', callback: JSON.stringify({ session: 's', durationSec: 61 }) }));
const md5 = crypto.createHash('md5').update(body).digest('hex');
const good = { appkey: credentials.appKey, curtime: '1700000000000', md5, checksum: yx.checksum('xxxxxxxx', md5, '1700000000000') };
const forged = { ...good, checksum: '0'.repeat(40) };

function cycles(n) {
  let refused = 0;
  for (let i = 0; i < n; i++) {
    const headers = credentials.signNow();
    if (headers.CheckSum.length !== 40) throw new Error('a signature of the wrong length');
    try {
      verifier.verifyAndParse(body, i % 10 === 9 ? forged : good);
    } catch (e) {
      if (!(e instanceof yx.CallbackVerificationError)) throw e;
      refused++;
    }
  }
  return refused;
}

function settledRss() {
  for (let i = 0; i < 3; i++) global.gc();
  return process.memoryUsage().rss;
}

// A warm-up, so that code, caches and the heap's first growth are in the "before" figure.
cycles(Math.min(50_000, CYCLES));
const before = settledRss();
const refused = cycles(CYCLES);
const after = settledRss();
const mib = (n) => (n / 1024 / 1024).toFixed(1);
const growth = after - before;
console.log(
  `leak: ${CYCLES} sign + verify cycles (${refused} refused): rss ${mib(before)} MiB before, ` +
    `${mib(after)} MiB after, growth ${mib(growth)} MiB (limit ${LIMIT_MIB} MiB)`,
);
if (refused !== Math.floor(CYCLES / 10)) {
  console.log(`leak: expected ${Math.floor(CYCLES / 10)} refusals, got ${refused}`);
  process.exit(1);
}
process.exit(growth > LIMIT_MIB * 1024 * 1024 ? 1 : 0);
