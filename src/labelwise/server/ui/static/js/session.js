// One annotator's session on the annotation page, whatever the task: the leased item on
// screen and the one fetched ahead, the decisions stored one after another (retried on
// a lost connection), undo and relabeling an earlier item, the recent-ten list, the
// counts, and the keys and buttons every task shares (skip, undo, flag, guidelines).
//
// The task's view draws the item and its answer controls. It is an object with
//   show(item)           draw a served item (never null) in #item-text and the controls
//   showNone()           reset the controls: nothing is left to label
//   showEdit(a, served, text)  draw an earlier item (text may be undefined) with the
//                        decision `a` marked, for relabeling; `served` is the item as it
//                        was served in this page (undefined after a reload)
//   summary(value, text) the words for a label decision's value (text: the item's, if known)
//   key(event)           handle a key press; true when it was the view's
// and it calls session.decide(kind, extra) to store a decision about the item on screen.

import { clientKey, sleep, transient } from "./api.js";
import { $, clearNotice, el, notify } from "./dom.js";

export function createSession(boot, call) {
  let view = null;

  // The server lets an annotator hold two leases: the item on screen and the one after
  // it (POST /queue/next?ahead=true). The page fetches that one while the current item is
  // read, so a decision shows the next item at once and is stored in the background.
  const state = {
    item: null, // the leased item on screen
    ahead: null, // Promise of the item after it (null: none asked for yet)
    saving: Promise.resolve(), // the decisions being stored, one after another
    generation: 0, // bumped when the page resyncs with the server's leases
    stale: false, // resync once the edit on screen is done
    editing: null, // {item_id, annotation} while relabeling an earlier decision
    version: null, // the newest model version served so far
    started: 0,
    busy: false,
    seen: new Map(), // item_id -> served item, to show text in the recent list
    texts: new Map(), // item_id -> text, from the recent list (it survives a reload)
    counts: { label: 0, skip: 0, flag: 0 },
    retry: 0,
  };

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
    state.started = performance.now();
    $("editing").hidden = true;
    $("cancel-edit").hidden = true;
    if (item === null) {
      $("item-text").textContent = "Nothing left for you to label right now.";
      $("why").textContent = "Checking again in a few seconds…";
      view.showNone();
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
    $("why").textContent = describe(item);
    view.show(item);
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

  function textOf(annotation) {
    const served = state.seen.get(annotation.item_id);
    return annotation.item_text || (served && served.text) || state.texts.get(annotation.item_id);
  }

  function showEdit(annotation) {
    const served = state.seen.get(annotation.item_id);
    state.editing = { item_id: annotation.item_id, annotation: annotation };
    view.showEdit(annotation, served, textOf(annotation));
    $("why").textContent = served ? describe(served) : "";
    const was = annotation.undone_at === null ? "Currently: " : "Was: ";
    $("editing").textContent =
      "Relabeling an earlier item. " + was + summary(annotation) +
      ". Pick its label (Esc goes back to the current item).";
    $("editing").hidden = false;
    $("cancel-edit").hidden = false;
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
    if (annotation.kind === "label") return view.summary(annotation.value, textOf(annotation));
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

  // Store a decision about the item on screen (`extra`: the value, or a flag's comment)
  // and move on. Does nothing while an earlier one is still being handed over.
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

  function onKey(event) {
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
    if (view.key(event)) return;
    const key = event.key;
    if (key === "s") {
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
  }

  function start(taskView) {
    view = taskView;
    $("skip").addEventListener("click", () => decide("skip", {}));
    $("undo").addEventListener("click", undo);
    $("flag").addEventListener("click", openFlag);
    $("cancel-edit").addEventListener("click", cancelEdit);
    $("flag-cancel").addEventListener("click", () => $("flag-dialog").close());
    $("flag-form").addEventListener("submit", function () {
      const comment = $("flag-comment").value.trim();
      if (comment) decide("flag", { comment: $("flag-reason").value + ": " + comment });
    });
    document.addEventListener("keydown", onKey);
    drawCounts();
    loadNext();
    refreshSide();
  }

  return {
    start: start,
    decide: decide,
    // The item decisions are about: the earlier one being relabeled, or the one on screen.
    current: () => state.editing || state.item,
    editing: () => state.editing !== null,
  };
}
