// Single- and multi-label classification (templates/tasks/classification.html): number
// keys pick one of the model's top nine suggestions, "/" filters every label, Enter
// accepts the first suggestion (single-label) or submits the toggled labels (multi-label).

import { drawChoices, markPressed, wireClicks } from "../choices.js";
import { $ } from "../dom.js";
import { labelFilter } from "../filter.js";

// The labels of a decision, as a list (none for a skip or a flag).
function labelsOf(annotation) {
  if (annotation.kind !== "label") return [];
  return Array.isArray(annotation.value) ? annotation.value : [annotation.value];
}

export function classificationView(boot, session) {
  const multi = boot.task === "multi_label";
  const selected = new Set(); // multi-label: the toggled labels
  let shortcuts = []; // the labels behind keys 1-9

  function draw(suggestions) {
    shortcuts = drawChoices(suggestions, boot.labels);
    markPressed(selected);
  }

  function pick(label) {
    if (!multi) {
      session.decide("label", { value: label });
      return;
    }
    if (selected.has(label)) selected.delete(label);
    else selected.add(label);
    markPressed(selected);
  }

  function submitMulti() {
    session.decide("label", { value: Array.from(selected) });
  }

  function accept() {
    if (multi) submitMulti();
    else if (shortcuts.length) pick(shortcuts[0]);
  }

  wireClicks(pick);
  if (multi) $("submit-multi").addEventListener("click", submitMulti);
  labelFilter({
    input: $("filter"),
    buttons: Array.from(document.querySelectorAll("#labels .label")),
    key: "label",
    pick: pick,
    stay: multi,
    enter: accept,
  });

  return {
    show(item) {
      selected.clear();
      $("item-text").textContent = item.text;
      draw(item.suggestions.map((s) => [s.label, s.probability]));
    },
    showNone() {
      selected.clear();
      draw([]);
    },
    showEdit(annotation, served, text) {
      // The decision being changed is marked on its buttons (pressed), multi-label or not.
      selected.clear();
      labelsOf(annotation).forEach((label) => selected.add(label));
      $("item-text").textContent = text === undefined ? "Item #" + annotation.item_id : text;
      draw(served ? served.suggestions.map((s) => [s.label, s.probability]) : []);
    },
    summary(value) {
      return Array.isArray(value) ? value.join(", ") : value;
    },
    key(event) {
      const key = event.key;
      if (key >= "1" && key <= "9") {
        const label = shortcuts[Number(key) - 1];
        if (label !== undefined) pick(label);
      } else if (key === "Enter") {
        const target = event.target;
        if (target.closest && target.closest("button, a, summary")) return true; // activate it
        event.preventDefault();
        accept();
      } else if (key === "/") {
        event.preventDefault();
        $("filter").focus();
      } else {
        return false;
      }
      return true;
    },
  };
}
