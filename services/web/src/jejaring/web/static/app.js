// Jejaring web: the pages work without this file. With it, a form marked data-resend (the
// "send the case" form) is sent in the background, so that a dropped connection leaves the
// page and every answer in place, with a message to press the button again; it is also sent
// again by itself when the phone is back online. The form carries an Idempotency-Key, so
// sending again records the case once.
"use strict";

// The form (and its button) whose sending the connection interrupted, to send when back online.
let interrupted = null;

window.addEventListener("online", () => {
  if (!interrupted) return;
  const { form, button } = interrupted;
  interrupted = null;
  if (document.body.contains(form)) form.requestSubmit(button || undefined);
});

document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-resend")) return;
  const button = event.submitter;
  // Buttons that go elsewhere (change an answer, back, language) submit as usual.
  if (button && button.hasAttribute("formaction")) return;
  event.preventDefault();
  const body = new URLSearchParams(new FormData(form));
  if (button && button.name) body.append(button.name, button.value);
  const lost = document.getElementById("connection-lost");
  if (button) button.disabled = true;
  let response;
  let html;
  try {
    // getAttribute: the buttons are named "action", which shadows the form.action property.
    response = await fetch(form.getAttribute("action"), {
      method: "POST",
      body,
      credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
    });
    html = await response.text();
  } catch (error) {
    if (button) button.disabled = false;
    interrupted = { form, button };
    if (lost) {
      lost.hidden = false;
      lost.focus();
    }
    return;
  }
  interrupted = null;
  if (response.redirected) {
    window.location.assign(response.url);
    return;
  }
  const page = new DOMParser().parseFromString(html, "text/html");
  document.title = page.title;
  document.body.replaceWith(document.adoptNode(page.body));
  window.scrollTo(0, 0);
  const summary = document.querySelector("[data-focus]");
  if (summary) summary.focus();
});

// Put the error summary in focus when a page shows one, as GOV.UK pages do.
document.addEventListener("DOMContentLoaded", () => {
  const summary = document.querySelector("[data-focus]");
  if (summary) summary.focus();
});
