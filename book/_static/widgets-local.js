/* On pages with saved ipywidgets state, between require.js and the vendored widget html-manager
   (book/_ext/course_book.py). The manager finds its icon fonts relative to the URL of its AMD module,
   which require.js would otherwise place next to the page; point that module at _static/vendor/. */
(function () {
  var manager = new URL("vendor/html-manager", document.currentScript.src).href;
  window.require.config({paths: {"@jupyter-widgets/html-manager/dist": manager}});
})();
