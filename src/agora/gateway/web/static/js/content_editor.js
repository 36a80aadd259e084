// The content editor: an uploaded image goes into the Markdown (at the cursor) or becomes the
// entry's image; the preview follows (htmx posts the text on input).

function insertAtCursor(textarea, text) {
  const start = textarea.selectionStart ?? textarea.value.length;
  const end = textarea.selectionEnd ?? start;
  const before = textarea.value.slice(0, start);
  const gap = before && !before.endsWith("\n") ? "\n\n" : "";
  textarea.value = before + gap + text + textarea.value.slice(end);
  const caret = start + gap.length + text.length;
  textarea.setSelectionRange(caret, caret);
  textarea.focus();
  textarea.dispatchEvent(new Event("input", { bubbles: true }));
}

document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-insert-image], [data-use-image]");
  if (!button) return;
  const media = button.closest(".content-media");
  if (!media) return;
  if (button.hasAttribute("data-insert-image")) {
    const textarea = document.getElementById("body_markdown");
    const alt = (media.dataset.alt || "Image").replace(/[[\]]/g, "");
    if (textarea) insertAtCursor(textarea, `![${alt}](${media.dataset.url})`);
  } else {
    const field = document.getElementById("image_sha256");
    if (field) {
      field.value = media.dataset.sha256;
      field.focus();
    }
  }
});
