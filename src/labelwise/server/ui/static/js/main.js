// The annotation page. Item text, labels and comments only ever reach the DOM through
// textContent / dataset (never innerHTML), so an item cannot inject markup or script.
//
// api.js talks to the server, session.js runs the session (leases, prefetch, the save
// queue, undo, the recent list), and one view per task draws the item and its answer
// controls; VIEWS here mirrors the tasks' `view` names, by which task_view() in
// server/ui/routes.py picks the template.

import { projectApi } from "./api.js";
import { $ } from "./dom.js";
import { createSession } from "./session.js";
import { classificationView } from "./views/classification.js";
import { spansView } from "./views/spans.js";

const VIEWS = {
  single_label: classificationView,
  multi_label: classificationView,
  spans: spansView,
  intents_entities: spansView,
};

const boot = JSON.parse($("boot").textContent);
const csrf = document.querySelector('meta[name="csrf-token"]').content;
const session = createSession(boot, projectApi(boot.project_id, csrf));
session.start(VIEWS[boot.task](boot, session));
