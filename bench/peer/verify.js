'use strict';
/*
 * bench/peer/verify.js - an independent verifier of ecred QR texts, for the
 * side-by-side figure of bench/run: prefix, base45 (RFC 9285, written here),
 * zlib inflate with the RC1 preset dictionary (node's zlib), then COSE_Sign1
 * decode and ES256 verify by @auth0/cose. Baseline in the same process: node's
 * raw crypto.verify of the same Sig_structure. It never touches the network;
 * every loop is bounded by a CPU-time budget.
 *
 * usage: node verify.js --texts FILE --key PUB.pem --dict rc1-dictionary-v2.hex
 *                       [--seconds S] [--reps N]
 * prints: PEER|<verifications per CPU second>|<raw verify per CPU second>|<ratio>
 */
const fs = require('fs');
const zlib = require('zlib');
const crypto = require('crypto');
const { Sign1 } = require('@auth0/cose');

function arg(name, dflt) {
  const i = process.argv.indexOf(name);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : dflt;
}

const B45 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:';
const B45_VALUE = new Map([...B45].map((c, i) => [c, i]));

// RFC 9285: groups of 3 characters give 2 bytes, a final pair gives 1.
function base45Decode(s) {
  if (s.length % 3 === 1) throw new Error('base45: bad length');
  const out = Buffer.alloc(Math.floor(s.length / 3) * 2 + (s.length % 3 === 2 ? 1 : 0));
  let o = 0;
  for (let i = 0; i < s.length; i += 3) {
    const c = B45_VALUE.get(s[i]), d = B45_VALUE.get(s[i + 1]);
    if (c === undefined || d === undefined) throw new Error('base45: bad character');
    if (i + 2 < s.length) {
      const e = B45_VALUE.get(s[i + 2]);
      if (e === undefined) throw new Error('base45: bad character');
      const n = c + d * 45 + e * 2025;
      if (n > 0xffff) throw new Error('base45: group out of range');
      out[o++] = n >> 8;
      out[o++] = n & 0xff;
    } else {
      const n = c + d * 45;
      if (n > 0xff) throw new Error('base45: pair out of range');
      out[o++] = n;
    }
  }
  return out;
}

function textToCose(text, dict) {
  if (!text.startsWith('RC1:')) throw new Error('not an RC1 text');
  const bin = base45Decode(text.slice(4));
  // Same cap as ours (ECRED_COSE_MAX): an inflated credential is at most 1400 bytes.
  return bin[0] === 0x78 ? zlib.inflateSync(bin, { dictionary: dict, maxOutputLength: 1400 }) : bin;
}

// CBOR head for a byte string of length n (major type 2).
function bstrHead(n) {
  if (n < 24) return Buffer.from([0x40 | n]);
  if (n < 256) return Buffer.from([0x58, n]);
  return Buffer.from([0x59, n >> 8, n & 0xff]);
}

// Sig_structure ["Signature1", protected, h'', payload] (RFC 9052 section 4.4).
function sigStructure(prot, payload) {
  return Buffer.concat([Buffer.from([0x84, 0x6a]), Buffer.from('Signature1'), bstrHead(prot.length),
    Buffer.from(prot), Buffer.from([0x40]), bstrHead(payload.length), Buffer.from(payload)]);
}

function cpuSeconds() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

function median(v) {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function main() {
  const texts = fs.readFileSync(arg('--texts'), 'utf8').split('\n').filter((l) => l.length);
  const key = crypto.createPublicKey(fs.readFileSync(arg('--key')));
  const dict = Buffer.from(fs.readFileSync(arg('--dict'), 'utf8').replace(/\s+/g, ''), 'hex');
  const seconds = Number(arg('--seconds', '0.4'));
  const reps = Math.max(1, Math.min(64, Number(arg('--reps', '5'))));
  const maxIters = 2000000;

  // Check every text once, and keep the pieces the raw baseline needs.
  const raw = [];
  for (const t of texts) {
    const msg = Sign1.decode(textToCose(t, dict));
    await msg.verify(key); // throws if the signature does not verify
    raw.push({ tbs: sigStructure(msg.encodedProtectedHeaders, msg.payload), sig: Buffer.from(msg.signature) });
  }
  // The peer must reject a damaged signature, or its figure means nothing.
  const bad = Sign1.decode(textToCose(texts[0], dict));
  bad.signature[10] ^= 1;
  let rejected = false;
  try {
    await bad.verify(key);
  } catch {
    rejected = true;
  }
  if (!rejected) throw new Error('the peer accepted a damaged signature');

  async function peerRun() {
    let done = 0;
    const t0 = cpuSeconds();
    let t = t0;
    while (t - t0 < seconds && done < maxIters) {
      for (const text of texts) {
        const msg = Sign1.decode(textToCose(text, dict));
        await msg.verify(key);
      }
      done += texts.length;
      t = cpuSeconds();
    }
    return done / (t - t0);
  }
  function rawRun() {
    let done = 0;
    const t0 = cpuSeconds();
    let t = t0;
    while (t - t0 < seconds && done < maxIters) {
      for (const r of raw)
        if (!crypto.verify('sha256', r.tbs, { key, dsaEncoding: 'ieee-p1363' }, r.sig))
          throw new Error('raw verify failed');
      done += raw.length;
      t = cpuSeconds();
    }
    return done / (t - t0);
  }

  await peerRun(); // warm-up: JIT and lazy crypto setup
  rawRun();
  const peer = [], base = [], ratio = [];
  for (let r = 0; r < reps; r++) {
    const a = await peerRun();
    const b = rawRun();
    peer.push(a);
    base.push(b);
    ratio.push(a / b);
  }
  console.log(`PEER|${median(peer).toFixed(1)}|${median(base).toFixed(1)}|${median(ratio).toFixed(3)}`);
}

main().catch((e) => {
  console.error(`verify.js: ${e.message}`);
  process.exit(1);
});
