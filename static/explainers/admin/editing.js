// Change forms that keep people's work: a warning before leaving unsaved changes, autosave
// of the unsaved input to the user's own scratch copy, and who else has the form open.
// Everything works without this script too, except those three conveniences.
(() => {
  const session = document.getElementById("editing-session");
  if (!session) {
    return;
  }
  const form = session.closest("form");
  const token = form.querySelector("[name=csrfmiddlewaretoken]").value;
  let dirty = false;
  let changedSinceAutosave = false;
  let submitting = false;

  const post = (url, body) =>
    fetch(url, {
      method: "POST",
      body,
      headers: { "X-CSRFToken": token },
      credentials: "same-origin",
    });

  const markDirty = () => {
    dirty = true;
    changedSinceAutosave = true;
  };
  form.addEventListener("input", markDirty);
  form.addEventListener("change", markDirty);
  form.addEventListener("submit", () => {
    submitting = true;
  });
  // A form that came back with errors holds the user's unsaved input.
  if (form.querySelector(".errornote, .errorlist")) {
    dirty = true;
  }

  window.addEventListener("beforeunload", (event) => {
    if (dirty && !submitting) {
      event.preventDefault();
      event.returnValue = "";
    }
  });

  const status = document.getElementById("autosave-status");
  const autosave = async () => {
    if (!changedSinceAutosave || submitting) {
      return;
    }
    changedSinceAutosave = false;
    const body = new FormData(form);
    for (const [name, value] of [...body.entries()]) {
      if (value instanceof File) {
        body.delete(name);
      }
    }
    try {
      const response = await post(session.dataset.autosaveUrl, body);
      if (response.ok && status) {
        status.textContent = `Unsaved changes kept as a draft copy at ${new Date().toLocaleTimeString()}.`;
      } else {
        changedSinceAutosave = true;
      }
    } catch {
      changedSinceAutosave = true;
    }
  };
  setInterval(autosave, Number(session.dataset.autosaveSeconds) * 1000);

  const presenceUrl = session.dataset.presenceUrl;
  const presence = document.getElementById("presence");
  if (presenceUrl && presence) {
    const beat = async () => {
      const body = new FormData();
      body.append("csrfmiddlewaretoken", token);
      try {
        const response = await post(presenceUrl, body);
        if (!response.ok) {
          return;
        }
        const { others } = await response.json();
        presence.hidden = others.length === 0;
        presence.textContent = others.length
          ? `Also editing: ${others.map((other) => `${other.name}, since ${other.since}`).join("; ")}. Saves are merged, and you will be told if you both change the same field.`
          : "";
      } catch {
        // The next beat tries again.
      }
    };
    beat();
    setInterval(beat, Number(session.dataset.presenceSeconds) * 1000);
    window.addEventListener("pagehide", () => {
      const body = new FormData();
      body.append("csrfmiddlewaretoken", token);
      body.append("leave", "1");
      navigator.sendBeacon(presenceUrl, body);
    });
  }
})();
