/* Let the ipywidgets HTML manager run from the book's own _static next to MathJax 3.
 *
 * Loaded by myst-nb on pages with widgets, after require.js and before the manager
 * (embed-amd.js), from _static/vendor/ (book/_ext/offline_assets.py puts it there).
 *
 * 1. Fonts. The manager's AMD modules are named "@jupyter-widgets/html-manager/dist/…"
 *    and find their font files next to the module's URI, which require.js resolves
 *    against the page: book/reference/@jupyter-widgets/… does not exist (404). Map
 *    that module path to our copy, which lies beside this script. The modules are
 *    defined inside embed-amd.js, so nothing is fetched through this path.
 * 2. MathJax. The manager typesets widget labels with MathJax 2's
 *    MathJax.Hub.Queue(["Typeset", MathJax.Hub, element]), which MathJax 3 does not
 *    have ("Cannot read properties of undefined (reading 'Queue')"). Provide it, on
 *    top of MathJax 3's typesetPromise.
 */
(function () {
  "use strict";
  var here = document.currentScript.src;
  var vendor = here.slice(0, here.lastIndexOf("/") + 1);
  require.config({ paths: { "@jupyter-widgets/html-manager/dist": vendor + "html-manager" } });

  var pending = [];
  function typeset(elements) {
    var mathjax = window.MathJax;
    if (mathjax && typeof mathjax.typesetPromise === "function") {
      mathjax.typesetPromise(elements).catch(function (error) { console.error(error); });
    } else {
      Array.prototype.push.apply(pending, elements);  // MathJax 3 not ready yet
    }
  }
  function installHub() {
    if (window.MathJax && !window.MathJax.Hub) {
      window.MathJax.Hub = {
        Queue: function (job) {
          if (Array.isArray(job) && job[0] === "Typeset" && job[2]) { typeset([job[2]]); }
        }
      };
    }
  }
  installHub();  // on MathJax 3's configuration object, if the page has one already
  // MathJax 3 replaces window.MathJax by its own object when it starts: install the
  // shim again then, and typeset what arrived before.
  window.addEventListener("load", function () {
    var mathjax = window.MathJax;
    var ready = mathjax && mathjax.startup && mathjax.startup.promise;
    Promise.resolve(ready).then(function () {
      installHub();
      if (pending.length) { typeset(pending.splice(0)); }
    });
  });
})();
