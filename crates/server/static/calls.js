// The call list: while calls on the page are not finished, their status and score
// follow the API without a reload.
const table = document.getElementById("calls");
const labels = JSON.parse(document.getElementById("status-labels")?.textContent || "{}");
const finished = new Set(["completed", "failed"]);

function pending() {
  return [...table.querySelectorAll("tr[data-call-id]")].some(
    (row) => !finished.has(row.dataset.status),
  );
}

async function refresh() {
  const response = await fetch(`/api/v1/calls?${table.dataset.apiQuery}`, {
    credentials: "same-origin",
    headers: { accept: "application/json" },
  });
  if (!response.ok) return;
  const page = await response.json();
  for (const call of page.items) {
    const row = table.querySelector(`tr[data-call-id="${call.call_id}"]`);
    if (!row) continue;
    const label = labels[call.status] || call.status;
    const text =
      call.status === "analysing" && typeof call.progress_percent === "number"
        ? `${label} ${call.progress_percent}%`
        : label;
    const cell = row.querySelector("td.status");
    if (row.dataset.status === call.status && cell.textContent === text) continue;
    row.dataset.status = call.status;
    cell.className = `status status-${call.status}`;
    cell.textContent = text;
    const score = call.analysis?.analysis?.score;
    if (typeof score === "number") row.querySelector("td.score").textContent = Math.round(score);
  }
}

async function loop() {
  while (table && pending()) {
    await new Promise((done) => setTimeout(done, 2000));
    try {
      await refresh();
    } catch (_) {
      // The next round tries again.
    }
  }
}
loop();
