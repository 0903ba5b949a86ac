// The task list: one request per cycle for the whole list (a long poll while the page is
// visible), the rows rebuilt only where a task changed, playlists grouped with their
// entries, and Clear finished.

import { SignedOut, api, errorOf, onStartsRefused, refusalOf, retryAfterSeconds, startsRefusedFor } from "./api.js";
import { setText, whenText } from "./display.js";
import { followStartedTask } from "./form.js";
import { expiryText, infos, notes, playlistItem, taskItem } from "./task_rows.js";

const FOREGROUND_POLL_MS = 1000; // changes appear within a second
// With nothing waiting or running, only a task started elsewhere can change the list:
// asked less often (this page's own actions and a return to the tab ask at once).
const IDLE_POLL_MS = 5000;
const BACKGROUND_POLL_MS = 15000; // a hidden tab asks far less often

const tasksStatus = document.getElementById("tasks-status");
const list = document.getElementById("tasks");
const rendered = new Map(); // task id -> {key, node}
let etag = null;
let lastTasks = [];
let lastTop = []; // the list's rows: a playlist once with its entries, other tasks alone

// --- Playlists: a group of tasks ---------------------------------------------------

// The list's top level: each playlist once, its entries inside it (in playlist order,
// from its `children`), every other task as itself. /tasks lists the entries too, with
// their progress and file; an entry that is not on this page of the list shows what its
// playlist says of it. A group stands where its newest task is.
function grouped(tasks) {
  const byId = new Map(tasks.map((task) => [task.task_id, task]));
  const top = [];
  const placed = new Set();
  for (const task of tasks) {
    let group = task.task_type === "get_playlist" ? task : null;
    if (task.playlist) group = byId.get(task.playlist) || playlistOutside(task.playlist);
    if (!group) {
      top.push({ task, entries: null }); // an entry on its own until its playlist is read
      continue;
    }
    if (placed.has(group.task_id)) continue;
    placed.add(group.task_id);
    top.push({ task: group, entries: entriesOf(group, byId) });
  }
  return top;
}

function entriesOf(playlist, byId) {
  const entryType = playlist.type === "audio" ? "get_audio" : "get_video";
  return (playlist.children || []).map(
    (child) =>
      byId.get(child.task_id) || {
        ...child,
        task_type: entryType,
        url: "",
        playlist: playlist.task_id,
        cancelled: false,
      }
  );
}

// A playlist larger than a page of the list (50 tasks; PLAYLIST_MAX_ITEMS may be 100)
// has its entries on the page but not itself, as they are newer: its /status is read
// then, at most every OUTSIDE_PLAYLIST_MS while the list changes, so its group still
// shows, without a request per playlist per cycle for those that are on the page.
const OUTSIDE_PLAYLIST_MS = 3000;
const outside = new Map(); // playlist id -> {task, readAt, reading}

function playlistOutside(playlistId) {
  const known = outside.get(playlistId) || { task: null, readAt: 0, reading: false };
  outside.set(playlistId, known);
  if (known.gone) return null; // deleted meanwhile: its entries show on their own
  const wait = known.readAt + OUTSIDE_PLAYLIST_MS - Date.now();
  const unfinished = !known.task || ["waiting", "processing"].includes(known.task.status);
  if (!known.reading && wait <= 0) readPlaylist(playlistId, known);
  else if (!known.reading && !known.timer && unfinished) {
    // The list may not change again (its last entry just ended): read it once more then.
    known.timer = setTimeout(() => {
      known.timer = null;
      rerender();
    }, wait);
  }
  return known.task;
}

function forgetPlaylistsOutside(tasks) {
  const referenced = new Set(tasks.map((task) => task.playlist).filter(Boolean));
  for (const [playlistId, known] of outside) {
    if (referenced.has(playlistId)) continue;
    clearTimeout(known.timer);
    outside.delete(playlistId);
  }
}

async function readPlaylist(playlistId, known) {
  known.reading = true;
  try {
    const result = await api("GET", `/status/${playlistId}`);
    if (result.response.ok) known.task = result.data;
    else known.gone = result.response.status === 404 || result.response.status === 410;
  } catch (error) {
    if (error instanceof SignedOut) return;
  } finally {
    known.reading = false;
    known.readAt = Date.now();
  }
  rerender();
}

// --- Clear finished: the API's DELETE /delete_task of each finished row on the page ----

const clearButton = document.getElementById("clear-finished");
const clearConfirm = document.getElementById("clear-confirm");
const clearStatus = document.getElementById("clear-status");
let clearing = null; // the ids asked about, until the question is answered

function finishedRowIds() {
  const finished = lastTop.filter(({ task }) => task.status === "completed" || task.status === "error");
  return finished.map(({ task }) => task.task_id); // a playlist's entries go with it
}

function showClearFinished() {
  clearButton.hidden = clearing !== null || finishedRowIds().length === 0;
}

// Files are deleted for good: asked in the page (never confirm()), with the count.
function askToClear() {
  clearing = finishedRowIds();
  const one = clearing.length === 1;
  setText(
    document.getElementById("clear-question"),
    one ? "Delete the finished task and its file?" : `Delete the ${clearing.length} finished tasks and their files?`
  );
  setText(clearStatus, "");
  clearConfirm.hidden = false;
  showClearFinished();
  document.getElementById("clear-yes").focus();
}

function keepFinished() {
  clearing = null;
  clearConfirm.hidden = true;
  showClearFinished();
  clearButton.focus();
}

async function clearFinished() {
  const ids = clearing;
  clearConfirm.hidden = true;
  setText(clearStatus, "Deleting…");
  let deleted = 0;
  let refused = "";
  try {
    for (const id of ids) {
      const result = await api("DELETE", `/delete_task/${id}`);
      if (result.response.ok) deleted += 1;
      // 404 and 410: gone already (deleted elsewhere, or expired); nothing to say.
      else if (![404, 410].includes(result.response.status)) refused = errorOf(result);
    }
  } catch (error) {
    if (error instanceof SignedOut) return;
    refused = "Could not reach the server; try again.";
  } finally {
    clearing = null;
  }
  const done = `Deleted ${deleted} finished task${deleted === 1 ? "" : "s"}.`;
  setText(clearStatus, refused ? `${done} Not deleted: ${refused}` : done);
  showClearFinished();
  pollNow();
}

// Each item is rebuilt only when its task (or, for a playlist, one of its entries)
// changed, so a focused button stays focused (or its replacement, the button of the same
// name on the same task, takes the focus) while the list updates.
function render(tasks) {
  lastTasks = tasks;
  followStartedTask(tasks);
  forgetPlaylistsOutside(tasks);
  const top = grouped(tasks);
  lastTop = top;
  showClearFinished();
  if (!top.length) setText(tasksStatus, "No tasks yet. Paste a link above and press Start.");
  else setText(tasksStatus, `${top.length} task${top.length === 1 ? "" : "s"}, newest first.`);
  const seen = new Set();
  let previous = null;
  const retryHeldBack = startsRefusedFor() > 0; // a 429's wait disables Retry (task_rows.js)
  for (const { task, entries } of top) {
    seen.add(task.task_id);
    const members = [task, ...(entries || [])];
    const key = JSON.stringify([
      retryHeldBack,
      ...members.map((member) => [
        member,
        notes.get(member.task_id) || "",
        infos.get(member.task_id) || null,
        expiryText(member), // changes with the clock, not the task
      ]),
    ]);
    let entry = rendered.get(task.task_id);
    if (!entry || entry.key !== key) {
      const node = entries ? playlistItem(task, entries) : taskItem(task, false);
      if (entry) {
        const focused = entry.node.contains(document.activeElement) ? document.activeElement : null;
        entry.node.replaceWith(node);
        if (focused) refocus(focused, node);
      }
      entry = { key, node };
      rendered.set(task.task_id, entry);
    }
    const expected = previous ? previous.nextSibling : list.firstChild;
    if (expected !== entry.node) list.insertBefore(entry.node, expected);
    previous = entry.node;
  }
  for (const [id, entry] of rendered) {
    if (!seen.has(id)) {
      entry.node.remove();
      rendered.delete(id);
      notes.delete(id);
    }
  }
}

function refocus(focused, node) {
  const action = focused.dataset.action;
  const owner = focused.closest("[data-task-id]");
  const same = [...node.querySelectorAll(`[data-action="${action}"]`)].find(
    (button) => owner && button.closest("[data-task-id]").dataset.taskId === owner.dataset.taskId
  );
  (same || node.querySelector("button, a") || node).focus?.();
}

// One request per cycle for the whole list; an unchanged list is a 304 without a body.
// A visible page that has an ETag long-polls: the server answers when the list changes
// or after LONG_POLL_SECONDS (a 304), and the page asks again at once, so an open page
// costs one parked request rather than one request a second.
const LONG_POLL_SECONDS = 25;
let timer = null;
let polling = true;
let inFlight = false;
let longPolled = false;
let notBefore = 0; // a 429's Retry-After: the list is not asked for again sooner

async function poll() {
  clearTimeout(timer);
  if (inFlight) return;
  if (Date.now() < notBefore) return schedule();
  inFlight = true;
  const longPoll = etag !== null && !document.hidden;
  longPolled = false;
  try {
    const path = longPoll ? `/tasks?limit=50&wait=${LONG_POLL_SECONDS}` : "/tasks?limit=50";
    const result = await api("GET", path, undefined, etag ? { "If-None-Match": etag } : {});
    longPolled = longPoll && (result.response.status === 200 || result.response.status === 304);
    if (result.response.status === 200) {
      etag = result.response.headers.get("ETag");
      render(result.data.tasks);
    } else if (result.response.status === 429) {
      const seconds = retryAfterSeconds(result.response);
      notBefore = Date.now() + seconds * 1000;
      setText(tasksStatus, `${refusalOf(result)} The list is read again ${whenText(seconds)}.`);
    } else if (result.response.status !== 304) {
      setText(tasksStatus, `Could not load the tasks: ${errorOf(result)} Trying again…`);
    }
  } catch (error) {
    if (error instanceof SignedOut) return;
    setText(tasksStatus, "Could not reach the server; trying again…");
  } finally {
    inFlight = false;
  }
  schedule();
}

function schedule() {
  if (!polling) return;
  clearTimeout(timer);
  const busy = lastTasks.some((task) => task.status === "waiting" || task.status === "processing");
  let delay = document.hidden ? BACKGROUND_POLL_MS : busy ? FOREGROUND_POLL_MS : IDLE_POLL_MS;
  if (longPolled && !document.hidden) delay = 0; // the server did the waiting
  timer = setTimeout(poll, Math.max(delay, notBefore - Date.now()));
}

export function pollNow() {
  if (polling) setTimeout(poll, 0);
}

export function stopPolling() {
  polling = false;
  clearTimeout(timer);
}

// The rows again, as they are now: after a row's own change (a note, the metadata read)
// or the clock's (an expiry, a wait that ended).
export function rerender() {
  render(lastTasks);
}

// "expires in …" counts down without the list changing: its rows are redrawn (render
// rebuilds only the rows whose text changed).
const EXPIRY_REFRESH_MS = 30000;

export function startTaskList() {
  clearButton.addEventListener("click", askToClear);
  document.getElementById("clear-yes").addEventListener("click", clearFinished);
  document.getElementById("clear-no").addEventListener("click", keepFinished);
  setInterval(() => {
    if (lastTasks.some((task) => task.expires_at)) rerender();
  }, EXPIRY_REFRESH_MS);
  // The rows' Retry buttons are disabled while a 429's wait lasts, and enabled after it.
  onStartsRefused(() => {
    rerender();
    setTimeout(rerender, startsRefusedFor() * 1000);
  });
  window.addEventListener("focus", pollNow);
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) pollNow();
    else schedule();
  });
  poll();
}
