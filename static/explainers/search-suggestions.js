// Suggestions under the search box as one types: completions of the text from the search
// page's JSON endpoint (data-suggest-url on this script's tag), offered in a <datalist>
// that the browser shows and reads out as the box's list. Without this script the box is
// an ordinary search box.
(() => {
  const endpoint = document.currentScript.dataset.suggestUrl;
  const input = document.getElementById("site-search-q");
  if (!input || !endpoint) return;
  const MIN_LENGTH = 2;
  const MAX_LENGTH = 60; // the endpoint's limit (search.MAX_SUGGEST_LENGTH)
  const list = document.createElement("datalist");
  list.id = "site-search-suggestions";
  input.after(list);
  input.setAttribute("list", list.id);
  input.setAttribute("autocomplete", "off");

  let timer;
  let controller;
  let asked = "";

  async function suggest() {
    const text = input.value.trim();
    if (text === asked) return;
    asked = text;
    controller?.abort();
    if (text.length < MIN_LENGTH || text.length > MAX_LENGTH) {
      list.replaceChildren();
      return;
    }
    controller = new AbortController();
    try {
      const response = await fetch(`${endpoint}?${new URLSearchParams({ q: text })}`, {
        signal: controller.signal,
        headers: { Accept: "application/json" },
      });
      if (!response.ok) return;
      const { suggestions } = await response.json();
      list.replaceChildren(
        ...suggestions.map((suggestion) => {
          const option = document.createElement("option");
          option.value = suggestion;
          return option;
        }),
      );
    } catch (error) {
      // A newer keystroke cancelled this request; a network failure leaves the box as it is.
      if (error.name !== "AbortError") list.replaceChildren();
    }
  }

  // One request per pause in typing, not per keystroke.
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(suggest, 150);
  });
})();
