// A form that came back with errors: put the cursor in the first field that needs fixing, so
// a person (and a screen reader, which then reads its error) starts where the problem is.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var invalid = document.querySelector('[aria-invalid="true"]');
    if (invalid && typeof invalid.focus === "function") {
      invalid.focus();
      if (invalid.scrollIntoView) invalid.scrollIntoView({block: "center"});
    }
  });
})();
