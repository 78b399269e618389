// The writing space around the explainer body's textarea (forms.MarkdownWidget): a Markdown
// toolbar with keyboard shortcuts, the word count and reading time as one types, a live
// preview, and a picker that inserts images from the site's image library.
//
// Nothing here renders Markdown or styles the result: the server renders the body with the
// public page's renderer and sanitizer (ExplainerAdmin.preview_view), and the preview frame
// loads the public page's own stylesheet (preview_frame_view). Without this script the
// textarea works as a plain one.
(() => {
  "use strict";

  // Typing pauses this long before the preview asks the server again.
  const PREVIEW_DELAY_MS = 300;
  const SEARCH_DELAY_MS = 250;

  const debounce = (callback, delay) => {
    let timer;
    return (...args) => {
      clearTimeout(timer);
      timer = setTimeout(() => callback(...args), delay);
    };
  };

  // Python's round(), which Explainer.estimated_reading_time uses: halves go to the even
  // neighbour (round(2.5) == 2), where Math.round goes up.
  const roundHalfEven = (value) => {
    const rounded = Math.round(value);
    return value % 1 === 0.5 && rounded % 2 !== 0 ? rounded - 1 : rounded;
  };

  // As Explainer.estimated_reading_time counts: words are what str.split() separates.
  const wordCount = (text) => text.split(/\s+/).filter(Boolean).length;

  const plural = (count, one, many) => `${count.toLocaleString("en")} ${count === 1 ? one : many}`;

  // Editing the textarea. execCommand keeps the browser's undo history, so Ctrl+Z undoes a
  // toolbar action; setRangeText is the fallback where it is gone.
  const replaceRange = (textarea, start, end, text, selectFrom, selectTo) => {
    textarea.focus();
    textarea.setSelectionRange(start, end);
    if (!document.execCommand("insertText", false, text)) {
      textarea.setRangeText(text, start, end, "end");
      textarea.dispatchEvent(new Event("input", { bubbles: true }));
    }
    textarea.setSelectionRange(start + selectFrom, start + selectTo);
  };

  const wrapSelection = (textarea, before, after, placeholder) => {
    const { selectionStart: start, selectionEnd: end, value } = textarea;
    const selected = value.slice(start, end) || placeholder;
    replaceRange(textarea, start, end, before + selected + after, before.length, before.length + selected.length);
  };

  // Prefix every line the selection touches ("## ", "- ", "> "); if all have it, remove it.
  const toggleLinePrefix = (textarea, prefix) => {
    const { selectionStart, selectionEnd, value } = textarea;
    const start = selectionStart === 0 ? 0 : value.lastIndexOf("\n", selectionStart - 1) + 1;
    // A selection that ends just after a line break stops at the line before it.
    const last = selectionEnd > selectionStart && value[selectionEnd - 1] === "\n" ? selectionEnd - 1 : selectionEnd;
    const lineEnd = value.indexOf("\n", last);
    const end = lineEnd === -1 ? value.length : lineEnd;
    const lines = value.slice(start, end).split("\n");
    const all = lines.every((line) => line.startsWith(prefix));
    const changed = lines.map((line) => (all ? line.slice(prefix.length) : prefix + line)).join("\n");
    // A selection stays on the lines it covered (another click takes the prefix off again).
    const from = selectionStart === selectionEnd ? changed.length : 0;
    replaceRange(textarea, start, end, changed, from, changed.length);
  };

  // Insert ``block`` as a paragraph of its own: blank lines around it, as Markdown needs.
  const insertBlock = (textarea, start, end, block) => {
    const before = textarea.value.slice(0, start);
    const after = textarea.value.slice(end);
    const lead = before === "" || before.endsWith("\n\n") ? "" : before.endsWith("\n") ? "\n" : "\n\n";
    const trail = after.startsWith("\n\n") ? "" : after.startsWith("\n") ? "\n" : "\n\n";
    const text = lead + block + trail;
    replaceRange(textarea, start, end, text, text.length, text.length);
  };

  const insertCode = (textarea) => {
    const { selectionStart: start, selectionEnd: end, value } = textarea;
    const selected = value.slice(start, end);
    if (!selected.includes("\n")) {
      wrapSelection(textarea, "`", "`", "code");
      return;
    }
    const fence = "```";
    const lines = selected.replace(/^\n+|\n+$/g, "");
    insertBlock(textarea, start, end, `${fence}\n${lines}\n${fence}`);
  };

  const insertLink = (textarea) => {
    const { selectionStart: start, selectionEnd: end, value } = textarea;
    const text = value.slice(start, end) || "link text";
    const url = "https://";
    // The address is selected, ready to be typed over.
    replaceRange(textarea, start, end, `[${text}](${url})`, text.length + 3, text.length + 3 + url.length);
  };

  const FORMATS = {
    bold: (textarea) => wrapSelection(textarea, "**", "**", "bold text"),
    italic: (textarea) => wrapSelection(textarea, "_", "_", "italic text"),
    heading: (textarea) => toggleLinePrefix(textarea, "## "),
    link: insertLink,
    list: (textarea) => toggleLinePrefix(textarea, "- "),
    code: insertCode,
    quote: (textarea) => toggleLinePrefix(textarea, "> "),
  };
  const SHORTCUTS = { b: "bold", i: "italic", k: "link" };

  // A toolbar is one stop for Tab; the arrow keys move between its buttons.
  const rovingFocus = (toolbar) => {
    const buttons = [...toolbar.querySelectorAll("button")];
    buttons.forEach((button, index) => {
      button.tabIndex = index === 0 ? 0 : -1;
    });
    toolbar.addEventListener("keydown", (event) => {
      const index = buttons.indexOf(document.activeElement);
      if (index === -1) {
        return;
      }
      const next = {
        ArrowRight: (index + 1) % buttons.length,
        ArrowLeft: (index - 1 + buttons.length) % buttons.length,
        Home: 0,
        End: buttons.length - 1,
      }[event.key];
      if (next === undefined) {
        return;
      }
      event.preventDefault();
      buttons[index].tabIndex = -1;
      buttons[next].tabIndex = 0;
      buttons[next].focus();
    });
  };

  const setUpCount = (root, textarea) => {
    const count = root.querySelector(".writing-space-count");
    const words = count.querySelector("[data-word-count]");
    const minutes = count.querySelector("[data-reading-time]");
    const perMinute = Number(root.dataset.wordsPerMinute);
    const update = () => {
      const total = wordCount(textarea.value);
      words.textContent = plural(total, "word", "words");
      minutes.textContent = `${Math.max(1, roundHalfEven(total / perMinute))} min`;
    };
    textarea.addEventListener("input", update);
    update();
    count.hidden = false;
  };

  const setUpPreview = (root, textarea, token) => {
    const pane = root.querySelector(".writing-space-preview");
    const frame = pane.querySelector("iframe");
    const status = pane.querySelector(".writing-space-status");
    let prose = null;
    let shown = "";
    let sent = 0;

    // The preview follows the editor's scrolling: the same share of each is in view.
    const followScroll = () => {
      const page = frame.contentDocument?.scrollingElement;
      if (!page) {
        return;
      }
      const range = textarea.scrollHeight - textarea.clientHeight;
      page.scrollTop = (range > 0 ? textarea.scrollTop / range : 0) * (page.scrollHeight - page.clientHeight);
    };
    textarea.addEventListener("scroll", followScroll, { passive: true });

    const show = (html) => {
      shown = html;
      if (prose) {
        prose.innerHTML = html; // sanitized by the server, as the public page's body is
        followScroll();
      }
    };
    frame.addEventListener("load", () => {
      const page = frame.contentDocument;
      prose = page.querySelector("[data-body-preview]");
      // A preview, not a page to leave: its links do not navigate the frame.
      page.addEventListener("click", (event) => {
        if (event.target.closest("a")) {
          event.preventDefault();
        }
      });
      show(shown);
    });
    frame.src = root.dataset.frameUrl;

    const refresh = async () => {
      const request = ++sent;
      const body = new FormData();
      body.append("body", textarea.value);
      let response;
      let text;
      try {
        response = await fetch(root.dataset.previewUrl, {
          method: "POST",
          body,
          headers: { "X-CSRFToken": token },
          credentials: "same-origin",
        });
        text = await response.text();
      } catch {
        response = null;
      }
      if (request !== sent) {
        return; // a newer preview is on its way
      }
      if (response && response.redirected) {
        // The admin sent the request to its sign-in page: the session has ended.
        status.textContent = "You are signed out, so the preview cannot be updated: sign in again in another tab.";
      } else if (response && response.ok) {
        status.textContent = "";
        show(text);
      } else if (response && response.status === 400) {
        // Refused, with the reason (over the length limit): the last preview stays below.
        status.textContent = `${text} The preview shows the body as it was before.`;
      } else {
        status.textContent = "The preview could not be updated; it will try again as you type.";
      }
    };
    textarea.addEventListener("input", debounce(refresh, PREVIEW_DELAY_MS));
    pane.hidden = false;
    refresh();
  };

  const setUpPicker = (root, textarea, opener) => {
    const dialog = root.querySelector(".image-picker");
    const template = root.querySelector("template");
    const search = dialog.querySelector("[data-picker-search]");
    const status = dialog.querySelector("[data-picker-status]");
    const results = dialog.querySelector("[data-picker-results]");
    const previous = dialog.querySelector("[data-picker-page=previous]");
    const next = dialog.querySelector("[data-picker-page=next]");
    const pageLabel = dialog.querySelector("[data-picker-page-label]");
    let page = 1;
    let selection = [0, 0];
    let loading = 0;

    const load = async (wanted, focusId) => {
      const request = ++loading;
      const query = new URLSearchParams({ q: search.value.trim(), page: String(wanted) });
      let data;
      try {
        const response = await fetch(`${root.dataset.libraryUrl}?${query}`, {
          headers: { Accept: "application/json" },
          credentials: "same-origin",
        });
        if (!response.ok) {
          throw new Error(String(response.status));
        }
        data = await response.json();
      } catch {
        if (request === loading) {
          status.textContent = "The image library could not be loaded; try again.";
        }
        return;
      }
      if (request !== loading) {
        return;
      }
      page = data.page;
      results.replaceChildren(
        ...data.results.map((image) => {
          const item = template.content.firstElementChild.cloneNode(true);
          const button = item.querySelector("button");
          const thumbnail = item.querySelector("img");
          button.dataset.imageId = String(image.id);
          button.dataset.markdown = image.markdown;
          thumbnail.src = image.thumbnail.url;
          thumbnail.width = image.thumbnail.width;
          thumbnail.height = image.thumbnail.height;
          item.querySelector(".image-picker-alt").textContent = image.alt_text;
          return item;
        }),
      );
      const searched = search.value.trim();
      status.textContent =
        data.count === 0
          ? searched
            ? `No image's alt text contains “${searched}”.`
            : "The library has no images yet: upload one."
          : `${plural(data.count, "image", "images")}${searched ? ` whose alt text contains “${searched}”` : ""}. Choose one to insert it.`;
      pageLabel.textContent = data.pages > 1 ? `Page ${data.page} of ${data.pages}` : "";
      previous.hidden = next.hidden = data.pages <= 1;
      previous.disabled = data.page <= 1;
      next.disabled = data.page >= data.pages;
      if (focusId) {
        results.querySelector(`[data-image-id="${focusId}"]`)?.focus();
      }
    };

    opener.addEventListener("click", () => {
      selection = [textarea.selectionStart, textarea.selectionEnd];
      dialog.showModal();
      search.focus();
      load(1);
    });
    dialog.querySelector("[data-picker-close]").addEventListener("click", () => dialog.close());
    // The picker sits inside the explainer's form: searching is not editing the explainer
    // (no "unsaved changes" warning, no autosave), and Enter searches rather than saves.
    search.addEventListener("input", (event) => event.stopPropagation());
    search.addEventListener("input", debounce(() => load(1), SEARCH_DELAY_MS));
    search.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault();
        load(1);
      }
    });
    previous.addEventListener("click", () => load(page - 1));
    next.addEventListener("click", () => load(page + 1));
    results.addEventListener("click", (event) => {
      const choice = event.target.closest("[data-markdown]");
      if (!choice) {
        return;
      }
      dialog.close();
      insertBlock(textarea, selection[0], selection[1], choice.dataset.markdown);
    });

    // "Upload a new image" opens the image form in Django's related-object popup; saving it
    // sets this input to the new image's id and triggers "change" through django.jQuery
    // (RelatedObjectLookups.js), which plain listeners do not hear.
    const uploaded = dialog.querySelector("[data-picker-uploaded]");
    if (uploaded && window.django?.jQuery) {
      window.django.jQuery(uploaded).on("change", () => {
        search.value = "";
        load(1, uploaded.value);
      });
    }
  };

  const setUp = (root) => {
    const textarea = document.getElementById(root.dataset.writingSpace);
    const form = textarea.form;
    const token = form.querySelector("[name=csrfmiddlewaretoken]").value;
    const toolbar = root.querySelector(".writing-space-toolbar");

    toolbar.addEventListener("click", (event) => {
      const button = event.target.closest("[data-format]");
      if (button && FORMATS[button.dataset.format]) {
        FORMATS[button.dataset.format](textarea);
      }
    });
    textarea.addEventListener("keydown", (event) => {
      const format = SHORTCUTS[event.key.toLowerCase()];
      if (format && (event.ctrlKey || event.metaKey) && !event.altKey && !event.shiftKey) {
        event.preventDefault();
        FORMATS[format](textarea);
      }
    });
    rovingFocus(toolbar);
    toolbar.hidden = false;

    setUpCount(root, textarea);
    setUpPreview(root, textarea, token);
    const imageButton = toolbar.querySelector("[data-format=image]");
    if (imageButton && root.dataset.libraryUrl) {
      setUpPicker(root, textarea, imageButton);
    }
  };

  const start = () => document.querySelectorAll("[data-writing-space]").forEach(setUp);
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
