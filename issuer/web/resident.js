// resident.js - the resident's pages: sign in, apply, follow progress, sign
// the kinship commitment, show the credential, answer a verifier's challenge
// (read its RN1: QR with the camera, or type its code, then show the RP1 code
// bound to it). Talks only to /v1/resident/* on this origin; holds no logic
// the API does not check again. Every POST carries the session's CSRF token
// (from /v1/resident/me). Must never: send the holder key, a challenge or a
// camera frame anywhere (all of it stays in the page).
const $ = (id) => document.getElementById(id);
const page = document.body.dataset.page;
let csrf = null;

// GET or POST JSON; returns {status, json}. A network failure is status 0.
async function api(method, path, body) {
  const opts = { method, headers: { Accept: 'application/json' }, credentials: 'same-origin' };
  if (method !== 'GET') {
    opts.headers['X-CSRF-Token'] = csrf || '';
    if (body !== undefined) {
      opts.headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(body);
    }
  }
  try {
    const r = await fetch(path, opts);
    let json = null;
    try { json = await r.json(); } catch (e) { json = null; }
    return { status: r.status, json };
  } catch (e) {
    return { status: 0, json: null };
  }
}

// The signed-in resident, or null (then the caller shows sign-in).
async function me() {
  const r = await api('GET', '/v1/resident/me');
  if (r.status !== 200) return null;
  csrf = r.json.csrf_token;
  return r.json;
}

// 340102199003072518 -> 3401**********2518: enough to recognise, no more on screen.
const maskId = (s) => s.slice(0, 4) + '*'.repeat(10) + s.slice(14);
const params = new URLSearchParams(location.search);
const appId = () => params.get('id') || localStorage.getItem('ecred.app');
const text = (el, s) => { el.textContent = s; };

const STATE_WORDS = {
  submitted: '已提交 Submitted', approved: '已批准 Approved', issued: '已签发 Issued',
  rejected: '未批准 Rejected', signed: '已签署承诺书 Commitment signed',
};
const KIND_WORDS = { residence_permit: '居住证 Residence permit', registration_certificate: '居住登记凭证 Registration certificate' };
const STATUS_WORDS = { valid: '有效 Valid', suspended: '已挂失 Reported lost', invalid: '已失效 No longer valid' };

// ---- the holder key and RP1 presentations (spec/presentation.md) ----
// The phone's key: WebCrypto ECDSA P-256, private part non-extractable, kept
// in IndexedDB (a CryptoKey is storable as it is) under its public x (hex).
const b64u = (bytes) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const unb64u = (s) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (ch) => ch.charCodeAt(0));
const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
const utf8 = (s) => new TextEncoder().encode(s);

function keyDb() {
  return new Promise((resolve, reject) => {
    const q = indexedDB.open('ecred', 1);
    q.onupgradeneeded = () => q.result.createObjectStore('holder-keys');
    q.onsuccess = () => resolve(q.result);
    q.onerror = () => reject(q.error);
  });
}
async function keyOp(mode, fn) {
  const db = await keyDb();
  return new Promise((resolve, reject) => {
    const t = db.transaction('holder-keys', mode);
    const q = fn(t.objectStore('holder-keys'));
    t.oncomplete = () => resolve(q.result);
    t.onerror = () => reject(t.error);
  });
}
const keyGet = (x) => keyOp('readonly', (st) => st.get(x));
const keyPut = (x, v) => keyOp('readwrite', (st) => st.put(v, x));

const holderCapable = () => !!(window.crypto && crypto.subtle && window.indexedDB);

// Make a key, bind it to application id with an OpenID4VCI jwt proof over
// the issuer's c_nonce (spec/api.md "Holder key"). Returns x hex or null.
async function bindHolderKey(id) {
  if (!holderCapable()) return null;
  const pair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
  const jwk = await crypto.subtle.exportKey('jwk', pair.publicKey);
  const x = hex(unb64u(jwk.x));
  await keyPut(x, { privateKey: pair.privateKey, created: Date.now() });
  const base = '/v1/resident/applications/' + encodeURIComponent(id);
  const n = await api('POST', base + '/holder-nonce');
  if (n.status !== 200) return null;
  const header = { typ: 'openid4vci-proof+jwt', alg: 'ES256', jwk: { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y } };
  const claims = { aud: n.json.aud, iat: Math.floor(Date.now() / 1000), nonce: n.json.c_nonce };
  const input = b64u(utf8(JSON.stringify(header))) + '.' + b64u(utf8(JSON.stringify(claims)));
  const sig = new Uint8Array(await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, pair.privateKey, utf8(input)));
  const b = await api('POST', base + '/holder-key', { proof: { proof_type: 'jwt', jwt: input + '.' + b64u(sig) } });
  return b.status === 200 ? x : null;
}

// CBOR (RFC 8949) heads and the few items RP1 needs, shortest form.
function cborHead(major, n) {
  const m = major << 5;
  if (n < 24) return [m | n];
  if (n < 0x100) return [m | 24, n];
  if (n < 0x10000) return [m | 25, n >> 8, n & 255];
  if (n < 0x100000000) return [m | 26, (n >>> 24) & 255, (n >> 16) & 255, (n >> 8) & 255, n & 255];
  const hi = Math.floor(n / 0x100000000), lo = n >>> 0;
  return [m | 27, (hi >>> 24) & 255, (hi >> 16) & 255, (hi >> 8) & 255, hi & 255,
    (lo >>> 24) & 255, (lo >> 16) & 255, (lo >> 8) & 255, lo & 255];
}
const cat = (...parts) => {
  const out = new Uint8Array(parts.reduce((k, p) => k + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
};
const bstr = (b) => cat(cborHead(2, b.length), b);
const tstr = (s) => { const b = utf8(s); return cat(cborHead(3, b.length), b); };

// RFC 9285.
const B45 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:';
function base45(b) {
  let s = '';
  for (let i = 0; i + 1 < b.length; i += 2) {
    let n = b[i] * 256 + b[i + 1];
    const c = n % 45; n = (n - c) / 45;
    const d = n % 45;
    s += B45[c] + B45[d] + B45[(n - d) / 45];
  }
  if (b.length % 2) { const n = b[b.length - 1]; s += B45[n % 45] + B45[Math.floor(n / 45)]; }
  return s;
}
// RFC 9285 decoding; null for anything that is not canonical base45.
function unbase45(s) {
  const v = Array.from(s, (ch) => B45.indexOf(ch));
  if (v.includes(-1) || v.length % 3 === 1) return null;
  const out = [];
  for (let i = 0; i < v.length; i += 3) {
    if (i + 2 < v.length) {
      const n = v[i] + v[i + 1] * 45 + v[i + 2] * 2025;
      if (n > 0xffff) return null;
      out.push(n >> 8, n & 255);
    } else {
      const n = v[i] + v[i + 1] * 45;
      if (n > 0xff) return null;
      out.push(n);
    }
  }
  return new Uint8Array(out);
}

// ---- challenges (spec/verifier.md 5.5) ----
// A verifier id as the verifier makes it: 1..64 of A-Z a-z 0-9 . _ : / -.
const AUD_RE = /^[A-Za-z0-9._:/-]{1,64}$/;
const CHALLENGE_TEXT_MAX = 200; // RN1: + base45 of 1 + 32 + 64 bytes fits

// RN1: text -> {aud, cnonce, label} or null: one length byte (1..32), the
// nonce, then the verifier id; nothing else is accepted (never trust the
// length byte: it must leave room for a valid id).
function parseChallengeText(t) {
  if (typeof t !== 'string' || t.length > CHALLENGE_TEXT_MAX || !t.startsWith('RN1:')) return null;
  const b = unbase45(t.slice(4));
  if (!b || b.length < 3) return null;
  const n = b[0];
  if (n < 1 || n > 32 || b.length < 1 + n + 1) return null;
  let aud;
  try { aud = new TextDecoder('utf-8', { fatal: true }).decode(b.slice(1 + n)); } catch (e) { return null; }
  if (!AUD_RE.test(aud)) return null;
  return { aud, cnonce: b.slice(1, 1 + n), label: '' };
}

// A typed code (4..12 digits, spaces allowed) for verifier id aud: the
// cnonce is the digits' ASCII bytes. Null when either is not well formed.
function typedChallenge(code, aud) {
  const digits = code.replace(/\s+/g, '');
  if (!/^[0-9]{4,12}$/.test(digits) || !AUD_RE.test(aud)) return null;
  return { aud, cnonce: utf8(digits), label: digits.replace(/^(\d{3})(\d+)$/, '$1 $2') };
}

// An RP1 presentation (spec/presentation.md section 3), byte for byte as
// common/src/present.c builds it: protected {1: -9, 13: cred, 16: 294},
// unprotected {}, payload {3: aud, 6: iat} (timed) or {3: aud, 6: iat,
// 39: cnonce} (answering a challenge), r||s over the Sig_structure.
async function rp1(privateKey, cred, aud, iat, cnonce) {
  const prot = cat([0xa3, 0x01, 0x28, 0x0d], cred, [0x10, 0x19, 0x01, 0x26]);
  const pay = cnonce
    ? cat([0xa3, 0x03], tstr(aud), [0x06], cborHead(0, iat), cborHead(0, 39), bstr(cnonce))
    : cat([0xa2, 0x03], tstr(aud), [0x06], cborHead(0, iat));
  const tbs = cat([0x84], tstr('Signature1'), bstr(prot), [0x40], bstr(pay));
  const sig = new Uint8Array(await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, privateKey, tbs));
  return 'RP1:' + base45(cat([0xd2, 0x84], bstr(prot), [0xa0], bstr(pay), [0x58, 0x40], sig));
}

// Draw text as a QR (alphanumeric mode, ECC M) into an SVG built node by
// node (no markup strings, nothing for the CSP to object to).
function drawQr(box, textValue) {
  const q = window.qrcode(0, 'M');
  q.addData(textValue, 'Alphanumeric');
  q.make();
  const n = q.getModuleCount(), quiet = 4, size = n + 2 * quiet;
  const NS = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', '0 0 ' + size + ' ' + size);
  svg.setAttribute('shape-rendering', 'crispEdges');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', '持有人动态码 Holder code');
  const bg = document.createElementNS(NS, 'rect');
  bg.setAttribute('width', size); bg.setAttribute('height', size); bg.setAttribute('fill', '#fff');
  svg.appendChild(bg);
  let d = '';
  for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) if (q.isDark(r, c)) d += 'M' + (c + quiet) + ' ' + (r + quiet) + 'h1v1h-1z';
  const path = document.createElementNS(NS, 'path');
  path.setAttribute('d', d); path.setAttribute('fill', '#000');
  svg.appendChild(path);
  box.replaceChildren(svg);
  box.dataset.qrText = textValue;
}

// The holder-bound code, refreshed every 30 s with a countdown: timed, or
// answering the challenge set by answerChallenge(); false when this phone
// cannot make one (no cnf, no WebCrypto, not this phone's key).
let presentTo = null;   // null: timed; else {aud, cnonce, label} of the challenge
let presentNow = null;  // re-sign at once (a new challenge, or back to timed)
async function showHolderCode(holder) {
  if (!holder || !holderCapable() || !window.qrcode) return false;
  let stored;
  try { stored = await keyGet(holder.x); } catch (e) { return false; }
  if (!stored || !stored.privateKey) return false;
  const cred = unb64u(holder.cose);
  const box = $('rp1');
  let left = 0;
  let signing = false;
  const tick = async () => {
    if (signing) return;
    if (left <= 0) {
      signing = true;
      const to = presentTo;
      let code;
      try {
        code = await rp1(stored.privateKey, cred, to ? to.aud : holder.aud, Math.floor(Date.now() / 1000),
          to ? to.cnonce : null);
      } finally { signing = false; }
      // A challenge answered (or dropped) while this one was signed: never
      // show it under the new label; sign again at the next tick.
      if (to !== presentTo) { left = 0; return; }
      drawQr(box, code);
      box.dataset.mode = to ? 'challenge' : 'timed';
      left = 30;
    }
    text($('countdown'), String(left));
    text($('countdown-en'), String(left));
    left -= 1;
  };
  // A new audience: the old code leaves the screen at once, so no one scans
  // it under the new label while the new one is being signed.
  presentNow = () => {
    left = 0;
    box.replaceChildren();
    box.dataset.mode = 'signing';
    delete box.dataset.qrText;
    return tick();
  };
  await tick();
  setInterval(tick, 1000);
  $('rp1-box').hidden = false;
  $('qr').hidden = true;
  $('answer-box').hidden = false;
  return true;
}

// ---- answering a challenge: camera or typed code ----
let camStream = null;
let camTimer = 0;
let zxing = null;       // the decoder module, loaded on first use only
const camCanvas = document.createElement('canvas');

function chalError(zh, en) {
  const box = $('chal-error');
  box.textContent = '';
  const p = document.createElement('p');
  p.textContent = zh + ' ';
  const span = document.createElement('span');
  span.lang = 'en';
  span.textContent = en;
  p.appendChild(span);
  box.appendChild(p);
  box.hidden = false;
  box.focus();
}

function stopChallengeCamera() {
  clearTimeout(camTimer);
  camTimer = 0;
  if (camStream) for (const t of camStream.getTracks()) t.stop();
  camStream = null;
  $('chal-video').srcObject = null;
}

// Open the challenge panel: the camera starts at once (the officer's code is
// in front of it); without one the typed code is the way.
async function openChallenge() {
  $('chal').hidden = false;
  $('chal-error').hidden = true;
  $('answer-box').hidden = true;
  // While the phone reads the officer's code it shows none of its own:
  // the panel comes first on a small screen.
  $('rp1-box').hidden = true;
  $('chal').scrollIntoView({ block: 'start' });
  text($('chal-status'), '正在打开相机… Opening the camera…');
  if (!window.isSecureContext || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    $('chal-camera').hidden = true;
    $('chal-code').focus();
    return;
  }
  try {
    if (!zxing) {
      zxing = await import('/app/vendor/zxing-wasm/es/reader/index.js');
      // The wasm from our own origin, never the package's default CDN.
      zxing.prepareZXingModule({
        overrides: { locateFile: (path, prefix) => (path.endsWith('.wasm') ? '/app/vendor/zxing-wasm/reader/' + path : prefix + path) },
        fireImmediately: true,
      }).catch(() => {});
    }
    camStream = await navigator.mediaDevices.getUserMedia({
      audio: false, video: { facingMode: { ideal: 'environment' }, width: { ideal: 1280 }, height: { ideal: 720 } },
    });
  } catch (e) {
    stopChallengeCamera();
    $('chal-camera').hidden = true;
    chalError('无法使用相机，请输入核验方屏幕上的验证码。', 'The camera cannot be used: type the code shown on the verifier\'s screen.');
    $('chal-code').focus();
    return;
  }
  if ($('chal').hidden) { stopChallengeCamera(); return; }
  $('chal-camera').hidden = false;
  const video = $('chal-video');
  video.srcObject = camStream;
  try { await video.play(); } catch (e) { /* muted inline video: frames still arrive */ }
  text($('chal-status'), '请将核验方的验证码放入画面。 Point the camera at the verifier\'s challenge code.');
  camTimer = setTimeout(readChallengeFrame, 0);
}

// One camera frame: an RN1: code answers; anything else is ignored (a
// credential QR on the officer's screen is not a challenge).
async function readChallengeFrame() {
  if (!camStream) return;
  const video = $('chal-video');
  if (video.readyState >= 2 && video.videoWidth > 0) {
    const scale = Math.min(1, 1280 / Math.max(video.videoWidth, video.videoHeight));
    camCanvas.width = Math.round(video.videoWidth * scale);
    camCanvas.height = Math.round(video.videoHeight * scale);
    const ctx = camCanvas.getContext('2d', { willReadFrequently: true });
    ctx.drawImage(video, 0, 0, camCanvas.width, camCanvas.height);
    try {
      const found = await zxing.readBarcodes(ctx.getImageData(0, 0, camCanvas.width, camCanvas.height),
        { formats: ['QRCode'], tryHarder: true, maxNumberOfSymbols: 1 });
      for (const r of found) {
        const c = r.isValid ? parseChallengeText(r.text) : null;
        if (c) { answerChallenge(c); return; }
        if (r.isValid && r.text) text($('chal-status'), '这不是核验方的验证码。 That is not a verifier\'s challenge code.');
      }
    } catch (e) { /* the decoder is still loading */ }
  }
  if (camStream) camTimer = setTimeout(readChallengeFrame, 80);
}

function onTypedChallenge(ev) {
  ev.preventDefault();
  const c = typedChallenge($('chal-code').value, $('chal-aud').value.trim());
  if (!c) {
    chalError('请输入核验方屏幕上的 6 位数字，以及核验方编号（字母、数字和 . _ : / -）。',
      'Enter the 6 digits shown on the verifier\'s screen and its verifier ID (letters, digits and . _ : / -).');
    return;
  }
  answerChallenge(c);
}

// Show the code bound to this challenge (the page keeps re-signing it every
// 30 s with a new iat, so a slow officer still gets a fresh one).
function answerChallenge(c) {
  stopChallengeCamera();
  $('chal').hidden = true;
  $('chal-code').value = '';
  presentTo = c;
  text($('answering'), '正在回应核验方 ' + c.aud + (c.label ? ' 的验证码 ' + c.label : ' 的验证码'));
  text($('answering-en'), 'Answering the challenge of ' + c.aud + (c.label ? ' (code ' + c.label + ')' : ''));
  $('answering-box').hidden = false;
  $('answer-done').hidden = false;
  $('answer-box').hidden = true;
  $('rp1-box').hidden = false;
  if (presentNow) presentNow();
  $('rp1-box').scrollIntoView({ block: 'start' });
}

// Back to the timed code (also after the officer has scanned the answer).
function endAnswer() {
  stopChallengeCamera();
  presentTo = null;
  $('chal').hidden = true;
  $('answering-box').hidden = true;
  $('answer-done').hidden = true;
  $('answer-box').hidden = false;
  $('rp1-box').hidden = false;
  if (presentNow) presentNow();
}

function toSignIn() { location.href = '/v1/resident/login'; }

async function home() {
  const who = await me();
  if (!who) {
    if (!navigator.onLine) $('offline').hidden = false;
    $('signed-out').hidden = false;
    return;
  }
  $('signed-in').hidden = false;
  text($('who-name'), who.name);
  text($('who-id'), maskId(who.id_number));
  if (appId()) $('progress-item').hidden = false;
  $('signout').addEventListener('click', async () => {
    await api('POST', '/v1/resident/logout');
    location.href = '/app/resident.html';
  });
  const rem = await api('GET', '/v1/resident/reminders');
  if (rem.status === 200 && rem.json.reminders.length) {
    const ul = $('reminders');
    ul.textContent = '';
    for (const x of rem.json.reminders) {
      const li = document.createElement('li');
      li.textContent = (x.due === 'expiry' ? '证照到期 Expiry' : '签注 Endorsement due') + ': ' + x.day;
      ul.appendChild(li);
    }
  }
}

function signinError() {
  const code = params.get('error');
  const words = {
    login_expired: '登录已过期，请重新登录。 This sign-in expired: please sign in again.',
    id_token_rejected: '身份平台的凭据未通过核验。 The identity platform\'s answer was not accepted.',
    identity_provider_unavailable: '身份平台暂不可用，请稍后再试。 The identity platform is unavailable: try again later.',
  };
  if (code && words[code]) text($('why'), words[code]);
  $('summary').focus();
}

// Show field errors: the summary at the top links to each field.
function showErrors(list) {
  const ul = $('summary-list');
  ul.textContent = '';
  document.querySelectorAll('.field.error').forEach((f) => {
    f.classList.remove('error');
    f.querySelectorAll('.message').forEach((m) => m.remove());
  });
  for (const { field, message } of list) {
    const box = document.getElementById('f-' + field);
    const li = document.createElement('li');
    const a = document.createElement('a');
    a.textContent = message;
    a.href = '#f-' + field;
    li.appendChild(a);
    ul.appendChild(li);
    if (box) {
      box.classList.add('error');
      const p = document.createElement('p');
      p.className = 'message';
      p.textContent = message;
      box.insertBefore(p, box.children[1] || null);
    }
  }
  $('summary').hidden = list.length === 0;
  if (list.length) $('summary').focus();
}

// Dates the city's rules give a new permit: valid three years from today,
// endorsed yearly. The officer's approval checks them again.
function isoDay(d) { return d.toISOString().slice(0, 10); }
function cstToday() { return new Date(Date.now() + 8 * 3600e3); }
function addYears(d, y, minusDay) {
  const r = new Date(d);
  r.setUTCFullYear(r.getUTCFullYear() + y);
  if (minusDay) r.setUTCDate(r.getUTCDate() - 1);
  return r;
}

async function apply() {
  const who = await me();
  if (!who) return toSignIn();
  text($('who-name'), who.name);
  text($('who-id'), maskId(who.id_number));
  const pre = who.prefill || {};
  const set = (id, v) => { if (v !== undefined && v !== null && $(id)) $(id).value = v; };
  set('sex', pre.sex); set('birth_date', pre.birth_date); set('hukou_division', pre.hukou_division);
  set('address_division', pre.address_division); set('address', pre.address);
  const form = $('apply');
  const kindNow = () => form.querySelector('input[name=kind]:checked').value;
  const basisNow = () => form.querySelector('input[name=basis]:checked').value;
  const sync = () => {
    const k = kindNow();
    $('personal').hidden = k === 'address_change' || k === 'permit_renewal' ? !!who.latest_credential_id : false;
    $('address-part').hidden = k === 'permit_renewal';
    $('f-housing.reference').hidden = basisNow() !== 'rental';
    $('kinship').hidden = basisNow() !== 'relative';
  };
  form.addEventListener('change', sync);
  sync();
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const k = kindNow();
    const today = cstToday();
    const cred = {};
    const errs = [];
    const need = (id, field, msg) => {
      const v = $(id).value.trim();
      if (!v) errs.push({ field, message: msg });
      return v;
    };
    if (!$('personal').hidden) {
      cred.sex = $('sex').value;
      cred.birth_date = need('birth_date', 'birth_date', '请填写出生日期 Enter your date of birth');
      cred.hukou_division = need('hukou_division', 'hukou_division', '请填写户籍地区划代码 Enter your hukou division code');
    }
    let kinship;
    if (!$('address-part').hidden) {
      cred.address_division = need('address_division', 'address_division', '请填写区划代码 Enter the district code');
      cred.address = need('address', 'address', '请填写居住地址 Enter your address');
      const basis = basisNow();
      cred.housing = { basis };
      if (basis === 'rental') cred.housing.reference = need('reference', 'housing.reference', '请填写合同编号 Enter the contract number');
      if (basis === 'relative') {
        kinship = {
          relative_name: need('relative_name', 'kinship.relative_name', '请填写亲属姓名 Enter your relative\'s name'),
          relationship: need('relationship', 'kinship.relationship', '请填写关系 Enter the relationship'),
        };
      }
      cred.registration_date = isoDay(today);
      cred.authority = '上海市公安局';
    }
    if (k !== 'residence_registration') {
      cred.valid_from = isoDay(today);
      cred.valid_until = isoDay(addYears(today, 3, true));
      cred.endorsement_date = isoDay(addYears(today, 1, false));
    }
    if (k === 'residence_registration') {
      cred.valid_from = isoDay(today);
      cred.valid_until = isoDay(addYears(today, 1, true));
    }
    showErrors(errs);
    if (errs.length) return;
    const body = { kind: k, credential: cred };
    if (kinship) body.kinship = kinship;
    if ((k === 'address_change' || k === 'permit_renewal') && who.latest_credential_id) body.replaces = who.latest_credential_id;
    $('submit').disabled = true;
    const r = await api('POST', '/v1/resident/applications', body);
    $('submit').disabled = false;
    if (r.status === 201 || r.status === 200) {
      localStorage.setItem('ecred.app', r.json.id);
      // This phone's key into the credential's cnf; without WebCrypto the
      // credential is unbound and the card shows the static code.
      if (r.status === 201) {
        try { await bindHolderKey(r.json.id); } catch (e) { /* unbound */ }
      }
      location.href = '/app/progress.html?id=' + encodeURIComponent(r.json.id);
      return;
    }
    if (r.status === 401) return toSignIn();
    const detail = (r.json && r.json.detail) || '';
    const m = /^(?:credential\.)?([a-z_.]+): (.*)$/.exec(detail);
    const msg = (r.json ? (r.json.hint_zh + ' ' + r.json.hint) : '网络错误 Network error') + (detail ? ' (' + detail + ')' : '');
    showErrors([{ field: m ? m[1] : 'kind', message: msg }]);
  });
}

async function progress() {
  if (!(await me())) return toSignIn();
  const id = appId();
  const load = async () => {
    const r = await api('GET', '/v1/resident/applications/' + encodeURIComponent(id || 'none'));
    if (r.status !== 200) {
      text($('state'), '没有找到该申请 No such application');
      return;
    }
    const a = r.json;
    text($('state'), STATE_WORDS[a.state] || a.state);
    const ol = $('steps');
    ol.textContent = '';
    const steps = a.progress.slice();
    if (a.commitment && a.commitment.confirmed) steps.push({ state: 'signed', at: a.commitment.confirmed_at });
    steps.sort((x, y) => (x.at < y.at ? -1 : x.at > y.at ? 1 : 0));
    for (const s of steps) {
      const li = document.createElement('li');
      li.textContent = (STATE_WORDS[s.state] || s.state) + ' — ' + new Date(s.at).toLocaleString('zh-CN', { hour12: false });
      ol.appendChild(li);
    }
    $('commitment').hidden = !(a.commitment && !a.commitment.confirmed && a.state === 'submitted');
    $('go-sign').href = '/app/sign.html?id=' + encodeURIComponent(a.id);
    $('issued').hidden = a.state !== 'issued';
  };
  $('refresh').addEventListener('click', load);
  await load();
}

async function sign() {
  if (!(await me())) return toSignIn();
  const id = appId();
  $('back').href = '/app/progress.html?id=' + encodeURIComponent(id || '');
  const r = await api('GET', '/v1/resident/applications/' + encodeURIComponent(id || 'none'));
  if (r.status !== 200 || !r.json.commitment) {
    text($('summary-text'), '该申请没有承诺书 This application has no commitment');
    $('summary').hidden = false;
    $('sign').disabled = true;
    return;
  }
  text($('text'), r.json.commitment.text);
  text($('hash'), r.json.commitment.sha256);
  $('sign').addEventListener('click', async () => {
    const s = await api('POST', '/v1/resident/applications/' + encodeURIComponent(id) + '/commitment/sign',
      { sha256: r.json.commitment.sha256 });
    if (s.status === 200) {
      location.href = '/app/progress.html?id=' + encodeURIComponent(id);
      return;
    }
    text($('summary-text'), s.json ? s.json.hint_zh + ' ' + s.json.hint : '网络错误 Network error');
    $('summary').hidden = false;
    $('summary').focus();
  });
}

async function card() {
  let r = await api('GET', '/v1/resident/credential');
  let offline = false;
  if (r.status === 0 || r.status === 401) {
    // No network or no session: the last credential shown on this phone.
    const last = localStorage.getItem('ecred.card');
    if (!last) return r.status === 401 ? toSignIn() : ($('none').hidden = false);
    r = { status: 200, json: JSON.parse(last) };
    offline = true;
  }
  if (r.status !== 200) {
    $('none').hidden = false;
    return;
  }
  const c = r.json;
  if (!offline) {
    // Only what this page needs: the QR text and what is printed beside it.
    localStorage.setItem('ecred.card', JSON.stringify({
      id: c.id, status: c.status, valid_until: c.valid_until, qr_text: c.qr_text, holder: c.holder || null,
      credential: { name: c.credential.name, type: c.credential.type },
    }));
  }
  $('card').hidden = false;
  $('offline-note').hidden = !offline;
  text($('name'), c.credential.name);
  text($('kind'), KIND_WORDS[c.credential.type] || '');
  text($('valid'), c.valid_until);
  text($('status'), STATUS_WORDS[c.status] || c.status);
  $('status').classList.toggle('bad', c.status !== 'valid');
  $('qr').src = '/v1/resident/credentials/' + encodeURIComponent(c.id) + '/qr.svg';
  $('qr').dataset.qrText = c.qr_text;
  $('answer-start').addEventListener('click', openChallenge);
  $('chal-form').addEventListener('submit', onTypedChallenge);
  $('chal-cancel').addEventListener('click', endAnswer);
  $('answer-done').addEventListener('click', endAnswer);
  document.addEventListener('visibilitychange', () => { if (document.hidden) stopChallengeCamera(); });
  try { await showHolderCode(c.status === 'valid' ? c.holder : null); } catch (e) { /* static code stays */ }
  $('lost-box').hidden = offline || c.status !== 'valid';
  $('found-box').hidden = offline || c.status !== 'suspended';
  if (!offline) await me();
  const act = async (what) => {
    const s = await api('POST', '/v1/resident/credentials/' + encodeURIComponent(c.id) + '/' + what);
    if (s.status === 200) location.reload();
    else text($('status'), s.json ? s.json.hint_zh + ' ' + s.json.hint : '网络错误 Network error');
  };
  $('lost').addEventListener('click', () => {
    if (confirm('确定挂失？挂失后核验方将看到“已挂失”。\nReport this credential lost? Checkers will see it as suspended.')) act('report-lost');
  });
  $('found').addEventListener('click', () => act('unlock'));
}

if ('serviceWorker' in navigator) navigator.serviceWorker.register('/app/sw.js', { scope: '/app/' }).catch(() => {});
({ home, signin: signinError, apply, progress, sign, card })[page]?.();
