// The focal point editor of hero images (templates/admin/explainers/focal_point_editor.html).
// A click on the image sets the focal point (the subject's centre), a drag draws a box around
// the subject; both fill the number fields the form sends, which also work by keyboard and
// without this script. The frames beside the image show every crop the site makes, redrawn
// as the focal point moves, with the crop rule of the server (explainers/images.py,
// crop_box): the same arithmetic, the same rounding.
(() => {
  // The server's half_up, spelled the same way.
  const halfUp = (value) => Math.floor(value + 0.5);

  // images.crop_size: the largest box of the aspect that the image holds.
  const cropSize = (width, height, [aspectWidth, aspectHeight]) => {
    if (width * aspectHeight > height * aspectWidth) {
      return [Math.max(1, Math.min(width, halfUp((height * aspectWidth) / aspectHeight))), height];
    }
    return [width, Math.max(1, Math.min(height, halfUp((width * aspectHeight) / aspectWidth)))];
  };

  // images.crop_box: centred on the focal point, moved back inside at the edges.
  const cropBox = (width, height, aspect, focal) => {
    const [cropWidth, cropHeight] = cropSize(width, height, aspect);
    const [x, y] = focal ? [focal.x, focal.y] : [0.5, 0.5];
    const left = Math.min(Math.max(halfUp(x * width - cropWidth / 2), 0), width - cropWidth);
    const top = Math.min(Math.max(halfUp(y * height - cropHeight / 2), 0), height - cropHeight);
    return { left, top, width: cropWidth, height: cropHeight };
  };

  const hundredths = (value) => Math.round(Math.min(Math.max(value, 0), 1) * 100) / 100;
  const percent = (value) => `${value.toFixed(3)}%`;
  // A pointer that moves less than this between press and release clicked.
  const DRAG_PIXELS = 6;

  const start = (editor) => {
    const form = editor.closest("form");
    const inputs = {
      x: form.querySelector("input[name=focal_x]"),
      y: form.querySelector("input[name=focal_y]"),
      width: form.querySelector("input[name=focal_width]"),
      height: form.querySelector("input[name=focal_height]"),
    };
    // Someone who may not change the image sees the crops, without the controls.
    const editable = Object.values(inputs).every(Boolean);
    const stage = editor.querySelector("[data-focal-stage]");
    const marker = editor.querySelector("[data-focal-marker]");
    const box = editor.querySelector("[data-focal-box]");
    const reset = editor.querySelector("[data-focal-reset]");
    const frames = [...editor.querySelectorAll("[data-aspect-width]")];
    const size = { width: Number(editor.dataset.width), height: Number(editor.dataset.height) };

    const focal = () => {
      const x = parseFloat(inputs.x?.value ?? "");
      const y = parseFloat(inputs.y?.value ?? "");
      if (Number.isNaN(x) || Number.isNaN(y)) {
        return null;
      }
      return {
        x,
        y,
        width: parseFloat(inputs.width.value) || 0,
        height: parseFloat(inputs.height.value) || 0,
      };
    };

    const render = () => {
      const point = focal();
      marker.hidden = !point;
      box.hidden = !(point && point.width > 0 && point.height > 0);
      if (point) {
        marker.style.left = percent(point.x * 100);
        marker.style.top = percent(point.y * 100);
        box.style.left = percent((point.x - point.width / 2) * 100);
        box.style.top = percent((point.y - point.height / 2) * 100);
        box.style.width = percent(point.width * 100);
        box.style.height = percent(point.height * 100);
      }
      if (reset) {
        reset.hidden = !(editable && point);
      }
      if (!size.width || !size.height) {
        return;
      }
      for (const frame of frames) {
        const image = frame.querySelector("img");
        if (!image) {
          continue;
        }
        const aspect = [Number(frame.dataset.aspectWidth), Number(frame.dataset.aspectHeight)];
        const crop = cropBox(size.width, size.height, aspect, point);
        image.style.width = percent((size.width / crop.width) * 100);
        image.style.left = percent((-crop.left / crop.width) * 100);
        image.style.top = percent((-crop.top / crop.height) * 100);
      }
    };

    // Set the fields as a person typing would, so that autosave and the "unsaved changes"
    // warning (editing.js) notice.
    const setFields = (values) => {
      for (const [name, value] of Object.entries(values)) {
        inputs[name].value = value === null ? "" : String(value);
        inputs[name].dispatchEvent(new Event("input", { bubbles: true }));
        inputs[name].dispatchEvent(new Event("change", { bubbles: true }));
      }
      render();
    };

    const fractionAt = (event) => {
      const rect = stage.getBoundingClientRect();
      return {
        x: Math.min(Math.max((event.clientX - rect.left) / rect.width, 0), 1),
        y: Math.min(Math.max((event.clientY - rect.top) / rect.height, 0), 1),
        clientX: event.clientX,
        clientY: event.clientY,
      };
    };

    // A box around the subject from two corners, kept inside the image (as the form requires).
    const boxBetween = (a, b) => {
      const x = hundredths((a.x + b.x) / 2);
      const y = hundredths((a.y + b.y) / 2);
      const width = Math.min(hundredths(Math.abs(a.x - b.x)), hundredths(2 * Math.min(x, 1 - x)));
      const height = Math.min(hundredths(Math.abs(a.y - b.y)), hundredths(2 * Math.min(y, 1 - y)));
      return { x, y, width: width || null, height: height || null };
    };

    let pressed = null;
    let dragging = false;
    if (editable) {
      stage.addEventListener("pointerdown", (event) => {
        if (event.button !== 0) {
          return;
        }
        event.preventDefault();
        stage.setPointerCapture(event.pointerId);
        pressed = fractionAt(event);
        dragging = false;
      });
      stage.addEventListener("pointermove", (event) => {
        if (!pressed) {
          return;
        }
        const here = fractionAt(event);
        const moved = Math.hypot(here.clientX - pressed.clientX, here.clientY - pressed.clientY);
        dragging = dragging || moved >= DRAG_PIXELS;
        if (dragging) {
          setFields(boxBetween(pressed, here));
        }
      });
      const release = (event) => {
        if (!pressed) {
          return;
        }
        const here = fractionAt(event);
        if (dragging) {
          setFields(boxBetween(pressed, here));
        } else {
          setFields({ x: hundredths(here.x), y: hundredths(here.y), width: null, height: null });
        }
        pressed = null;
        dragging = false;
      };
      stage.addEventListener("pointerup", release);
      stage.addEventListener("pointercancel", () => {
        pressed = null;
        dragging = false;
      });
      for (const input of Object.values(inputs)) {
        input.addEventListener("input", render);
      }
      reset?.addEventListener("click", () =>
        setFields({ x: null, y: null, width: null, height: null }),
      );
    }

    // A file chosen for upload (or to replace the image) shows at once, to set its focal
    // point before saving. Read as a data: URL, which the admin's img-src allows.
    const fileInput = form.querySelector("input[type=file][name=image]");
    fileInput?.addEventListener("change", () => {
      const file = fileInput.files && fileInput.files[0];
      if (!file || !file.type.startsWith("image/")) {
        return;
      }
      const reader = new FileReader();
      reader.addEventListener("load", () => {
        const source = reader.result;
        let main = stage.querySelector("[data-focal-image]");
        if (!main) {
          main = document.createElement("img");
          main.className = "focal-editor-image";
          main.dataset.focalImage = "";
          main.draggable = false;
          main.alt = "The chosen file";
          stage.prepend(main);
        }
        main.addEventListener(
          "load",
          () => {
            size.width = main.naturalWidth;
            size.height = main.naturalHeight;
            render();
          },
          { once: true },
        );
        main.src = source;
        for (const frame of frames) {
          let preview = frame.querySelector("img");
          if (!preview) {
            preview = document.createElement("img");
            preview.className = "focal-preview-image";
            preview.dataset.focalPreview = "";
            preview.alt = "";
            preview.draggable = false;
            frame.append(preview);
          }
          preview.src = source;
        }
        stage.hidden = false;
      });
      reader.readAsDataURL(file);
    });

    // Without the fields (a read-only form) the server's frames and marker stay as drawn.
    if (editable) {
      render();
    }
  };

  const startAll = () => document.querySelectorAll("[data-focal-editor]").forEach(start);
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", startAll);
  } else {
    startAll();
  }
})();
