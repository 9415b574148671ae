/*
 * scan.js - the scanner page's behaviour: sign in with an API key, decode QR
 * codes from camera frames with the vendored zxing-wasm (or upload a photo for
 * the verifier to decode), post each decoded text to /v1/verify and show the
 * verifier's answer for a person standing at a door. In challenge mode
 * (spec/verifier.md 5.4) it first asks the verifier for a challenge, shows it
 * as a QR code (RN1: text) and a typed code with a countdown, then scans the
 * phone's answer and sends it with the challenge's id, so the verifier judges
 * it against exactly that challenge.
 * Before anything else it asks GET /v1/scanner what the key is (a refused
 * key goes back to sign-in) and opens in challenge mode when the key's
 * holder policy is "challenge".
 *
 * Must never: decide validity itself (the verdict is the server's "reason"),
 * store anything but the API key (nothing scanned goes to storage, and an
 * answer leaves the DOM when the next scan starts), put the key in a URL that
 * is requested, or talk to any origin but our own; judge a challenge's
 * expiry itself (the countdown informs, the verifier decides).
 */
import { prepareZXingModule, readBarcodes } from './vendor/zxing-wasm/es/reader/index.js';

const KEY_STORE = 'ecred.scan.key';
const FRAME_GAP_MS = 60;          /* between decode attempts: leaves the phone's CPU some air */
const FRAME_MAX_SIDE = 1280;      /* frames are scaled down to this before decoding */
const PHOTO_MAX_BYTES = 4 * 1024 * 1024; /* the server's cap on POST /v1/scan-image */

const $ = (id) => document.getElementById(id);

/* The wasm comes from our own origin, never the package's default CDN. */
prepareZXingModule({
  overrides: {
    locateFile: (path, prefix) =>
      path.endsWith('.wasm') ? new URL('vendor/zxing-wasm/reader/' + path, import.meta.url).href : prefix + path,
  },
  fireImmediately: true,
}).catch(() => { /* reported when a frame is first decoded */ });

/* The verdict icons are CSS backgrounds, fetched only when first shown:
 * fetch them now so an answer never appears without its shape. */
for (const name of ['valid', 'invalid', 'suspended', 'expired', 'unknown', 'notours'])
  new Image().src = new URL(`icons/${name}.svg`, import.meta.url).href;

/* ---- words ---- */

/* Verdict classes: what a person at the door must act on. Each has a colour,
 * an icon (scan.css, by class) and words, so colour is never the only signal. */
const VERDICTS = {
  valid: { zh: '有效', en: 'Valid' },
  invalid: { zh: '无效', en: 'Invalid' },
  suspended: { zh: '已挂失', en: 'Suspended' },
  expired: { zh: '已过期', en: 'Expired' },
  unknown: { zh: '状态未知', en: 'Status unknown' },
  notours: { zh: '不是居住证件', en: 'Not a residence credential' },
};

/* Why, by the answer's reason (spec/errors.md). */
const REASONS = {
  ok: ['签名、有效期、格式和状态均已核实。', 'Signature, validity, format and status check out.'],
  revoked: ['此证件已被撤销。', 'This credential has been revoked.'],
  suspended: ['持证人已挂失此证件，请核对本人。', 'The holder reported this credential lost; check who presents it.'],
  expired: ['此证件已过有效期。', 'This credential has expired.'],
  not_yet_valid: ['此证件尚未生效。', 'This credential is not valid yet.'],
  status_stale: ['核验机的状态数据过旧，无法确认是否撤销或挂失。', 'The verifier\'s status data is too old to tell whether it was revoked or suspended.'],
  status_unavailable: ['核验机没有此证件的状态数据。', 'The verifier has no status data for this credential.'],
  not_our_format: ['这个二维码不是居住登记凭证或居住证。', 'This QR code is not a residence registration certificate or permit.'],
  malformed: ['二维码内容已损坏或被改动。', 'The QR code\'s content is damaged or altered.'],
  unknown_key: ['签发者不受信任（未知的签名密钥）。', 'Not signed by a trusted issuer (unknown signing key).'],
  bad_signature: ['签名不正确：内容可能被篡改。', 'The signature does not match: the content may have been altered.'],
  /* Holder-bound presentations (spec/presentation.md). */
  holder_proof_required: ['需要持证人用手机出示动态码：静态二维码不能证明是本人。', 'The holder must show the live code from their phone: a static QR code does not prove who holds it.'],
  bad_holder_signature: ['持证人签名不正确：出示者可能不是持证人。', 'The holder\'s signature does not match: the presenter may not be the holder.'],
  not_fresh: ['动态码已过时，请让持证人刷新后再扫。', 'The live code is too old; ask the holder to refresh it and scan again.'],
  replayed: ['这个动态码已被扫描过（可能是截图）。', 'This live code was scanned before (it may be a screenshot).'],
  challenge_failed: ['动态码没有回应本次核验的验证码。', 'The live code does not answer this check\'s challenge.'],
  challenge_required: ['需要持证人回应本次核验的验证码。', 'The holder must answer this check\'s challenge.'],
};

/* Why a holder proof failed or fell short, by the holder block's reason
 * (the verifier's ecred_err_name), for the challenge cases a person can act on. */
const HOLDER_REASONS = {
  challenge_unknown: ['验证码已过期、已被回应过，或不是本核验机发出的。', 'The challenge expired, was already answered, or is not this verifier\'s.'],
  challenge_audience: ['这个回应是给另一个核验方的。', 'This answer is addressed to another verifier.'],
  challenge_required: ['这是定时动态码，不是对本次验证码的回应。', 'This is a timed code, not an answer to this challenge.'],
  too_old: ['动态码已过时。', 'The live code is too old.'],
  seen_at: ['这个动态码已被扫描过。', 'This live code was scanned before.'],
};

const FIELD_ORDER = [
  ['type', '证件类型', 'Type'],
  ['name', '姓名', 'Name'],
  ['id_number', '身份证号', 'ID number'],
  ['id_number_masked', '身份证号（部分隐藏）', 'ID number (masked)'],
  ['sex', '性别', 'Sex'],
  ['birth_date', '出生日期', 'Date of birth'],
  ['address_division', '居住地区划', 'Address division'],
  ['address', '居住地址', 'Address'],
  ['housing', '住房', 'Housing'],
  ['hukou_division', '户籍地区划', 'Hukou division'],
  ['registration_date', '登记日期', 'Registered'],
  ['authority', '签发机关', 'Authority'],
  ['valid_from', '有效期自', 'Valid from'],
  ['valid_until', '有效期至', 'Valid until'],
  ['endorsement_date', '签注日期', 'Endorsement due'],
  ['iss', '签发者', 'Issuer'],
  ['iat', '签发时间', 'Issued at'],
  ['exp', '失效时间', 'Expires at'],
  ['cti', '证件序列号', 'Serial'],
];
const VALUE_WORDS = {
  residence_permit: ['居住证', 'residence permit'],
  registration_certificate: ['居住登记凭证', 'residence registration certificate'],
  male: ['男', 'male'],
  female: ['女', 'female'],
  rental: ['租赁', 'rental'],
  own: ['自有住房', 'own home'],
  relative: ['投靠亲属', 'with relatives'],
  employer: ['单位宿舍', 'employer housing'],
};

/* ---- state ---- */

let apiKey = null;
let stream = null;
let scanning = false;       /* the decode loop runs */
let frameTimer = 0;
let busy = false;           /* a request is in flight */
let decoderFailures = 0;
/* Challenge mode: on for this page's life once chosen, by the key's holder
 * policy (GET /v1/scanner), a link's #key=...&mode=challenge, or an answer
 * saying the key's policy is "challenge". The challenge itself lives only
 * in memory. */
let challengeMode = false;
let challenge = null;       /* {id, qr, code, aud, deadline (performance.now ms)} */
let challengeTimer = 0;
/* What GET /v1/scanner said about the key ({key_id, role, holder_policy,
 * aud, challenge_ttl_seconds}); null until asked, and again once the key is
 * forgotten. Memory only. */
let settings = null;

function storedKey() {
  try { return localStorage.getItem(KEY_STORE); } catch { return null; }
}
function storeKey(k) {
  try { localStorage.setItem(KEY_STORE, k); } catch { /* private mode: kept for this page only */ }
}
function forgetKey() {
  apiKey = null;
  settings = null;
  delete document.body.dataset.policy;
  $('key-info').hidden = true;
  try { localStorage.removeItem(KEY_STORE); } catch { /* nothing stored */ }
}

/* A link /scan#key=... carries the key once: it is taken from the fragment
 * (never sent to a server) and the fragment is removed from the address bar
 * and history at once. */
function takeKeyFromFragment() {
  const h = location.hash;
  if (!h.startsWith('#key=')) return;
  const parts = h.slice(5).split('&');
  if (parts.slice(1).includes('mode=challenge')) challengeMode = true;
  let k = '';
  try { k = decodeURIComponent(parts[0]).trim(); } catch { k = ''; }
  history.replaceState(null, '', location.pathname + location.search);
  if (k) storeKey(k);
}

function setState(s) {
  document.body.dataset.state = s;
  $('loading').hidden = s !== 'loading';
  $('signin').hidden = s !== 'signin';
  $('scan').hidden = s !== 'scanning' && s !== 'camera-error';
  $('challenge').hidden = s !== 'challenge';
  $('answer').hidden = s !== 'answer';
  $('signout').hidden = s === 'signin';
}

/* Fill an element with Chinese text followed by English in its own span. */
function bilingual(el, zh, en) {
  el.textContent = zh + ' ';
  const span = document.createElement('span');
  span.lang = 'en';
  span.textContent = en;
  el.append(span);
}

function showError(box, zh, en) {
  box.replaceChildren();
  const p = document.createElement('p');
  bilingual(p, zh, en);
  box.append(p);
  box.hidden = false;
}

/* ---- sign in ---- */

function showSignIn(zh, en) {
  stopCamera();
  setState('signin');
  const box = $('signin-error');
  if (zh) {
    showError(box, zh, en);
    box.focus();
  } else {
    box.hidden = true;
    $('key').focus();
  }
}

function onSignIn(ev) {
  ev.preventDefault();
  const input = $('key');
  const k = input.value.trim();
  input.value = '';
  if (!/^ecv_[0-9a-f]{64}$/.test(k)) {
    showSignIn('密钥格式不对：应为 ecv_ 加 64 个十六进制字符。', 'That is not a key: it is ecv_ and 64 hex digits.');
    return;
  }
  apiKey = k;
  storeKey(k);
  settings = null; /* a new key: ask what it is */
  start();
}

/* The first screen after sign-in: ask what the key is, then the challenge
 * in challenge mode, else the camera. */
async function start() {
  if (!settings && !(await loadSettings())) return;
  if (challengeMode) newChallenge();
  else startScanning();
}

const ROLE_WORDS = { police: ['警察', 'police'], landlord: ['房东', 'landlord'], agency: ['机构', 'agency'] };
const POLICY_WORDS = {
  optional: ['静态码也可（持证人未证明时会注明）', 'static codes accepted (marked when the holder is not proven)'],
  required: ['须出示手机动态码', 'a live code from the phone is required'],
  challenge: ['须回应本机验证码', 'the holder must answer a challenge'],
};

/* GET /v1/scanner: the key's id, role and holder policy. False after a
 * failure already shown (sign-in for a refused key, a retry otherwise). */
async function loadSettings() {
  if (busy) return false;
  busy = true;
  setState('loading');
  const got = await callApi('/v1/scanner', { method: 'GET' }, showPlainProblem);
  if (!got) return false;
  const { res, json } = got;
  if (res.status !== 200 || !json || typeof json.key_id !== 'string' || typeof json.holder_policy !== 'string') {
    const code = json && typeof json.code === 'string' ? json.code : 'HTTP ' + res.status;
    showPlainProblem(`核验服务没有说明此密钥的设置（${code}）。`, `The verifier did not say what this key is (${code}).`);
    return false;
  }
  settings = json;
  if (json.holder_policy === 'challenge') challengeMode = true;
  document.body.dataset.policy = json.holder_policy;
  const role = ROLE_WORDS[json.role] || [String(json.role), String(json.role)];
  const policy = POLICY_WORDS[json.holder_policy] || [json.holder_policy, json.holder_policy];
  const info = $('key-info');
  bilingual(info, `密钥 ${json.key_id} · ${role[0]} · ${policy[0]}`, `Key ${json.key_id} · ${role[1]} · ${policy[1]}`);
  info.hidden = false;
  return true;
}

/* ---- camera ---- */

function cameraProblem(err) {
  if (!window.isSecureContext)
    return ['此页面不是通过安全连接（HTTPS）打开的，浏览器不允许使用相机。', 'This page was not opened over a secure connection (HTTPS), so the browser does not allow the camera.'];
  if (!err)
    return ['这个浏览器不支持相机。', 'This browser cannot use a camera.'];
  switch (err.name) {
  case 'NotAllowedError':
  case 'SecurityError':
    return ['没有相机权限。请在浏览器设置中允许本网站使用相机。', 'No permission to use the camera. Allow this site to use the camera in the browser\'s settings.'];
  case 'NotFoundError':
  case 'OverconstrainedError':
    return ['没有找到相机。', 'No camera was found.'];
  case 'NotReadableError':
  case 'AbortError':
    return ['相机被其他应用占用或无法启动。', 'The camera is in use by another app or could not start.'];
  default:
    return ['相机无法启动。', 'The camera could not start.'];
  }
}

function showCameraError(err) {
  stopCamera();
  setState('camera-error');
  const [zh, en] = cameraProblem(err);
  showError($('camera-error'), zh + ' 可以改为上传照片。', en + ' You can upload a photo instead.');
  $('camera-retry').hidden = false;
  $('scan-status').textContent = '';
  $('photo-button').focus();
}

async function startScanning() {
  clearAnswer();
  setState('scanning');
  $('camera-error').hidden = true;
  $('camera-retry').hidden = true;
  $('scan-challenge').hidden = !challenge;
  $('show-challenge').hidden = false;
  bilingual($('show-challenge'), challenge ? '显示验证码' : '出示验证码', challenge ? 'Show the challenge again' : 'Show a challenge');
  $('plain-scan').hidden = !challenge;
  tickChallenge();
  bilingual($('scan-status'), '正在打开相机…', 'Opening the camera…');
  if (!window.isSecureContext || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    showCameraError(null);
    return;
  }
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      audio: false,
      video: { facingMode: { ideal: 'environment' }, width: { ideal: 1280 }, height: { ideal: 720 } },
    });
  } catch (err) {
    showCameraError(err);
    return;
  }
  if (document.body.dataset.state !== 'scanning') { stopCamera(); return; }
  const video = $('video');
  video.srcObject = stream;
  try { await video.play(); } catch { /* autoplay of a muted inline video is allowed; frames still arrive */ }
  bilingual($('scan-status'), '请将二维码对准方框。', 'Point the camera at the QR code.');
  scanning = true;
  frameTimer = setTimeout(decodeFrame, 0);
}

function stopCamera() {
  scanning = false;
  clearTimeout(frameTimer);
  if (stream) {
    for (const t of stream.getTracks()) t.stop();
    stream = null;
  }
  const video = $('video');
  if (video) video.srcObject = null;
}

const canvas = document.createElement('canvas');
const ctx = canvas.getContext('2d', { willReadFrequently: true });

/* One frame: draw, decode, and either hand the text over or come back. */
async function decodeFrame() {
  if (!scanning) return;
  const video = $('video');
  let text = null;
  if (video.readyState >= 2 && video.videoWidth > 0) {
    const scale = Math.min(1, FRAME_MAX_SIDE / Math.max(video.videoWidth, video.videoHeight));
    canvas.width = Math.round(video.videoWidth * scale);
    canvas.height = Math.round(video.videoHeight * scale);
    ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
    try {
      const found = await readBarcodes(ctx.getImageData(0, 0, canvas.width, canvas.height), {
        formats: ['QRCode'], tryHarder: true, maxNumberOfSymbols: 1,
      });
      /* Our own challenge seen on a screen is not an answer: keep looking. */
      const hit = found.find((r) => r.isValid && r.text && !r.text.startsWith('RN1:'));
      if (hit) text = hit.text;
    } catch {
      if (++decoderFailures === 20)
        bilingual($('scan-status'), '解码器无法加载，可以改为上传照片。', 'The decoder could not load; you can upload a photo instead.');
    }
  }
  if (!scanning) return;
  if (text !== null) {
    const t0 = performance.now();
    stopCamera();
    if (challenge)
      verify('/v1/verify', JSON.stringify({ qr: text, challenge: challenge.id }), 'application/json', t0);
    else
      verify('/v1/verify', text, 'text/plain; charset=utf-8', t0);
    return;
  }
  frameTimer = setTimeout(decodeFrame, FRAME_GAP_MS);
}

/* ---- photo upload (server-side decoding) ---- */

function onPhoto() {
  const input = $('photo');
  const file = input.files && input.files[0];
  input.value = '';
  if (!file) return;
  if (file.size > PHOTO_MAX_BYTES) {
    showPlainProblem('照片太大（最大 4 MB）。', 'The photo is too large (4 MB at most).');
    return;
  }
  stopCamera();
  /* A photographed answer is judged against the live challenge too. */
  const path = challenge ? '/v1/scan-image?challenge=' + encodeURIComponent(challenge.id) : '/v1/scan-image';
  verify(path, file, file.type || 'application/octet-stream', performance.now());
}

/* ---- asking the verifier ---- */

/* One API call with this page's key: null after a failure it has already
 * shown (problem(zh, en) for no connection or too many requests; the
 * sign-in screen for a refused key), else {res, json}. Clears busy. */
async function callApi(path, init, problem) {
  let res, json = null;
  try {
    res = await fetch(path, Object.assign({
      method: 'POST',
      cache: 'no-store',
      credentials: 'omit',
      referrerPolicy: 'no-referrer',
    }, init, { headers: Object.assign({ Authorization: 'Bearer ' + apiKey }, init.headers || {}) }));
    json = await res.json().catch(() => null);
  } catch {
    busy = false;
    problem('无法连接核验服务。', 'Cannot reach the verifier.');
    return null;
  }
  busy = false;
  if (res.status === 401) {
    forgetKey();
    showSignIn('密钥被拒绝（错误、已删除或已过期），请重新登录。', 'The key was refused (wrong, removed or expired); sign in again.');
    return null;
  }
  if (res.status === 429) {
    const wait = parseInt(res.headers.get('Retry-After') || '', 10);
    const s = Number.isFinite(wait) ? wait : 60;
    problem(`请求太频繁，请 ${s} 秒后再试。`, `Too many requests: try again in ${s} s.`);
    return null;
  }
  return { res, json };
}

async function verify(path, body, type, t0) {
  if (busy) return;
  busy = true;
  setState('scanning');
  $('camera-error').hidden = true;
  bilingual($('scan-status'), '正在核验…', 'Checking…');
  const got = await callApi(path, { headers: { 'Content-Type': type }, body }, showPlainProblem);
  if (!got) return;
  const { res } = got;
  const answer = got.json;
  if (answer && typeof answer.reason === 'string') {
    showAnswer(answer, performance.now() - t0);
    return;
  }
  if (answer && answer.code === 'no_code_found') {
    showPlainProblem('照片里没有找到二维码。请在光线好的地方拍清楚整个二维码。', 'No QR code was found in the photo. Take it in good light with the whole code in view.');
    return;
  }
  if (answer && answer.code === 'cache_unavailable') {
    showPlainProblem('核验机还没有可用的数据，请联系管理员。', 'The verifier has no usable data yet; tell its operator.');
    return;
  }
  const code = answer && typeof answer.code === 'string' ? answer.code : 'HTTP ' + res.status;
  const hintZh = answer && typeof answer.hint_zh === 'string' ? answer.hint_zh : '核验服务返回了错误。';
  const hint = answer && typeof answer.hint === 'string' ? answer.hint : 'The verifier answered with an error.';
  showPlainProblem(`${hintZh}（${code}）`, `${hint} (${code})`);
}

/* A problem that is not a verdict: said on the scan screen, camera off until
 * the person chooses what to do next. */
function showPlainProblem(zh, en) {
  stopCamera();
  setState('camera-error');
  showError($('camera-error'), zh, en);
  $('camera-retry').hidden = false;
  $('scan-status').textContent = '';
  $('camera-error').focus();
}

/* ---- the answer ---- */

function verdictOf(a) {
  switch (a.reason) {
  case 'ok': return a.valid === true ? 'valid' : 'invalid';
  case 'suspended': return 'suspended';
  case 'expired': return 'expired';
  case 'status_stale':
  case 'status_unavailable': return 'unknown';
  case 'not_our_format': return 'notours';
  default: return a.outcome === 'unknown' ? 'unknown' : 'invalid';
  }
}

function ageWords(sec) {
  if (!Number.isFinite(sec) || sec < 0) return ['?', '?'];
  if (sec < 90) return [`${Math.round(sec)} 秒`, `${Math.round(sec)} s`];
  if (sec < 90 * 60) return [`${Math.round(sec / 60)} 分钟`, `${Math.round(sec / 60)} min`];
  if (sec < 36 * 3600) return [`${Math.round(sec / 3600)} 小时`, `${Math.round(sec / 3600)} h`];
  return [`${Math.round(sec / 86400)} 天`, `${Math.round(sec / 86400)} days`];
}

function fieldValue(name, v) {
  if (v === null || v === undefined) return null;
  if (name === 'housing' && typeof v === 'object') {
    const w = VALUE_WORDS[v.basis];
    const basis = w ? `${w[0]} ${w[1]}` : String(v.basis ?? '');
    return v.reference ? `${basis} · ${v.reference}` : basis;
  }
  if ((name === 'iat' || name === 'exp') && typeof v === 'number')
    return new Date(v * 1000).toISOString().replace('.000Z', 'Z');
  if (typeof v === 'object') return JSON.stringify(v);
  const w = VALUE_WORDS[v];
  if (w && (name === 'type' || name === 'sex')) return `${w[0]} ${w[1]}`;
  return String(v);
}

function addField(dl, name, zh, en, value) {
  const row = document.createElement('div');
  row.className = 'field';
  row.dataset.field = name;
  const dt = document.createElement('dt');
  bilingual(dt, zh, en);
  const dd = document.createElement('dd');
  dd.textContent = value;
  row.append(dt, dd);
  dl.append(row);
}

/* Holder binding (RP1 presentations): shown only when the answer has it. */
function holderState(h) {
  const s = h.state ?? h.result ?? h.status;
  if (typeof s === 'string') return s;
  if (h.proven === true) return 'proven';
  if (h.proven === false) return h.error || h.failed ? 'failed' : 'not_proven';
  return 'not_proven';
}

function showHolder(h) {
  const box = $('holder');
  if (!h || typeof h !== 'object') { box.hidden = true; return; }
  const s = holderState(h);
  const mode = typeof h.mode === 'string' ? h.mode : '';
  box.dataset.mode = mode;
  const proven = mode === 'challenge'
    ? ['✓', '持证人已证明：已回应本次验证码（设备密钥已核实）。', 'Holder proven — answered this challenge (device key checked).']
    : mode === 'timed'
      ? ['✓', '持证人已证明，但只是定时动态码（没有回应验证码）。', 'Holder proven by a timed presentation only (no challenge answered).']
      : ['✓', '持证人已证明持有此证件（设备密钥已核实）。', 'Holder proven: the holder\'s device key checked out.'];
  const words = {
    proven,
    not_proven: ['!', '持证人未证明持有：请核对证件照片或本人证件。', 'Holder not proven: check the person against their ID.'],
    failed: ['✕', '持证人证明失败：出示者可能不是持证人。', 'Holder proof failed: the presenter may not be the holder.'],
  }[s] || ['!', '持证人未证明持有。', 'Holder not proven.'];
  box.dataset.holder = ['proven', 'not_proven', 'failed'].includes(s) ? s : 'not_proven';
  const why = typeof h.reason === 'string' ? h.reason : h.detail;
  const detail = typeof why === 'string' && why !== 'ok' ? ` (${why})` : '';
  /* A reason a person can act on replaces the general advice. */
  const more = typeof why === 'string' && s !== 'proven' ? HOLDER_REASONS[why] : null;
  if (more) bilingual($('holder-text'), '持证人未证明：' + more[0], 'Holder not proven: ' + more[1] + detail);
  else bilingual($('holder-text'), words[1], words[2] + detail);
  box.hidden = false;
}

function showAnswer(a, ms) {
  const kind = verdictOf(a);
  const v = VERDICTS[kind];
  const section = $('answer');
  section.dataset.verdict = kind;
  section.dataset.reason = a.reason;
  section.dataset.detail = typeof a.detail === 'string' ? a.detail : '';
  /* The key's policy, as the verifier applied it, picks the next mode. */
  if (a.holder && a.holder.policy === 'challenge') challengeMode = true;
  const usedChallenge = !!challenge;
  section.dataset.ms = String(Math.round(ms));
  $('verdict').className = 'verdict verdict-' + kind;
  $('verdict-zh').textContent = v.zh;
  $('verdict-en').textContent = v.en;
  const why = REASONS[a.reason] || [a.message ? String(a.message) : '', `(${a.reason})`];
  bilingual($('why'), why[0], why[1]);

  showHolder(a.holder);

  const dl = $('fields');
  dl.replaceChildren();
  const cred = a.credential && typeof a.credential === 'object' ? a.credential : null;
  if (cred) {
    const known = new Set();
    for (const [name, zh, en] of FIELD_ORDER) {
      known.add(name);
      if (name === 'id_number_masked' && cred.id_number) continue; /* police: the full number says it all */
      const val = fieldValue(name, cred[name]);
      if (val !== null) addField(dl, name, zh, en, val);
    }
    for (const name of Object.keys(cred)) {
      if (known.has(name)) continue;
      const val = fieldValue(name, cred[name]);
      if (val !== null) addField(dl, name, name, name, val);
    }
  }
  dl.hidden = !cred;

  const st = a.status && typeof a.status === 'object' ? a.status : null;
  const p = $('status-age');
  if (st && Number.isFinite(st.age_seconds)) {
    const [zh, en] = ageWords(st.age_seconds);
    const asOf = typeof st.as_of === 'string' ? st.as_of : '';
    let zhText = `状态数据更新于 ${zh}前（${asOf}）。`;
    let enText = `Status data is ${en} old (as of ${asOf}).`;
    if (st.value === 'stale' && Number.isFinite(st.max_age_seconds)) {
      const [mz, me] = ageWords(st.max_age_seconds);
      zhText += `超过允许的 ${mz}。`;
      enText += ` More than the allowed ${me}.`;
    }
    bilingual(p, zhText, enText);
    p.hidden = false;
  } else if (st && (st.value === 'unavailable' || st.value === 'stale')) {
    bilingual(p, '没有此证件的状态数据。', 'No status data for this credential.');
    p.hidden = false;
  } else {
    p.hidden = true;
  }

  /* A challenge is answered once: the next check starts with a new one. */
  if (usedChallenge) endChallenge();
  const offerChallenge = challengeMode || a.reason === 'holder_proof_required' || a.reason === 'challenge_required';
  $('next-challenge').hidden = !offerChallenge;
  $('next').hidden = challengeMode;
  setState('answer');
  $('verdict').focus();
}

function clearAnswer() {
  const section = $('answer');
  delete section.dataset.verdict;
  delete section.dataset.reason;
  delete section.dataset.ms;
  delete section.dataset.detail;
  $('fields').replaceChildren();
  $('why').textContent = '';
  $('status-age').textContent = '';
  $('holder').hidden = true;
}

/* ---- challenges (spec/verifier.md 5.5) ---- */

/* Draw text as a QR code (alphanumeric mode, ECC M) into an SVG built node
 * by node: no markup strings, nothing the CSP would refuse. */
function drawQr(box, textValue, label) {
  const q = window.qrcode(0, 'M');
  q.addData(textValue, 'Alphanumeric');
  q.make();
  const n = q.getModuleCount(), quiet = 4, size = n + 2 * quiet;
  const NS = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', `0 0 ${size} ${size}`);
  svg.setAttribute('shape-rendering', 'crispEdges');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', label);
  const bg = document.createElementNS(NS, 'rect');
  bg.setAttribute('width', size); bg.setAttribute('height', size); bg.setAttribute('fill', '#fff');
  let d = '';
  for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) if (q.isDark(r, c)) d += `M${c + quiet} ${r + quiet}h1v1h-1z`;
  const path = document.createElementNS(NS, 'path');
  path.setAttribute('d', d); path.setAttribute('fill', '#000');
  svg.append(bg, path);
  box.replaceChildren(svg);
  box.dataset.qrText = textValue;
}

/* A challenge that ends leaves nothing of itself on the page: while the next
 * one is being fetched, an old code must not be read off the screen (or out
 * of the DOM) and answered, since the verifier would judge that answer
 * against the new challenge and refuse it. */
function endChallenge() {
  challenge = null;
  clearInterval(challengeTimer);
  challengeTimer = 0;
  const qr = $('challenge-qr');
  qr.replaceChildren();
  delete qr.dataset.qrText;
  $('challenge-code').textContent = '';
  $('challenge-aud').textContent = '';
  delete $('challenge-timer').dataset.left;
}

/* "123456" -> "123 456": easier to read out and type. */
const spacedCode = (c) => c.replace(/^(\d{3})(\d+)$/, '$1 $2');

/* The countdown on the challenge screen and the scan screen's banner. When
 * it reaches 0 the page says so and offers a new one, but still sends a
 * late answer: whether it is too late is the verifier's call. */
function tickChallenge() {
  if (!challenge) return;
  const left = Math.max(0, Math.ceil((challenge.deadline - performance.now()) / 1000));
  const code = spacedCode(challenge.code);
  const timer = $('challenge-timer');
  const banner = $('scan-challenge');
  challenge.expired = left === 0;
  $('challenge-face').classList.toggle('expired', left === 0);
  timer.dataset.left = String(left);
  if (left > 0) {
    bilingual(timer, `还剩 ${left} 秒有效`, `Valid for ${left} s more`);
    bilingual(banner, `正在等待验证码 ${code} 的回应，还剩 ${left} 秒。`, `Waiting for the answer to challenge ${code}: ${left} s left.`);
  } else {
    bilingual(timer, '验证码已过期，请换一个新的。', 'This challenge has expired: make a new one.');
    bilingual(banner, `验证码 ${code} 已过期：回应会被拒绝，请换一个新的。`, `Challenge ${code} has expired: an answer will be refused. Make a new one.`);
  }
  banner.classList.toggle('expired', left === 0);
}

function showChallenge() {
  stopCamera();
  clearAnswer();
  setState('challenge');
  $('challenge-error').hidden = true;
  $('challenge-face').hidden = !challenge;
  $('challenge-scan').hidden = !challenge;
  tickChallenge();
}

/* Ask the verifier for a challenge and show it. */
async function newChallenge() {
  if (busy) return;
  challengeMode = true;
  endChallenge();
  showChallenge();
  bilingual($('challenge-timer'), '正在获取验证码…', 'Getting a challenge…');
  busy = true;
  const got = await callApi('/v1/challenges', {}, showChallengeProblem);
  if (!got) return;
  const { res } = got;
  const c = got.json;
  if (res.status !== 201 || !c || typeof c.qr !== 'string' || !c.qr.startsWith('RN1:') ||
      typeof c.challenge !== 'string' || typeof c.code !== 'string' || !Number.isFinite(c.ttl_seconds)) {
    const code = c && typeof c.code === 'string' && res.status !== 201 ? c.code : 'HTTP ' + res.status;
    const hintZh = c && typeof c.hint_zh === 'string' ? c.hint_zh : '核验服务没有给出验证码。';
    const hint = c && typeof c.hint === 'string' ? c.hint : 'The verifier gave no challenge.';
    showChallengeProblem(`${hintZh}（${code}）`, `${hint} (${code})`);
    return;
  }
  /* The deadline on this device's monotonic clock, from the ttl: the
   * phone's wall clock may be off, the ttl is not. */
  challenge = { id: c.challenge, qr: c.qr, code: c.code, aud: String(c.aud ?? ''),
    deadline: performance.now() + c.ttl_seconds * 1000, expired: false };
  drawQr($('challenge-qr'), c.qr, '核验验证码 Verifier challenge');
  $('challenge-code').textContent = spacedCode(c.code);
  $('challenge-aud').textContent = challenge.aud;
  showChallenge();
  challengeTimer = setInterval(tickChallenge, 1000);
  $('challenge-scan').focus();
}

function showChallengeProblem(zh, en) {
  endChallenge();
  showChallenge();
  $('challenge-timer').textContent = '';
  showError($('challenge-error'), zh, en);
  $('challenge-error').focus();
}

/* Back to plain scanning: the challenge is dropped (it expires unused). */
function leaveChallenge() {
  challengeMode = false;
  endChallenge();
  startScanning();
}

/* ---- start ---- */

function main() {
  takeKeyFromFragment();
  $('signin-form').addEventListener('submit', onSignIn);
  $('signout').addEventListener('click', () => { forgetKey(); challengeMode = false; endChallenge(); clearAnswer(); showSignIn(); });
  $('next').addEventListener('click', startScanning);
  $('next-challenge').addEventListener('click', newChallenge);
  $('show-challenge').addEventListener('click', () => (challenge ? showChallenge() : newChallenge()));
  $('plain-scan').addEventListener('click', leaveChallenge);
  $('challenge-leave').addEventListener('click', leaveChallenge);
  $('challenge-new').addEventListener('click', newChallenge);
  $('challenge-scan').addEventListener('click', startScanning);
  /* Until the key's settings are known, a retry asks for them again. */
  $('camera-retry').addEventListener('click', () => (settings ? startScanning() : start()));
  $('photo-button').addEventListener('click', () => $('photo').click());
  $('photo').addEventListener('change', onPhoto);
  document.addEventListener('visibilitychange', () => {
    /* A hidden page keeps no camera open. */
    if (document.hidden && scanning) { stopCamera(); setState('camera-error'); $('camera-retry').hidden = false; }
  });
  apiKey = storedKey();
  if (apiKey) start();
  else showSignIn();
}

main();
