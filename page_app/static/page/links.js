// Links sent to the page from elsewhere: a share to the installed app (its manifest's
// share_target) or the bookmarklet open the page at ?url=… (or ?text=…, ?title=…),
// which the server has already put in the URL field (page_app/app.py, shared_url).

// The shared link is in the field: the address bar goes back to the page's own, so that
// reloading or installing the page does not bring the link back.
export function forgetSharedQuery() {
  const query = new URLSearchParams(window.location.search);
  if (!["url", "text", "title"].some((name) => query.has(name))) return;
  window.history.replaceState(null, "", window.location.pathname);
  const field = document.getElementById("url");
  if (!field || !field.value) return;
  field.dispatchEvent(new Event("input")); // the form's own checks of a changed URL
  // One tap from the share to the download: Start has the focus, and says so.
  document.getElementById("form-status").textContent = "The link you sent is filled in: press Start.";
  document.getElementById("start-button").focus();
}

// The bookmarklet opens this page in a new tab with the current tab's address; the key
// stays in this browser's session. Its address is this page's, as the browser sees it
// (behind a proxy the server may not know it).
export function bookmarkletCode(pageAddress) {
  const open = `window.open(${JSON.stringify(`${pageAddress}?url=`)}+encodeURIComponent(location.href),"_blank","noopener")`;
  return `javascript:(function(){${open}})()`;
}

export function initBookmarklet() {
  const link = document.getElementById("bookmarklet");
  if (!link) return;
  link.href = bookmarkletCode(`${window.location.origin}${window.location.pathname}`);
  link.hidden = false;
  // Clicked here it would run on this page, whose policy refuses it: say what to do.
  link.addEventListener("click", (event) => {
    event.preventDefault();
    document.getElementById("bookmarklet-status").textContent =
      "Drag it to your bookmarks bar (or bookmark it), then click it on the page of a video.";
  });
}
