// Copy buttons: the clipboard API where the page may use it, else a selected text field.
async function copy(text) {
  try {
    // A browser that asks the person first may never answer: give up after a second.
    const late = new Promise((_, fail) => setTimeout(() => fail(new Error("no answer")), 1000));
    await Promise.race([navigator.clipboard.writeText(text), late]);
    return true;
  } catch (_) {
    const field = document.createElement("textarea");
    field.value = text;
    document.body.appendChild(field);
    field.select();
    const done = document.execCommand("copy");
    field.remove();
    return done;
  }
}

for (const button of document.querySelectorAll("button.copy")) {
  const label = button.textContent;
  button.addEventListener("click", async () => {
    if (await copy(button.dataset.copy)) {
      button.textContent = button.dataset.done;
      button.dataset.copied = button.dataset.copy;
      setTimeout(() => (button.textContent = label), 2000);
    }
  });
}
