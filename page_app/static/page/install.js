// On every page (templates/page/base.html): registers the service worker that makes the
// page an installable app and keeps its own files cached (page_app/app.py). Without
// service workers (an old browser, or plain HTTP other than localhost) the page works as
// a web page.

const script = document.querySelector("script[data-worker]");
if ("serviceWorker" in navigator && script) {
  // Its scope is its folder, where the page is (/, or the prefix the server is mounted at).
  navigator.serviceWorker.register(script.dataset.worker).catch(() => {
    // Not installable here (e.g. a private window that refuses workers): nothing to say.
  });
}
