// devserver.mjs - a stand-in for the verifier's /scan route while working on
// the page: serves verifier/web/scan/ under /scan/ with the headers
// svc_assets.c sends (the same Content-Security-Policy, so a page that breaks
// the policy breaks here too) and passes /v1/* through to a real
// ecred-verifierd. Loopback only. Must never: become the way the page is
// deployed (ecred-verifierd serves it), log a key or a body.
//   node devserver.mjs PORT DIR UPSTREAM_URL
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join, normalize, extname } from 'node:path';

const [port, dir, upstream] = process.argv.slice(2);
const CSP = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; " +
  "img-src 'self' data: blob:; media-src 'self' blob: mediastream:; connect-src 'self'; " +
  "manifest-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.wasm': 'application/wasm', '.svg': 'image/svg+xml', '.md': 'text/markdown; charset=utf-8' };

createServer(async (req, res) => {
  const path = new URL(req.url, 'http://x').pathname;
  if (path.startsWith('/v1/')) {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const r = await fetch(upstream + path, {
      method: req.method,
      headers: { authorization: req.headers.authorization ?? '', 'content-type': req.headers['content-type'] ?? '' },
      body: req.method === 'POST' ? Buffer.concat(chunks) : undefined,
    });
    const headers = { 'content-type': r.headers.get('content-type') ?? 'application/json' };
    if (r.headers.get('retry-after')) headers['retry-after'] = r.headers.get('retry-after');
    res.writeHead(r.status, headers);
    res.end(Buffer.from(await r.arrayBuffer()));
    return;
  }
  let rest = path === '/scan' || path === '/scan/' ? 'index.html' : path.startsWith('/scan/') ? path.slice(6) : null;
  if (rest === null || normalize(rest).startsWith('..')) { res.writeHead(404); res.end(); return; }
  try {
    const body = await readFile(join(dir, normalize(rest)));
    res.writeHead(200, { 'content-type': TYPES[extname(rest)] ?? 'application/octet-stream',
      'content-security-policy': CSP, 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer',
      'cache-control': 'no-cache' });
    res.end(body);
  } catch {
    res.writeHead(404); res.end();
  }
}).listen(Number(port), '127.0.0.1');
