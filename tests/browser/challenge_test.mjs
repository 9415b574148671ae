// challenge_test.mjs - the officer's challenge between two headless Chromiums
// (Debian's, through puppeteer-core from tests/oidc/node_modules): the
// resident's phone (issuer pages) and the officer's scanner (verifier /scan).
// Each browser has a fake camera playing a Y4M file the test rewrites before
// the page opens its camera (Chromium reads the file again at every
// getUserMedia), so each side "sees" a screenshot of the other's QR code.
// Prints "N passed, N failed"; screenshots in cfg.out.
// Must never: reach outside loopback, leave a browser running.
//   node challenge_test.mjs CONFIG.json   (written by challenge.sh)
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, renameSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

const cfg = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const puppeteer = createRequire(join(cfg.src, 'tests/oidc/package.json'))('puppeteer-core');
let passed = 0;
let failed = 0;
const check = (cond, what) => {
  if (cond) passed++;
  else { failed++; console.error('FAIL: ' + what); }
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const t = (f) => join(cfg.tmp, f);

/* A blank grey frame: what a camera sees before anything is held up. */
function blankY4m(file) {
  const w = 640, h = 480;
  const head = Buffer.from(`YUV4MPEG2 W${w} H${h} F30:1 Ip A1:1 C420jpeg\nFRAME\n`);
  const body = Buffer.alloc(w * h * 3 / 2, 128);
  body.fill(200, 0, w * h);
  writeFileSync(file + '.new', Buffer.concat([head, body]));
  renameSync(file + '.new', file);
}
/* Point a fake camera at a PNG (a screenshot of the other page's QR). */
function showToCamera(png, file) {
  execFileSync('python3', [join(cfg.src, 'tests/browser/png2y4m.py'), png, file + '.new']);
  renameSync(file + '.new', file);
}

const profiles = [];
async function phone(camera) {
  const profile = mkdtempSync(join(tmpdir(), 'ecred-chal-'));
  profiles.push(profile);
  const browser = await puppeteer.launch({
    executablePath: '/usr/bin/chromium', headless: true, userDataDir: profile,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic',
      '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-video-capture=${camera}`],
  });
  const page = await browser.newPage();
  await page.setViewport({ width: 360, height: 780, deviceScaleFactor: 1, isMobile: true, hasTouch: true });
  page.on('pageerror', (e) => check(false, 'page error: ' + e.message));
  page.on('console', (m) => { if (m.type() === 'error' && !/favicon|401|40[0-9]|Failed to load resource/.test(m.text())) console.error('console: ' + m.text()); });
  page.on('dialog', (d) => d.accept());
  return { browser, page };
}
const shot = (page, name) => page.screenshot({ path: join(cfg.out, name + '.png'), fullPage: true });
async function elementShot(page, css, file) {
  const el = await page.$(css);
  await el.screenshot({ path: file });
}

/* The officer's scanner: the answer shown on the page. */
const READ_ANSWER = () => {
  const a = document.getElementById('answer');
  if (a.hidden || !a.dataset.verdict) return null;
  const h = document.getElementById('holder');
  return { verdict: a.dataset.verdict, reason: a.dataset.reason, detail: a.dataset.detail,
    holder: h.hidden ? null : h.dataset.holder, mode: h.dataset.mode,
    holderText: document.getElementById('holder-text').textContent,
    why: document.getElementById('why').textContent,
    nextChallenge: !document.getElementById('next-challenge').hidden,
    store: Object.keys(localStorage), session: sessionStorage.length };
};
/* Waits for the challenge on screen: the face shown with a QR none of the
 * earlier ones had (a new challenge is fetched while the screen is already
 * up, so the state alone does not say it has arrived). */
const shownChallenges = new Set();
async function officerChallenge(o, name) {
  const ttl = o.ttl ?? cfg.ttl_a;  /* the verifier's --challenge-ttl */
  await o.page.waitForFunction((seen) => document.body.dataset.state === 'challenge' &&
    !document.getElementById('challenge-face').hidden &&
    document.getElementById('challenge-qr').dataset.qrText &&
    !seen.includes(document.getElementById('challenge-qr').dataset.qrText), { timeout: 20000 }, [...shownChallenges]);
  const c = await o.page.evaluate(() => ({
    qr: document.getElementById('challenge-qr').dataset.qrText,
    code: document.getElementById('challenge-code').textContent.replace(/\s/g, ''),
    aud: document.getElementById('challenge-aud').textContent,
    left: Number(document.getElementById('challenge-timer').dataset.left),
  }));
  shownChallenges.add(c.qr);
  check(c.qr.startsWith('RN1:') && /^\d{6}$/.test(c.code), `${name}: challenge shown: ${c.qr.slice(0, 12)} ${c.code}`);
  check(c.left > ttl - 20 && c.left <= ttl, `${name}: countdown starts at ${c.left} of ${ttl}`);
  await elementShot(o.page, '#challenge-qr', t(name + '-challenge.png'));
  return c;
}
async function officerScan(o, name) {
  await o.page.waitForFunction(() => document.body.dataset.state === 'answer', { timeout: 25000 });
  const a = await o.page.evaluate(READ_ANSWER);
  await shot(o.page, name);
  check(a.store.join() === 'ecred.scan.key' && a.session === 0, `${name}: the scanner stores ${a.store}`);
  return a;
}

/* The resident's card: answer a challenge by camera (the camera file must
 * already show it) or by typing; returns the RP1 text shown. */
async function residentAnswer(r, name, typed) {
  const p = r.page;
  if (!(await p.$eval('#answering-box', (e) => e.hidden))) await p.click('#answer-done');
  await p.waitForFunction(() => !document.getElementById('answer-box').hidden);
  await p.click('#answer-start');
  if (typed) {
    await p.waitForFunction(() => !document.getElementById('chal').hidden);
    await p.type('#chal-code', typed.code.replace(/^(\d{3})/, '$1 '));
    await p.$eval('#chal-aud', (e) => { e.value = ''; });
    await p.type('#chal-aud', typed.aud);
    await shot(p, name + '-typing');
    await p.click('#chal-submit');
  }
  await p.waitForFunction(() => !document.getElementById('answering-box').hidden &&
    document.getElementById('rp1').dataset.mode === 'challenge', { timeout: 20000 });
  const text = await p.$eval('#rp1', (e) => e.dataset.qrText);
  check(!answered.has(text), `${name}: a new presentation`);
  answered.add(text);
  const words = await p.$eval('#answering-box', (e) => e.textContent);
  await shot(p, name);
  await elementShot(p, '#rp1', t(name + '-rp1.png'));
  return { text, words };
}

const answered = new Set();  /* every RP1 the phone showed: each answer is new */
const started = Date.now();
let r, o, ob, oe;
try {
  /* ---- the resident: sign in, apply (binding this phone's key), approved ---- */
  blankY4m(t('rcam.y4m'));
  r = await phone(t('rcam.y4m'));
  const p = r.page;
  await p.goto(cfg.issuer + '/app/resident.html', { waitUntil: 'networkidle0' });
  await Promise.all([p.waitForNavigation(), p.click('#signin')]);
  await p.type('input[name=login]', 'bob');
  await p.type('input[name=password]', 'any');
  await Promise.all([p.waitForNavigation(), p.click('button[type=submit]')]);
  await Promise.all([p.waitForNavigation(), p.click('button[type=submit]')]);
  await p.waitForSelector('#signed-in:not([hidden])', { timeout: 10000 });
  await Promise.all([p.waitForNavigation(), p.click('#go-apply')]);
  await p.waitForFunction(() => document.getElementById('who-name').textContent.length > 0);
  await p.select('#sex', 'female');
  await p.type('#birth_date', '1988-05-12');
  await p.type('#hukou_division', '310104');
  await p.type('#address_division', '310104');
  await p.type('#address', '漕溪北路88弄3号1201室');
  await p.type('#reference', 'HT310104202611000777');
  await Promise.all([p.waitForNavigation(), p.click('#submit')]);
  await p.waitForFunction(() => document.getElementById('steps').children.length > 0);
  const appId = new URL(p.url()).searchParams.get('id');
  const ap = await fetch(`${cfg.issuer}/v1/applications/${appId}/approve`, {
    method: 'POST', headers: { Authorization: 'Bearer ' + cfg.officer } });
  check(ap.status === 201 || ap.status === 200, 'approve: HTTP ' + ap.status);
  await p.goto(cfg.issuer + '/app/card.html', { waitUntil: 'networkidle0' });
  await p.waitForSelector('#rp1-box:not([hidden])', { timeout: 10000 });
  await p.waitForSelector('#answer-box:not([hidden])');
  await shot(p, '01-resident-card');
  /* The verifiers' caches must hold the new credential's status list. */
  await sleep(2500);

  /* ---- expired: a challenge made now (verifier b: --challenge-ttl
   * ttl_b), answered after it ran out. Its key's policy is "challenge":
   * the scanner opens in challenge mode though the link names no mode. ---- */
  blankY4m(t('ecam.y4m'));
  oe = await phone(t('ecam.y4m'));
  oe.ttl = cfg.ttl_b;
  await oe.page.goto(`${cfg.verifier_b}/scan#key=${cfg.key_b}`);
  const ce = await officerChallenge(oe, '02-expired');
  const policy = await oe.page.evaluate(() => ({ policy: document.body.dataset.policy,
    info: document.getElementById('key-info').textContent, href: location.href }));
  check(policy.policy === 'challenge' && /验证码/.test(policy.info) && /challenge/.test(policy.info) &&
    !policy.href.includes('#'), 'a challenge-policy key opens in challenge mode: ' + JSON.stringify(policy));
  const expiresAt = Date.now() + ce.left * 1000;

  /* ---- the whole exchange: camera both ways ---- */
  blankY4m(t('ocam.y4m'));
  o = await phone(t('ocam.y4m'));
  await o.page.goto(`${cfg.verifier_a}/scan#key=${cfg.key_a}`);
  /* A police key without the challenge policy: plain scanning first, the
   * challenge one tap away. */
  await o.page.waitForFunction(() => document.body.dataset.state === 'scanning', { timeout: 10000 });
  check(!(await o.page.$eval('#show-challenge', (e) => e.hidden)), 'the scan screen offers a challenge');
  check(await o.page.evaluate(() => document.body.dataset.policy) === 'required', 'key a: policy required');
  await shot(o.page, '02-officer-plain-scanning');
  await o.page.click('#show-challenge');
  const c1 = await officerChallenge(o, '03-officer-challenge');
  await shot(o.page, '03-officer-challenge');
  showToCamera(t('03-officer-challenge-challenge.png'), t('rcam.y4m'));
  const a1 = await residentAnswer(r, '04-resident-answer');
  check(a1.text.startsWith('RP1:'), 'resident: an RP1 answer: ' + a1.text.slice(0, 8));
  check(a1.words.includes(c1.aud), 'resident names the verifier it answers: ' + a1.words);
  showToCamera(t('04-resident-answer-rp1.png'), t('ocam.y4m'));
  await o.page.click('#challenge-scan');
  const v1 = await officerScan(o, '05-officer-holder-proven-challenge');
  check(v1.verdict === 'valid' && v1.reason === 'ok', `exchange: verdict ${v1.verdict} ${v1.reason} ${v1.detail}`);
  check(v1.holder === 'proven' && v1.mode === 'challenge', `exchange: holder ${v1.holder} mode ${v1.mode}`);
  check(/已回应本次验证码/.test(v1.holderText) && /answered this challenge/.test(v1.holderText), 'exchange words: ' + v1.holderText);
  check(v1.nextChallenge, 'exchange: "New challenge" offered next');
  console.log(`exchange: ${v1.verdict}, holder ${v1.holder} (${v1.mode}) after ${Math.round((Date.now() - started) / 1000)} s`);

  /* ---- replay: the same answer again (API, then shown to a new challenge) ---- */
  const again = await fetch(cfg.verifier_a + '/v1/verify', { method: 'POST',
    headers: { Authorization: 'Bearer ' + cfg.key_a, 'Content-Type': 'application/json' },
    body: JSON.stringify({ qr: a1.text }) });  /* a cnonce answers any live challenge of the key: none is */
  const aj = await again.json();
  check(aj.valid === false, `replay (API, same code again): valid ${aj.valid} ${aj.reason} ${aj.detail}`);
  await o.page.click('#next-challenge');
  await officerChallenge(o, '06-replay');
  await o.page.click('#challenge-scan');  /* the camera still shows the old answer */
  const v2 = await officerScan(o, '06-officer-replayed-answer');
  check(v2.verdict === 'invalid' && v2.reason === 'challenge_failed', `replay: ${v2.verdict} ${v2.reason} ${v2.detail}`);
  check(v2.detail === 'challenge_unknown' && v2.holder !== 'proven', `replay: detail ${v2.detail}, holder ${v2.holder}`);
  check(/已被回应过/.test(v2.holderText) && /already answered/.test(v2.holderText), 'replay words: ' + v2.holderText);

  /* ---- the typed code ---- */
  blankY4m(t('rcam.y4m'));
  /* Until the new challenge arrives, nothing of the answered one is left to
   * read: its code answered now would be refused against the new one. The
   * verifier's answer is held back 1.5 s so the page is seen in between (a
   * slow verifier, as under a sanitizer, opened that window in CI). */
  const holdBack = (req) => {
    if (req.isInterceptResolutionHandled()) return;
    if (new URL(req.url()).pathname === '/v1/challenges') setTimeout(() => req.continue().catch(() => {}), 1500);
    else req.continue().catch(() => {});
  };
  await o.page.setRequestInterception(true);
  o.page.on('request', holdBack);
  await o.page.click('#next-challenge');
  await sleep(300);
  const between = await o.page.evaluate(() => ({ qr: document.getElementById('challenge-qr').dataset.qrText || null,
    code: document.getElementById('challenge-code').textContent }));
  check(between.qr === null ? between.code === '' : !shownChallenges.has(between.qr),
    `while the next challenge loads, the old one is gone: ${JSON.stringify(between)}`);
  const c3 = await officerChallenge(o, '07-typed');
  o.page.off('request', holdBack);
  await o.page.setRequestInterception(false);
  const a3 = await residentAnswer(r, '07-resident-typed-answer', c3);
  showToCamera(t('07-resident-typed-answer-rp1.png'), t('ocam.y4m'));
  await o.page.click('#challenge-scan');
  const v3 = await officerScan(o, '08-officer-typed-proven');
  check(v3.verdict === 'valid' && v3.holder === 'proven' && v3.mode === 'challenge', `typed: ${v3.verdict} ${v3.reason} ${v3.detail} ${v3.holder} ${v3.mode}`);

  /* ---- a photographed answer, uploaded: sent with the challenge's id ---- */
  blankY4m(t('ocam.y4m'));
  await o.page.click('#next-challenge');
  await officerChallenge(o, '08a-photo');
  showToCamera(t('08a-photo-challenge.png'), t('rcam.y4m'));
  await residentAnswer(r, '08b-resident-answer-for-photo');
  const sent = [];
  const seeScan = (req) => { if (new URL(req.url()).pathname === '/v1/scan-image') sent.push(req.url()); };
  o.page.on('request', seeScan);
  await o.page.click('#challenge-scan');
  await o.page.waitForFunction(() => ['scanning', 'camera-error'].includes(document.body.dataset.state));
  await (await o.page.$('#photo')).uploadFile(t('08b-resident-answer-for-photo-rp1.png'));
  const v6 = await officerScan(o, '08c-officer-photo-proven');
  o.page.off('request', seeScan);
  check(sent.length === 1 && /\/v1\/scan-image\?challenge=[0-9a-f]{32}$/.test(sent[0]), 'photo sent with the challenge id: ' + sent.join());
  check(v6.verdict === 'valid' && v6.holder === 'proven' && v6.mode === 'challenge', `photo: ${v6.verdict} ${v6.reason} ${v6.detail} ${v6.holder} ${v6.mode}`);

  /* ---- another verifier's challenge, answered, shown to ours ---- */
  blankY4m(t('bcam.y4m'));
  ob = await phone(t('bcam.y4m'));
  ob.ttl = cfg.ttl_b;
  /* Its key's policy is "challenge": challenge mode with no &mode= in the link. */
  await ob.page.goto(`${cfg.verifier_b}/scan#key=${cfg.key_b}`);
  const cb = await officerChallenge(ob, '09-other-verifier');
  /* &mode=challenge still forces challenge mode for a key whose policy is
   * only "required" (a second tab of this browser, on verifier a). */
  const forced = await ob.browser.newPage();
  await forced.setViewport({ width: 360, height: 780, deviceScaleFactor: 1, isMobile: true, hasTouch: true });
  await forced.goto(`${cfg.verifier_a}/scan#key=${cfg.key_a}&mode=challenge`);
  await officerChallenge({ page: forced, ttl: cfg.ttl_a }, '09a-forced-by-link');
  check(await forced.evaluate(() => document.body.dataset.policy) === 'required', 'the forced tab knows its policy');
  await forced.close();
  check(cb.aud === 'other-verifier.example', 'other verifier id: ' + cb.aud);
  await shot(ob.page, '09-other-verifier-challenge');
  showToCamera(t('09-other-verifier-challenge.png'), t('rcam.y4m'));
  const ab = await residentAnswer(r, '10-resident-answers-other-verifier');
  check(ab.words.includes('other-verifier.example'), 'resident names the other verifier: ' + ab.words);
  await o.page.click('#next-challenge');
  await officerChallenge(o, '11-ours');
  showToCamera(t('10-resident-answers-other-verifier-rp1.png'), t('ocam.y4m'));
  await o.page.click('#challenge-scan');
  const v4 = await officerScan(o, '11-officer-other-verifiers-answer');
  check(v4.verdict === 'invalid' && v4.reason === 'challenge_failed' && v4.holder !== 'proven',
    `other verifier: ${v4.verdict} ${v4.reason} ${v4.detail} ${v4.holder}`);

  /* ---- expired: wait out the first challenge, answer it freshly, scan ---- */
  const wait = expiresAt - Date.now() + 1500;
  if (wait > 0) { console.log(`waiting ${Math.round(wait / 1000)} s for the challenge to expire`); await sleep(wait); }
  const ex = await oe.page.evaluate(() => ({ left: document.getElementById('challenge-timer').dataset.left,
    words: document.getElementById('challenge-timer').textContent,
    faded: document.getElementById('challenge-face').classList.contains('expired') }));
  check(ex.left === '0' && ex.faded && /已过期/.test(ex.words) && /expired/.test(ex.words), 'expired challenge on screen: ' + JSON.stringify(ex));
  await shot(oe.page, '12-officer-challenge-expired');
  blankY4m(t('rcam.y4m'));
  const ae = await residentAnswer(r, '13-resident-answers-expired', ce);
  showToCamera(t('13-resident-answers-expired-rp1.png'), t('ecam.y4m'));
  await oe.page.click('#challenge-scan');
  await oe.page.waitForFunction(() => document.body.dataset.state !== 'challenge', { timeout: 5000 });
  await shot(oe.page, '14-officer-scanning-expired');
  const v5 = await officerScan(oe, '15-officer-expired-answer');
  check(v5.verdict === 'invalid' && v5.reason === 'challenge_failed' && v5.detail === 'challenge_unknown',
    `expired: ${v5.verdict} ${v5.reason} ${v5.detail}`);
  check(ae.text.startsWith('RP1:'), 'expired: the phone still answered');
} catch (e) {
  check(false, e.stack || String(e));
  for (const [b, n] of [[r, 'resident'], [o, 'officer'], [ob, 'officer-b'], [oe, 'officer-expired']])
    if (b) await shot(b.page, 'FAILED-' + n).catch(() => {});
} finally {
  for (const b of [r, o, ob, oe]) if (b) await b.browser.close().catch(() => {});
  for (const d of profiles) for (let i = 0; i < 20; i++) {
    try { rmSync(d, { recursive: true, force: true }); break; } catch { await sleep(100); }
  }
}
console.log(`${passed} passed, ${failed} failed in ${Math.round((Date.now() - started) / 1000)} s (screenshots in ${cfg.out})`);
process.exit(failed === 0 ? 0 : 1);
