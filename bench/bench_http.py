"""The HTTP path of `plinth serve` against a raw Starlette + asyncpg + orjson server and a
PiccoloCRUD app, side by side on PostgreSQL in one run (issue 17).

    uv run python bench/bench_http.py                 # 15 s per workload and server
    uv run python bench/bench_http.py --duration 5    # a quick run

Builds a scratch database from bench/http/definitions with 100,000 tickets in 10 tenants,
an `agent` (read: all of the tenant's tickets, update: those they created) holding an API
token of one tenant, then starts the three servers (one process each; `plinth serve` with
the tenant wall and the caller's row rule applied, as it ships) and drives four workloads
with wrk (Debian's `wrk`) at concurrency 16, one server at a time:

- list: the tenant's tickets with status `open` and priority ≥ 3, newest first, 50;
- get: one ticket by id (ids drawn at random from the tenant's);
- create: one ticket (in Plinth: the row, its timeline entry and its outbox event);
- patch: one field (priority) of a ticket.

Prints req/s, p50 and p99 per server and workload, and each ratio to raw.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx

REPO = Path(__file__).resolve().parent.parent
DEFINITIONS = REPO / "bench" / "http" / "definitions"
ADMIN_DSN = os.environ.get("PLINTH_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/test")
TICKETS, TENANTS, SAMPLE_IDS = 100_000, 10, 2_000
WORKLOADS = ("list", "get", "create", "patch")
SERVERS = ("raw", "plinth", "piccolo")
GOALS = {"list": 0.8, "get": 0.35, "create": 0.3, "patch": 0.3}  # x raw (issue 17)
P99_MS = {"list": 50.0, "get": 15.0, "create": 15.0, "patch": 15.0}
EMAIL = "agent@bench.test"


@dataclass
class World:
    url: str  # the scratch database
    tenant: uuid.UUID  # the tenant the workloads run in
    user: uuid.UUID
    token: str  # the agent's API token there
    ids: list[uuid.UUID]


@dataclass
class Result:
    rps: float
    p50: float  # ms
    p99: float
    errors: int  # answers that were no success
    lost: int  # wrk's socket errors and timeouts (2 s): a saturated machine
    requests: int = 0
    cpu_us: float = float("nan")  # the server process's CPU time per request


# -- the data set ---------------------------------------------------------------------------


def _env(url: str, workdir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PLINTH_DATABASE_URL": url,
        "PLINTH_SECRET_KEY": "bench-secret-key-at-least-32-characters",
        "PLINTH_DEFINITIONS": str(DEFINITIONS),
        "PLINTH_MIGRATIONS": str(workdir / "migrations"),
        "PICCOLO_CONF": "runtime.piccolo_conf",
    }


async def _people(url: str) -> tuple[list[uuid.UUID], uuid.UUID, str]:
    """Ten organizations, the agent (a member of each) and their API token in the first."""
    from runtime.database import close_engine, engine_from_url, open_engine
    from runtime.definitions import load_project
    from runtime.identity import accounts, api_tokens
    from runtime.schema import build_registry

    registry = build_registry(load_project(DEFINITIONS), engine_from_url(url))
    await open_engine(registry.engine)
    try:
        user = await accounts.create_user(registry, EMAIL, "bench password 1234")
        orgs = []
        for i in range(TENANTS):
            org = await accounts.create_organization(registry, f"tenant-{i}", f"Tenant {i}")
            await accounts.grant_role(registry, EMAIL, f"tenant-{i}", "agent")
            orgs.append(org["id"])
        _, token = await api_tokens.create_api_token(registry, EMAIL, "tenant-0", "bench")
        return orgs, user["id"], token
    finally:
        await close_engine(registry.engine)


async def _tickets(url: str, orgs: list[uuid.UUID], user: uuid.UUID) -> list[uuid.UUID]:
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(
            """INSERT INTO helpdesk.ticket (id, tenant_id, created_at, updated_at, created_by,
                 updated_by, version, subject, body, status, priority)
               SELECT gen_random_uuid(), ($1::uuid[])[1 + g % $2], t, t, $3, $3, 1,
                 'ticket ' || g, 'the body of ticket ' || g,
                 (ARRAY['new', 'open', 'closed'])[1 + g % 3], 1 + (g / 3) % 5
               FROM generate_series(1, $4) AS g,
                 LATERAL (SELECT now() - g * interval '1 minute' AS t) AS at""",
            orgs, TENANTS, user, TICKETS,
        )  # fmt: skip
        await connection.execute(
            "CREATE INDEX bench_ticket_list ON helpdesk.ticket "
            "(tenant_id, status, created_at DESC, id)"
        )
        await connection.execute("ANALYZE helpdesk.ticket")
        rows = await connection.fetch(
            "SELECT id FROM helpdesk.ticket WHERE tenant_id = $1 ORDER BY random() LIMIT $2",
            orgs[0], SAMPLE_IDS,
        )  # fmt: skip
        return [row["id"] for row in rows]
    finally:
        await connection.close()


def build_world(url: str, workdir: Path) -> World:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "runtime.cli", "migrate"],
        env=_env(url, workdir), cwd=workdir, check=True, capture_output=True,
    )  # fmt: skip
    os.environ.update(_env(url, workdir))
    orgs, user, token = asyncio.run(_people(url))
    ids = asyncio.run(_tickets(url, orgs, user))
    took = time.perf_counter() - started
    print(f"data set: {TICKETS:,} tickets in {TENANTS} tenants ({took:.0f} s)")
    return World(url=url, tenant=orgs[0], user=user, token=token, ids=ids)


# -- servers --------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait(url: str, process: subprocess.Popen[bytes], headers: dict[str, str], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text()[-3000:]
            raise SystemExit(f"the server for {url} stopped (exit {process.returncode}):\n{tail}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, headers=headers, timeout=2).status_code < 500:
                return
        time.sleep(0.3)
    raise SystemExit(f"{url} did not come up")


@contextlib.contextmanager
def servers(
    world: World, workdir: Path, workers: int, before: Path | None
) -> Iterator[dict[str, str]]:
    """The servers' base URLs, running (stopped on exit)."""
    ports = {name: _free_port() for name in _servers(before)}
    env = _env(world.url, workdir)
    commands = {
        "raw": [sys.executable, str(REPO / "bench" / "http_apps.py"), "raw"],
        "piccolo": [sys.executable, str(REPO / "bench" / "http_apps.py"), "piccolo"],
    }
    processes: list[subprocess.Popen[bytes]] = []
    logs: list[Any] = []
    try:
        for name, port in ports.items():
            if name == "plinth":
                command = [sys.executable, "-m", "runtime.cli", "serve", "--port", str(port)]
                command += ["--workers", str(workers)]
            elif name == "before" and before is not None:  # its own venv, its own code
                python = str(before / ".venv" / "bin" / "python")
                command = [python, "-m", "runtime.cli", "serve", "--port", str(port)]
            else:
                command = [*commands[name], "--dsn", world.url, "--port", str(port)]
            log = open(workdir / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
            logs.append(log)
            processes.append(
                subprocess.Popen(command, env=env, cwd=workdir, stdout=log, stderr=log)
            )
            if name != "plinth" or workers == 1:
                _PIDS[name] = processes[-1].pid
            base = f"http://127.0.0.1:{port}"
            probe = f"{base}/api/tickets" if _is_plinth(name) else f"{base}/tickets/"
            _wait(probe, processes[-1], _headers(world, name), workdir / f"{name}.log")
        yield {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
        for log in logs:
            log.close()


# -- workloads ------------------------------------------------------------------------------


def _servers(before: Path | None) -> tuple[str, ...]:
    return (*SERVERS, "before") if before is not None else SERVERS


def _is_plinth(server: str) -> bool:
    return server in ("plinth", "before")


def _headers(world: World, server: str) -> dict[str, str]:
    if _is_plinth(server):
        return {"Authorization": f"Bearer {world.token}"}
    return {"X-Tenant": str(world.tenant), "X-User": str(world.user)}


def _paths(world: World, server: str) -> dict[str, str]:
    """(list URL, the prefix of an item URL) per server."""
    if _is_plinth(server):
        return {
            "list": "/api/tickets?status=open&priority__gte=3&sort=-created_at&limit=50",
            "item": "/api/tickets/",
            "end": "",
            "collection": "/api/tickets",
        }
    if server == "raw":
        return {
            "list": "/tickets?status=open&priority_gte=3",
            "item": "/tickets/",
            "end": "",
            "collection": "/tickets",
        }
    return {
        "list": f"/tickets/?tenant_id={world.tenant}&status=open&priority=3"
        "&priority__operator=gte&__order=-created_at&__page_size=50",
        "item": "/tickets/",
        "end": "/",
        "collection": "/tickets/",
    }


def _create_body(world: World, server: str) -> str:
    fields = '"subject": "made by wrk", "body": "a body", "status": "open", "priority": 4'
    if server == "piccolo":  # no platform: the client gives what Plinth fills in
        return (
            f'{{{fields}, "tenant_id": "{world.tenant}", "created_by": "{world.user}", '
            '"updated_by": null, "version": 1, "created_at": "2026-01-01T00:00:00+00:00", '
            '"updated_at": "2026-01-01T00:00:00+00:00"}'
        )
    return f"{{{fields}}}"


def wrk_script(world: World, server: str, workload: str, folder: Path) -> Path:
    """A wrk Lua script for one server and workload."""
    paths = _paths(world, server)
    headers = "".join(
        f'wrk.headers["{name}"] = "{value}"\n' for name, value in _headers(world, server).items()
    )
    ids = ",".join(f'"{i}"' for i in world.ids)
    lua = [headers, f"local ids = {{{ids}}}\n"]
    if workload == "list":
        lua.append(f'request = function() return wrk.format("GET", "{paths["list"]}") end\n')
    elif workload == "get":
        lua.append(
            "request = function() return wrk.format("
            f'"GET", "{paths["item"]}" .. ids[math.random(#ids)] .. "{paths["end"]}") end\n'
        )
    elif workload == "create":
        body = _create_body(world, server).replace('"', '\\"')
        lua.append('wrk.headers["Content-Type"] = "application/json"\n')
        lua.append(
            f'request = function() return wrk.format("POST", "{paths["collection"]}", nil, '
            f'"{body}") end\n'
        )
    else:
        lua.append('wrk.headers["Content-Type"] = "application/json"\n')
        lua.append(
            "request = function() return wrk.format("
            f'"PATCH", "{paths["item"]}" .. ids[math.random(#ids)] .. "{paths["end"]}", nil, '
            "'{\"priority\": ' .. math.random(1, 5) .. '}') end\n"
        )
    path = folder / f"{server}-{workload}.lua"
    path.write_text("".join(lua))
    return path


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(out: str, percent: int) -> float:
    """A latency percentile of wrk's output in ms (nan when no request completed)."""
    found = re.search(rf"{percent}%\s+([\d.]+)(us|ms|s|m)\b", out)
    return float(found.group(1)) * _UNITS[found.group(2)] if found else float("nan")


def wrk(base: str, script: Path, seconds: float, connections: int) -> Result:
    threads = min(2, connections)
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{round(seconds)}s", "--latency",
         "-s", str(script), base],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    rps, p50, p99 = float(rate.group(1)) if rate else 0.0, _ms(out, 50), _ms(out, 99)
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = int(bad.group(1)) if bad else 0
    lost = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    done = re.search(r"(\d+) requests in", out)
    return Result(rps, p50, p99, errors, lost, int(done.group(1)) if done else 0)


_PIDS: dict[str, int] = {}  # server name → its process (servers())


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux): what it cost, however busy the machine."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed_wrk(server: str, base: str, script: Path, seconds: float, connections: int) -> Result:
    """`wrk`, and the server's CPU time per request over the same run (one process only:
    with --workers the children are not counted)."""
    pid = _PIDS.get(server)
    before = _cpu_seconds(pid) if pid else 0.0
    result = wrk(base, script, seconds, connections)
    if pid and result.requests:
        result.cpu_us = 1e6 * (_cpu_seconds(pid) - before) / result.requests
    return result


def _check(world: World, bases: dict[str, str], folder: Path) -> None:
    """Each server answers each workload's request with success before it is timed."""
    for server, base in bases.items():
        paths, headers = _paths(world, server), _headers(world, server)
        headers |= {"Content-Type": "application/json"}
        item = f"{base}{paths['item']}{world.ids[0]}{paths['end']}"
        answers = [
            httpx.get(base + paths["list"], headers=headers),
            httpx.get(item, headers=headers),
            httpx.post(base + paths["collection"], headers=headers,
                       content=_create_body(world, server)),
            httpx.patch(item, headers=headers, content='{"priority": 2}'),
        ]  # fmt: skip
        for workload, answer in zip(WORKLOADS, answers, strict=True):
            if answer.status_code >= 300:
                tail = (folder / f"{server}.log").read_text()[-3000:]
                raise SystemExit(
                    f"{server} {workload}: {answer.status_code} {answer.text[:300]}\n{tail}"
                )


# -- the run --------------------------------------------------------------------------------


def run(world: World, bases: dict[str, str], args: argparse.Namespace, folder: Path) -> dict:
    results: dict[tuple[str, str], Result] = {}
    for workload in WORKLOADS:
        for server in bases:
            script = wrk_script(world, server, workload, folder)
            wrk(bases[server], script, args.warmup, args.connections)
            r = timed_wrk(server, bases[server], script, args.duration, args.connections)
            results[workload, server] = r
            print(f"  {workload:7} {server:8} {r.rps:9.0f} req/s  p50 {r.p50:6.2f} ms  "
                  f"p99 {r.p99:6.2f} ms  cpu {r.cpu_us:5.0f} us/req"
                  + (f"  ERRORS {r.errors}" if r.errors else "")
                  + (f"  timeouts {r.lost}" if r.lost else ""),
                  flush=True)  # fmt: skip
    return results


def report(results: dict[tuple[str, str], Result], connections: int, before: bool) -> bool:
    print(f"\nconcurrency {connections}; ratios to raw (goal for Plinth; ≥ 1.5x PiccoloCRUD)")
    print(f"{'workload':8} | {'raw':>16} | {'plinth':>22} | {'piccolo':>22} | "
          f"{'plinth/piccolo':>14} | goals")  # fmt: skip
    met = True
    for workload in WORKLOADS:
        raw, plinth, piccolo = (results[workload, s] for s in SERVERS)
        ratio, over = plinth.rps / raw.rps, plinth.rps / piccolo.rps
        ok = ratio >= GOALS[workload] and over >= 1.5 and plinth.p99 < P99_MS[workload]
        ok = ok and plinth.errors == 0
        met &= ok
        print(
            f"{workload:8} | {raw.rps:7.0f} p99 {raw.p99:5.1f} | "
            f"{plinth.rps:7.0f} {ratio:4.2f}x p99 {plinth.p99:5.1f} | "
            f"{piccolo.rps:7.0f} {piccolo.rps / raw.rps:4.2f}x p99 {piccolo.p99:5.1f} | "
            f"{over:13.2f}x | ≥{GOALS[workload]}x, p99<{P99_MS[workload]:.0f} ms "
            f"{'met' if ok else 'MISSED'}"
            + (f" | before: {results[workload, 'before'].rps / raw.rps:4.2f}x" if before else "")
        )
    print("\nserver CPU per request (us; steadier than req/s on a busy machine), raw / it:")
    for workload in WORKLOADS:
        raw_us = results[workload, "raw"].cpu_us
        cells = []
        for server in SERVERS + (("before",) if before else ()):
            spent = results[workload, server].cpu_us
            cells.append(f"{server} {spent:5.0f} ({raw_us / spent:4.2f}x)")
        print(f"{workload:8} | " + " | ".join(cells))
    return met


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=15, help="seconds per workload")
    parser.add_argument("--warmup", type=float, default=2, help="seconds before each")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=1, help="plinth serve --workers")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument(
        "--before",
        type=Path,
        metavar="CHECKOUT",
        help="also serve Plinth from another checkout (with its own .venv), e.g. the main branch",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    name = f"plinth_bench_http_{uuid.uuid4().hex[:8]}"
    url = f"{ADMIN_DSN.rsplit('/', 1)[0]}/{name}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    workdir = Path(tempfile.mkdtemp(prefix="bench-http-"))
    try:
        world = build_world(url, workdir)
        with servers(world, workdir, args.workers, args.before) as bases:
            _check(world, bases, workdir)
            results = run(world, bases, args, workdir)
        return 0 if report(results, args.connections, "before" in bases) else 1
    finally:
        if not args.keep:
            asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        shutil.rmtree(workdir, ignore_errors=True)


async def _admin(sql: str) -> None:
    connection = await asyncpg.connect(ADMIN_DSN)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


if __name__ == "__main__":
    sys.exit(main())
