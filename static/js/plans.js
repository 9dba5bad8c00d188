// The pay plan editor (templates/incentives/plan_form.html): repeating rows and the sections that
// only matter for some choices. Everything works without it: one blank row per part, every
// section shown, a "Remove" box per row. No inline script or style (the CSP forbids both).
document.addEventListener("DOMContentLoaded", () => {
  const form = document.querySelector("[data-plan-form]");
  if (!form) return;

  // "Add a row": a copy of the formset's empty form, numbered by its TOTAL_FORMS, which grows by one.
  form.querySelectorAll("[data-formset]").forEach((part) => {
    const prefix = part.dataset.formset;
    const total = part.querySelector(`input[name="${prefix}-TOTAL_FORMS"]`);
    const template = part.querySelector("template[data-row-template]");
    const rows = part.querySelector("[data-rows]");
    const add = part.querySelector("[data-add-row]");
    if (!total || !template || !rows || !add) return;
    add.hidden = false;
    add.addEventListener("click", () => {
      const index = Number(total.value);
      const html = template.innerHTML.replace(/__prefix__/g, String(index));
      rows.insertAdjacentHTML("beforeend", html);
      total.value = String(index + 1);
      const first = rows.lastElementChild && rows.lastElementChild.querySelector("input, select");
      if (first) first.focus();
    });
  });

  // A row ticked "Remove" is greyed out (it is left out when the form is saved or simulated).
  form.addEventListener("change", (event) => {
    const box = event.target;
    if (box.matches && box.matches('input[type="checkbox"][name$="-DELETE"]')) {
      const row = box.closest("[data-row]");
      if (row) row.classList.toggle("removed", box.checked);
    }
  });
  form.querySelectorAll('input[type="checkbox"][name$="-DELETE"]:checked').forEach((box) => {
    const row = box.closest("[data-row]");
    if (row) row.classList.add("removed");
  });

  // data-when="field=value1|value2": shown only while the plan's field has one of those values
  // (a checkbox reads "on" when ticked, "" when not).
  const valueOf = (name) => {
    const field = form.elements.namedItem(name);
    if (!field) return null;
    if (field.type === "checkbox") return field.checked ? "on" : "";
    return field.value;
  };
  const conditional = [...form.querySelectorAll("[data-when]")];
  const update = () => {
    conditional.forEach((element) => {
      const [name, values] = element.dataset.when.split("=");
      const current = valueOf(name);
      element.hidden = current !== null && !values.split("|").includes(current);
    });
  };
  form.addEventListener("change", update);
  update();
});
