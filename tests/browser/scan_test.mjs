// scan_test.mjs - the scanner page's cases in headless Chromium, driven
// through chromedriver's W3C WebDriver API with Node's own fetch (no npm
// package: chromedriver comes from Debian in lockstep with chromium). One
// browser per case, since the fake camera's video is fixed at launch. Each
// case asserts the verdict on the page, the fields shown to the role, that
// the key is not left in the URL and nothing but the key is stored, and
// writes a 360x780 screenshot. Prints "N passed, N failed".
// Must never: reach outside loopback, leave a browser or chromedriver running.
//   node scan_test.mjs CONFIG.json   (written by run.sh)
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import net from 'node:net';

const cfg = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const W3C_ELEMENT = 'element-6066-11e4-a52e-4f735466cecf';
let passed = 0;
let failed = 0;
const check = (cond, what) => {
  if (cond) passed++;
  else { failed++; console.error('FAIL: ' + what); }
};

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const port = await freePort();
const driver = spawn('chromedriver', [`--port=${port}`], { stdio: ['ignore', 'ignore', 'inherit'] });
const wd = `http://127.0.0.1:${port}`;
async function call(method, path, body) {
  const r = await fetch(wd + path, {
    method, headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const j = await r.json();
  if (!r.ok) throw new Error(`${method} ${path}: ${j.value?.error} ${j.value?.message?.split('\n')[0]}`);
  return j.value;
}
for (let i = 0; ; i++) {
  try { await call('GET', '/status'); break; } catch (e) { if (i > 100) throw e; await sleep(50); }
}

/* A browser for one case: phone-sized window, fake camera playing `video`
 * (or a camera the user refuses when video is null). */
async function session(video, dark) {
  const profile = mkdtempSync(join(tmpdir(), 'ecred-chromium-'));
  const args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-quic',
    '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--window-size=360,780', '--force-device-scale-factor=1', `--user-data-dir=${profile}`,
    '--use-fake-device-for-media-stream'];
  if (dark) args.push('--force-dark-mode', '--blink-settings=preferredColorScheme=0');
  if (video) args.push('--use-fake-ui-for-media-stream', `--use-file-for-fake-video-capture=${video}`);
  else args.push('--deny-permission-prompts');
  const v = await call('POST', '/session', { capabilities: { alwaysMatch: {
    browserName: 'chrome', 'goog:chromeOptions': { binary: '/usr/bin/chromium', args,
      mobileEmulation: { deviceMetrics: { width: 360, height: 780, pixelRatio: 1, touch: true, mobile: true } } } } } });
  const id = v.sessionId;
  const s = {
    exec: (script, ...a) => call('POST', `/session/${id}/execute/sync`, { script, args: a }),
    go: (url) => call('POST', `/session/${id}/url`, { url }),
    find: async (css) => (await call('POST', `/session/${id}/element`, { using: 'css selector', value: css }))[W3C_ELEMENT],
    type: (el, text) => call('POST', `/session/${id}/element/${el}/value`, { text }),
    click: (el) => call('POST', `/session/${id}/element/${el}/click`, {}),
    shot: async (file) => writeFileSync(file, Buffer.from(await call('GET', `/session/${id}/screenshot`), 'base64')),
    close: async () => {
      await call('DELETE', `/session/${id}`).catch(() => {});
      for (let i = 0; i < 20; i++) {  /* chromium may still be writing its profile */
        try { rmSync(profile, { recursive: true, force: true }); break; } catch { await sleep(100); }
      }
    },
  };
  return s;
}

async function waitFor(s, script, ms, what) {
  const t0 = Date.now();
  for (;;) {
    const v = await s.exec(script);
    if (v) return v;
    if (Date.now() - t0 > ms) throw new Error('timed out waiting for ' + what);
    await sleep(100);
  }
}

const READ_ANSWER = `
  const a = document.getElementById('answer');
  if (!a.dataset.verdict || a.hidden) return null;
  const fields = {};
  for (const row of document.querySelectorAll('#fields .field')) fields[row.dataset.field] = row.querySelector('dd').textContent;
  const store = {};
  for (let i = 0; i < localStorage.length; i++) store[localStorage.key(i)] = localStorage.getItem(localStorage.key(i));
  return { verdict: a.dataset.verdict, reason: a.dataset.reason, ms: Number(a.dataset.ms), fields,
           words: document.getElementById('verdict-words').textContent,
           age: document.getElementById('status-age').textContent,
           holder: document.getElementById('holder').hidden ? null : document.getElementById('holder').dataset.holder,
           href: location.href, session: sessionStorage.length, store,
           focused: document.activeElement && document.activeElement.id,
           dark: matchMedia('(prefers-color-scheme: dark)').matches };`;

const LANDLORD_SEES = ['type', 'name', 'id_number_masked', 'address_division', 'address', 'valid_from', 'valid_until'];
const cases = [
  /* First: the phone signed it moments ago, and it is fresh for 90 s. */
  { name: 'holder-police', video: 'holder.y4m', role: 'police', verdict: 'valid', reason: 'ok', words: '有效', holder: 'proven' },
  { name: 'valid-landlord', video: 'valid.y4m', role: 'landlord', verdict: 'valid', reason: 'ok', words: '有效', again: true },
  /* Police require a holder proof (spec/presentation.md 5): a static code is holder_proof_required. */
  { name: 'valid-police', video: 'valid.y4m', role: 'police', verdict: 'invalid', reason: 'holder_proof_required', signin: 'form' },
  { name: 'revoked-police', video: 'revoked.y4m', role: 'police', verdict: 'invalid', reason: 'revoked', words: '无效' },
  { name: 'suspended-landlord', video: 'suspended.y4m', role: 'landlord', verdict: 'suspended', reason: 'suspended', words: '已挂失' },
  { name: 'expired-landlord', video: 'expired.y4m', role: 'landlord', verdict: 'expired', reason: 'expired', words: '已过期', age: false },
  { name: 'unknown-key-landlord', video: 'unknown.y4m', role: 'landlord', verdict: 'invalid', reason: 'unknown_key', nofields: true },
  { name: 'not-ours-landlord', video: 'other.y4m', role: 'landlord', verdict: 'notours', reason: 'not_our_format', nofields: true, words: '不是居住证件' },
  { name: 'suspended-landlord-dark', video: 'suspended.y4m', role: 'landlord', verdict: 'suspended', reason: 'suspended', dark: true },
  { name: 'photo-camera-landlord', video: 'photo.y4m', role: 'landlord', verdict: 'valid', reason: 'ok' },
  { name: 'upload-no-camera-landlord', video: null, upload: 'photo.png', role: 'landlord', verdict: 'valid', reason: 'ok' },
];
const only = process.env.ONLY ? new RegExp(process.env.ONLY) : null;

for (const c of cases) {
  if (only && !only.test(c.name)) continue;
  const key = cfg.keys[c.role];
  const s = await session(c.video ? join(cfg.tmp, c.video) : null, c.dark);
  const t0 = Date.now();
  try {
    if (c.signin === 'form') {
      await s.go(cfg.page + '/scan');
      await waitFor(s, "return document.body.dataset.state === 'signin'", 10000, 'the sign-in form');
      await s.type(await s.find('#key'), key);
      await s.click(await s.find('#signin-form button[type=submit]'));
    } else {
      await s.go(cfg.page + '/scan#key=' + key);
    }
    if (c.upload) {
      await waitFor(s, "return document.body.dataset.state === 'camera-error'", 10000, 'the camera problem');
      const problem = await s.exec("return document.getElementById('camera-error').textContent");
      check(/相机|camera/i.test(problem) && /upload/.test(problem), `${c.name}: camera problem says why: ${problem}`);
      await s.shot(join(cfg.out, `${c.name}-camera-problem.png`));
      await s.type(await s.find('#photo'), join(cfg.tmp, c.upload));
    }
    const a = await waitFor(s, READ_ANSWER, 20000, 'an answer');
    const took = Date.now() - t0;
    await s.shot(join(cfg.out, `${c.name}.png`));
    check(a.verdict === c.verdict, `${c.name}: verdict ${a.verdict}, want ${c.verdict}`);
    check(a.reason === c.reason, `${c.name}: reason ${a.reason}, want ${c.reason}`);
    if (c.words) check(a.words.includes(c.words), `${c.name}: words "${a.words}" lack ${c.words}`);
    check(!a.href.includes('key=') && !a.href.includes(key), `${c.name}: key left in the URL: ${a.href}`);
    check(Object.keys(a.store).join() === 'ecred.scan.key' && a.store['ecred.scan.key'] === key && a.session === 0,
      `${c.name}: storage holds more than the key: ${Object.keys(a.store)}`);
    check(a.focused === 'verdict', `${c.name}: focus on ${a.focused}, want the verdict`);
    if (c.dark) check(a.dark, `${c.name}: prefers-color-scheme is not dark`);
    /* Every answer carries a holder block; a static code is never proven. */
    const wantHolder = c.holder || 'not_proven';
    check(a.holder === wantHolder, `${c.name}: holder block ${a.holder}, want ${wantHolder}`);
    const f = a.fields;
    if (c.nofields) {
      check(Object.keys(f).length === 0, `${c.name}: fields shown: ${Object.keys(f)}`);
    } else if (c.role === 'landlord') {
      for (const n of LANDLORD_SEES) check(n in f, `${c.name}: landlord misses ${n}`);
      check(!('id_number' in f) && !('birth_date' in f) && !('sex' in f), `${c.name}: landlord sees ${Object.keys(f)}`);
      check(/^\d{6}\*{8}\d{3}[\dX]$/.test(f.id_number_masked ?? ''), `${c.name}: masked id ${f.id_number_masked}`);
      check(!Object.values(f).some((v) => v.includes(cfg.full_id)), `${c.name}: the full ID number is on the page`);
    } else {
      if (!c.holder) check(f.id_number === cfg.full_id, `${c.name}: police id_number ${f.id_number}`);
      for (const n of ['name', 'sex', 'birth_date', 'hukou_division', 'authority', 'iss', 'cti'])
        check(n in f, `${c.name}: police misses ${n}`);
    }
    if (c.age !== false && !c.nofields) check(/old|前/.test(a.age), `${c.name}: no status age: "${a.age}"`);
    console.log(`${c.name}: ${a.verdict} (${a.reason}), answer ${a.ms} ms after decoding, ${took} ms from page load`);
    if (c.again) {
      /* One tap starts the next scan; the old answer is gone at once. */
      await s.click(await s.find('#next'));
      const gone = await s.exec("return !document.getElementById('answer').dataset.verdict && document.getElementById('fields').children.length === 0");
      check(gone, `${c.name}: the previous answer stayed on the page`);
      const b = await waitFor(s, READ_ANSWER, 20000, 'the next answer');
      check(b.verdict === c.verdict, `${c.name}: next scan's verdict ${b.verdict}`);
    }
  } catch (e) {
    check(false, `${c.name}: ${e.message}`);
    await s.shot(join(cfg.out, `${c.name}-FAILED.png`)).catch(() => {});
  } finally {
    await s.close();
  }
}

/* A typed key the verifier does not hold: GET /v1/scanner answers 401 at
 * sign-in, before any camera opens, and the page asks again, storing nothing. */
if (!only || only.test('wrong-key')) {
  const s = await session(join(cfg.tmp, 'valid.y4m'));
  try {
    await s.go(cfg.page + '/scan');
    await waitFor(s, "return document.body.dataset.state === 'signin'", 10000, 'the sign-in form');
    await s.type(await s.find('#key'), 'ecv_' + '0'.repeat(64));
    await s.click(await s.find('#signin-form button[type=submit]'));
    const r = await waitFor(s, `const e = document.getElementById('signin-error');
      return document.body.dataset.state === 'signin' && !e.hidden &&
        { words: e.textContent, stored: localStorage.length, info: document.getElementById('key-info').hidden,
          camera: !!document.getElementById('video').srcObject };`, 10000, 'the refusal');
    await s.shot(join(cfg.out, 'wrong-key.png'));
    check(/密钥被拒绝/.test(r.words) && /refused/.test(r.words), 'wrong key: ' + r.words);
    check(r.stored === 0 && r.info && !r.camera, `wrong key: stored ${r.stored}, key info hidden ${r.info}, camera ${r.camera}`);
    /* The right key then signs in and shows what it is. */
    await s.type(await s.find('#key'), cfg.keys.landlord);
    await s.click(await s.find('#signin-form button[type=submit]'));
    /* The camera shows a valid QR code: on a fast machine the page may have
     * scanned it and answered before the first poll sees 'scanning'. */
    const k = await waitFor(s, `return ['scanning', 'answer'].includes(document.body.dataset.state) && document.body.dataset.policy &&
      { policy: document.body.dataset.policy, info: document.getElementById('key-info').textContent };`, 10000, 'scanning');
    check(k.policy === 'optional' && /房东/.test(k.info) && /landlord/.test(k.info), 'landlord key info: ' + JSON.stringify(k));
  } catch (e) {
    check(false, `wrong-key: ${e.message}`);
    await s.shot(join(cfg.out, 'wrong-key-FAILED.png')).catch(() => {});
  } finally {
    await s.close();
  }
}

driver.kill();
console.log(`${passed} passed, ${failed} failed (screenshots in ${cfg.out})`);
process.exit(failed === 0 ? 0 : 1);
