// browser.mjs - drives headless Chromium (Debian's, through puppeteer-core)
// through the resident's whole path at phone size: sign in at the test
// identity provider, apply, sign nothing (rental), an officer approves
// through the API, the card page shows the QR; screenshot; the QR from the
// screenshot must verify with ecred-verify; report lost from the page; after
// a sync the verifier must say suspended.
// Usage: node browser.mjs ISSUER_URL OFFICER_TOKEN BIN_DIR OUT_DIR ROOT_PEM
import puppeteer from 'puppeteer-core';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';

const [base, officer, bin, out, root] = process.argv.slice(2);
fs.mkdirSync(out, { recursive: true });
const shot = async (page, name) => page.screenshot({ path: `${out}/${name}.png`, fullPage: true });
const fail = (msg) => { console.error('FAIL: ' + msg); process.exitCode = 1; };
const days = (d) => { const t = new Date(Date.now() + 8 * 3600e3 + d * 864e5); return t.toISOString().slice(0, 10); };

const browser = await puppeteer.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
});
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 390, height: 844, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  page.on('pageerror', (e) => fail('page error: ' + e.message));
  page.on('dialog', (d) => d.accept());

  // Sign in at the identity provider.
  await page.goto(base + '/app/resident.html', { waitUntil: 'networkidle0' });
  await shot(page, '01-home-signed-out');
  await Promise.all([page.waitForNavigation(), page.click('#signin')]);
  await page.type('input[name=login]', 'bob');
  await page.type('input[name=password]', 'any');
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]); // consent
  await page.waitForSelector('#signed-in:not([hidden])', { timeout: 10000 });
  await shot(page, '02-home-signed-in');
  const name = await page.$eval('#who-name', (e) => e.textContent);
  if (name !== '李梅') fail('signed in as ' + name);

  // Apply: the identity is shown, not typed.
  await Promise.all([page.waitForNavigation(), page.click('#go-apply')]);
  await page.waitForFunction(() => document.getElementById('who-name').textContent.length > 0);
  await page.click('#submit');           // empty form: the error summary
  await page.waitForSelector('#summary:not([hidden])');
  await shot(page, '03-apply-errors');
  await page.select('#sex', 'female');
  await page.type('#birth_date', '1988-05-12');
  await page.type('#hukou_division', '310104');
  await page.type('#address_division', '310104');
  await page.type('#address', '漕溪北路88弄3号1201室');
  await page.type('#reference', 'HT310104202611000777');
  await shot(page, '04-apply-filled');
  await Promise.all([page.waitForNavigation(), page.click('#submit')]);
  await page.waitForFunction(() => document.getElementById('steps').children.length > 0);
  await shot(page, '05-progress-submitted');
  const appId = new URL(page.url()).searchParams.get('id');

  // An officer approves through the API.
  const ap = await fetch(`${base}/v1/applications/${appId}/approve`, {
    method: 'POST', headers: { Authorization: 'Bearer ' + officer },
  });
  if (ap.status !== 201 && ap.status !== 200) fail('approve: HTTP ' + ap.status + ' ' + (await ap.text()));
  await page.click('#refresh');
  await page.waitForSelector('#issued:not([hidden])');
  await shot(page, '06-progress-issued');

  // Show the credential; the QR from the screenshot must verify.
  await Promise.all([page.waitForNavigation(), page.click('#issued a')]);
  await page.waitForFunction(() => { const i = document.getElementById('qr'); return i.complete && i.naturalWidth > 0; });
  await page.setViewport({ width: 390, height: 844, deviceScaleFactor: 1, isMobile: true, hasTouch: true });
  await shot(page, '07-card');
  execFileSync(`${bin}/ecred-verify`, ['sync', '--issuer', base, '--root', root, '--cache', `${out}/cache`]);
  let v = spawnSync(`${bin}/ecred-verify`, ['--cache', `${out}/cache`, '--image', `${out}/07-card.png`], { encoding: 'utf8' });
  console.log('verify screenshot: exit ' + v.status + '\n' + v.stdout);
  if (v.status !== 0) fail('the card screenshot does not verify: ' + v.stdout + v.stderr);

  // Offline: the last credential is still shown.
  await page.setOfflineMode(true);
  await page.reload({ waitUntil: 'domcontentloaded' });
  await page.waitForSelector('#card:not([hidden])');
  await page.waitForFunction(() => { const i = document.getElementById('qr'); return i.complete && i.naturalWidth > 0; }, { timeout: 5000 })
    .catch(() => fail('offline: no QR image'));
  await shot(page, '08-card-offline');
  await page.setOfflineMode(false);
  await page.reload({ waitUntil: 'networkidle0' });

  // Report lost from the page; after a sync the verifier says suspended.
  await page.waitForSelector('#lost-box:not([hidden])');
  await Promise.all([page.waitForNavigation(), page.click('#lost')]);
  await page.waitForSelector('#found-box:not([hidden])');
  await shot(page, '09-card-lost');
  execFileSync(`${bin}/ecred-verify`, ['sync', '--issuer', base, '--cache', `${out}/cache`]);
  v = spawnSync(`${bin}/ecred-verify`, ['--cache', `${out}/cache`, '--image', `${out}/07-card.png`], { encoding: 'utf8' });
  console.log('verify after loss report: exit ' + v.status + '\n' + v.stdout);
  if (!/SUSPENDED/i.test(v.stdout)) fail('after the loss report the verifier did not say suspended');
  // Unlock again from the page.
  await Promise.all([page.waitForNavigation(), page.click('#found')]);
  await page.waitForSelector('#lost-box:not([hidden])');
  console.log('browser path ok' + (process.exitCode ? ' (with failures)' : ''));
} catch (e) {
  fail(e.stack || String(e));
} finally {
  await browser.close();
}
