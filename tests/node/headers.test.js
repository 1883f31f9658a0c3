'use strict';
// How a callback's headers reach the core: only the ones a callback carries, joined in one
// string, or as an array when a name or value holds a newline; either way the core sees the same
// pairs, so its rules (case, duplicates, refusals) hold whatever the shape.

const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');

const yx = require('../../node/index.js');

const creds = new yx.Credentials('fd460d34e786e7754e505bc4fab0f027', 'xxxxxxxx');
const verifier = new yx.CallbackVerifier(creds);
const body = Buffer.from('{"callback":"{\\"session\\":\\"s-1\\",\\"durationSec\\":5}","eventType":"10"}');
const md5 = crypto.createHash('md5').update(body).digest('hex');
const now = 1_700_000_000_000;
const signed = {
  host: '127.0.0.1:8000',
  'content-type': 'application/json',
  'user-agent': 'line one',
  appkey: creds.appKey,
  curtime: String(now),
  md5,
  checksum: yx.checksum('xxxxxxxx', md5, String(now)),
};
const refusedFor = (reason) => (e) => e instanceof yx.CallbackVerificationError && e.reason === reason;

test('a genuine callback passes as an object, as pairs and with headers named in any case', () => {
  assert.equal(verifier.verifyAndParse(body, signed, { nowMs: now }).session, 's-1');
  verifier.verify(body, Object.entries(signed), { nowMs: now });
  const upper = Object.fromEntries(Object.entries(signed).map(([k, v]) => [k.toUpperCase(), v]));
  verifier.verify(body, upper, { nowMs: now });
});

test('headers the verifier does not read may hold anything a string can, newlines included', () => {
  verifier.verify(body, { ...signed, 'x-note': 'a\nb', 'x-list': ['1', '2'] }, { nowMs: now });
});

test('a newline inside a signature header is that header\'s value, refused by the core as such', () => {
  assert.throws(() => verifier.verify(body, { ...signed, md5: `${md5}\nmd5` }, { nowMs: now }), refusedFor('md5_mismatch'));
  assert.throws(
    () => verifier.verify(body, { ...signed, checksum: `${signed.checksum}\nchecksum\n${signed.checksum}` }, { nowMs: now }),
    refusedFor('checksum_mismatch'),
  );
  const pairs = Object.entries(signed).map(([k, v]) => (k === 'md5' ? ['MD5', `x\n${md5}`] : [k, v]));
  assert.throws(() => verifier.verify(body, pairs, { nowMs: now }), refusedFor('md5_mismatch'));
});

test('a signature header sent twice is refused, in one case or two', () => {
  assert.throws(() => verifier.verify(body, { ...signed, md5: [md5, md5] }, { nowMs: now }), refusedFor('duplicate_header'));
  assert.throws(() => verifier.verify(body, { ...signed, MD5: md5 }, { nowMs: now }), refusedFor('duplicate_header'));
  assert.throws(() => verifier.verify(body, [...Object.entries(signed), ['CheckSum', signed.checksum]], { nowMs: now }), refusedFor('duplicate_header'));
});

test('a missing signature header is named', () => {
  const { md5: _, ...without } = signed;
  assert.throws(() => verifier.verify(body, without, { nowMs: now }), (e) => e.reason === 'missing_header' && e.field === 'MD5');
});

test('values that are not strings are refused naming headers, read or not', () => {
  for (const bad of [{ ...signed, 'x-n': 5 }, { ...signed, md5: [md5, 5] }, [['md5']], 'md5: x']) {
    assert.throws(() => verifier.verify(body, bad, { nowMs: now }), (e) => e instanceof TypeError && e.argument === 'headers');
  }
});
