// The Subscriptions section of the web page (templates/page/subscriptions.html): follow a
// channel, playlist or feed through /subscriptions, see each one's checks, counts and
// errors, pause, resume, check now, delete, and list the tasks it started. Signed in as
// page.js is (the session cookie plus Django's CSRF token); no framework, no build step.
// An ES module, loaded beside page.js when the key may subscribe.

// The page's own: the API with the session, the page's elements, a playlist's quality
// caps (each entry takes its best at most that high, else its smallest), as a subscription's.
import { api, errorOf } from "./api.js";
import { el, qualityText } from "./display.js";
import { PLAYLIST_CAPS } from "./form.js";
import { pollNow as pollTasks } from "./task_list.js";

const POLL_MS = 10000; // checks are minutes apart: a list asked for every 10 s is current
const HIDDEN_POLL_MS = 60000;
const options = JSON.parse(document.getElementById("subscription-options").textContent);
const TYPE_LABELS = Object.fromEntries(options.types.map((type) => [type.type, type.label]));
const KINDS = { get_video: "video", get_audio: "audio" };
const form = document.getElementById("subscribe-form");
const list = document.getElementById("subscriptions");
const listStatus = document.getElementById("subscriptions-status");
const formStatus = document.getElementById("subscribe-status");
const openTasks = new Set(); // subscriptions whose tasks are shown
let pollTimer = null;
let lastList = [];

function fieldError(name, message) {
  const field = document.getElementById(`sub-${name}`);
  const error = document.getElementById(`sub-${name}-error`);
  if (!field || !error) return false;
  if (message) field.setAttribute("aria-invalid", "true");
  else field.removeAttribute("aria-invalid");
  error.textContent = message || "";
  error.hidden = !message;
  return true;
}

// "in 57 min", "3 min ago": the checks are minutes to days apart.
function relative(iso) {
  if (!iso) return "never";
  const seconds = Math.round((new Date(iso).getTime() - Date.now()) / 1000);
  const size = Math.abs(seconds);
  let text = "now";
  if (size >= 86400) text = `${Math.round(size / 86400)} d`;
  else if (size >= 3600) text = `${Math.round(size / 3600)} h`;
  else if (size >= 60) text = `${Math.round(size / 60)} min`;
  else if (size >= 5) text = `${size} s`;
  if (text === "now") return "now";
  return seconds > 0 ? `in ${text}` : `${text} ago`;
}

function intervalText(seconds) {
  const known = options.intervals.find((option) => option.seconds === seconds);
  return known ? `every ${known.label}` : `every ${seconds} s`;
}

// --- Adding one ----------------------------------------------------------------------

function fillQualities() {
  const select = document.getElementById("sub-quality");
  const kind = KINDS[document.getElementById("sub-type").value];
  select.replaceChildren(el("option", { value: "", text: "Best" }));
  for (const cap of PLAYLIST_CAPS[kind] || []) {
    select.append(el("option", { value: String(cap), text: qualityText(kind, cap, true) }));
  }
}

function subscribeBody() {
  const type = document.getElementById("sub-type").value;
  const body = {
    url: document.getElementById("sub-url").value.trim(),
    task_type: type,
    interval: Number(document.getElementById("sub-interval").value),
  };
  const backfill = document.getElementById("sub-backfill").value.trim();
  body.backfill = backfill === "" ? 0 : Number(backfill);
  const cap = document.getElementById("sub-quality").value;
  if (cap && type === "get_video") body.video_format = `bestvideo[height<=${cap}]/worstvideo`;
  if (cap && type === "get_audio") body.audio_format = `bestaudio[abr<=${cap}]/worstaudio`;
  return body;
}

async function subscribe(event) {
  event.preventDefault();
  const button = document.getElementById("subscribe-button");
  fieldError("url", "");
  fieldError("backfill", "");
  const body = subscribeBody();
  if (!body.url) {
    fieldError("url", "Enter the URL of a channel, playlist or feed.");
    return;
  }
  button.disabled = true;
  formStatus.textContent = "Listing it…";
  try {
    const result = await api("POST", "/subscriptions", body);
    if (result.response.status === 201) {
      formStatus.textContent = `Subscribed to ${result.data.title || result.data.url}.`;
      document.getElementById("sub-url").value = "";
      pollTasks(); // what it started shows in the list of tasks at once
      await refresh();
    } else {
      // "url: nothing to subscribe to: ...", "backfill: ...": shown at the field named.
      const named = /^(\w+): (.*)$/s.exec(errorOf(result));
      if (named && fieldError(named[1], named[2])) formStatus.textContent = "";
      else formStatus.textContent = errorOf(result);
    }
  } finally {
    button.disabled = false;
  }
}

// --- The list ------------------------------------------------------------------------

function countsText(counts) {
  const parts = [`${counts.downloaded} downloaded of ${counts.seen} seen`];
  const waiting = counts.started + counts.pending;
  if (waiting) parts.push(`${waiting} to download`);
  if (counts.failed) parts.push(`${counts.failed} failed`);
  return parts.join(" · ");
}

function button(text, className, action) {
  const node = el("button", { type: "button", className, text });
  node.addEventListener("click", () => action(node));
  return node;
}

async function act(method, path, body) {
  const result = await api(method, path, body);
  if (!result.response.ok) listStatus.textContent = errorOf(result);
  pollTasks();
  await refresh();
}

function taskLine(task) {
  const title = task.title || task.url;
  const line = el("li", null, el("span", { text: title }), el("span", { className: "task-details", text: ` ${task.status}` }));
  if (task.file) line.append(" ", el("a", { href: task.file, text: "Download" }));
  if (task.status === "error" && task.error) line.append(el("span", { className: "error", text: ` ${task.error}` }));
  return line;
}

async function showTasks(subscription, container) {
  const result = await api("GET", `/tasks?subscription=${encodeURIComponent(subscription.subscription_id)}&limit=20`);
  if (!result.response.ok) {
    container.replaceChildren(el("li", { className: "error", text: errorOf(result) }));
    return;
  }
  const tasks = result.data.tasks;
  if (!tasks.length) container.replaceChildren(el("li", { className: "task-details", text: "No task yet." }));
  else container.replaceChildren(...tasks.map(taskLine));
}

function item(subscription) {
  const id = subscription.subscription_id;
  const path = `/subscriptions/${encodeURIComponent(id)}`;
  const title = subscription.title || subscription.url;
  const checks = subscription.paused
    ? "paused"
    : `last checked ${relative(subscription.last_checked_at)} · next check ${subscription.checking ? "under way" : relative(subscription.next_check_at)}`;
  const node = el(
    "li",
    { className: "task subscription", "data-subscription": id },
    el("h3", { className: "task-title", text: title }),
    el("p", { className: "task-url", text: subscription.url }),
    el("p", { className: "task-details", text: `${TYPE_LABELS[subscription.task_type] || subscription.task_type} · ${intervalText(subscription.interval)} · ${checks}` }),
    el("p", { className: "subscription-counts", text: countsText(subscription.counts) }),
  );
  const problem = subscription.paused_reason || subscription.last_error;
  if (problem) node.append(el("p", { className: "error", text: problem }));
  const tasks = el("ul", { className: "subscription-tasks", "aria-label": `Tasks of ${title}` });
  const actions = el("div", { className: "actions" });
  if (!subscription.paused) actions.append(button("Check now", "secondary", () => act("POST", `${path}/check`)));
  actions.append(
    button(subscription.paused ? "Resume" : "Pause", "secondary", () => act("PATCH", path, { paused: !subscription.paused })),
    button(openTasks.has(id) ? "Hide tasks" : "Tasks", "secondary", () => {
      if (openTasks.has(id)) openTasks.delete(id);
      else openTasks.add(id);
      render(lastList);
    }),
    button("Delete", "danger", (node) => {
      // A second click confirms: its archive goes with it (its tasks stay).
      if (node.dataset.confirm) return act("DELETE", path);
      node.dataset.confirm = "1";
      node.textContent = "Delete: sure?";
    }),
  );
  node.append(actions);
  if (openTasks.has(id)) {
    node.append(tasks);
    showTasks(subscription, tasks);
  }
  return node;
}

function render(subscriptions) {
  lastList = subscriptions;
  list.replaceChildren(...subscriptions.map(item));
  listStatus.textContent = subscriptions.length ? "" : "No subscriptions yet.";
}

async function refresh() {
  clearTimeout(pollTimer);
  try {
    const result = await api("GET", "/subscriptions?limit=100");
    if (result.response.ok) render(result.data.subscriptions);
    else listStatus.textContent = errorOf(result);
  } finally {
    pollTimer = setTimeout(refresh, document.hidden ? HIDDEN_POLL_MS : POLL_MS);
  }
}

document.getElementById("sub-type").addEventListener("change", fillQualities);
form.addEventListener("submit", subscribe);
document.addEventListener("visibilitychange", () => {
  if (!document.hidden) refresh();
});
fillQualities();
document.getElementById("subscribe-button").disabled = false;
refresh();
