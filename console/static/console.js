// The "select all" box of the queue and of the incident page: the only
// script of the console. Every form works without it.
document.addEventListener("DOMContentLoaded", function () {
  var all = document.getElementById("select-all");
  if (!all) return;
  all.addEventListener("change", function () {
    document.querySelectorAll("input.sel").forEach(function (b) { b.checked = all.checked; });
  });
});
