// A filter box over a list of buttons that carry their name in a data attribute: typing
// hides the others, Up/Down move the highlight, Enter picks it, Escape leaves the box.
//
// options: input, buttons (the filtered buttons), key (the dataset field holding the
// name), pick(name), stay (keep the query after a pick: multi-label toggles several),
// enter() (Enter with nothing typed).
export function labelFilter(options) {
  const input = options.input;
  const buttons = options.buttons;
  let highlighted = -1;

  function visible() {
    return buttons.filter((button) => !button.hidden);
  }

  function highlight(index) {
    const shown = visible();
    buttons.forEach((button) => button.classList.remove("active"));
    if (!shown.length) {
      highlighted = -1;
      return;
    }
    highlighted = (index + shown.length) % shown.length;
    shown[highlighted].classList.add("active");
    shown[highlighted].scrollIntoView({ block: "nearest" });
  }

  function apply() {
    const query = input.value.trim().toLowerCase();
    buttons.forEach(function (button) {
      button.hidden = query !== "" && !button.dataset[options.key].toLowerCase().includes(query);
    });
    highlight(query === "" ? -1 : 0);
    if (query === "") buttons.forEach((button) => button.classList.remove("active"));
  }

  function clear() {
    input.value = "";
    apply();
  }

  input.addEventListener("input", apply);
  input.addEventListener("keydown", function (event) {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      highlight(highlighted + (event.key === "ArrowDown" ? 1 : -1));
    } else if (event.key === "Enter") {
      event.preventDefault();
      const shown = visible();
      if (input.value.trim() !== "" && highlighted >= 0 && shown[highlighted]) {
        options.pick(shown[highlighted].dataset[options.key]);
        if (!options.stay) {
          clear();
          input.blur(); // back to the shortcut keys
        }
      } else {
        options.enter();
      }
    } else if (event.key === "Escape") {
      clear();
      input.blur();
    }
  });
  return { clear: clear };
}
