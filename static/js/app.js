// Small progressive enhancements; every page works without JavaScript. No page has inline script
// or inline style (the Content-Security-Policy forbids both): behaviour hangs off data attributes.
document.addEventListener("DOMContentLoaded", () => {
  const toggle = document.querySelector(".nav-toggle");
  const nav = document.getElementById("main-nav");
  if (toggle && nav) {
    toggle.addEventListener("click", () => {
      const open = nav.classList.toggle("open");
      toggle.setAttribute("aria-expanded", String(open));
    });
  }

  // An open menu of the bar (organisation, user) closes on a click elsewhere or on Escape.
  const menus = [...document.querySelectorAll("details.nav-menu, details.user-menu")];
  document.addEventListener("click", (event) => {
    menus.forEach((menu) => { if (menu.open && !menu.contains(event.target)) menu.open = false; });
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") menus.forEach((menu) => { menu.open = false; });
  });

  // data-confirm on a form or on its submit button: ask before submitting; Cancel keeps the page.
  document.addEventListener("submit", (event) => {
    const source = (event.submitter && event.submitter.closest("[data-confirm]")) || event.target.closest("[data-confirm]");
    if (source && !window.confirm(source.dataset.confirm)) event.preventDefault();
  });

  // data-print: a button that opens the browser's print dialog.
  document.querySelectorAll("[data-print]").forEach((button) => {
    button.addEventListener("click", () => window.print());
  });

  // data-select-all="<form id>": ticks or clears every "ids" checkbox that belongs to that form.
  document.querySelectorAll("[data-select-all]").forEach((all) => {
    const boxes = [...document.querySelectorAll(`input[name="ids"][form="${all.dataset.selectAll}"]`)];
    all.addEventListener("change", () => boxes.forEach((box) => { box.checked = all.checked; }));
  });

  // Computed shades and widths arrive as data attributes and are set through the CSSOM, which the
  // policy allows (a style="" attribute would be refused). Values are numbers from the server.
  document.querySelectorAll("[data-shade]").forEach((cell) => {
    const alpha = Number(cell.dataset.shade);  // 0–1
    if (Number.isFinite(alpha)) cell.style.backgroundColor = `rgba(37, 99, 235, ${alpha})`;
  });
  document.querySelectorAll("[data-width]").forEach((bar) => {
    const percent = Number(bar.dataset.width);  // 0–100
    if (Number.isFinite(percent)) bar.style.width = `${percent}%`;
  });
  document.querySelectorAll("[data-left]").forEach((mark) => {
    const percent = Number(mark.dataset.left);  // 0–100
    if (Number.isFinite(percent)) mark.style.left = `${percent}%`;
  });
});
