{#- LTI Client Side postMessages: lti.put_data / lti.get_data with the platform's storage frame.
    Included inside a nonce'd inline script; `config` carries target (lti_storage_target) and origin
    (the platform's OIDC auth origin, the only origin whose answers are believed).
    The platform is the parent of the LMS frame; only a page that is not framed talks to its opener (the
    spec allows launches in a new window). An answer counts only when it comes from the very window asked
    (event.source) and from the platform's origin: another frame of that origin cannot answer for it. -#}
function platformStorage(config) {
  var framed = window.parent !== window;
  var host = framed ? window.parent : (window.opener || null);
  var target = host;
  if (host && config.target && config.target !== '_parent') {
    try { target = host.frames[config.target] || host; } catch (e) { target = host; }
  }
  var waiting = {};
  window.addEventListener('message', function (event) {
    var data = event.data;
    if (!target || event.source !== target || event.origin !== config.origin) { return; }
    if (!data || typeof data !== 'object') { return; }
    var entry = waiting[data.message_id];
    if (!entry || data.subject !== entry.subject + '.response') { return; }
    delete waiting[data.message_id];
    if (data.error) { entry.reject(data.error); } else { entry.resolve(data); }
  });
  function send(subject, fields) {
    return new Promise(function (resolve, reject) {
      if (!target) { reject({code: 'no_platform', message: 'Tandem was not opened from an LMS page.'}); return; }
      var id = subject + '-' + Date.now().toString(36) + '-' + Math.random().toString(36).slice(2);
      waiting[id] = {subject: subject, resolve: resolve, reject: reject};
      var message = {subject: subject, message_id: id};
      for (var name in fields) { message[name] = fields[name]; }
      target.postMessage(message, config.origin);
      setTimeout(function () {
        if (waiting[id]) { delete waiting[id]; reject({code: 'timeout', message: 'The LMS did not answer.'}); }
      }, 5000);
    });
  }
  return {
    put: function (key, value) { return send('lti.put_data', {key: key, value: value}); },
    get: function (key) { return send('lti.get_data', {key: key}).then(function (data) { return data.value; }); }
  };
}
function showStorageFailure() {
  document.getElementById('lti-storage-waiting').hidden = true;
  document.getElementById('lti-storage-failed').hidden = false;
}
