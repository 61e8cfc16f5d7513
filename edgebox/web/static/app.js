// The printable group table's button (no inline handlers: the page's CSP forbids them).
(function () {
  var button = document.getElementById('print-page');
  if (button) button.addEventListener('click', function () { window.print(); });
})();
// Live pages: the server pushes every event the box commits over SSE; each element marked
// hx-trigger="box-event from:body" then reloads itself through htmx. No polling, no reload.
(function () {
  if (!document.body.dataset.live || !window.EventSource) return;
  var source = new EventSource('/stream');
  source.addEventListener('box', function () {
    htmx.trigger(document.body, 'box-event');
  });
})();
// A button with data-confirm (the alarm's cancel: it texts the all-clear to everyone told)
// asks first; cancelling the question sends nothing.
(function () {
  document.addEventListener('click', function (event) {
    var button = event.target.closest && event.target.closest('button[data-confirm]');
    if (button && !window.confirm(button.dataset.confirm)) event.preventDefault();
  });
})();
