/* On pages with saved ipywidgets state (book/_ext/course_book.py). The widgets typeset their labels
   through the MathJax 2 API, MathJax.Hub.Queue(["Typeset", MathJax.Hub, element]); this book loads
   MathJax 3, which has no Hub. Map that call onto MathJax 3 once MathJax (a deferred script) is up. */
document.addEventListener("DOMContentLoaded", function () {
  var mj = window.MathJax;
  if (!mj || mj.Hub) {
    return;
  }
  mj.Hub = {
    Queue: function (job) {
      var element = Array.isArray(job) ? job[2] : undefined;
      if (mj.typesetPromise) {
        mj.typesetPromise(element ? [element] : undefined).catch(function (err) {
          console.warn("MathJax could not typeset a widget label", err);
        });
      }
    },
  };
});
