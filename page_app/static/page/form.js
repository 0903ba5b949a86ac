// The start form: the fields of the type chosen, qualities looked up with a get_info
// task, the API's refusals shown at their fields, and a 429's wait counted down.

import {
  SignedOut,
  api,
  errorOf,
  inPageWords,
  onStartsRefused,
  startRefused,
  startsRefusedFor,
} from "./api.js";
import { el, qualityText, setText, sleep, taskTypes } from "./display.js";
import { chosenPreset, loadPresets } from "./presets.js";
import { pollNow } from "./task_list.js";

const form = document.getElementById("start-form");
const formStatus = document.getElementById("form-status");
let qualities = null; // {url, video: [...heights], audio: [...bitrates]} once looked up

function selectedType() {
  const value = document.getElementById("type").value;
  return taskTypes.find((option) => option.type === value);
}

// A playlist's entries are tasks of the type chosen under "Each item as": the form
// offers that type's qualities and output formats.
function entryTypeOf(option) {
  if (!option.entry_types) return option;
  const chosen = document.getElementById("entry_type").value;
  const entry = option.entry_types.find((kind) => kind.value === chosen) || option.entry_types[0];
  return taskTypes.find((other) => other.type === entry.type);
}

// A playlist's entries differ and are not looked up one by one: its qualities are caps,
// each entry taking its best at most that high (or its smallest, when none is).
export const PLAYLIST_CAPS = { video: [2160, 1440, 1080, 720, 480, 360, 240], audio: [256, 192, 160, 128, 96] };

function qualityKind(option) {
  if (option.fields.includes("video_format")) return "video";
  if (option.fields.includes("audio_format")) return "audio";
  return null;
}

function fillQualities() {
  const select = document.getElementById("quality");
  const option = selectedType();
  const kind = qualityKind(entryTypeOf(option));
  const current = select.value;
  select.replaceChildren(el("option", { value: "", text: "Best" }));
  const url = document.getElementById("url").value.trim();
  const cap = Boolean(option.entry_types);
  let values = [];
  if (kind && cap) values = PLAYLIST_CAPS[kind];
  else if (kind && qualities && qualities.url === url) values = qualities[kind];
  for (const value of values) {
    select.append(el("option", { value: String(value), text: qualityText(kind, value, cap) }));
  }
  if ([...select.options].some((option) => option.value === current)) select.value = current;
}

function showFieldsOfType() {
  const option = selectedType();
  const entryType = entryTypeOf(option);
  const hasQuality = qualityKind(entryType) !== null;
  for (const node of form.querySelectorAll("[data-for]")) {
    const name = node.dataset.for;
    let shown = option.fields.includes(name);
    if (name === "quality") shown = hasQuality;
    if (name === "lookup") shown = hasQuality && !option.entry_types; // one URL, one media
    if (name === "times") shown = ["start_time", "duration"].some((field) => option.fields.includes(field));
    node.hidden = !shown;
  }
  const output = document.getElementById("output_format");
  const current = output.value;
  output.replaceChildren(el("option", { value: "", text: "As the source" }));
  for (const format of entryType.output_formats) {
    output.append(el("option", { value: format, text: format }));
  }
  if (entryType.output_formats.includes(current)) output.value = current;
  fillQualities();
}

function clearErrors() {
  for (const node of form.querySelectorAll(".field-error")) {
    node.hidden = true;
    node.textContent = "";
  }
  for (const node of form.querySelectorAll("[aria-invalid]")) node.removeAttribute("aria-invalid");
  setText(formStatus, "");
  formStatus.classList.remove("error");
}

// The API names the field of each problem ("duration: This field is required."; several
// are joined with "; "): each is shown next to its field, the rest under the button.
function showErrors(message) {
  const general = [];
  for (const part of message.split("; ")) {
    const match = /^([a-z_]+): (.*)$/.exec(part);
    if (match && showFieldError(match[1], match[2])) continue;
    const words = inPageWords(part);
    if (!showFieldError(words.fields, words.text)) general.push(words.text);
  }
  if (general.length) {
    setText(formStatus, general.join(" "));
    formStatus.classList.add("error");
  }
  const invalid = form.querySelector("[aria-invalid]");
  if (invalid) invalid.focus();
}

// False when the form has no such field on show (the message then goes elsewhere).
// `names`: a field, or several (the text shows at the first; each is marked invalid).
function showFieldError(names, text) {
  const fields = [].concat(names);
  const target = fields.length ? document.getElementById(`${fields[0]}-error`) : null;
  // The message's own paragraph is hidden until now: its field must be shown.
  if (!target || target.parentElement.closest("[hidden]")) return false;
  target.textContent = text;
  target.hidden = false;
  for (const name of fields) document.getElementById(name).setAttribute("aria-invalid", "true");
  return true;
}

function requestBody(option) {
  const body = { url: document.getElementById("url").value.trim() };
  // The preset's settings, under the fields set below (the API lets those win).
  const preset = chosenPreset(option.type);
  if (preset) body.preset = preset;
  for (const name of ["output_format", "start_time", "end_time", "duration", "start", "items"]) {
    if (!option.fields.includes(name)) continue;
    const value = document.getElementById(name).value.trim();
    if (value !== "") body[name] = value;
  }
  if (option.entry_types) body.type = document.getElementById("entry_type").value;
  const quality = document.getElementById("quality").value;
  const kind = qualityKind(entryTypeOf(option));
  // A cap (playlists) falls back to the smallest when an entry has nothing that small.
  const fallback = option.entry_types ? `/worst${kind}` : "";
  if (quality && kind === "video") body.video_format = `bestvideo[height<=${quality}]${fallback}`;
  if (quality && kind === "audio") body.audio_format = `bestaudio[abr<=${quality}]${fallback}`;
  return body;
}

// The task this form started last, until it is under way or fails: a failure that only
// a worker can find (a playlist URL sent as Video, a playlist larger than
// PLAYLIST_MAX_ITEMS, whose remedy is Items) is then shown at the field it concerns, as
// the API's own refusals are.
let startedTask = null;

export function followStartedTask(tasks) {
  if (!startedTask || !form) return;
  const task = tasks.find((candidate) => candidate.task_id === startedTask.id);
  if (!task) return;
  const underWay =
    task.status === "completed" ||
    (task.children && task.children.length > 0) ||
    (task.progress && task.progress.downloaded_bytes > 0);
  if (underWay) {
    startedTask = null; // the URL was right: later failures stay in the list
    return;
  }
  if (task.status !== "error") return;
  const sameURL = document.getElementById("url").value.trim() === startedTask.url;
  startedTask = null;
  if (task.cancelled || !sameURL) return;
  // Whole, and without taking the focus: it comes while the person may be elsewhere.
  clearErrors();
  if (!(/`items`/.test(task.error) && showFieldError("items", task.error))) {
    showFieldError("url", inPageWords(task.error).text);
  }
}

// A 429 of a task start (api.js: startRefused): say when the key may try again,
// counting down to it, with Start and Look up qualities disabled until then.
let countdownTimer = null;
let refusal = "";

function countDown() {
  const left = startsRefusedFor();
  const lookup = document.getElementById("lookup");
  if (left <= 0) {
    clearInterval(countdownTimer);
    countdownTimer = null;
    document.getElementById("start-button").disabled = false;
    if (lookup) lookup.disabled = false;
    formStatus.classList.remove("error");
    setText(formStatus, "You may start a task again.");
    return;
  }
  document.getElementById("start-button").disabled = true;
  if (lookup) lookup.disabled = true;
  formStatus.classList.add("error");
  setText(formStatus, `Too many requests: ${refusal} You may try again in ${left} s.`);
}

function rateLimited(message) {
  if (message) refusal = message;
  clearInterval(countdownTimer);
  countDown();
  countdownTimer = setInterval(countDown, 1000);
}

async function submitTask(event) {
  event.preventDefault();
  clearErrors();
  const option = selectedType();
  const body = requestBody(option);
  if (!body.url) {
    showErrors("url: Enter the URL of a video, a song or a live stream.");
    return;
  }
  if (startsRefusedFor()) return rateLimited(); // the button is disabled meanwhile
  const button = document.getElementById("start-button");
  button.disabled = true;
  setText(formStatus, "Starting…");
  let refused = false;
  try {
    const result = await api("POST", option.endpoint, body);
    if (result.response.ok) {
      setText(formStatus, "Started: the task is in the list below.");
      startedTask = { id: result.data.task_id, url: body.url };
      // The clip was this task's: the next one, often of another URL, starts without it.
      for (const name of ["start_time", "end_time"]) document.getElementById(name).value = "";
      pollNow();
    } else if (result.response.status === 429) {
      refused = true;
      startRefused(result); // its listener, rateLimited, counts down
    } else {
      setText(formStatus, "");
      showErrors(errorOf(result));
    }
  } catch (error) {
    if (error instanceof SignedOut) return;
    setText(formStatus, "Could not reach the server; check the connection and try again.");
    formStatus.classList.add("error");
  } finally {
    if (!refused && !startsRefusedFor()) button.disabled = false;
  }
}

// Quality: a get_info task on the URL, then its `qualities` summary.
async function lookUpQualities() {
  const status = document.getElementById("quality-status");
  const button = document.getElementById("lookup");
  const url = document.getElementById("url").value.trim();
  clearErrors();
  if (!url) {
    showErrors("url: Enter a URL first; its qualities are then looked up.");
    return;
  }
  if (startsRefusedFor()) return rateLimited(); // the button is disabled meanwhile
  button.disabled = true;
  setText(status, "Looking up the qualities…");
  try {
    const created = await api("POST", "/get_info", { url });
    if (created.response.status === 429) {
      setText(status, "");
      startRefused(created); // the form's countdown says when
      return;
    }
    if (!created.response.ok) {
      setText(status, `Could not look up the qualities: ${errorOf(created)}`);
      return;
    }
    pollNow();
    const taskId = created.data.task_id;
    let task = null;
    for (let attempt = 0; attempt < 240; attempt += 1) {
      const result = await api("GET", `/status/${taskId}`);
      task = result.data;
      if (!result.response.ok || ["completed", "error"].includes(task.status)) break;
      await sleep(500);
    }
    if (!task || task.status !== "completed") {
      setText(status, `Could not look up the qualities: ${(task && task.error) || "no answer"}`);
      return;
    }
    if (document.getElementById("url").value.trim() !== url) return; // another URL meanwhile
    const found = await api("GET", `${task.file}?qualities`);
    const summary = found.data.qualities;
    const heights = new Set();
    const bitrates = new Set();
    for (const format of Object.values(summary.video)) if (format.height) heights.add(format.height);
    for (const format of Object.values(summary.audio)) if (format.abr) bitrates.add(format.abr);
    qualities = {
      url,
      video: [...heights].sort((a, b) => b - a),
      audio: [...bitrates].sort((a, b) => b - a),
    };
    fillQualities();
    const count = qualities.video.length + qualities.audio.length;
    setText(
      status,
      count ? "Qualities found: choose one, or keep Best." : "No separate qualities found: Best it is."
    );
  } catch (error) {
    if (!(error instanceof SignedOut)) setText(status, "Could not look up the qualities.");
  } finally {
    if (!startsRefusedFor()) button.disabled = false;
  }
}

export function initStartForm() {
  if (!form) return;
  onStartsRefused(rateLimited);
  form.addEventListener("submit", submitTask);
  document.getElementById("type").addEventListener("change", showFieldsOfType);
  const entryType = document.getElementById("entry_type");
  if (entryType) entryType.addEventListener("change", showFieldsOfType);
  const qualityStatus = document.getElementById("quality-status");
  const qualityHint = qualityStatus.textContent;
  document.getElementById("url").addEventListener("input", () => {
    // Qualities (and what the lookup said) are of the URL they were looked up for.
    const url = document.getElementById("url").value.trim();
    if (!qualities || qualities.url !== url) setText(qualityStatus, qualityHint);
    fillQualities();
  });
  const lookup = document.getElementById("lookup");
  if (lookup) lookup.addEventListener("click", lookUpQualities);
  showFieldsOfType();
  loadPresets(showFieldsOfType);
  // Disabled in the HTML until now, when clicking them does what they say.
  document.getElementById("start-button").disabled = false;
  if (lookup) lookup.disabled = false;
}
