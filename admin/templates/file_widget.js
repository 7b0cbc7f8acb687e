// File fields on piccolo-admin's pages (admin/files.py): on a record's edit page, each file
// field the schema marks (extra.plinth_file) shows its name and size, a preview for images,
// a download link and, when the role may write it, upload/replace and remove controls.
(function () {
  var schemas = {}, rows = {}, IMAGES = /^image\/(png|jpeg|gif|webp|avif)$/;
  function where() {
    var m = location.hash.match(/^#\/([A-Za-z0-9_]+)\/([^/?]+)\//);
    return m ? {table: m[1], id: m[2] === "add" ? null : m[2]} : null;
  }
  function getJSON(url, then) {
    fetch(url, {credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(then, function () {});
  }
  function fileProps(table) {
    var props = (schemas[table] || {}).properties || {}, found = {};
    Object.keys(props).forEach(function (k) {
      if (props[k].extra && props[k].extra.plinth_file) found[k] = props[k].extra.plinth_file;
    });
    return found;
  }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text) e.textContent = text;
    return e;
  }
  function size(n) {
    return n < 1024 ? n + " B" : n < 1048576 ? (n / 1024).toFixed(1) + " KB"
      : (n / 1048576).toFixed(1) + " MB";
  }
  function url(at, field) { return "./api/plinth/files/" + at.table + "/" + at.id + "/" + field + "/"; }
  function csrf() {
    var m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  }
  function send(at, field, method, file, box) {
    var version = document.querySelector('form [name="version"]');
    var headers = {"X-CSRFToken": csrf()};
    if (version && /^\d+$/.test(version.value)) headers["X-Plinth-Form-Version"] = version.value;
    var target = url(at, field);
    if (file) {
      headers["Content-Type"] = file.type || "application/octet-stream";
      target += "?name=" + encodeURIComponent(file.name);
    }
    box.dataset.busy = "1";
    fetch(target, {method: method, credentials: "same-origin", headers: headers, body: file || null})
      .then(function (r) {
        return r.json().then(function (body) {
          if (!r.ok) throw new Error(body.detail || body.title || ("HTTP " + r.status));
          rows[at.table + "/" + at.id][field] = body[field];
          // the form now stands for the new version (admin/files.py): show it
          if (version && body.version) version.value = body.version;
        });
      })
      .then(function () { box.remove(); render(); },
            function (e) { delete box.dataset.busy; box.querySelector(".plinth-file-error").textContent = e.message; });
  }
  function widget(at, field, value, writable) {
    var box = el("div", {"class": "plinth-file", "data-plinth-file": field});
    if (!at.id) {
      box.appendChild(el("p", {}, "The file can be added after saving."));
      return box;
    }
    if (value) {
      box.appendChild(el("p", {"class": "plinth-file-name"}, value.name + " (" + size(value.size) + ")"));
      if (IMAGES.test(value.content_type)) {
        box.appendChild(el("img", {src: url(at, field) + "?inline=1&v=" + value.sha256, alt: value.name}));
      }
    } else {
      box.appendChild(el("p", {"class": "plinth-file-name"}, "No file."));
    }
    var actions = el("div", {"class": "plinth-file-actions"});
    if (value) actions.appendChild(el("a", {href: url(at, field), download: value.name, "class": "plinth-file-download"}, "Download"));
    if (writable) {
      var input = el("input", {type: "file", "class": "plinth-file-input", "aria-label": (value ? "Replace " : "Upload ") + field});
      input.addEventListener("change", function () { if (input.files[0]) send(at, field, "PUT", input.files[0], box); });
      actions.appendChild(input);
      if (value) {
        var remove = el("button", {type: "button", "class": "plinth-file-remove"}, "Remove");
        remove.addEventListener("click", function () {
          if (confirm("Remove " + value.name + "?")) send(at, field, "DELETE", null, box);
        });
        actions.appendChild(remove);
      }
    }
    box.appendChild(actions);
    box.appendChild(el("p", {"class": "plinth-file-error"}));
    return box;
  }
  function render() {
    var at = where();
    if (!at) return;
    if (!schemas[at.table]) {
      schemas[at.table] = {};
      getJSON("./api/tables/" + at.table + "/schema/", function (s) { schemas[at.table] = s || {}; render(); });
      return;
    }
    var fields = fileProps(at.table), key = at.table + "/" + at.id;
    if (!Object.keys(fields).length) return;
    if (at.id && !rows[key]) {
      rows[key] = "loading";
      getJSON("./api/tables/" + at.table + "/" + at.id + "/", function (row) { rows[key] = row || {}; render(); });
      return;
    }
    if (rows[key] === "loading") return;
    Object.keys(fields).forEach(function (field) {
      var input = document.querySelector('form [name="' + field + '"]');
      if (!input || (input.nextElementSibling && input.nextElementSibling.dataset.plinthFile === field)) return;
      input.classList.add("plinth-file-hidden");
      var value = at.id ? rows[key][field] : null;
      input.insertAdjacentElement("afterend", widget(at, field, value, fields[field].writable));
    });
  }
  function moved() { rows = {}; render(); }
  var push = history.pushState;  // Vue's router moves without a hashchange
  history.pushState = function () { var r = push.apply(this, arguments); moved(); return r; };
  window.addEventListener("hashchange", moved);
  window.addEventListener("popstate", moved);
  new MutationObserver(render).observe(document.documentElement, {childList: true, subtree: true});
})();
