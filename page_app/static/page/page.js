// The web page of ytdlphost: start tasks and follow them through the API (the same
// endpoints as any client), signed in by the session cookie plus Django's CSRF token.
// No framework and no build step; every message is shown in the page, never alert().
"use strict";

(function () {
  const FOREGROUND_POLL_MS = 1000; // changes appear within a second
  // With nothing waiting or running, only a task started elsewhere can change the list:
  // asked less often (this page's own actions and a return to the tab ask at once).
  const IDLE_POLL_MS = 5000;
  const BACKGROUND_POLL_MS = 15000; // a hidden tab asks far less often
  const TYPE_LABELS = {}; // "get_video" -> "Video", from the server's list of types
  const taskTypes = JSON.parse(document.getElementById("task-types").textContent);
  for (const option of taskTypes) TYPE_LABELS[option.type] = option.label;
  const csrfToken = document.querySelector('meta[name="csrf-token"]').content;

  // --- Talking to the API ----------------------------------------------------------

  class SignedOut extends Error {}

  async function api(method, path, body, headers) {
    const init = {
      method,
      credentials: "same-origin",
      cache: "no-store",
      headers: { Accept: "application/json", ...(headers || {}) },
    };
    if (method !== "GET") init.headers["X-CSRFToken"] = csrfToken;
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(path, init);
    if (response.status === 401) {
      // The key was deleted meanwhile (or the session ended): the page signs out.
      signedOut();
      throw new SignedOut();
    }
    let data = null;
    if (response.status !== 304 && response.status !== 204) {
      try {
        data = await response.json();
      } catch (error) {
        data = null;
      }
    }
    return { response, data };
  }

  // The API's messages are written for API clients: they name endpoints and fields. The
  // page says the same in its own words, at the field concerned (`fields`: the first
  // shows the text, every one is marked invalid). Any other message is shown as it is.
  const PAGE_WORDS = [
    {
      api: /^The URL is a playlist: send it to \/get_playlist/,
      fields: ["url"],
      text: "This URL is a playlist: choose Playlist under Type to download its entries, or paste the URL of one video.",
    },
    {
      api: /^The URL is not a live stream; use \/get_video or \/get_audio/,
      fields: ["url"],
      text: "This URL is not a live stream: choose Video or Audio under Type.",
    },
    {
      api: /^The URL is a live stream; use \/get_live_video or \/get_live_audio/,
      fields: ["url"],
      text: "This URL is a live stream: choose Live video or Live audio under Type to record it.",
    },
    {
      api: /^end_time must be after start_time$/,
      fields: ["end_time", "start_time"],
      text: "The end must be after the start.",
    },
  ];

  function inPageWords(message) {
    const known = PAGE_WORDS.find((words) => words.api.test(message || ""));
    return known ? { fields: known.fields, text: known.text } : { fields: [], text: message };
  }

  function errorOf(result) {
    if (result.data && result.data.error) return result.data.error;
    return `The server answered ${result.response.status}.`;
  }

  function signedOut() {
    stopPolling();
    setText(tasksStatus, "You were signed out; loading the sign-in page…");
    window.location.reload();
  }

  // --- Small helpers ---------------------------------------------------------------

  function el(tag, attributes, ...children) {
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
  function webLink(value) {
    try {
      const { protocol } = new URL(value, window.location.href);
      return protocol === "http:" || protocol === "https:" ? value : null;
    } catch (error) {
      return null;
    }
  }

  function setText(node, text) {
    if (node && node.textContent !== text) node.textContent = text;
  }

  function formatBytes(bytes) {
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

  function formatSeconds(seconds) {
    if (seconds === null || seconds === undefined) return "";
    const total = Math.round(seconds);
    const h = Math.floor(total / 3600);
    const m = Math.floor((total % 3600) / 60);
    const s = total % 60;
    const pad = (n) => String(n).padStart(2, "0");
    return h ? `${h}:${pad(m)}:${pad(s)}` : `${m}:${pad(s)}`;
  }

  function typeLabel(taskType) {
    return TYPE_LABELS[taskType] || taskType.replace(/^get_/, "").replace(/_/g, " ");
  }

  const STATUS_WORDS = { processing: "in progress", error: "failed" };
  const isLive = (taskType) => taskType.startsWith("get_live_");
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  // --- The start form --------------------------------------------------------------

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
  const PLAYLIST_CAPS = { video: [2160, 1440, 1080, 720, 480, 360, 240], audio: [256, 192, 160, 128, 96] };

  function qualityText(kind, value, cap) {
    const text = kind === "video" ? `${value}p` : `${Math.round(value)} kbit/s`;
    return cap ? `at most ${text}` : text;
  }

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

  let countdownTimer = null;
  // The task this form started last, until it is under way or fails: a failure that only
  // a worker can find (a playlist URL sent as Video, a playlist larger than
  // PLAYLIST_MAX_ITEMS, whose remedy is Items) is then shown at the field it concerns, as
  // the API's own refusals are.
  let startedTask = null;

  function followStartedTask(tasks) {
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

  // A 429: say when the key may try again, counting down from Retry-After.
  function rateLimited(seconds, message) {
    const button = document.getElementById("start-button");
    let left = Math.max(1, seconds);
    clearInterval(countdownTimer);
    button.disabled = true;
    formStatus.classList.add("error");
    const tick = () => {
      if (left <= 0) {
        clearInterval(countdownTimer);
        button.disabled = false;
        formStatus.classList.remove("error");
        setText(formStatus, "You may start a task again.");
        return;
      }
      setText(formStatus, `Too many requests: ${message} You may try again in ${left} s.`);
      left -= 1;
    };
    tick();
    countdownTimer = setInterval(tick, 1000);
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
    const button = document.getElementById("start-button");
    button.disabled = true;
    setText(formStatus, "Starting…");
    let rateLimitedFor = 0;
    try {
      const result = await api("POST", option.endpoint, body);
      if (result.response.ok) {
        setText(formStatus, "Started: the task is in the list below.");
        startedTask = { id: result.data.task_id, url: body.url };
        // The clip was this task's: the next one, often of another URL, starts without it.
        for (const name of ["start_time", "end_time"]) document.getElementById(name).value = "";
        pollNow();
      } else if (result.response.status === 429) {
        rateLimitedFor = parseInt(result.response.headers.get("Retry-After") || "60", 10);
        const text = errorOf(result).replace(/; try again in \d+ seconds?$/, ".");
        rateLimited(rateLimitedFor, text);
      } else {
        setText(formStatus, "");
        showErrors(errorOf(result));
      }
    } catch (error) {
      if (error instanceof SignedOut) return;
      setText(formStatus, "Could not reach the server; check the connection and try again.");
      formStatus.classList.add("error");
    } finally {
      if (!rateLimitedFor) button.disabled = false;
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
    button.disabled = true;
    setText(status, "Looking up the qualities…");
    try {
      const created = await api("POST", "/get_info", { url });
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
      button.disabled = false;
    }
  }

  if (form) {
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
    // Disabled in the HTML until now, when clicking them does what they say.
    document.getElementById("start-button").disabled = false;
    if (lookup) lookup.disabled = false;
  }

  // --- The task list ---------------------------------------------------------------

  const tasksStatus = document.getElementById("tasks-status");
  const list = document.getElementById("tasks");
  const rendered = new Map(); // task id -> {key, node}
  const notes = new Map(); // task id -> a message about the last action on it
  const infos = new Map(); // task id -> the info.json fields of a completed get_info task
  let etag = null;
  let lastTasks = [];
  let lastTop = []; // the list's rows: a playlist once with its entries, other tasks alone

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
    render(lastTasks);
  }

  function actionButton(task, label, handler, className) {
    const button = el("button", {
      type: "button",
      className: className || "secondary",
      "aria-describedby": `title-${task.task_id}`,
      "data-action": label,
      text: label,
    });
    button.addEventListener("click", () => handler(task, button));
    return button;
  }

  async function act(task, button, method, path, body, done) {
    button.disabled = true;
    notes.set(task.task_id, "Working…");
    render(lastTasks);
    try {
      const result = await api(method, path, body);
      if (result.response.ok && done === null) notes.delete(task.task_id);
      else notes.set(task.task_id, result.response.ok ? done : errorOf(result));
      if (result.response.status === 429) {
        const wait = result.response.headers.get("Retry-After");
        notes.set(task.task_id, `${errorOf(result).replace(/; try again in \d+ seconds?$/, "")}; try again in ${wait} s.`);
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
  const retry = (task, button) => act(task, button, "POST", `/retry/${task.task_id}`, undefined, "Started again.");
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
  function expiryText(task) {
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

  // `inGroup`: an entry shown inside its playlist's item (a smaller heading, its position
  // instead of the URL the playlist already shows).
  function taskItem(task, inGroup) {
    const unfinished = task.status === "waiting" || task.status === "processing";
    const className = `task status-${task.status}${inGroup ? " entry" : ""}`;
    const item = el("li", { className, "data-task-id": task.task_id });
    const heading = inGroup ? "h4" : "h3";
    const title = el(heading, { id: `title-${task.task_id}`, className: "task-title", text: task.title || task.url });
    item.append(title);
    const meta = [typeLabel(task.task_type), statusWord(task)];
    if (task.playlist && !inGroup) meta.push(`item ${task.position} of a playlist`);
    if (inGroup) meta.unshift(`Item ${task.position}`);
    item.append(el("p", { className: "task-meta", text: meta.join(" · ") }));
    if (!inGroup) item.append(detailsLine(task)); // an entry's are its playlist's
    if (task.title && !inGroup) item.append(el("p", { className: "task-url", text: task.url }));
    if (task.status === "processing") {
      item.append(progressBar(task));
      item.append(el("p", { className: "task-progress", text: progressText(task) }));
    }
    if (task.status === "waiting") item.append(el("p", { className: "hint", text: "Waiting for a worker…" }));
    // A cancelled task's error ("Cancelled") would repeat its status word.
    if (task.status === "error" && !task.cancelled) {
      item.append(el("p", { className: "error", text: inPageWords(task.error).text }));
    }
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
        render(lastTasks);
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
    render(lastTasks);
  }

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

  function playlistItem(task, entries) {
    const unfinished = task.status === "waiting" || task.status === "processing";
    const failed = entries.filter((entry) => entry.status === "error");
    const item = el("li", { className: `task playlist status-${task.status}`, "data-task-id": task.task_id });
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
    if (task.status === "error" && !task.cancelled) {
      item.append(el("p", { className: "error", text: inPageWords(task.error).text }));
    }
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

  clearButton.addEventListener("click", askToClear);
  document.getElementById("clear-yes").addEventListener("click", clearFinished);
  document.getElementById("clear-no").addEventListener("click", keepFinished);

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
    for (const { task, entries } of top) {
      seen.add(task.task_id);
      const members = [task, ...(entries || [])];
      const key = JSON.stringify(
        members.map((member) => [
          member,
          notes.get(member.task_id) || "",
          infos.get(member.task_id) || null,
          expiryText(member), // changes with the clock, not the task
        ])
      );
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

  async function poll() {
    clearTimeout(timer);
    if (inFlight) return;
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
    timer = setTimeout(poll, delay);
  }

  function pollNow() {
    if (polling) setTimeout(poll, 0);
  }

  function stopPolling() {
    polling = false;
    clearTimeout(timer);
  }

  // "expires in …" counts down without the list changing: its rows are redrawn (render
  // rebuilds only the rows whose text changed).
  const EXPIRY_REFRESH_MS = 30000;
  setInterval(() => {
    if (lastTasks.some((task) => task.expires_at)) render(lastTasks);
  }, EXPIRY_REFRESH_MS);

  window.addEventListener("focus", pollNow);
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) pollNow();
    else schedule();
  });
  // The Subscriptions section (subscriptions.js, run after this script) builds with these.
  window.ytdlphostPage = { api, el, errorOf, qualityText, PLAYLIST_CAPS, pollTasks: pollNow };
  poll();
})();
