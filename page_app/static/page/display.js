// How the page shows things: elements built from data (never HTML strings), links that
// lead to web pages only, sizes, durations, the task types' names.

export const taskTypes = JSON.parse(document.getElementById("task-types").textContent);
const TYPE_LABELS = {}; // "get_video" -> "Video", from the server's list of types
for (const option of taskTypes) TYPE_LABELS[option.type] = option.label;

export function el(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "text") node.textContent = value;
    else if (name === "className") node.className = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

// A link taken from task data, only when it leads to a web page: a site's thumbnail
// may say `javascript:` (run in this page, with its session) or `data:`.
export function webLink(value) {
  try {
    const { protocol } = new URL(value, window.location.href);
    return protocol === "http:" || protocol === "https:" ? value : null;
  } catch (error) {
    return null;
  }
}

// A link to this server's own file (a task's `thumbnail`, an extra file's `file`): the
// page's policy loads images from this origin only, and a link elsewhere is not one.
export function ownLink(value) {
  if (typeof value !== "string" || !value) return null;
  try {
    const url = new URL(value, window.location.href);
    return url.origin === window.location.origin ? value : null;
  } catch (error) {
    return null;
  }
}

export function setText(node, text) {
  if (node && node.textContent !== text) node.textContent = text;
}

export function formatBytes(bytes) {
  if (bytes === null || bytes === undefined) return "";
  const units = ["bytes", "KB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return unit === 0 ? `${value} bytes` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

export function formatSeconds(seconds) {
  if (seconds === null || seconds === undefined) return "";
  const total = Math.round(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const pad = (n) => String(n).padStart(2, "0");
  return h ? `${h}:${pad(m)}:${pad(s)}` : `${m}:${pad(s)}`;
}

export function typeLabel(taskType) {
  return TYPE_LABELS[taskType] || taskType.replace(/^get_/, "").replace(/_/g, " ");
}

export function qualityText(kind, value, cap) {
  const text = kind === "video" ? `${value}p` : `${Math.round(value)} kbit/s`;
  return cap ? `at most ${text}` : text;
}

// When a wait of `seconds` ends, for a message that stays as it is: "in 5 s" while that
// is soon, else the time of day ("at 10:42").
export function whenText(seconds) {
  if (seconds < 60) return `in ${seconds} s`;
  const at = new Date(Math.ceil((Date.now() + seconds * 1000) / 60000) * 60000); // not sooner
  return `at ${at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}`;
}

export const isLive = (taskType) => taskType.startsWith("get_live_");
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
