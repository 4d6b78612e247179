// Progressive enhancement of server-rendered forms. htmx posts the form to its check address on every
// change and swaps in the fields the server drew again; this file only adds what htmx cannot say in markup.
document.documentElement.classList.add("js");

// A chosen file is sent with the submission, not with every live check; its input survives the swaps
// (hx-preserve), so the choice is not lost while the person fills in other fields.
document.addEventListener("change", function (event) {
  var target = event.target;
  if (target && target.type === "file" && target.closest(".wanshi-form")) {
    event.stopPropagation();
  }
}, true);

// After a live check the error summary is not focused (it would pull focus from the field being edited).
document.addEventListener("htmx:afterSwap", function (event) {
  var active = document.activeElement;
  if (active && active.id && event.target.contains(active)) {
    active.focus();
  }
});
