"""How piccolo-admin's pages lead to Plinth's own (admin/record_page.py, runs_page.py,
home_page.py): the sidebar's links (`/api/links/`, admin/members.py) name the overview and
the runs, and a small script on piccolo-admin's page adds, on a record's edit page, a link to
that record's history and actions, and on its home page a link to the overview. The script
only links: what a page shows is decided by the page, through the service."""

from __future__ import annotations

SIDEBAR_LINKS = {"Overview": "./plinth/", "Workflow runs": "./plinth/runs/"}  # for everyone

LINKS = """<style>
#plinth-pill { position: fixed; right: 1.5rem; top: 4.5rem; z-index: 5; /* under menus */
  background: #3b6fb6; color: #fff !important; padding: .55rem 1.1rem; border-radius: 2rem;
  box-shadow: 0 2px 6px rgba(0,0,0,.25); font-weight: 600; text-decoration: none; }
#plinth-pill:hover { background: #2f5f9f; }
</style>
<script>
(function () {
  function place() {
    var pill = document.getElementById("plinth-pill");
    var edit = location.hash.match(/^#\\/([A-Za-z0-9_]+)\\/(?!add\\/)([0-9a-fA-F-]{36})\\//);
    var home = /^#\\/?$/.test(location.hash) || location.hash === "";
    if (!edit && !home) { if (pill) pill.remove(); return; }
    if (!pill) {
      pill = document.createElement("a");
      pill.id = "plinth-pill";
      document.body.appendChild(pill);
    }
    pill.href = edit ? "./plinth/records/" + edit[1] + "/" + edit[2] + "/" : "./plinth/";
    pill.textContent = edit ? "History, actions & runs" : "Overview: counts, changes, runs";
  }
  ["pushState", "replaceState"].forEach(function (name) {
    var original = history[name];
    history[name] = function () {
      var result = original.apply(this, arguments);
      setTimeout(place, 0);
      return result;
    };
  });
  window.addEventListener("hashchange", place);
  window.addEventListener("popstate", place);
  document.addEventListener("DOMContentLoaded", place);
})();
</script>"""


def with_plinth_links(template: str) -> str:
    """piccolo-admin's page with the links script."""
    return template.replace("</head>", f"{LINKS}</head>", 1)
