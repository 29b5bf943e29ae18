/* Click to enlarge: a tutorial's plot or a guide's picture, full size.

   The column shrinks a wide figure to fit; a click (or Enter on the focused
   image) shows it at its natural size in an overlay, shrunk only to fit the
   window. A click anywhere or Escape closes it. The listeners sit on the
   document, so pages that Material's instant navigation swaps in work too;
   images in a link keep the link. Styles: stylesheets/extra.css (.kd-zoom). */
(function () {
  "use strict";

  var ZOOMABLE = ".md-content .md-typeset img";
  var overlay = null;
  var opener = null;

  function zoomable(element) {
    return (
      element instanceof HTMLImageElement &&
      element.matches(ZOOMABLE) &&
      !element.closest("a, .kd-zoom") &&
      element.naturalWidth > 0
    );
  }

  function open(image) {
    overlay = document.createElement("div");
    overlay.className = "kd-zoom";
    overlay.setAttribute("role", "dialog");
    overlay.setAttribute("aria-modal", "true");
    overlay.setAttribute(
      "aria-label",
      "Image at full size: click or press Escape to close"
    );
    overlay.tabIndex = -1;
    var full = document.createElement("img");
    full.src = image.currentSrc || image.src;
    full.alt = image.alt;
    overlay.appendChild(full);
    overlay.addEventListener("click", close);
    document.body.appendChild(overlay);
    document.documentElement.classList.add("kd-zoom-open");
    opener = image;
    overlay.focus({ preventScroll: true });
  }

  function close() {
    if (!overlay) return;
    overlay.remove();
    overlay = null;
    document.documentElement.classList.remove("kd-zoom-open");
    if (opener && opener.isConnected) opener.focus({ preventScroll: true });
    opener = null;
  }

  // Each zoomable image can be reached with Tab and opened with Enter.
  function prepare() {
    close();
    document.querySelectorAll(ZOOMABLE).forEach(function (image) {
      if (!image.closest("a")) {
        image.tabIndex = 0;
        image.setAttribute("aria-haspopup", "dialog");
      }
    });
  }

  document.addEventListener("click", function (event) {
    if (!overlay && zoomable(event.target)) {
      event.preventDefault();
      open(event.target);
    }
  });

  document.addEventListener("keydown", function (event) {
    if (overlay && event.key === "Escape") {
      event.preventDefault();
      close();
    } else if (
      !overlay &&
      (event.key === "Enter" || event.key === " ") &&
      zoomable(event.target)
    ) {
      event.preventDefault();
      open(event.target);
    }
  });

  // Material's `document$` emits on the first load and after every instant
  // navigation; without it (or before it), the page is ready by now: this
  // script is loaded at the end of the body.
  if (typeof window.document$ !== "undefined") {
    window.document$.subscribe(prepare);
  } else {
    prepare();
  }
})();
