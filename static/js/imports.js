// Import pages: drag and drop onto the file input, and live progress of running imports.
document.addEventListener("DOMContentLoaded", () => {
  const zone = document.querySelector("[data-dropzone]");
  if (zone) {
    const input = zone.querySelector("input[type=file]");
    const list = zone.querySelector("[data-dropzone-list]");
    const show = () => {
      list.replaceChildren(...Array.from(input.files).map((file) => {
        const item = document.createElement("li");
        item.textContent = `${file.name} (${Math.ceil(file.size / 1024)} KB)`;
        return item;
      }));
    };
    ["dragenter", "dragover"].forEach((name) => zone.addEventListener(name, (event) => {
      event.preventDefault();
      zone.classList.add("dragging");
    }));
    ["dragleave", "drop"].forEach((name) => zone.addEventListener(name, () => zone.classList.remove("dragging")));
    zone.addEventListener("drop", (event) => {
      event.preventDefault();
      input.files = event.dataTransfer.files;
      show();
    });
    input.addEventListener("change", show);
  }

  // Poll each running batch once a second; reload when it finishes, to show the full result.
  // (A batch whose figures are updating is polled too, by a hidden element.)
  const bars = document.querySelectorAll("[data-batch-progress]");
  bars.forEach((bar) => {
    const poll = async () => {
      try {
        const response = await fetch(bar.dataset.batchProgress, { headers: { Accept: "application/json" }, credentials: "same-origin" });
        if (!response.ok) return;
        const batch = await response.json();
        bar.value = batch.progress_percent;
        bar.textContent = `${batch.progress_percent}%`;
        const status = bar.parentElement.querySelector("[data-status]");
        if (status) status.textContent = batch.status_display;
        // Imported with its figures still updating: polled until they are current (or failed).
        if (batch.is_finished && !["pending", "running", "retrying"].includes(batch.kpis_status)) {
          window.location.reload();
          return;
        }
      } catch (error) {
        // A network hiccup: try again on the next tick.
      }
      setTimeout(poll, 1000);
    };
    setTimeout(poll, 500);
  });
});
