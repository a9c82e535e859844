// Jejaring web, the case's activities form: an input that applies to one choice only (the
// place of an accompaniment, a mediation's outcome, an agreement's follow-up date) is shown
// when that choice is made. Without this file every input shows, each with a hint saying
// when it applies, and the web app drops what does not apply.
"use strict";

function showChosen() {
  for (const part of document.querySelectorAll("[data-shown-for]")) {
    const [name, value] = part.getAttribute("data-shown-for").split("=");
    const select = document.getElementById(name);
    const shown = select !== null && select.value === value && !select.closest("[hidden]");
    part.hidden = !shown;
  }
}

document.addEventListener("change", (event) => {
  if (event.target instanceof HTMLSelectElement && event.target.id.startsWith("activity-")) {
    showChosen();
  }
});
document.addEventListener("DOMContentLoaded", showChosen);
