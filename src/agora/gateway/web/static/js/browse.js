// Browsing pages: after htmx puts a filtered listing or a chosen variant into the address bar,
// the layout's language and currency switch comes back to that URL, not the one first loaded.

document.addEventListener("htmx:pushedIntoHistory", () => {
  const next = document.querySelector('form.preferences input[name="next"]');
  if (next) next.value = location.pathname + location.search;
});
