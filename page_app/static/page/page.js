// The web page of ytdlphost: start tasks and follow them through the API (the same
// endpoints as any client), signed in by the session cookie plus Django's CSRF token.
// No framework and no build step; every message is shown in the page, never alert().
//
// ES modules, loaded from this one (templates/page/index.html names only page.js):
//   api.js        requests to the API, its messages in the page's words, Retry-After
//   display.js    building elements, sizes, durations, the task types' names
//   form.js       the start form: fields by type, qualities, refusals at their fields
//   presets.js    the server's presets, offered first in the form (GET /presets)
//   links.js      links shared to the installed app or sent by the bookmarklet
//   task_list.js  the list: the long poll, rows kept current, playlists, Clear finished
//   task_rows.js  a task's row and a playlist's; a failed task's row: failureOf

import { onSignedOut } from "./api.js";
import { setText } from "./display.js";
import { initStartForm } from "./form.js";
import { forgetSharedQuery, initBookmarklet } from "./links.js";
import { startTaskList, stopPolling } from "./task_list.js";

onSignedOut(() => {
  stopPolling();
  setText(document.getElementById("tasks-status"), "You were signed out; loading the sign-in page…");
  window.location.reload();
});
initStartForm();
forgetSharedQuery();
initBookmarklet();
startTaskList();
