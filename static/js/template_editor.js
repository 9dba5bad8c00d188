// The appraisal template editor (reviews/template_forms.py): add and remove rows (grades,
// dimensions, items, thresholds) by copying the page's <template> prototypes, show each item's
// fields for its kind, rule and target, the chosen KPI's direction, and the running sums of the
// weights. Field names carry row indices; a new row takes the next free one. No inline script or
// style (the Content-Security-Policy forbids both): everything hangs off data attributes.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.querySelector("[data-template-editor]");
  if (!form) return;

  const nextIndex = (container, row, attribute) => {
    let max = -1;
    container.querySelectorAll(`:scope > [data-row="${row}"]`).forEach((el) => {
      const n = Number(attribute ? el.dataset[attribute] : el.dataset.index);
      if (Number.isFinite(n)) max = Math.max(max, n);
    });
    return max + 1;
  };

  // Each row remembers its index (set once, from its fields' names).
  const indexRows = (root) => {
    root.querySelectorAll('[data-row="band"], [data-row="threshold"]').forEach((row) => {
      if (row.dataset.index !== undefined) return;
      const input = row.querySelector("input[name]");
      const found = input && input.name.match(/(?:band|th)-(\d+)-[a-z_]+$/);
      if (found) row.dataset.index = found[1];
    });
  };

  const fromPrototype = (id, replacements) => {
    let html = document.getElementById(id).innerHTML;
    Object.entries(replacements).forEach(([placeholder, value]) => {
      html = html.split(placeholder).join(String(value));
    });
    const holder = document.createElement(id === "proto-band" || id === "proto-threshold" ? "tbody" : "div");
    holder.innerHTML = html.trim();
    return holder.firstElementChild;
  };

  const sync = (item) => {
    const kind = item.querySelector('[data-toggle="kind"]');
    const rule = item.querySelector('[data-toggle="rule"]');
    const source = item.querySelector('[data-toggle="target-source"]');
    if (kind) item.dataset.kind = kind.value;
    if (rule) item.dataset.rule = rule.value;
    if (source) item.dataset.targetSource = source.value;
    const select = item.querySelector("[data-kpi-select]");
    const direction = item.querySelector("[data-direction-text]");
    if (select && direction) {
      const option = select.selectedOptions[0];
      direction.textContent = option && option.value ? `${option.dataset.direction} · ${option.dataset.unitText}` : "";
    }
  };

  const sums = () => {
    const totals = {};
    form.querySelectorAll("[data-sum]").forEach((input) => {
      const item = input.closest('[data-row="item"]');
      const key = input.dataset.sum;
      const value = Number(String(input.value).replace(",", "").replace("%", ""));
      totals[key] = (totals[key] || 0) + (Number.isFinite(value) ? value : 0);
      if (item && !totals[key + ":seen"]) totals[key + ":seen"] = true;
    });
    form.querySelectorAll("[data-sum-of]").forEach((label) => {
      const total = totals[label.dataset.sumOf] || 0;
      label.textContent = `Σ ${Math.round(total * 100) / 100}%`;
      label.classList.toggle("warn-text", Math.abs(total - 100) > 0.001);
    });
  };

  form.querySelectorAll('[data-row="item"]').forEach(sync);
  indexRows(form);
  sums();

  form.addEventListener("change", (event) => {
    const item = event.target.closest('[data-row="item"]');
    if (item) sync(item);
    sums();
  });
  form.addEventListener("input", (event) => {
    if (event.target.matches("[data-sum]")) sums();
  });

  form.addEventListener("click", (event) => {
    const add = event.target.closest("[data-add]");
    const remove = event.target.closest("[data-remove]");
    if (add) {
      event.preventDefault();
      const what = add.dataset.add;
      if (what === "band") {
        const body = form.querySelector('[data-rows="band"]');
        const n = nextIndex(body, "band");
        const row = fromPrototype("proto-band", { __B__: n });
        row.dataset.index = n;
        body.appendChild(row);
        row.querySelector("input").focus();
      } else if (what === "dimension") {
        const list = form.querySelector('[data-rows="dimension"]');
        const d = nextIndex(list, "dimension", "d");
        const row = fromPrototype("proto-dimension", { __D__: d, __I__: 0, __T__: 0 });
        list.appendChild(row);
        row.querySelectorAll('[data-row="item"]').forEach(sync);
        indexRows(row);
        row.querySelector("input[type=text]").focus();
      } else if (what === "item") {
        const dimension = add.closest('[data-row="dimension"]');
        const list = dimension.querySelector('[data-rows="item"]');
        const i = nextIndex(list, "item", "i");
        const row = fromPrototype("proto-item", { __D__: dimension.dataset.d, __I__: i, __T__: 0 });
        list.appendChild(row);
        sync(row);
        indexRows(row);
        row.querySelector("input[type=text]").focus();
      } else if (what === "threshold") {
        const item = add.closest('[data-row="item"]');
        const body = item.querySelector('[data-rows="threshold"]');
        const t = nextIndex(body, "threshold");
        const row = fromPrototype("proto-threshold", { __D__: item.dataset.d, __I__: item.dataset.i, __T__: t });
        row.dataset.index = t;
        body.appendChild(row);
        row.querySelector("input").focus();
      }
      sums();
    } else if (remove) {
      event.preventDefault();
      const row = remove.closest(`[data-row="${remove.dataset.remove}"]`);
      if (row) row.remove();
      sums();
    }
  });
});
