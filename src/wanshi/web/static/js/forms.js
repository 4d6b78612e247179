// Progressive enhancement of server-rendered forms. htmx posts the form to its check address on every
// change and swaps in the fields the server drew again; this file only adds what htmx cannot say in markup.
(function () {
  "use strict";

  // Without htmx (blocked or failed to load) the page stays the one that works without JavaScript, with its
  // "更新表单" button.
  if (!window.htmx) {
    return;
  }
  document.documentElement.classList.add("js");

  function formOf(node) {
    return node && node.closest ? node.closest(".wanshi-form") : null;
  }

  // What a person can change, by field name. Hidden inputs (rows, touched fields, stored files) belong to the
  // server's answer, and a chosen file travels with the submission only.
  function answers(form) {
    var out = {};
    form.querySelectorAll(".form-body [name]").forEach(function (el) {
      if (el.type === "hidden" || el.type === "file" || el.disabled) {
        return;
      }
      var values = out[el.name] || (out[el.name] = []);
      if (el.type === "checkbox" || el.type === "radio") {
        if (el.checked) {
          values.push(el.value);
        }
      } else {
        values.push(el.value);
      }
    });
    return out;
  }

  function put(form, name, values) {
    var next = 0;
    form.querySelectorAll(".form-body [name]").forEach(function (el) {
      if (el.name !== name || el.type === "hidden" || el.type === "file") {
        return;
      }
      if (el.type === "checkbox" || el.type === "radio") {
        el.checked = values.indexOf(el.value) !== -1;
      } else {
        el.value = next < values.length ? values[next] : "";
        next += 1;
      }
    });
  }

  // The fields a person has left, which the live check may now scold. Kept in the form itself, so that every
  // check sends all of them, whichever change happens to start it.
  function touch(form, name) {
    var field = form.querySelector("input[name=_touched]");
    if (!field || !name) {
      return;
    }
    var names = field.value ? field.value.split(",") : [];
    if (names.indexOf(name) === -1) {
      names.push(name);
      field.value = names.join(",");
    }
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    var form = formOf(target);
    if (!form) {
      return;
    }
    if (target.closest("." + htmx.config.swappingClass)) {
      // The field is being replaced by the server's drawing and loses the focus to its successor: the person
      // did not leave it. What they typed is put back after the swap (below) and checked then.
      event.stopPropagation();
      return;
    }
    if (target.type === "file") {
      // A chosen file is sent with the submission, not with every live check; its input survives the swaps
      // (hx-preserve), so the choice is not lost while the person fills in other fields.
      event.stopPropagation();
      return;
    }
    if (target.name && target.type !== "hidden" && target.closest(".form-body")) {
      touch(form, target.name);
    }
  }, true);

  // A check takes a moment, and the person goes on typing and choosing meanwhile. The fields drawn by the
  // server show the answers as they were sent; whatever was changed since is put back, and checked again.
  document.addEventListener("htmx:configRequest", function (event) {
    var form = formOf(event.target);
    if (form) {
      form.wanshiSent = answers(form);
    }
  });

  document.addEventListener("htmx:beforeSwap", function (event) {
    var form = formOf(event.target);
    if (form) {
      var touched = form.querySelector("input[name=_touched]");
      form.wanshiBefore = { answers: answers(form), touched: touched ? touched.value : "" };
    }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var form = formOf(event.target);
    var before = form && form.wanshiBefore;
    if (!before) {
      return;
    }
    form.wanshiBefore = null;
    var sent = form.wanshiSent || {};
    var changed = false;
    Object.keys(before.answers).forEach(function (name) {
      if (JSON.stringify(before.answers[name]) !== JSON.stringify(sent[name] || [])) {
        put(form, name, before.answers[name]);
        changed = true;
      }
    });
    before.touched.split(",").forEach(function (name) {
      touch(form, name);
    });
    if (changed) {
      // The form's hx-sync queues this behind a check still running, so the last answers are always checked.
      htmx.trigger(form, "change");
    }
  });
})();
