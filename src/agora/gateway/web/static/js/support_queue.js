// A conversation's page: the transcript (refreshed by htmx every 2 s) stays scrolled to its
// latest message unless the reader scrolled up.

const transcript = document.getElementById("transcript");
let following = true;

function toEnd() {
  if (transcript && following) transcript.scrollTop = transcript.scrollHeight;
}

if (transcript) {
  transcript.addEventListener("scroll", () => {
    following = transcript.scrollTop + transcript.clientHeight >= transcript.scrollHeight - 8;
  });
  document.body.addEventListener("htmx:afterSwap", (event) => {
    if (event.target === transcript) toEnd();
  });
  toEnd();
}
