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
  preview.innerHTML = response.ok ? await response.text() : "<p>The preview failed; try again.</p>";
  preview.hidden = false;
});
