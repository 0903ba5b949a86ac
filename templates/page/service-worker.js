{% autoescape off %}// The page's service worker (page_app/app.py fills in VERSION and ASSETS). It keeps the
// page's own files, and only them: never the page itself (it carries the session's CSRF
// token), never an API answer nor a task's file. VERSION changes with those files, so a
// browser installs the worker again, with fresh copies, whenever one of them changes.
//
// Network first: the page itself always comes from the server, so its files must be the
// server's of now (a cached page.js older than the page would miss what it names). The
// cache answers when the network fails (a phone between cells), so the page still opens
// and says that it cannot reach the server.
const VERSION = {{ version }};
const ASSETS = {{ assets }};
const CACHE = `page-${VERSION}`;

self.addEventListener("install", (event) => {
  // "reload": fresh copies, not those the browser's HTTP cache may still hold.
  const requests = ASSETS.map((url) => new Request(url, { cache: "reload" }));
  const filled = caches.open(CACHE).then((cache) => cache.addAll(requests));
  event.waitUntil(filled.then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  const old = caches.keys().then((names) => {
    const others = names.filter((name) => name.startsWith("page-") && name !== CACHE);
    return Promise.all(others.map((name) => caches.delete(name)));
  });
  event.waitUntil(old.then(() => self.clients.claim()));
});

async function fromNetworkElseCache(request, path) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(path, response.clone());
    return response;
  } catch (error) {
    const cached = await cache.match(path);
    if (cached) return cached;
    throw error;
  }
}

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  if (!ASSETS.includes(url.pathname)) return; // everything else: the network, untouched
  event.respondWith(fromNetworkElseCache(event.request, url.pathname));
});
{% endautoescape %}
