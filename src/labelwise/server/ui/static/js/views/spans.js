// Spans (entity extraction) and intents_entities (templates/tasks/spans.html): the item is
// drawn as token elements (.tok, text through textContent, the gaps between them as text
// nodes, so #item-text's text is the item's). The annotator selects whole tokens and gives
// the selection a type; a span is stored as the character offsets of its first and last
// token.
//
// Mouse: press and drag over tokens (or click one); Shift+click extends the selection.
// A click inside a span selects that span; its tag (.ent .tag) removes it, and a
// suggestion's tag accepts that suggestion. Touch: tap the first token, then the last.
// Keys: Left/Right move a token cursor (landing in a span selects the span); Shift+Left/
// Right move the selection's moving end (on a selected span: its boundary, live); 1-9 give
// the selection the legend's type (a new span replaces any it overlaps); Delete/Backspace
// remove the selected span (or those in the selection); "a" accepts every suggestion that
// overlaps no span; Esc drops the selection; Enter submits; "t" filters the types (more
// than nine). intents_entities: with nothing selected, 1-9 pick the intent among the
// model's suggestions, "/" filters every intent; a submit needs an intent.

import { drawChoices, markPressed, wireClicks } from "../choices.js";
import { $, el, notify } from "../dom.js";
import { labelFilter } from "../filter.js";

const COLORS = 8; // the type classes t0..t7 in app.css

// Word and punctuation tokens, for an item served without its tokens (or an earlier item
// after a reload). The server's tokens, when given, are the ones spans are snapped to.
export function tokenize(text) {
  const found = [];
  for (const match of text.matchAll(/[\p{L}\p{N}_]+|[^\p{L}\p{N}_\s]/gu)) {
    found.push([match.index, match.index + match[0].length]);
  }
  return found;
}

// The tokens [a, b] (inclusive) that the characters [start, end) touch; null if none.
export function tokenRange(tokens, start, end) {
  let a = -1;
  let b = -1;
  tokens.forEach(function (token, i) {
    if (token[1] > start && token[0] < end) {
      if (a === -1) a = i;
      b = i;
    }
  });
  return a === -1 ? null : { a: a, b: b };
}

const overlaps = (x, y) => x.a <= y.b && y.a <= x.b;

export function spansView(boot, session) {
  const withIntent = boot.task === "intents_entities";
  const types = boot.entity_types || (withIntent ? [] : boot.labels);
  const root = $("item-text");

  let text = "";
  let tokens = []; // [start, end] character offsets
  let tokenEls = []; // the .tok element of each token
  let spans = []; // {a, b, label}: token indices, inclusive
  let suggestions = []; // {a, b, label, confidence}
  let hint = null; // {a, b}: the span the server asks about (reason.focus)
  let sel = null; // {anchor, focus}: token indices; focus is the end that moves
  let held = null; // the span the selection is (its boundaries move with the selection)
  let cursor = -1; // where arrows continue from when nothing is selected
  let tapStart = null; // touch: the first token tapped, waiting for the last
  let drag = null; // mouse: {anchor} while the button is down over the tokens
  let intent = null;
  let shortcuts = []; // intents behind keys 1-9 (intents_entities)

  // --- The legend and the intent picker ------------------------------------------------

  const typeButtons = types.map(function (type, i) {
    const button = el("button", "type t" + (i % COLORS));
    button.type = "button";
    button.dataset.type = type;
    if (i < 9) button.append(el("kbd", "", String(i + 1)), " ");
    button.append(el("span", "name", type));
    return button;
  });
  $("types").replaceChildren(...typeButtons);
  $("types").addEventListener("click", function (event) {
    const button = event.target.closest(".type");
    if (button === null) return;
    keysToText(); // Enter then submits rather than pressing the button again
    label(button.dataset.type);
  });
  if (types.length > 9) {
    $("type-filter").hidden = false;
    $("type-filter").placeholder = "Type t to filter " + types.length + " types";
    labelFilter({
      input: $("type-filter"),
      buttons: typeButtons,
      key: "type",
      pick: label,
      stay: false,
      enter: submit,
    });
  }
  $("accept-all").addEventListener("click", function () {
    keysToText();
    acceptAll();
  });
  $("submit-spans").addEventListener("click", submit);
  if (withIntent) {
    wireClicks(pickIntent);
    labelFilter({
      input: $("filter"),
      buttons: Array.from(document.querySelectorAll("#labels .label")),
      key: "label",
      pick: pickIntent,
      stay: false,
      enter: submit,
    });
  }

  function pickIntent(name) {
    keysToText();
    intent = name;
    markPressed(new Set([intent]));
  }

  function drawIntents(served) {
    if (!withIntent) return;
    const list = served ? served.suggestions.map((s) => [s.label, s.probability]) : [];
    shortcuts = drawChoices(list, boot.labels);
    markPressed(new Set(intent === null ? [] : [intent]));
  }

  // After a click on a control, the keys act on the text again.
  function keysToText() {
    root.focus({ preventScroll: true });
  }

  const typeClass = (type) => "t" + (Math.max(types.indexOf(type), 0) % COLORS);

  // --- Drawing -------------------------------------------------------------------------

  function tokenEl(i) {
    const node = el("span", "tok", text.slice(tokens[i][0], tokens[i][1]));
    node.dataset.i = String(i);
    if (hint !== null && i >= hint.a && i <= hint.b) node.classList.add("hint");
    tokenEls[i] = node;
    return node;
  }

  function spanEl(span, suggested) {
    const box = el("span", "ent " + typeClass(span.label) + (suggested ? " suggested" : ""));
    box.dataset.label = span.label;
    box.dataset.start = String(tokens[span.a][0]);
    box.dataset.end = String(tokens[span.b][1]);
    for (let j = span.a; j <= span.b; j += 1) {
      if (j > span.a) box.append(text.slice(tokens[j - 1][1], tokens[j][0]));
      box.append(tokenEl(j));
    }
    // The tag's words come from CSS (attr(data-label)): #item-text keeps the item's text.
    const tag = el("button", "tag");
    tag.type = "button";
    tag.tabIndex = -1;
    tag.dataset.label = span.label;
    if (suggested) {
      tag.dataset.confidence = Math.round(span.confidence * 100) + "%";
      tag.setAttribute("aria-label", "Accept " + span.label + " " + tag.dataset.confidence);
    } else {
      tag.setAttribute("aria-label", "Remove " + span.label);
    }
    box.append(tag);
    box.span = span;
    return box;
  }

  // Redraw the text with its spans and the suggestions that overlap none of them.
  function drawText() {
    const shown = suggestions.filter((s) => !spans.some((span) => overlaps(span, s)));
    const starts = new Map();
    spans.forEach((span) => starts.set(span.a, [span, false]));
    shown.forEach((s) => starts.set(s.a, [s, true]));
    tokenEls = [];
    root.replaceChildren();
    let pos = 0;
    for (let i = 0; i < tokens.length; ) {
      if (tokens[i][0] > pos) root.append(text.slice(pos, tokens[i][0]));
      const start = starts.get(i);
      if (start !== undefined) {
        root.append(spanEl(start[0], start[1]));
        i = start[0].b + 1;
      } else {
        root.append(tokenEl(i));
        i += 1;
      }
      pos = tokens[i - 1][1];
    }
    if (pos < text.length) root.append(text.slice(pos));
    drawSelection();
  }

  function range() {
    return sel === null
      ? null
      : { a: Math.min(sel.anchor, sel.focus), b: Math.max(sel.anchor, sel.focus) };
  }

  function drawSelection() {
    const r = range();
    tokenEls.forEach(function (node, i) {
      node.classList.toggle("sel", r !== null && i >= r.a && i <= r.b);
      node.classList.toggle("cursor", sel !== null && i === sel.focus);
    });
    root.querySelectorAll(".ent").forEach((box) => box.classList.toggle("held", box.span === held));
    typeButtons.forEach(function (button) {
      button.setAttribute("aria-pressed", String(held !== null && held.label === button.dataset.type));
    });
    if (sel !== null && tokenEls[sel.focus]) tokenEls[sel.focus].scrollIntoView({ block: "nearest" });
  }

  function select(anchor, focus) {
    sel = { anchor: anchor, focus: focus };
    cursor = focus;
    held = null;
    drawSelection();
  }

  // Select a span: its boundary at `side` ("a" or "b") is the one Shift+arrows move.
  function selectSpan(span, side) {
    sel = side === "a" ? { anchor: span.b, focus: span.a } : { anchor: span.a, focus: span.b };
    cursor = sel.focus;
    held = span;
    drawSelection();
  }

  function unselect() {
    sel = null;
    held = null;
    tapStart = null;
    drawSelection();
  }

  const spanAt = (i) => spans.find((span) => i >= span.a && i <= span.b);

  // --- Editing the spans ---------------------------------------------------------------

  // Put `span` in, in place of every span it overlaps.
  function place(span) {
    spans = spans.filter((other) => other === span || !overlaps(other, span));
    if (!spans.includes(span)) spans.push(span);
    spans.sort((x, y) => x.a - y.a);
  }

  // Give the selection type `type`: relabel the selected span, or mark a new one.
  function label(type) {
    if (type === undefined || sel === null) return;
    if (held !== null) held.label = type;
    else place(Object.assign({ label: type }, range()));
    cursor = range().b;
    sel = null;
    held = null;
    tapStart = null;
    drawText();
  }

  function remove() {
    const r = range();
    if (r === null) return;
    spans = held !== null ? spans.filter((s) => s !== held) : spans.filter((s) => !overlaps(s, r));
    cursor = r.b;
    sel = null;
    held = null;
    drawText();
  }

  function accept(suggestion) {
    place({ a: suggestion.a, b: suggestion.b, label: suggestion.label });
  }

  // Every suggestion that overlaps no span yet: the annotator's own spans stay.
  function acceptAll() {
    suggestions.forEach(function (s) {
      if (!spans.some((span) => overlaps(span, s))) accept(s);
    });
    unselect();
    drawText();
  }

  // Shift+arrow: move the selection's moving end; a selected span follows it.
  function extend(step) {
    const focus = Math.min(Math.max(sel.focus + step, 0), tokens.length - 1);
    sel = { anchor: sel.anchor, focus: focus };
    cursor = focus;
    if (held !== null) {
      Object.assign(held, range());
      place(held);
      drawText();
    } else {
      drawSelection();
    }
  }

  // Left/Right: the next token; landing in a span selects it, from the side arrived at.
  function move(step) {
    if (!tokens.length) return;
    let from = sel === null ? cursor : sel.focus;
    if (held !== null) from = step > 0 ? held.b : held.a;
    const to = from < 0 ? (step > 0 ? 0 : tokens.length - 1) : from + step;
    const next = Math.min(Math.max(to, 0), tokens.length - 1);
    const span = spanAt(next);
    if (span !== undefined) selectSpan(span, step > 0 ? "a" : "b");
    else select(next, next);
  }

  function submit() {
    if (session.current() === null) return;
    if (withIntent && intent === null) {
      notify("Pick the intent first: 1–9 with no text selected, or / to search.", "error");
      return;
    }
    const marked = spans.map((span) => ({
      start: tokens[span.a][0],
      end: tokens[span.b][1],
      label: span.label,
    }));
    const value = withIntent ? { intent: intent, spans: marked } : { spans: marked };
    session.decide("label", { value: value });
  }

  // --- Mouse and touch -----------------------------------------------------------------

  function tokenOf(event) {
    const node = event.target.closest && event.target.closest(".tok");
    return node && root.contains(node) ? Number(node.dataset.i) : null;
  }

  root.addEventListener("pointerdown", function (event) {
    const i = tokenOf(event);
    if (i === null || event.pointerType !== "mouse" || event.button !== 0) return;
    event.preventDefault(); // no native text selection
    keysToText();
    const anchor = event.shiftKey && sel !== null ? sel.anchor : i;
    drag = { anchor: anchor, moved: false, shift: event.shiftKey };
    select(anchor, i);
  });
  root.addEventListener("pointerover", function (event) {
    const i = tokenOf(event);
    if (drag === null || i === null || (sel !== null && i === sel.focus)) return;
    drag.moved = true;
    select(drag.anchor, i);
  });
  document.addEventListener("pointerup", function (event) {
    if (event.pointerType !== "mouse") {
      tap(event);
      return;
    }
    if (drag === null) return;
    const click = !drag.moved && !drag.shift;
    drag = null;
    const span = click ? spanAt(sel.focus) : undefined;
    if (span !== undefined) selectSpan(span, "b");
  });

  // Touch: the first tap marks where the selection starts, the second where it ends.
  function tap(event) {
    const i = tokenOf(event);
    if (i === null) return;
    const span = spanAt(i);
    if (tapStart === null && span !== undefined) {
      selectSpan(span, "b");
    } else if (tapStart === null) {
      select(i, i);
      tapStart = i;
    } else {
      select(tapStart, i);
      tapStart = null;
    }
  }

  root.addEventListener("click", function (event) {
    const tag = event.target.closest && event.target.closest(".tag");
    if (!tag) return;
    const box = tag.closest(".ent");
    if (box.classList.contains("suggested")) accept(box.span);
    else spans = spans.filter((span) => span !== box.span);
    unselect();
    drawText();
  });

  // --- The view ------------------------------------------------------------------------

  function load(itemText, itemTokens, served, value) {
    text = itemText;
    tokens = itemTokens;
    const toSpan = function (s) {
      const r = tokenRange(tokens, s.start, s.end);
      return r === null ? null : Object.assign(r, { label: s.label, confidence: s.confidence });
    };
    suggestions = [];
    ((served && served.span_suggestions) || []).map(toSpan).forEach(function (s) {
      if (s !== null && !suggestions.some((other) => overlaps(other, s))) suggestions.push(s);
    });
    spans = [];
    ((value && value.spans) || []).map(toSpan).forEach((s) => s !== null && place(s));
    spans.forEach((s) => delete s.confidence);
    const focus = served && served.reason.focus;
    hint = focus ? tokenRange(tokens, focus.start, focus.end) : null;
    intent = (value && value.intent) || null;
    sel = null;
    held = null;
    cursor = -1;
    tapStart = null;
    drag = null;
  }

  return {
    show(item) {
      load(item.text, item.tokens || tokenize(item.text), item, null);
      drawText();
      drawIntents(item);
    },
    showNone() {
      load("", [], null, null);
      drawIntents(null);
    },
    showEdit(annotation, served, itemText) {
      const value = annotation.kind === "label" ? annotation.value : null;
      if (itemText === undefined) {
        load("", [], null, value);
        root.textContent = "Item #" + annotation.item_id;
      } else {
        const sameText = served && served.text === itemText && served.tokens;
        load(itemText, sameText ? served.tokens : tokenize(itemText), served, value);
        drawText();
      }
      drawIntents(served);
    },
    // Worded as the server words the recent list (Task.describe): “text” type, ...
    summary(value, itemText) {
      if (value === null || typeof value !== "object") return String(value);
      const marked = (value.spans || []).map(function (s) {
        const words = itemText ? "“" + itemText.slice(s.start, s.end) + "”" : s.start + "–" + s.end;
        return words + " " + s.label;
      });
      const part = marked.length ? marked.join(", ") : "no entities";
      return value.intent !== undefined ? value.intent + " · " + part : part;
    },
    key(event) {
      const key = event.key;
      const target = event.target;
      if (key === "ArrowLeft" || key === "ArrowRight") {
        event.preventDefault();
        const step = key === "ArrowRight" ? 1 : -1;
        if (event.shiftKey && sel !== null) extend(step);
        else move(step);
      } else if (key >= "1" && key <= "9") {
        const n = Number(key) - 1;
        if (sel !== null) label(types[n]);
        else if (withIntent && shortcuts[n] !== undefined) pickIntent(shortcuts[n]);
      } else if (key === "Delete" || key === "Backspace") {
        event.preventDefault();
        remove();
      } else if (key === "a") {
        acceptAll();
      } else if (key === "Enter") {
        if (target.closest && target.closest("button, a, summary")) return true; // activate it
        event.preventDefault();
        submit();
      } else if (key === "Escape" && sel !== null) {
        unselect();
      } else if (key === "/" && withIntent) {
        event.preventDefault();
        $("filter").focus();
      } else if ((key === "t" || key === "/") && types.length > 9) {
        event.preventDefault();
        $("type-filter").focus();
      } else {
        return false;
      }
      return true;
    },
  };
}
