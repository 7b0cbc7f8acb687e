"""Workflow runs by hand (SPEC §1.4): `plinth workflow runs` lists them, and
`plinth workflow retry` attempts a dead one once more, through the service."""

from __future__ import annotations

import uuid
from pathlib import Path
from textwrap import dedent

from tests.conftest import plinth, plinth_env
from tests.workflows.lab import lab

TICKET = """\
    entity: Ticket
    fields:
      subject: {type: string, required: true}
      code:    {type: string, unique: true}
"""
# Stamps a ticket's code from its subject; fails (once: attempts 1) when the code is taken.
STAMP = """\
    workflow: stamp
    on: {event: created, entity: Ticket}
    when: {code: {isnull: true}}
    do:
      - update: {code: "{{ record.subject }}"}
"""


def _definitions(root: Path) -> Path:
    folder = root / "definitions"
    for name, text in {"ticket.yaml": TICKET, "stamp.yaml": STAMP}.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(dedent(text))
    return folder


async def test_a_dead_run_is_listed_and_retried_by_hand(database_url: str, tmp_path: Path) -> None:
    definitions = _definitions(tmp_path)
    env = plinth_env(database_url, tmp_path, PLINTH_DEFINITIONS=str(definitions))
    async with lab(database_url, tmp_path, definitions) as lab_:
        service, owner, slug = lab_.service, lab_.owner, lab_.slug
        blocker = await service.create(owner, "Ticket", {"subject": "one", "code": "clash"})
        ticket = await service.create(owner, "Ticket", {"subject": "clash"})
        await lab_.drain()  # stamp: skipped for the blocker, dead for the ticket

        listed = plinth("workflow", "runs", "--status", "dead", env=env, cwd=tmp_path).stdout
        [line] = listed.splitlines()
        run_id = line.split()[0]
        assert "  stamp  dead  attempts: 1" in line
        assert "another Ticket has code = 'clash'" in line
        everything = plinth("workflow", "runs", "--org", slug, env=env, cwd=tmp_path).stdout
        assert sorted(row.split()[2] for row in everything.splitlines()) == ["dead", "skipped"]

        again = plinth("workflow", "retry", run_id, env=env, cwd=tmp_path, check=False)
        assert again.returncode == 1  # still taken: dead again, with the reason
        assert f"workflow run {run_id} (stamp): dead: UniqueConflict" in again.stderr

        await service.update(owner, "Ticket", blocker["id"], {"code": "other"})
        retried = plinth("workflow", "retry", run_id, env=env, cwd=tmp_path)
        assert f"workflow run {run_id} (stamp): succeeded" in retried.stdout
        stamped = await service.get(owner, "Ticket", ticket["id"])
        assert (stamped["code"], stamped["version"]) == ("clash", 2)
        entry = (await service.timeline(owner, "Ticket", ticket["id"]))[0]
        assert entry["actor"] == "workflow:stamp"
        assert plinth("workflow", "runs", "--status", "dead", env=env, cwd=tmp_path).stdout == ""

        for bad, message in (
            (run_id, f"workflow run {run_id} is succeeded: only a dead run is retried"),
            (str(uuid.uuid4()), "no workflow run"),
            ("nonsense", "'nonsense' is not a run id"),
        ):
            refused = plinth("workflow", "retry", bad, env=env, cwd=tmp_path, check=False)
            assert refused.returncode == 1 and message in refused.stderr, refused.stderr
        refused = plinth("workflow", "runs", "--status", "lost", env=env, cwd=tmp_path, check=False)
        assert "no run status 'lost'" in refused.stderr
