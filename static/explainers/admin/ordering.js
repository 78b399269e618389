// The admin's ordering view (explainers/admin_ordering.py). Dragging a row is
// django-admin-sortable2's: SortableJS moves it, and one request tells the server the run of
// rows it passed. This script adds the keyboard route (the same request), says in the live
// region what the server answered, renumbers the rows, and puts them back when a move is
// refused. Without it, "Move the selected … to a position" still works.
(() => {
  const MOVE_ACTION = "move_to_position";

  // "To position" only next to the action that reads it.
  const showPositionField = () => {
    const select = document.querySelector("#changelist-form select[name=action]");
    const field = document.getElementById("changelist-form-position");
    if (!select || !field) {
      return;
    }
    const label = field.closest("label") || field;
    const sync = () => {
      // Not the hidden attribute: the admin's stylesheet shows the action bar's labels.
      label.style.display = select.value === MOVE_ACTION ? "" : "none";
    };
    select.addEventListener("change", sync);
    sync();
  };

  const setUpOrdering = () => {
    const config = document.getElementById("admin_sortable2_config");
    const table = document.getElementById("result_list");
    const status = document.getElementById("ordering-status");
    if (!config || !table || !status || !table.querySelector(".handle")) {
      return;
    }
    const updateUrl = JSON.parse(config.textContent).update_url;
    const body = table.tBodies[0];
    const token = document.querySelector("#changelist-form [name=csrfmiddlewaretoken]").value;
    const handleOf = (row) => row.querySelector(".handle");
    const rows = () => [...body.rows];
    // The page's first row number: a move within the page keeps the set of numbers.
    const firstNumber = Math.min(...rows().map((row) => Number(handleOf(row).getAttribute("order"))));
    const firstCard = Math.min(
      ...[...body.querySelectorAll(".card-number")].map((card) => Number(card.textContent)),
    );
    let before = null; // the rows' order before the move under way, to put back if refused
    let lifted = null; // the row being moved with the keyboard
    let liftedFrom = -1;

    const say = (message, refused = false) => {
      // Emptied first, so that the same message twice is announced twice.
      status.textContent = "";
      status.classList.toggle("refused", refused);
      window.setTimeout(() => {
        status.textContent = message;
      }, 50);
    };

    // Numbers follow the rows' order on the page: positions, and readers' card numbers.
    const renumber = () => {
      let card = firstCard;
      rows().forEach((row, index) => {
        const handle = handleOf(row);
        handle.setAttribute("order", String(firstNumber + index));
        handle.querySelector(".row-number").textContent = String(firstNumber + index);
        const cardNumber = row.querySelector(".card-number");
        if (cardNumber) {
          cardNumber.textContent = String(card);
          card += 1;
        }
      });
    };

    const putBack = () => {
      if (before) {
        before.forEach((row) => body.appendChild(row));
      }
      renumber();
    };

    const report = async (response) => {
      let message;
      try {
        message = (await response.json()).message;
      } catch {
        message = `The server answered ${response.status}; nothing moved. Reload the page.`;
      }
      if (response.ok) {
        renumber();
      } else {
        putBack();
      }
      before = null;
      say(message, !response.ok);
    };

    // sortable2 only logs the server's answer to a drag; read it here to tell the user.
    const send = window.fetch.bind(window);
    window.fetch = (resource, options) => {
      const answer = send(resource, options);
      if (resource === updateUrl) {
        answer.then(
          (response) => report(response.clone()),
          () => {
            putBack();
            before = null;
            say("The server could not be reached; nothing moved.", true);
          },
        );
      }
      return answer;
    };
    body.addEventListener("start", () => {
      before = rows();
    });

    // The keyboard route: Space or Enter picks a row up and drops it, arrows move it.
    const position = (row) => firstNumber + rows().indexOf(row);
    const titleOf = (row) => handleOf(row).dataset.title;

    const lift = (row) => {
      before = rows();
      lifted = row;
      liftedFrom = rows().indexOf(row);
      row.classList.add("lifted");
      handleOf(row).setAttribute("aria-pressed", "true");
      say(
        `Picked up “${titleOf(row)}”, at position ${position(row)}. Move it with the arrow ` +
          "keys, drop it with Space, or put it back with Escape.",
      );
    };

    const settle = () => {
      lifted.classList.remove("lifted");
      handleOf(lifted).setAttribute("aria-pressed", "false");
      const row = lifted;
      lifted = null;
      return row;
    };

    const moveTo = (target) => {
      const all = rows();
      const from = all.indexOf(lifted);
      const to = Math.max(0, Math.min(all.length - 1, target));
      if (to === from) {
        return;
      }
      body.insertBefore(lifted, to < from ? all[to] : all[to].nextSibling);
      handleOf(lifted).focus(); // moving the row took the focus away
      say(`“${titleOf(lifted)}”: position ${position(lifted)}.`);
    };

    const cancel = () => {
      const row = settle();
      putBack();
      before = null;
      handleOf(row).focus();
      say(`Put “${titleOf(row)}” back at position ${position(row)}; nothing moved.`);
    };

    const drop = () => {
      const row = settle();
      const all = rows();
      const to = all.indexOf(row);
      if (to === liftedFrom) {
        before = null;
        say(`Dropped “${titleOf(row)}” where it was; nothing moved.`);
        return;
      }
      // The same request as a drag: the run of rows it passed, as the page shows them now.
      const run = all.slice(Math.min(to, liftedFrom), Math.max(to, liftedFrom) + 1);
      const first = firstNumber + Math.min(to, liftedFrom);
      say(`Moving “${titleOf(row)}”…`);
      window.fetch(updateUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: {
          Accept: "application/json",
          "Content-Type": "application/json",
          "X-CSRFToken": token,
        },
        body: JSON.stringify({
          updatedItems: run.map((each, index) => [handleOf(each).getAttribute("pk"), first + index]),
        }),
      });
    };

    const STEPS = { ArrowUp: -1, ArrowDown: 1, PageUp: -10, PageDown: 10 };
    body.addEventListener("keydown", (event) => {
      const handle = event.target.closest(".handle");
      if (!handle) {
        return;
      }
      const row = handle.closest("tr");
      const pickOrDrop = event.key === " " || event.key === "Enter";
      if (lifted === null) {
        if (pickOrDrop) {
          event.preventDefault();
          lift(row);
        }
        return;
      }
      if (row !== lifted) {
        return;
      }
      const index = rows().indexOf(row);
      if (event.key in STEPS) {
        event.preventDefault();
        moveTo(index + STEPS[event.key]);
      } else if (event.key === "Home" || event.key === "End") {
        event.preventDefault();
        moveTo(event.key === "Home" ? 0 : rows().length - 1);
      } else if (pickOrDrop) {
        event.preventDefault();
        drop();
      } else if (event.key === "Escape" || event.key === "Tab") {
        // Leaving the row while it is picked up puts it back, rather than leave it astray.
        event.preventDefault();
        cancel();
      }
    });
    // A button's own click (Space and Enter make one) has nothing to do here.
    body.addEventListener("click", (event) => {
      if (event.target.closest(".handle")) {
        event.preventDefault();
      }
    });
  };

  document.addEventListener("DOMContentLoaded", () => {
    showPositionField();
    setUpOrdering();
  });
})();
