/* On pages with saved ipywidgets state, between require.js and the vendored widget html-manager
   (book/_ext/course_book.py). Each AMD module of the manager's bundle finds its icon fonts relative
   to the URL require.js gives its own id, which would otherwise lie next to the page: give every
   module id of the bundle a URL inside _static/vendor/html-manager/, where the fonts are. */
(function () {
  var manager = new URL("vendor/html-manager", document.currentScript.src).href;
  var paths = {"@jupyter-widgets/html-manager/dist": manager};
  ["base", "base7", "controls", "controls7", "html-manager"].forEach(function (name) {
    paths["@jupyter-widgets/" + name] = manager + "/" + name;
  });
  window.require.config({paths: paths});
})();
