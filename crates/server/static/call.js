// The call detail: the player, the timeline (who spoke when, coloured by sentiment,
// silences, overlaps, a cursor that follows playback) and the transcript (click a phrase,
// or a word, to hear it; the phrase and the word being played are highlighted). Bars are placed from data, never from inline styles (CSP).
const audio = document.getElementById("audio");
const data = JSON.parse(document.getElementById("timeline-data")?.textContent || "null");
const timeline = document.getElementById("timeline");
const cursor = document.getElementById("cursor");
const phrases = [...document.querySelectorAll("#phrases .phrase")];

const clockText = (s) => `${Math.floor(s / 60)}:${String(Math.floor(s % 60)).padStart(2, "0")}`;

function drawBars(track, spans, kind, duration) {
  for (const [start, end] of spans) {
    const bar = document.createElement("div");
    bar.className = `bar ${kind}`;
    bar.style.left = `${(100 * start) / duration}%`;
    bar.style.width = `${Math.max((100 * (end - start)) / duration, 0.2)}%`;
    bar.dataset.start = start;
    bar.dataset.end = end;
    bar.title = `${kind} ${clockText(start)}–${clockText(end)}`;
    track.appendChild(bar);
  }
}

if (data && timeline) {
  const d = data.duration || 1;
  drawBars(document.getElementById("track-user"), data.user, "user", d);
  drawBars(document.getElementById("track-customer"), data.customer, "customer", d);
  const marks = document.getElementById("track-marks");
  drawBars(marks, data.silences, "silence", d);
  drawBars(marks, data.overlaps, "overlap", d);
  // Each party's speech coloured by sentiment where a phrase is positive or negative (a
  // band over the lower half of their bars).
  for (const [start, end, role, mood] of data.sentiment || []) {
    const track = document.getElementById(`track-${role}`);
    if (!track) continue;
    const band = document.createElement("div");
    band.className = `mood ${mood}`;
    band.style.left = `${(100 * start) / d}%`;
    band.style.width = `${Math.max((100 * (end - start)) / d, 0.2)}%`;
    band.dataset.start = start;
    band.dataset.end = end;
    band.title = `${data.labels?.[mood] || mood} ${clockText(start)}–${clockText(end)}`;
    track.appendChild(band);
  }
  timeline.setAttribute("aria-valuemax", String(Math.round(d)));
}

function seek(seconds) {
  if (!audio) return;
  audio.currentTime = Math.max(0, seconds);
}

function track() {
  return document.getElementById("track-user");
}

if (audio) {
  const play = document.getElementById("play");
  play.addEventListener("click", () => (audio.paused ? audio.play() : audio.pause()));
  document.getElementById("back5").addEventListener("click", () => seek(audio.currentTime - 5));
  document.getElementById("speed").addEventListener("change", (e) => {
    audio.playbackRate = Number(e.target.value);
  });
  // Phrases and call notes play from where they are said.
  for (const phrase of [...phrases, ...document.querySelectorAll("#notes .note")]) {
    const go = (e) => {
      // A word plays from the word, anything else from the phrase's start.
      const word = e?.target?.closest?.(".w");
      seek(Number((word || phrase).dataset.start));
      audio.play().catch(() => {});
    };
    phrase.addEventListener("click", go);
    phrase.addEventListener("keydown", (e) => {
      if (e.key === "Enter" || e.key === " ") {
        e.preventDefault();
        go(null);
      }
    });
  }
  if (timeline && data) {
    // Click or drag on the timeline to seek; arrow keys move 5 s.
    const at = (e) => {
      const box = track().getBoundingClientRect();
      return ((e.clientX - box.left) / box.width) * (data.duration || 1);
    };
    let dragging = false;
    timeline.addEventListener("pointerdown", (e) => {
      dragging = true;
      seek(at(e));
    });
    window.addEventListener("pointermove", (e) => dragging && seek(at(e)));
    window.addEventListener("pointerup", () => (dragging = false));
    timeline.addEventListener("keydown", (e) => {
      if (e.key === "ArrowRight") seek(audio.currentTime + 5);
      if (e.key === "ArrowLeft") seek(audio.currentTime - 5);
    });
  }
  audio.addEventListener("timeupdate", () => {
    const now = audio.currentTime;
    document.getElementById("clock").textContent = clockText(now);
    if (timeline && data && cursor) {
      const box = track().getBoundingClientRect();
      const outer = timeline.getBoundingClientRect();
      cursor.style.left = `${box.left - outer.left + (box.width * now) / (data.duration || 1)}px`;
      timeline.setAttribute("aria-valuenow", String(Math.round(now)));
    }
    let current = null;
    for (const phrase of phrases) {
      if (Number(phrase.dataset.start) <= now + 0.05) current = phrase;
    }
    for (const phrase of phrases) phrase.classList.toggle("current", phrase === current);
    // In the phrase being played, the word being said (none in the pause after one).
    let spoken = null;
    for (const word of current ? current.querySelectorAll(".w") : []) {
      if (Number(word.dataset.start) <= now + 0.05 && now < Number(word.dataset.end) + 0.25) spoken = word;
    }
    for (const word of document.querySelectorAll("#phrases .w.spoken")) {
      if (word !== spoken) word.classList.remove("spoken");
    }
    spoken?.classList.add("spoken");
  });
}
