// sw.js - keeps the credential page working without network: the page, its
// script and styles, the last credential JSON and its QR image are answered
// from a cache when the network fails. Network first, so a suspension or a
// new credential shows as soon as there is a connection. Caches nothing else.
const CACHE = 'ecred-card-v1';
const SHELL = ['/app/card.html', '/app/resident.js', '/app/style.css', '/app/resident.css'];
const keep = (url) =>
  SHELL.includes(url.pathname) || url.pathname === '/v1/resident/credential' ||
  /^\/v1\/resident\/credentials\/[0-9a-f]{16}\/qr\.svg$/.test(url.pathname);

self.addEventListener('install', (e) => {
  e.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});
self.addEventListener('activate', (e) => e.waitUntil(self.clients.claim()));
self.addEventListener('fetch', (e) => {
  const url = new URL(e.request.url);
  if (e.request.method !== 'GET' || url.origin !== location.origin || !keep(url)) return;
  e.respondWith(
    fetch(e.request)
      .then((r) => {
        if (r.ok) {
          const copy = r.clone();
          caches.open(CACHE).then((c) => c.put(e.request, copy));
        }
        return r;
      })
      .catch(() => caches.match(e.request).then((r) => r || Response.error())),
  );
});
