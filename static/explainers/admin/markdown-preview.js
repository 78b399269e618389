// One-click Markdown preview: the server renders and sanitizes, this only shows the result.
document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-markdown-preview]");
  if (!button) {
    return;
  }
  const textarea = document.getElementById(button.dataset.markdownPreview);
  const preview = document.getElementById(`${button.dataset.markdownPreview}-preview`);
  const token = button.form.querySelector("[name=csrfmiddlewaretoken]").value;
  const body = new FormData();
  body.append("body", textarea.value);
  const response = await fetch(button.dataset.previewUrl, {
    method: "POST",
    body,
    headers: { "X-CSRFToken": token },
    credentials: "same-origin",
  });
  if (response.ok) {
    preview.innerHTML = await response.text();
  } else {
    // A refusal (400: the body is too long) says why, as text.
    const reason = response.status === 400 ? await response.text() : "The preview failed; try again.";
    preview.replaceChildren(Object.assign(document.createElement("p"), { textContent: reason }));
  }
  preview.hidden = false;
});
