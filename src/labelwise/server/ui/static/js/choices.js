// The label picker shared by the classification view and the intent of intents_entities:
// the model's top suggestions as buttons #choices (keys 1-9), and every label in #labels
// behind the filter box #filter.

import { $, el } from "./dom.js";

// Draw the suggestions ([label, probability] pairs), or the first nine labels without
// scores when the item came with none. Returns the labels behind keys 1-9.
export function drawChoices(suggestions, labels) {
  const box = $("choices");
  box.replaceChildren();
  const list = suggestions.length
    ? suggestions.slice(0, 9)
    : labels.slice(0, 9).map((label) => [label, null]);
  list.forEach(function (pair, i) {
    const button = el("button", "choice");
    button.type = "button";
    button.dataset.label = pair[0];
    button.append(el("kbd", "", String(i + 1)), el("span", "name", pair[0]));
    if (pair[1] !== null) {
      const bar = el("span", "bar");
      bar.style.width = Math.round(pair[1] * 100) + "%";
      button.append(el("span", "prob", (pair[1] * 100).toFixed(1) + "%"), bar);
    }
    box.append(button);
  });
  return list.map((pair) => pair[0]);
}

// Mark the buttons of the labels in `selected` (a Set) pressed, the others not.
export function markPressed(selected) {
  document.querySelectorAll(".choice, .label").forEach(function (button) {
    button.setAttribute("aria-pressed", String(selected.has(button.dataset.label)));
  });
}

// A click on a suggestion or on a label in the full list picks it.
export function wireClicks(pick) {
  $("choices").addEventListener("click", function (event) {
    const button = event.target.closest(".choice");
    if (button) pick(button.dataset.label);
  });
  $("labels").addEventListener("click", function (event) {
    const button = event.target.closest(".label");
    if (button) pick(button.dataset.label);
  });
}
