// arrears workbench: keyboard shortcuts only. Every page works without this file.
// An element with data-key="x" is clicked (a <details> is opened and its first field
// focused) when x is pressed outside a text field.
(function () {
  "use strict";
  function typing(target) {
    var tag = target && target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    var el = document.querySelector('[data-key="' + event.key + '"]');
    if (!el) return;
    event.preventDefault();
    if (el.tagName === "DETAILS") {
      el.open = true;
      var field = el.querySelector("input:not([type=hidden]), select, textarea");
      if (field) field.focus();
      el.scrollIntoView({ block: "nearest" });
    } else {
      el.click();
    }
  });
})();
