// A task's row in the list, as the API describes the task: its progress, what was asked
// for, its file or its failure, the actions it allows; a playlist's row, with its
// entries inside. task_list.js puts the rows in the list and keeps them current.

import { SignedOut, api, errorOf, inPageWords, refusalOf, retryAfterSeconds, startRefused, startsRefusedFor } from "./api.js";
import {
  el,
  formatBytes,
  formatSeconds,
  isLive,
  ownLink,
  qualityText,
  typeLabel,
  webLink,
  whenText,
} from "./display.js";
import { taskRemedy } from "./remedies.js";
import { pollNow, rerender } from "./task_list.js";

export const notes = new Map(); // task id -> a message about the last action on it
export const infos = new Map(); // task id -> the info.json fields of a completed get_info task
const STATUS_WORDS = { processing: "in progress", error: "failed" };

function progressBar(task) {
  const progress = task.progress || {};
  const percent = progress.percent;
  const bar = el("div", {
    className: "progress",
    role: "progressbar",
    "aria-label": task.task_type === "get_playlist" ? "Progress of the playlist" : "Progress",
    "aria-valuemin": "0",
    "aria-valuemax": "100",
    "aria-valuenow": percent === null || percent === undefined ? null : String(percent),
    "aria-valuetext":
      percent === null || percent === undefined
        ? `${formatBytes(progress.downloaded_bytes) || "starting"}`
        : `${percent}%`,
  });
  const fill = el("div", { className: "progress-fill" });
  if (percent === null || percent === undefined) bar.classList.add("indeterminate");
  else fill.style.width = `${Math.min(100, Math.max(0, percent))}%`; // CSSOM: allowed by the CSP
  bar.append(fill);
  return bar;
}

function progressText(task) {
  const progress = task.progress || {};
  const parts = [];
  if (progress.percent !== null && progress.percent !== undefined) parts.push(`${progress.percent}%`);
  if (progress.downloaded_bytes) {
    parts.push(
      progress.total_bytes
        ? `${formatBytes(progress.downloaded_bytes)} of ${formatBytes(progress.total_bytes)}`
        : formatBytes(progress.downloaded_bytes)
    );
  }
  if (progress.speed) parts.push(`${formatBytes(progress.speed)}/s`);
  if (progress.eta !== null && progress.eta !== undefined) parts.push(`ETA ${formatSeconds(progress.eta)}`);
  return parts.join(" · ") || (isLive(task.task_type) ? "Recording…" : "Downloading…");
}

function infoDetails(task) {
  const info = infos.get(task.task_id);
  const box = el("div", { className: "info" });
  if (!info) {
    box.append(el("p", { className: "hint", text: "Loading the metadata…" }));
    loadInfo(task);
    return box;
  }
  if (info.error) {
    box.append(el("p", { className: "error", text: info.error }));
    return box;
  }
  const facts = el("dl", { className: "facts" });
  const fact = (name, value) => {
    if (value === null || value === undefined || value === "") return;
    facts.append(el("dt", { text: name }), el("dd", { text: String(value) }));
  };
  fact("Title", info.title);
  fact("Uploader", info.uploader);
  fact("Duration", info.duration ? formatSeconds(info.duration) : null);
  box.append(facts);
  const thumbnail = webLink(info.thumbnail);
  if (thumbnail) {
    // The page loads nothing from other sites (its Content-Security-Policy): the
    // thumbnail is a link to the source's image.
    box.append(
      el("p", {}, el("a", { href: thumbnail, rel: "noreferrer noopener", target: "_blank", text: "Thumbnail" }))
    );
  }
  const rows = [];
  for (const [id, format] of Object.entries(info.qualities.video)) {
    rows.push([id, format.height ? `${format.height}p` : "", format.fps || "", format.vcodec || "", formatBytes(format.filesize)]);
  }
  for (const [id, format] of Object.entries(info.qualities.audio)) {
    rows.push([id, format.abr ? `${Math.round(format.abr)} kbit/s audio` : "audio", "", format.acodec || "", formatBytes(format.filesize)]);
  }
  if (rows.length) {
    const table = el("table", {});
    table.append(el("caption", { text: "Qualities" }));
    const head = el("tr", {});
    for (const name of ["Format", "Quality", "FPS", "Codec", "Size"]) head.append(el("th", { scope: "col", text: name }));
    table.append(el("thead", {}, head));
    const body = el("tbody", {});
    for (const row of rows) {
      const tr = el("tr", {});
      for (const cell of row) tr.append(el("td", { text: String(cell) }));
      body.append(tr);
    }
    table.append(body);
    box.append(el("div", { className: "table-wrap" }, table));
  } else {
    box.append(el("p", { className: "hint", text: "No qualities listed." }));
  }
  return box;
}

async function loadInfo(task) {
  if (infos.has(task.task_id)) return;
  infos.set(task.task_id, null);
  try {
    const result = await api("GET", `${task.file}?title&uploader&duration&thumbnail&qualities`);
    infos.set(
      task.task_id,
      result.response.ok ? result.data : { error: `Could not load the metadata: ${errorOf(result)}` }
    );
  } catch (error) {
    infos.set(task.task_id, { error: "Could not load the metadata." });
  }
  rerender();
}

function actionButton(task, label, handler, className) {
  const button = el("button", {
    type: "button",
    className: className || "secondary",
    "aria-describedby": `title-${task.task_id}`,
    "data-action": label,
    // A retry starts the task again: not before a 429's Retry-After (api.js).
    disabled: handler === retry && startsRefusedFor() > 0,
    text: label,
  });
  button.addEventListener("click", () => handler(task, button));
  return button;
}

// `starts`: the action starts the task again (a retry), which counts against the key's
// request limit like any start: a 429 holds back every start until its Retry-After.
async function act(task, button, method, path, body, done, starts) {
  button.disabled = true;
  notes.set(task.task_id, "Working…");
  rerender();
  try {
    const result = await api(method, path, body);
    if (result.response.ok && done === null) notes.delete(task.task_id);
    else notes.set(task.task_id, result.response.ok ? done : errorOf(result));
    if (result.response.status === 429) {
      const seconds = retryAfterSeconds(result.response);
      notes.set(task.task_id, `${refusalOf(result)} You may try again ${whenText(seconds)}.`);
      if (starts) startRefused(result);
    }
  } catch (error) {
    if (error instanceof SignedOut) return;
    notes.set(task.task_id, "Could not reach the server; try again.");
  }
  pollNow();
}

// No note: the row's status says "cancelled" (done === null).
const cancel = (task, button) => act(task, button, "POST", `/cancel/${task.task_id}`, {}, null);
const keep = (task, button) =>
  act(task, button, "POST", `/cancel/${task.task_id}`, { keep: true }, "Stopping; the recording is kept.");
const retry = (task, button) =>
  act(task, button, "POST", `/retry/${task.task_id}`, undefined, "Started again.", true);
const remove = (task, button) =>
  act(task, button, "DELETE", `/delete_task/${task.task_id}`, undefined, "Deleted.");

function statusWord(task) {
  return task.cancelled ? "cancelled" : STATUS_WORDS[task.status] || task.status;
}

// --- What a row says of its task: when, what was asked for, when its file goes ------

function clockTime(iso) {
  const date = new Date(iso);
  const time = date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  if (date.toDateString() === new Date().toDateString()) return time;
  return `${date.toLocaleDateString([], { month: "short", day: "numeric" })} ${time}`;
}

// A selector the form makes ("bestvideo[height<=720]", a playlist's with "/worstvideo")
// reads as its cap; the defaults say nothing; any other (from an API client) as it is.
function selectorText(selector, kind) {
  if (!selector || selector === `best${kind}`) return "";
  const cap = new RegExp(`^best${kind}\\[(height|abr)<=(\\d+)\\](/worst${kind})?$`).exec(selector);
  if (cap) return qualityText(kind, Number(cap[2]), true);
  return `${kind} ${selector}`;
}

function askedFor(task) {
  const parts = [];
  if (task.preset) parts.push(`preset ${task.preset}`);
  if (task.start_time != null && task.end_time != null) {
    parts.push(`clip ${formatSeconds(task.start_time)}–${formatSeconds(task.end_time)}`);
  } else if (task.start_time != null) parts.push(`from ${formatSeconds(task.start_time)}`);
  else if (task.end_time != null) parts.push(`until ${formatSeconds(task.end_time)}`);
  if (task.duration != null) parts.push(`${formatSeconds(task.duration)} long`);
  if (task.start) parts.push(`from ${formatSeconds(task.start)} back`);
  if (task.items) parts.push(`items ${task.items}`);
  const audioOnly = task.task_type === "get_audio" || task.task_type === "get_live_audio" || task.type === "audio";
  if (!audioOnly) parts.push(selectorText(task.video_format, "video"));
  parts.push(selectorText(task.audio_format, "audio"));
  if (task.output_format) parts.push(task.output_format);
  return parts.filter(Boolean);
}

// From the API's `expires_at` (finished tasks: when cleanup deletes the task and its
// file); nothing when it is absent.
export function expiryText(task) {
  if (!task.expires_at) return "";
  const minutes = Math.ceil((Date.parse(task.expires_at) - Date.now()) / 60000);
  if (minutes <= 0) return "expires any moment";
  if (minutes < 60) return `expires in ${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `expires in ${hours} h${minutes % 60 ? ` ${minutes % 60} min` : ""}`;
  return `expires in ${Math.round(hours / 24)} days`;
}

function detailsLine(task) {
  const parts = [`Started ${clockTime(task.created_at)}`, ...askedFor(task), expiryText(task)];
  return el("p", { className: "task-details", text: parts.filter(Boolean).join(" · ") });
}

// --- A failed task ----------------------------------------------------------------

// What the row of a failed task (or playlist) says of its failure: its error in the page's
// words, and what a person can do about it (remedies.js). Nothing for a cancelled task:
// its error ("Cancelled") would repeat its status word.
function failureOf(task) {
  if (task.status !== "error" || task.cancelled) return null;
  const failure = document.createDocumentFragment();
  failure.append(el("p", { className: "error", text: inPageWords(task.error).text }));
  const remedy = taskRemedy(task); // what a person can do about it, by its error_code
  if (remedy) failure.append(remedy);
  return failure;
}

// --- What the back end made of a task: its thumbnail, extra files, library place ----

// The task's thumbnail (`thumbnail`: a /files path, as `file` is), beside its title;
// decorative (the title says what it is), and loaded only when scrolled to.
function addThumbnail(item, task) {
  const src = ownLink(task.thumbnail);
  if (!src) return;
  item.classList.add("with-thumb");
  item.append(el("img", { className: "thumb", src, alt: "", loading: "lazy", decoding: "async" }));
}

const EXTRA_KINDS = { subtitles: "Subtitles", thumbnail: "Cover" };

// The files served next to the media (`extra_files`): subtitles not embedded, a cover.
function extraFileLinks(task) {
  const links = [];
  for (const extra of task.extra_files || []) {
    const href = ownLink(extra.file);
    if (!href || (extra.kind === "thumbnail" && extra.file === task.thumbnail)) continue;
    // "Subtitles en.vtt": the end of the name (…[id].en.vtt) says the language and format.
    const parts = extra.name.split(".");
    const name = parts.length > 2 ? parts.slice(-2).join(".") : extra.name;
    const size = extra.size ? ` (${formatBytes(extra.size)})` : "";
    const text = `${EXTRA_KINDS[extra.kind] || "File"} ${name}${size}`;
    links.push(el("a", { href, className: "extra-file", download: "", text }));
  }
  return links;
}

// A task placed in the media library (`library_path`, relative to LIBRARY_DIR): it stays
// there after cleanup deletes the task and its file here.
function libraryMark(task) {
  if (!task.library_path) return null;
  const badge = el("span", { className: "badge", text: "In the library" });
  return el("p", { className: "library" }, badge, ` ${task.library_path}`);
}

// --- A task's row -----------------------------------------------------------------

// `inGroup`: an entry shown inside its playlist's item (a smaller heading, its position
// instead of the URL the playlist already shows).
export function taskItem(task, inGroup) {
  const unfinished = task.status === "waiting" || task.status === "processing";
  const className = `task status-${task.status}${inGroup ? " entry" : ""}`;
  const item = el("li", { className, "data-task-id": task.task_id });
  addThumbnail(item, task);
  const heading = inGroup ? "h4" : "h3";
  const title = el(heading, { id: `title-${task.task_id}`, className: "task-title", text: task.title || task.url });
  item.append(title);
  const meta = [typeLabel(task.task_type), statusWord(task)];
  if (task.playlist && !inGroup) meta.push(`item ${task.position} of a playlist`);
  if (inGroup) meta.unshift(`Item ${task.position}`);
  item.append(el("p", { className: "task-meta", text: meta.join(" · ") }));
  if (!inGroup) item.append(detailsLine(task)); // an entry's are its playlist's
  if (task.title && !inGroup) item.append(el("p", { className: "task-url", text: task.url }));
  const library = libraryMark(task);
  if (library) item.append(library);
  if (task.status === "processing") {
    item.append(progressBar(task));
    item.append(el("p", { className: "task-progress", text: progressText(task) }));
  }
  if (task.status === "waiting") item.append(el("p", { className: "hint", text: "Waiting for a worker…" }));
  const failure = failureOf(task);
  if (failure) item.append(failure);
  if (task.status === "completed" && task.task_type === "get_info") item.append(infoDetails(task));
  const actions = el("div", { className: "task-actions" });
  if (task.status === "completed" && task.file) {
    if (task.task_type === "get_info") {
      actions.append(el("a", { href: webLink(task.file), className: "button-link", text: "Raw JSON" }));
    } else {
      actions.append(el("a", { href: webLink(task.file), className: "button-link", text: "Download" }));
      if (task.file_size !== null && task.file_size !== undefined) {
        actions.append(el("span", { className: "size", text: formatBytes(task.file_size) }));
      }
      for (const link of extraFileLinks(task)) actions.append(link);
    }
  }
  if (task.status === "error") actions.append(actionButton(task, "Retry", retry));
  if (unfinished) {
    actions.append(actionButton(task, "Cancel", cancel));
    if (isLive(task.task_type) && task.status === "processing") {
      actions.append(actionButton(task, "Stop and keep", keep));
    }
  } else if (!inGroup) {
    // An entry is deleted with its playlist: one Delete, on the group.
    actions.append(actionButton(task, "Delete", remove, "danger"));
  }
  if (actions.childElementCount) item.append(actions);
  const note = notes.get(task.task_id);
  if (note) item.append(el("p", { className: "note", role: "status", text: note }));
  return item;
}

// --- A playlist's row ---------------------------------------------------------------

function countsText(task, entries) {
  const counts = task.counts || {};
  if (!entries.length) {
    if (task.status === "waiting") return "Waiting for a worker to list the playlist…";
    if (task.status === "processing") return "Listing the playlist…";
    return ""; // it failed before listing: its error says why
  }
  const parts = [`${counts.completed || 0} of ${entries.length} done`];
  if (counts.error) parts.push(`${counts.error} failed`);
  if (counts.processing) parts.push(`${counts.processing} downloading`);
  if (counts.waiting) parts.push(`${counts.waiting} waiting`);
  return parts.join(", ");
}

// The ZIP is the completed entries' files, stored uncompressed: about their sizes summed,
// when every one of them is on this page of the list.
function zipSize(entries) {
  let total = 0;
  for (const entry of entries) {
    if (entry.status !== "completed") continue;
    if (entry.file_size === null || entry.file_size === undefined) return null;
    total += entry.file_size;
  }
  return total || null;
}

export function playlistItem(task, entries) {
  const unfinished = task.status === "waiting" || task.status === "processing";
  const failed = entries.filter((entry) => entry.status === "error");
  const item = el("li", { className: `task playlist status-${task.status}`, "data-task-id": task.task_id });
  addThumbnail(item, task);
  const titleId = `title-${task.task_id}`;
  item.append(el("h3", { id: titleId, className: "task-title", text: task.title || task.url }));
  const kind = task.type === "audio" ? "audio" : "videos";
  item.append(el("p", { className: "task-meta", text: `Playlist of ${kind} · ${statusWord(task)}` }));
  item.append(detailsLine(task));
  if (task.title) item.append(el("p", { className: "task-url", text: task.url }));
  const counts = countsText(task, entries);
  if (counts) item.append(el("p", { className: "counts", text: counts }));
  if (task.status === "processing" && entries.length) {
    item.append(progressBar(task));
    item.append(el("p", { className: "task-progress", text: progressText(task) }));
  }
  const failure = failureOf(task);
  if (failure) item.append(failure);
  if (task.status === "completed" && failed.length) {
    const names = failed.map((entry) => `${entry.position}. ${entry.title || "untitled"}`).join("; ");
    item.append(el("p", { className: "error", text: `Failed: ${names}. Retry runs them again.` }));
  }
  const actions = el("div", { className: "task-actions" });
  if (task.status === "completed" && task.file) {
    actions.append(el("a", { href: webLink(task.file), className: "button-link", "aria-describedby": titleId, text: "Download all" }));
    const size = zipSize(entries);
    if (size) actions.append(el("span", { className: "size", text: `ZIP, about ${formatBytes(size)}` }));
  }
  if (task.status === "error" || failed.length) actions.append(actionButton(task, "Retry", retry));
  if (unfinished) actions.append(actionButton(task, "Cancel", cancel));
  else actions.append(actionButton(task, "Delete", remove, "danger"));
  item.append(actions);
  const note = notes.get(task.task_id);
  if (note) item.append(el("p", { className: "note", role: "status", text: note }));
  if (entries.length) {
    const list = el("ol", { className: "entries", "aria-label": `Items of ${task.title || "the playlist"}` });
    for (const entry of entries) list.append(taskItem(entry, true));
    item.append(list);
  }
  return item;
}

