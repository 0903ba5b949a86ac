// Presets (GET /presets): the server's named settings, offered first in the start form.
// Choosing one sends `preset` with the URL; the form's fields the visitor sets are sent
// too, and the API lets them win. A server without presets (404) or with none for this
// key: the form as without them.

import { api } from "./api.js";
import { el, taskTypes } from "./display.js";

const field = document.getElementById("preset-field");
const select = document.getElementById("preset");
const hint = document.getElementById("preset-hint");
const defaultHint = hint ? hint.textContent : "";
let presets = [];

// The preset chosen, when it fits the type chosen (a preset is of one task type).
export function chosenPreset(taskType) {
  const preset = presets.find((candidate) => candidate.name === select.value);
  return preset && preset.task_type === taskType ? preset.name : null;
}

function describe() {
  const preset = presets.find((candidate) => candidate.name === select.value);
  hint.textContent = preset && preset.description ? preset.description : defaultHint;
}

// `onType`: what the form does when a preset sets the type (shows that type's fields).
export async function loadPresets(onType) {
  if (!field) return;
  let result;
  try {
    result = await api("GET", "/presets");
  } catch (error) {
    return; // signed out (the page reloads), or unreachable: the form works without them
  }
  if (!result.response.ok || !result.data || !Array.isArray(result.data.presets)) return;
  // Only those whose type this page offers the key (the API lists those it may use).
  const offered = new Set(taskTypes.map((option) => option.type));
  presets = result.data.presets.filter((preset) => offered.has(preset.task_type));
  if (!presets.length) return;
  for (const preset of presets) select.append(el("option", { value: preset.name, text: preset.name }));
  field.hidden = false;
  const type = document.getElementById("type");
  select.addEventListener("change", () => {
    describe();
    const preset = presets.find((candidate) => candidate.name === select.value);
    if (preset && type.value !== preset.task_type) {
      type.value = preset.task_type;
      onType();
    }
  });
  // Another type than the preset's: the preset no longer applies.
  type.addEventListener("change", () => {
    if (select.value && !chosenPreset(type.value)) {
      select.value = "";
      describe();
    }
  });
}
