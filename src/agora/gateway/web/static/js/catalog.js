// Admin orders and products pages: a form marked `data-confirm` asks before it is sent (cancelling
// an order or archiving a product cannot be taken back from the page alone).
for (const form of document.querySelectorAll("form[data-confirm]")) {
  form.addEventListener("submit", (event) => {
    if (!window.confirm(form.dataset.confirm)) event.preventDefault();
  });
}
