// resident.js - the resident's pages: sign in, apply, follow progress, sign
// the kinship commitment, show the credential. Talks only to /v1/resident/*
// on this origin; holds no logic the API does not check again. Every POST
// carries the session's CSRF token (from /v1/resident/me).
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
      id: c.id, status: c.status, valid_until: c.valid_until, qr_text: c.qr_text,
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
