// The annotation page. Item text, labels and comments only ever reach the DOM through
// textContent / dataset (never innerHTML), so an item cannot inject markup or script.
"use strict";

(function () {
  const boot = JSON.parse(document.getElementById("boot").textContent);
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const api = "/api/projects/" + boot.project_id;
  const multi = boot.task === "multi_label";
  const $ = (id) => document.getElementById(id);

  const state = {
    item: null, // the leased item on screen
    editing: null, // {item_id, text, annotation} while relabeling an earlier decision
    selected: new Set(), // multi-label: the toggled labels
    shortcuts: [], // the labels behind keys 1-9
    version: null, // the model version of the last served item
    started: 0,
    busy: false,
    seen: new Map(), // item_id -> served item, to show text in the recent list
    counts: { label: 0, skip: 0, flag: 0 },
    retry: 0,
  };

  function clientKey() {
    return Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 12);
  }

  async function call(method, path, body) {
    const headers = { Accept: "application/json", "X-CSRF-Token": csrf };
    const init = { method: method, headers: headers, credentials: "same-origin" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(api + path, init);
    if (response.status === 401) {
      window.location.assign("/ui/login");
      throw new Error("Your session ended; please log in again.");
    }
    if (response.status === 204) return null;
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      throw new Error((data.error && data.error.message) || response.statusText);
    }
    return data;
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function notify(message, kind) {
    const notice = $("notice");
    notice.textContent = message;
    notice.className = "notice " + (kind || "");
    notice.hidden = false;
  }

  // --- Drawing -------------------------------------------------------------------------

  function drawChoices(suggestions) {
    const box = $("choices");
    box.replaceChildren();
    const list = suggestions.length
      ? suggestions.slice(0, 9)
      : boot.labels.slice(0, 9).map((label) => [label, null]);
    state.shortcuts = list.map((pair) => pair[0]);
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
    markSelected();
  }

  function markSelected() {
    document.querySelectorAll(".choice, .label").forEach(function (button) {
      button.setAttribute("aria-pressed", String(state.selected.has(button.dataset.label)));
    });
  }

  function describe(item) {
    const reason = item.reason;
    const parts = ["Why this item: " + reason.strategy];
    if (reason.score !== null) parts.push("score " + reason.score.toFixed(3));
    parts.push(reason.model_version === null ? "no model yet" : "model v" + reason.model_version);
    if (item.is_audit) parts.push("audit sample");
    return parts.join(" · ");
  }

  function show(item) {
    state.item = item;
    state.editing = null;
    state.selected.clear();
    state.started = performance.now();
    $("editing").hidden = true;
    $("cancel-edit").hidden = true;
    if (item === null) {
      $("item-text").textContent = "Nothing left for you to label right now.";
      $("why").textContent = "Checking again in a few seconds…";
      drawChoices([]);
      window.setTimeout(loadNext, 5000);
      return;
    }
    state.seen.set(item.item_id, item);
    const version = item.reason.model_version;
    if (version !== null && state.version !== null && version !== state.version) {
      notify("New model v" + version + " arrived: suggestions now come from it.", "info");
    }
    if (version !== null) state.version = version;
    $("item-text").textContent = item.text;
    $("why").textContent = describe(item);
    drawChoices(item.suggestions.map((s) => [s.label, s.probability]));
  }

  function showEdit(annotation) {
    const served = state.seen.get(annotation.item_id);
    state.editing = { item_id: annotation.item_id, annotation: annotation };
    state.selected = new Set(
      annotation.kind === "label" && multi ? annotation.value : []
    );
    $("item-text").textContent = served ? served.text : "Item #" + annotation.item_id;
    $("why").textContent = served ? describe(served) : "";
    $("editing").textContent =
      "Relabeling an earlier item: pick its label (Esc goes back to the current item).";
    $("editing").hidden = false;
    $("cancel-edit").hidden = false;
    drawChoices(served ? served.suggestions.map((s) => [s.label, s.probability]) : []);
  }

  function cancelEdit() {
    if (state.editing !== null) show(state.item);
  }

  function summary(annotation) {
    if (annotation.kind === "label") {
      return Array.isArray(annotation.value) ? annotation.value.join(", ") : annotation.value;
    }
    if (annotation.kind === "flag") return "flagged: " + annotation.comment;
    return "skipped";
  }

  async function drawRecent() {
    const decisions = await call("GET", "/annotations/recent?limit=10");
    const list = $("recent");
    list.replaceChildren();
    decisions.forEach(function (annotation) {
      const row = el("li", "kind-" + annotation.kind);
      const served = state.seen.get(annotation.item_id);
      row.append(
        el("span", "what", summary(annotation)),
        el("span", "text", served ? served.text : "item #" + annotation.item_id)
      );
      const edit = el("button", "edit", "Edit");
      edit.type = "button";
      edit.addEventListener("click", () => showEdit(annotation));
      row.append(edit);
      list.append(row);
    });
  }

  async function drawProgress() {
    const metrics = await call("GET", "/metrics");
    const status = metrics.status;
    $("progress").textContent =
      " · project: " + status.labeled_items + " of " + status.items + " items labeled";
  }

  function drawCounts() {
    $("count-label").textContent = String(state.counts.label);
    $("count-skip").textContent = String(state.counts.skip);
    $("count-flag").textContent = String(state.counts.flag);
  }

  function refreshSide() {
    drawRecent().catch((error) => notify(error.message, "error"));
    drawProgress().catch(() => undefined);
  }

  // --- Actions -------------------------------------------------------------------------

  async function loadNext() {
    try {
      show(await call("POST", "/queue/next"));
      state.retry = 0;
    } catch (error) {
      notify(error.message + " (retrying)", "error");
      state.retry = Math.min(state.retry + 1, 5);
      window.setTimeout(loadNext, 1000 * state.retry);
    }
  }

  async function decide(kind, extra) {
    const target = state.editing || state.item;
    if (state.busy || target === null) return;
    state.busy = true;
    document.body.classList.add("busy");
    const body = Object.assign({ item_id: target.item_id, client_key: clientKey() }, extra);
    const path = { label: "/annotations", skip: "/annotations/skip", flag: "/annotations/flag" }[kind];
    if (kind === "label" && state.editing === null) {
      body.seconds_spent = (performance.now() - state.started) / 1000;
    }
    try {
      const stored = await call("POST", path, body);
      if (state.editing !== null && state.editing.annotation.undone_at === null) {
        state.counts[state.editing.annotation.kind] -= 1; // the edit replaced it
      }
      state.counts[stored.kind] += 1;
      $("notice").hidden = true;
      if (state.editing !== null) show(state.item);
      else await loadNext();
      drawCounts(); // after the next item is on screen: keys now act on it
      refreshSide();
    } catch (error) {
      notify(error.message, "error");
    } finally {
      state.busy = false;
      document.body.classList.remove("busy");
    }
  }

  function pick(label) {
    if (!multi) {
      decide("label", { value: label });
      return;
    }
    if (state.selected.has(label)) state.selected.delete(label);
    else state.selected.add(label);
    markSelected();
  }

  function submitMulti() {
    decide("label", { value: Array.from(state.selected) });
  }

  async function undo() {
    if (state.busy) return;
    state.busy = true;
    try {
      const undone = await call("POST", "/annotations/undo", {});
      state.counts[undone.kind] -= 1;
      showEdit(undone);
      drawCounts();
      refreshSide();
    } catch (error) {
      notify(error.message, "error");
    } finally {
      state.busy = false;
    }
  }

  function openFlag() {
    if ((state.editing || state.item) === null) return;
    $("flag-comment").value = "";
    $("flag-dialog").showModal();
    $("flag-comment").focus();
  }

  // --- The label filter ----------------------------------------------------------------

  const labelButtons = Array.from(document.querySelectorAll("#labels .label"));
  let highlighted = -1;

  function visibleLabels() {
    return labelButtons.filter((button) => !button.hidden);
  }

  function highlight(index) {
    const visible = visibleLabels();
    labelButtons.forEach((button) => button.classList.remove("active"));
    if (!visible.length) {
      highlighted = -1;
      return;
    }
    highlighted = (index + visible.length) % visible.length;
    visible[highlighted].classList.add("active");
    visible[highlighted].scrollIntoView({ block: "nearest" });
  }

  function applyFilter() {
    const query = $("filter").value.trim().toLowerCase();
    labelButtons.forEach(function (button) {
      button.hidden = query !== "" && !button.dataset.label.toLowerCase().includes(query);
    });
    highlight(query === "" ? -1 : 0);
    if (query === "") labelButtons.forEach((button) => button.classList.remove("active"));
  }

  function clearFilter() {
    $("filter").value = "";
    applyFilter();
  }

  $("filter").addEventListener("input", applyFilter);
  $("filter").addEventListener("keydown", function (event) {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      highlight(highlighted + (event.key === "ArrowDown" ? 1 : -1));
    } else if (event.key === "Enter") {
      event.preventDefault();
      const visible = visibleLabels();
      if ($("filter").value.trim() !== "" && highlighted >= 0 && visible[highlighted]) {
        pick(visible[highlighted].dataset.label);
        if (!multi) {
          clearFilter();
          $("filter").blur(); // back to the shortcut keys for the next item
        }
      } else if (multi) {
        submitMulti();
      } else if (state.shortcuts.length) {
        pick(state.shortcuts[0]);
      }
    } else if (event.key === "Escape") {
      clearFilter();
      $("filter").blur();
    }
  });

  // --- Wiring --------------------------------------------------------------------------

  $("choices").addEventListener("click", function (event) {
    const button = event.target.closest(".choice");
    if (button) pick(button.dataset.label);
  });
  $("labels").addEventListener("click", function (event) {
    const button = event.target.closest(".label");
    if (button) pick(button.dataset.label);
  });
  $("skip").addEventListener("click", () => decide("skip", {}));
  $("undo").addEventListener("click", undo);
  $("flag").addEventListener("click", openFlag);
  $("cancel-edit").addEventListener("click", cancelEdit);
  if (multi) $("submit-multi").addEventListener("click", submitMulti);
  $("flag-cancel").addEventListener("click", () => $("flag-dialog").close());
  $("flag-form").addEventListener("submit", function () {
    const comment = $("flag-comment").value.trim();
    if (comment) decide("flag", { comment: $("flag-reason").value + ": " + comment });
  });

  document.addEventListener("keydown", function (event) {
    const target = event.target;
    if (event.defaultPrevented || event.altKey || event.metaKey) return;
    if ($("flag-dialog").open) return;
    if (target.closest && target.closest("input, textarea, select")) return;
    if (event.ctrlKey) {
      if (event.key === "z") {
        event.preventDefault();
        undo();
      }
      return;
    }
    const key = event.key;
    if (key >= "1" && key <= "9") {
      const label = state.shortcuts[Number(key) - 1];
      if (label !== undefined) pick(label);
    } else if (key === "Enter") {
      if (target.closest && target.closest("button, a, summary")) return; // activate it
      event.preventDefault();
      if (multi) submitMulti();
      else if (state.shortcuts.length) pick(state.shortcuts[0]);
    } else if (key === "/") {
      event.preventDefault();
      $("filter").focus();
    } else if (key === "s") {
      decide("skip", {});
    } else if (key === "u") {
      undo();
    } else if (key === "f") {
      event.preventDefault();
      openFlag();
    } else if (key === "g") {
      $("guidelines").open = !$("guidelines").open;
    } else if (key === "Escape") {
      cancelEdit();
    }
  });

  drawCounts();
  loadNext();
  refreshSide();
})();
