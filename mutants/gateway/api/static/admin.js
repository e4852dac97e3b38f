// Small behaviours htmx does not cover; no inline scripts, so the CSP can forbid them.
"use strict";

document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-remove-row]");
  if (!button) return;
  const row = button.closest("tr");
  const table = row && row.closest("table");
  if (!row) return;
  row.remove();
  // Keep keyboard focus inside the editor after the row disappears.
  const next = table && table.querySelector("input, select");
  if (next) next.focus();
});

// After htmx swaps in a validation error, move focus to it so keyboard and screen-reader
// users learn the save did not happen.
document.addEventListener("htmx:afterSettle", (event) => {
  const alert = event.target.querySelector && event.target.querySelector("[role=alert]");
  if (alert) {
    alert.setAttribute("tabindex", "-1");
    alert.focus();
  }
});
