"""The admin follows the signed-in role: piccolo-admin's table lists (the sidebar) name only
the entities the role may read, and the page hides the Add / Save / Delete buttons a role
does not have.

piccolo-admin 1.14's front-end has no read-only switch: it shows "Add Row", "Save" and the
delete buttons on every table. So the page it serves (GET /) gets a small script that asks
`/api/plinth/permissions/` what the role may do on each table and marks the page's body with
classes that hide the buttons (`plinth-no-create`, `plinth-no-update`, `plinth-no-delete`).
Hiding is only the UI: the service refuses the action anyway, and the front-end shows the
refusal's reason. The platform's own tables (users, organizations) piccolo-admin adds for the
references never appear: members are managed on the members page (admin/members.py).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from admin.context import current
from runtime.access import Principal
from runtime.service import RecordService

# Which buttons each missing verb hides (the selectors of piccolo-admin 1.14's front-end).
STYLE = """<style>
body.plinth-no-create .title_bar a.button[href$="/add/"],
body.plinth-no-create form a.add[href$="/add/"] { display: none !important; }
body.plinth-no-update [data-uitest="save_button"],
body.plinth-no-update .title_bar .buttons a.button:has(svg[data-icon="arrow-up"]),
body.plinth-no-update .table_wrapper a[title="Edit Row"] { display: none !important; }
body.plinth-no-delete [data-uitest="delete_row_button"],
body.plinth-no-delete a.button[title="Delete selected Rows"] { display: none !important; }
body.plinth-no-update.plinth-no-delete .table_wrapper input[type="checkbox"] { display: none; }
.table_wrapper td > span > code:only-child { display: none; } /* piccolo-admin's "NULL" */
div:has(> label):has([name*="."]) { display: none; } /* a path of admin.list: no form field */
</style>"""

SCRIPT = """<script>
(function () {
  var verbs = ["create", "update", "delete"], known = {};
  function table() {
    var m = location.hash.match(/^#\\/([A-Za-z0-9_]+)\\//);
    return m ? m[1] : null;
  }
  function apply() {
    var p = known[table()] || null;
    verbs.forEach(function (verb) {
      document.body.classList.toggle("plinth-no-" + verb, !!p && !p[verb]);
    });
    lock();
  }
  function refresh() {
    readOnlyFields(table());
    if (document.body) apply();
    fetch("./api/plinth/permissions/", {credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : {}; })
      .then(function (perms) { known = perms; apply(); }, function () {});
  }
  // Vue's router moves with history.pushState, which fires no event of its own.
  ["pushState", "replaceState"].forEach(function (name) {
    var original = history[name];
    history[name] = function () {
      var result = original.apply(this, arguments);
      refresh();
      return result;
    };
  });
  // Never sent: a path column's list-only field; on an edit page without update, any field.
  // Fields the role may read but not write (the schema marks them): shown disabled.
  var fixedFields = {};
  function readOnlyFields(name) {
    if (!name || fixedFields[name]) return;
    fixedFields[name] = [];
    fetch("./api/tables/" + name + "/schema/", {credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : {}; })
      .then(function (schema) {
        var props = schema.properties || {};
        fixedFields[name] = Object.keys(props).filter(function (k) {
          return props[k].extra && props[k].extra.plinth_read_only;
        });
        lock();
      }, function () {});
  }
  function lock() {
    var editing = /^#\\/[^/]+\\/(?!add\\/)[^/?]+\\//.test(location.hash);
    var fixed = editing && document.body.classList.contains("plinth-no-update");
    var all = fixed ? "form input, form select, form textarea" : 'form [name*="."]';
    (fixedFields[table()] || []).forEach(function (n) { all += ', form [name="' + n + '"]'; });
    document.querySelectorAll(all).forEach(function (e) { e.disabled = true; });
  }
  new MutationObserver(lock).observe(document.documentElement, {childList: true, subtree: true});
  window.addEventListener("popstate", refresh);
  window.addEventListener("hashchange", refresh);
  document.addEventListener("DOMContentLoaded", refresh);
})();
</script>"""


def _principal() -> Principal | None:
    context = current.get()
    return context.principal if context is not None else None


def readable_tables(service: RecordService, principal: Principal | None) -> dict[str, str]:
    """{table name: menu group} of the entities the principal may read, in table-name order
    (piccolo-admin's)."""
    if principal is None:
        return {}
    tables = {}
    for entity in service.project.entities.values():
        if service.policy_view(principal, entity).rule("read") is not False:
            tables[entity.table] = entity.module.replace("_", " ").title()
    return dict(sorted(tables.items()))


def permissions(service: RecordService, principal: Principal | None) -> dict[str, dict[str, bool]]:
    """{table: {"create": bool, "update": bool, "delete": bool}}: whether the role has the
    verb at all (a row rule counts as having it; the service decides per row)."""
    if principal is None:
        return {}
    answer = {}
    for entity in service.project.entities.values():
        view = service.policy_view(principal, entity)
        answer[entity.table] = {verb: view.rule(verb) is not False for verb in _VERBS}
    return answer


_VERBS = ("create", "update", "delete")


def with_role_script(template: str) -> str:
    """piccolo-admin's page (its `template`, served at GET / behind its CSRF middleware, which
    sets the CSRF cookie) with the style and script above."""
    return template.replace("</head>", f"{STYLE}{SCRIPT}</head>", 1)


def routes(service: RecordService) -> list[BaseRoute]:
    """Routes in front of piccolo-admin's: its table lists, and the permissions the script
    reads."""

    async def table_list(request: Request) -> Response:
        return JSONResponse(list(readable_tables(service, _principal())))

    async def table_groups(request: Request) -> Response:
        grouped: dict[str, list[str]] = {}
        for table, group in readable_tables(service, _principal()).items():
            grouped.setdefault(group, []).append(table)
        return JSONResponse({"grouped": dict(sorted(grouped.items())), "ungrouped": []})

    async def table_permissions(request: Request) -> Response:
        return JSONResponse(permissions(service, _principal()))

    return [
        Route("/api/tables/", table_list, methods=["GET"]),
        Route("/api/tables/grouped/", table_groups, methods=["GET"]),
        Route("/api/plinth/permissions/", table_permissions, methods=["GET"]),
    ]
