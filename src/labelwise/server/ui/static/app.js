// The annotation page. Item text, labels and comments only ever reach the DOM through
// textContent / dataset (never innerHTML), so an item cannot inject markup or script.
"use strict";

(function () {
  const boot = JSON.parse(document.getElementById("boot").textContent);
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const api = "/api/projects/" + boot.project_id;
  const multi = boot.task === "multi_label";
  const $ = (id) => document.getElementById(id);

  // The server lets an annotator hold two leases: the item on screen and the one after
  // it (POST /queue/next?ahead=true). The page fetches that one while the current item is
  // read, so a decision shows the next item at once and is stored in the background.
  const state = {
    item: null, // the leased item on screen
    ahead: null, // Promise of the item after it (null: none asked for yet)
    saving: Promise.resolve(), // the decisions being stored, one after another
    generation: 0, // bumped when the page resyncs with the server's leases
    stale: false, // resync once the edit on screen is done
    editing: null, // {item_id, text, annotation} while relabeling an earlier decision
    selected: new Set(), // multi-label: the toggled labels
    shortcuts: [], // the labels behind keys 1-9
    version: null, // the newest model version served so far
    started: 0,
    busy: false,
    seen: new Map(), // item_id -> served item, to show text in the recent list
    texts: new Map(), // item_id -> text, from the recent list (it survives a reload)
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
      throw failure("Your session ended; please log in again.", 401);
    }
    if (response.status === 204) return null;
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      throw failure((data.error && data.error.message) || response.statusText, response.status);
    }
    return data;
  }

  function failure(message, status) {
    const error = new Error(message);
    error.status = status;
    return error;
  }

  // No answer (network down: fetch rejects without a status), or the server says "later".
  function transient(error) {
    const status = error.status;
    return status === undefined || status >= 500 || status === 408 || status === 429;
  }

  const sleep = (ms) => new Promise((resolve) => window.setTimeout(resolve, ms));

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

  function clearNotice(kind) {
    const notice = $("notice");
    if (notice.classList.contains(kind)) notice.hidden = true;
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

  // The server words the reason (service/explain.py); the page only adds the model.
  function describe(item) {
    const reason = item.reason;
    const parts = ["Why this item: " + reason.explanation];
    if (reason.model_version !== null) parts.push("model v" + reason.model_version);
    return parts.join(" · ");
  }

  function show(item) {
    clearNotice("info"); // a banner belongs to the item it came with
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
    // An item fetched ahead may come from the model before the newest: only a newer
    // version is news (random and audit items carry none).
    if (version !== null && state.version !== null && version > state.version) {
      notify("New model v" + version + " arrived: suggestions now come from it.", "info");
    }
    if (version !== null && (state.version === null || version > state.version)) {
      state.version = version;
    }
    $("item-text").textContent = item.text;
    $("why").textContent = describe(item);
    drawChoices(item.suggestions.map((s) => [s.label, s.probability]));
    if (state.ahead === null) prefetch();
  }

  // Lease the item after the one on screen. It is asked for once the decisions in flight
  // are stored: each releases its lease, and only then is the server's "second open
  // lease" the item after this one rather than this one.
  function prefetch() {
    const current = state.item;
    state.ahead = state.saving
      .then(() => call("POST", "/queue/next?ahead=true"))
      .then(
        // A lease that expired meanwhile can come back as the item on screen itself.
        (next) => (next !== null && next.item_id === current.item_id ? null : next),
        () => null // a failed prefetch only costs the round-trip it was meant to save
      );
  }

  // The labels of a decision, as a list (none for a skip or a flag).
  function labelsOf(annotation) {
    if (annotation.kind !== "label") return [];
    return Array.isArray(annotation.value) ? annotation.value : [annotation.value];
  }

  function showEdit(annotation) {
    const served = state.seen.get(annotation.item_id);
    const text = annotation.item_text || (served && served.text) || state.texts.get(annotation.item_id);
    state.editing = { item_id: annotation.item_id, annotation: annotation };
    // The decision being changed is marked on its buttons (pressed), multi-label or not.
    state.selected = new Set(labelsOf(annotation));
    $("item-text").textContent = text === undefined ? "Item #" + annotation.item_id : text;
    $("why").textContent = served ? describe(served) : "";
    const was = annotation.undone_at === null ? "Currently: " : "Was: ";
    $("editing").textContent =
      "Relabeling an earlier item. " + was + summary(annotation) +
      ". Pick its label (Esc goes back to the current item).";
    $("editing").hidden = false;
    $("cancel-edit").hidden = false;
    drawChoices(served ? served.suggestions.map((s) => [s.label, s.probability]) : []);
  }

  function cancelEdit() {
    if (state.editing !== null) backToCurrent();
  }

  // Leave the edit view for the current item (or whatever the server says it is now).
  function backToCurrent() {
    if (!state.stale) {
      show(state.item);
      return;
    }
    state.stale = false;
    state.editing = null;
    state.item = null; // keys do nothing until the server answers
    loadNext();
  }

  // After a decision the server refused, its lease is still held: the server's oldest
  // open lease (what a plain next returns) is that item, so ask the server again rather
  // than guess. Answers to requests made before this are then ignored.
  function resync() {
    state.generation += 1;
    state.ahead = null;
    if (state.editing !== null) state.stale = true;
    else loadNext();
  }

  function summary(annotation) {
    // The server words it (span values quote their text); older replies lack it.
    if (annotation.summary) return annotation.summary;
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
      state.texts.set(annotation.item_id, annotation.item_text);
      row.append(
        el("span", "what", summary(annotation)),
        el("span", "text", annotation.item_text)
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

  // Store one decision after those before it. A lost connection or a server error is
  // retried with the same client key (the server stores a decision once per key), so the
  // decision is kept however long the outage; a refusal (4xx) is reported. Resolves to
  // the stored annotation, or null when it was refused.
  function save(path, body, replaced) {
    const attempt = async function () {
      for (let tries = 1; ; tries += 1) {
        try {
          return await call("POST", path, body);
        } catch (error) {
          if (!transient(error)) throw error;
          notify("Saving a decision failed (" + error.message + "); retrying, it is kept.", "error");
          await sleep(Math.min(1000 * tries, 5000));
        }
      }
    };
    const saved = state.saving.then(attempt).then(
      function (stored) {
        if (replaced && replaced.undone_at === null) state.counts[replaced.kind] -= 1;
        state.counts[stored.kind] += 1;
        clearNotice("error");
        return stored;
      },
      function (error) {
        notify("Your decision was not saved: " + error.message, "error");
        return null;
      }
    );
    state.saving = saved;
    return saved;
  }

  async function decide(kind, extra) {
    const target = state.editing || state.item;
    if (state.busy || target === null) return;
    const body = Object.assign({ item_id: target.item_id, client_key: clientKey() }, extra);
    const path = { label: "/annotations", skip: "/annotations/skip", flag: "/annotations/flag" }[kind];
    if (state.editing !== null) {
      await relabel(path, body);
      return;
    }
    if (kind === "label") body.seconds_spent = (performance.now() - state.started) / 1000;
    state.busy = true;
    document.body.classList.add("busy");
    const generation = state.generation;
    try {
      const pending = state.ahead;
      state.ahead = null;
      const saved = save(path, body, null);
      saved.then(function (stored) {
        if (stored === null) {
          resync();
          return;
        }
        // Counts move once the next item is on screen: keys then act on it.
        if (state.item !== target) drawCounts();
        refreshSide();
      });
      const following = pending === null ? null : await pending;
      if (generation !== state.generation) return; // resynced meanwhile: it drew the page
      if (following !== null && following.item_id !== target.item_id) {
        show(following); // at once: the decision is stored in the background
        drawCounts();
      } else if ((await saved) !== null && generation === state.generation) {
        await loadNext(); // nothing was fetched ahead: wait for the server this once
        drawCounts();
      }
    } finally {
      state.busy = false;
      document.body.classList.remove("busy");
    }
  }

  // An earlier item, already on screen: store the new decision, then go back.
  async function relabel(path, body) {
    state.busy = true;
    document.body.classList.add("busy");
    try {
      const stored = await save(path, body, state.editing.annotation);
      if (stored !== null) {
        backToCurrent();
        drawCounts(); // after the current item is back on screen: keys now act on it
        refreshSide();
      }
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
      await state.saving; // "the latest decision" includes one still being stored
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
