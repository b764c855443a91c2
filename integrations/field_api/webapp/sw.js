// The app shell is kept on the phone so the app opens with no network; photos already seen stay too.
// __VERSION__ is replaced by the server with a hash of the shell, so a new release replaces the cache.
const SHELL = "dispatch-shell-__VERSION__";
const FILES = "dispatch-files";
const ASSETS = ["/app/", "/app/app.js", "/app/store.js", "/app/outbox.js", "/app/app.css", "/app/manifest.webmanifest", "/app/icon-192.png"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(SHELL).then((cache) => cache.addAll(ASSETS)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("dispatch-shell-") && k !== SHELL).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== location.origin) return;
  if (url.pathname.startsWith("/app/")) {
    // The shell: the network when it answers (fresh after a release), the cache when it does not.
    const key = url.pathname === "/app/index.html" ? "/app/" : url.pathname;
    event.respondWith(
      fetch(event.request)
        .then((response) => {
          if (response.ok) caches.open(SHELL).then((cache) => cache.put(key, response.clone()));
          return response;
        })
        .catch(() => caches.match(key, { ignoreSearch: true }).then((hit) => hit || Response.error())),
    );
  } else if (url.pathname.startsWith("/v1/files/")) {
    // Stored files never change (content-addressed): the cache first.
    event.respondWith(
      caches.open(FILES).then((cache) =>
        cache.match(url.pathname).then(
          (hit) => hit || fetch(event.request).then((response) => {
            if (response.ok) cache.put(url.pathname, response.clone());
            return response;
          }),
        ),
      ),
    );
  }
});
