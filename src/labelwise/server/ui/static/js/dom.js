// Small DOM helpers. Text reaches the DOM through textContent only (see main.js).

export const $ = (id) => document.getElementById(id);

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export function notify(message, kind) {
  const notice = $("notice");
  notice.textContent = message;
  notice.className = "notice " + (kind || "");
  notice.hidden = false;
}

export function clearNotice(kind) {
  const notice = $("notice");
  if (notice.classList.contains(kind)) notice.hidden = true;
}
