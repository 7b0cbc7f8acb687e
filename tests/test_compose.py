"""Deployment files: docker-compose.yml against the Compose specification, app commands and CMD.

No Docker engine runs here, so docker-compose.yml is checked statically: against the Compose
specification's JSON schema (shipped in the docker-compose==1.29.2 wheel on PyPI, which cannot be
a dependency because of its jsonschema<4 pin, so it is fetched, verified and cached here), and
every app command (compose `command`, Dockerfile `CMD`) is parsed with Plinth's own CLI parser.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import re
import shlex
import subprocess
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERFILE = ROOT / "Dockerfile"

COMPOSE_DIST = "docker-compose"
COMPOSE_VERSION = "1.29.2"
# sha256 of docker_compose-1.29.2-py2.py3-none-any.whl as published on PyPI (release files are
# immutable); the download must match both this pin and the digest PyPI's JSON API reports.
COMPOSE_WHEEL_SHA256 = "8d5589373b35c8d3b1c8c1182c6e4a4ff14bffa3dd0b605fcd08f73c94cef809"
SCHEMA_MEMBER = "compose/config/compose_spec.json"
CACHE_DIR = Path.home() / ".cache" / "plinth-tests"
CACHE_FILE = CACHE_DIR / f"compose_spec-{COMPOSE_VERSION}-{COMPOSE_WHEEL_SHA256[:12]}.json"

# Variables a compose file may interpolate: Plinth's settings and the AWS credentials boto3
# reads, plus MINIO_* (the image's own root user, and the app's MinIO user of .env.example) and
# POSTGRES_* settings.
DOCUMENTED_VARIABLES = {
    "PLINTH_DATABASE_URL",
    "PLINTH_REDIS_URL",
    "PLINTH_STORAGE_URL",
    "PLINTH_S3_ENDPOINT_URL",
    "PLINTH_SECRET_KEY",
    "PLINTH_DEFINITIONS",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_DEFAULT_REGION",
}
DOCUMENTED_PREFIXES = ("MINIO_", "POSTGRES_")

APP_SERVICES = {"migrate", "web", "worker"}


# --------------------------------------------------------------------------- schema download


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def _unreachable(reason: str) -> None:
    message = (
        f"cannot obtain the Compose specification schema ({COMPOSE_DIST}=={COMPOSE_VERSION} "
        f"wheel from PyPI): {reason}"
    )
    if _in_ci():
        pytest.fail(f"{message} -- PyPI must be reachable in CI (CI=true)", pytrace=False)
    pytest.skip(f"{message} (skipped outside CI)")


def _wheel_file_entry(client: httpx.Client) -> dict[str, Any]:
    """The PyPI JSON API entry of the release's wheel (version endpoint, else project endpoint)."""
    version_url = f"https://pypi.org/pypi/{COMPOSE_DIST}/{COMPOSE_VERSION}/json"
    response = client.get(version_url)
    if response.status_code == 200:
        files = response.json()["urls"]
    else:
        # Some PyPI mirrors/proxies only serve the project-level endpoint.
        project = client.get(f"https://pypi.org/pypi/{COMPOSE_DIST}/json")
        project.raise_for_status()
        files = project.json()["releases"][COMPOSE_VERSION]
    wheels = [f for f in files if f.get("packagetype") == "bdist_wheel"]
    if len(wheels) != 1:
        raise AssertionError(f"expected one wheel for {COMPOSE_DIST} {COMPOSE_VERSION}: {wheels}")
    return wheels[0]


def _download_schema() -> bytes:
    with httpx.Client(timeout=60, follow_redirects=True) as client:
        entry = _wheel_file_entry(client)
        listed = entry["digests"]["sha256"]
        assert listed == COMPOSE_WHEEL_SHA256, (
            f"PyPI lists sha256 {listed} for {entry['filename']}, expected {COMPOSE_WHEEL_SHA256}"
        )
        response = client.get(entry["url"])
        response.raise_for_status()
    wheel = response.content
    actual = hashlib.sha256(wheel).hexdigest()
    assert actual == listed, f"downloaded {entry['filename']} has sha256 {actual}, PyPI: {listed}"
    with zipfile.ZipFile(io.BytesIO(wheel)) as archive:
        return archive.read(SCHEMA_MEMBER)


def _cached_schema() -> dict[str, Any] | None:
    try:
        return json.loads(CACHE_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


@pytest.fixture(scope="session")
def compose_schema() -> dict[str, Any]:
    cached = _cached_schema()
    if cached is not None:
        return cached
    try:
        raw = _download_schema()
    except (httpx.HTTPError, OSError) as exc:
        _unreachable(f"{type(exc).__name__}: {exc}")
    schema = json.loads(raw)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    tmp = CACHE_FILE.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(raw)
    os.replace(tmp, CACHE_FILE)
    return schema


def _validator_class(schema: dict[str, Any]) -> type:
    """The jsonschema validator class of the draft the schema's `$schema` names.

    compose_spec.json says "http://json-schema.org/draft/2019-09/schema#" while jsonschema knows
    that draft as "https://json-schema.org/draft/2019-09/schema", so compare without the scheme
    and the empty fragment rather than falling back to a default draft.
    """

    def key(uri: str) -> str:
        parts = urlsplit(uri)
        return f"{parts.netloc}{parts.path}".rstrip("/")

    named = schema.get("$schema")
    assert named, "the Compose schema names no $schema"
    drafts = (
        jsonschema.Draft202012Validator,
        jsonschema.Draft201909Validator,
        jsonschema.Draft7Validator,
        jsonschema.Draft6Validator,
        jsonschema.Draft4Validator,
        jsonschema.Draft3Validator,
    )
    for cls in drafts:
        meta_id = cls.META_SCHEMA.get("$id") or cls.META_SCHEMA.get("id", "")
        if key(meta_id) == key(named):
            return cls
    raise AssertionError(f"jsonschema has no validator for $schema {named!r}")


GO_DURATION = re.compile(r"^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$")
PORT_SPEC = re.compile(
    r"^((\[[0-9A-Fa-f:.]+\]|[0-9.]+|\$\{[^}]+\}):)?"  # host ip
    r"((\d+(-\d+)?)?:)?"  # published port (range)
    r"\d+(-\d+)?(/(tcp|udp|sctp))?$"  # container port (range)/protocol
)


def _format_checker() -> jsonschema.FormatChecker:
    """Standard formats plus the Compose-specific ones docker-compose itself checks."""
    checker = jsonschema.FormatChecker()

    @checker.checks("duration")
    def _duration(value: object) -> bool:
        return not isinstance(value, str) or bool(GO_DURATION.match(value))

    @checker.checks("ports")
    def _ports(value: object) -> bool:
        return not isinstance(value, str) or bool(PORT_SPEC.match(value))

    @checker.checks("expose")
    def _expose(value: object) -> bool:
        return not isinstance(value, str) or bool(re.match(r"^\d+(-\d+)?(/[a-z]+)?$", value))

    return checker


# --------------------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict), "docker-compose.yml is not a mapping"
    return data


def _cli_parser() -> argparse.ArgumentParser:
    import runtime.cli

    parser = runtime.cli.build_parser()
    assert isinstance(parser, argparse.ArgumentParser)
    return parser


def _subcommands(parser: argparse.ArgumentParser) -> set[str]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return set(action.choices)
    raise AssertionError("runtime.cli.build_parser() has no subcommands")


def _assert_plinth_command(argv: list[str], where: str) -> None:
    assert argv, f"{where}: empty command"
    assert argv[0] == "plinth", f"{where}: command {argv} does not start with `plinth`"
    parser = _cli_parser()
    commands = _subcommands(parser)
    assert len(argv) > 1 and argv[1] in commands, (
        f"{where}: {argv[1:2]} is not a plinth subcommand (known: {sorted(commands)})"
    )
    try:
        parser.parse_args(argv[1:])
    except SystemExit as exc:
        pytest.fail(f"{where}: `{shlex.join(argv)}` is rejected by the CLI parser ({exc})")


def _argv(command: str | list[str]) -> list[str]:
    return shlex.split(command) if isinstance(command, str) else list(command)


def _app_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Services running the application image (built from this repo or tagged plinth)."""
    return {
        name: service
        for name, service in compose["services"].items()
        if "build" in service or str(service.get("image", "")).split(":")[0] == "plinth"
    }


def _strings(node: Any):
    if isinstance(node, dict):
        for key, value in node.items():
            yield str(key)
            yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)
    elif isinstance(node, str):
        yield node


# `$$` is a literal dollar; `${NAME...}` and `$NAME` are interpolated by Compose.
INTERPOLATION = re.compile(r"\$(?:\{(?P<braced>[^}]*)\}|(?P<named>[A-Za-z_][A-Za-z0-9_]*))")
BRACED = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?::?[-?+]).*)?$", re.DOTALL)


def _interpolated_names(text: str) -> list[str]:
    names = []
    for match in INTERPOLATION.finditer(text.replace("$$", "")):
        if match.group("named"):
            names.append(match.group("named"))
            continue
        braced = BRACED.match(match.group("braced"))
        assert braced, f"malformed interpolation ${{{match.group('braced')}}} in {text!r}"
        names.append(braced.group("name"))
    return names


# --------------------------------------------------------------------------- tests


def test_compose_file_matches_compose_specification(compose, compose_schema):
    cls = _validator_class(compose_schema)
    cls.check_schema(compose_schema)
    validator = cls(compose_schema, format_checker=_format_checker())
    errors = sorted(validator.iter_errors(compose), key=lambda e: list(e.absolute_path))
    assert not errors, "docker-compose.yml violates the Compose specification:\n" + "\n".join(
        f"  {'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in errors
    )


def test_compose_services_and_dependencies(compose):
    services = compose["services"]
    assert {"postgres", "redis", "minio", "migrate", "web", "worker"} <= set(services)
    assert set(_app_services(compose)) >= APP_SERVICES
    for name in ("postgres", "redis", "minio"):
        assert "healthcheck" in services[name], f"{name} has no healthcheck"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["migrate"].get("restart") == "no"
    for name in ("web", "worker"):
        deps = services[name]["depends_on"]
        assert deps["migrate"]["condition"] == "service_completed_successfully", name
        assert deps["redis"]["condition"] == "service_healthy", name
    assert "8000:8000" in [str(p) for p in services["web"]["ports"]]
    # Workers must be scalable: no fixed container name, no published ports.
    assert "container_name" not in services["worker"]
    assert "ports" not in services["worker"]


def test_app_services_share_the_documented_environment(compose):
    app = _app_services(compose)
    environments = {name: app[name].get("environment") for name in APP_SERVICES}
    first = environments["web"]
    assert isinstance(first, dict), "web: environment should be the x-plinth-env mapping"
    assert all(env == first for env in environments.values()), environments
    assert first == compose["x-plinth-env"]
    assert first["PLINTH_DATABASE_URL"] == "postgres://plinth:plinth@postgres:5432/plinth"
    assert first["PLINTH_REDIS_URL"] == "redis://redis:6379/0"
    # MinIO is not published, so downloads are streamed by the app, not presigned.
    assert first["PLINTH_STORAGE_URL"] == "s3://plinth-media?presign=off"
    assert first["PLINTH_S3_ENDPOINT_URL"] == "http://minio:9000"
    assert {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} <= set(first)
    assert first["PLINTH_SECRET_KEY"].startswith("${PLINTH_SECRET_KEY:?"), (
        "PLINTH_SECRET_KEY must be required (${PLINTH_SECRET_KEY:?...}), never defaulted"
    )


def test_compose_interpolates_only_documented_variables(compose):
    used = {name for text in _strings(compose) for name in _interpolated_names(text)}
    assert "PLINTH_SECRET_KEY" in used
    undocumented = sorted(
        name
        for name in used
        if name not in DOCUMENTED_VARIABLES and not name.startswith(DOCUMENTED_PREFIXES)
    )
    assert not undocumented, (
        f"docker-compose.yml interpolates undocumented variables: {undocumented}"
    )


def test_compose_app_commands_are_plinth_subcommands(compose):
    for name, service in sorted(_app_services(compose).items()):
        assert "command" in service, f"service {name}: app service without a command"
        _assert_plinth_command(_argv(service["command"]), f"docker-compose.yml service {name}")


def _dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with line continuations joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    current = ""
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        keyword, _, args = current.partition(" ")
        instructions.append((keyword.upper(), args.strip()))
        current = ""
    return instructions


def test_dockerfile_cmd_is_a_plinth_subcommand():
    instructions = _dockerfile_instructions()
    assert instructions and instructions[0][0] == "FROM"
    assert instructions[0][1].startswith("python:3.11-slim")
    assert ("EXPOSE", "8000") in instructions
    users = [args for keyword, args in instructions if keyword == "USER"]
    assert users and users[-1] not in {"root", "0"}, "the image must run as a non-root user"
    cmds = [args for keyword, args in instructions if keyword == "CMD"]
    assert cmds, "Dockerfile has no CMD"
    cmd = cmds[-1]  # only the last CMD takes effect
    argv = json.loads(cmd) if cmd.startswith("[") else shlex.split(cmd)
    _assert_plinth_command(argv, "Dockerfile CMD")


def test_interpolation_scanner():
    assert _interpolated_names("${A:?msg} $B ${C:-x} ${D-y} $$E ${F}") == ["A", "B", "C", "D", "F"]


# --------------------------------------------------------------------------- storage (MinIO)

CREDENTIAL = re.compile(r"(USER|PASSWORD|SECRET|ACCESS_KEY)")


def test_no_credential_has_a_default(compose):
    """Every credential is `${NAME:?...}` (Compose refuses to start without it), never a value
    written in the file nor a `${NAME:-default}`."""
    for name, service in compose["services"].items():
        environment = service.get("environment") or {}
        assert isinstance(environment, dict), f"{name}: environment should be a mapping"
        for variable, value in environment.items():
            if variable.startswith("POSTGRES_") or not CREDENTIAL.search(variable):
                continue  # PostgreSQL's stays on the project's network (its URL is the app's)
            assert re.fullmatch(r"\$\{[A-Z_]+:\?[^}]*\}", str(value)), (
                f"{name}: {variable}={value!r} must be required (${{NAME:?...}}), not defaulted"
            )
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    defaulted = re.findall(r"\$\{([A-Z_]*(?:USER|PASSWORD|SECRET|KEY)[A-Z_]*)[:]?[-+]", text)
    assert not defaulted, f"credentials with a default in docker-compose.yml: {defaulted}"


def test_minio_publishes_neither_its_api_nor_its_console(compose):
    services = compose["services"]
    assert "ports" not in services["minio"], "MinIO's S3 API and console stay inside the network"
    for name, service in services.items():
        for port in service.get("ports", []):
            target = str(port.get("target") if isinstance(port, dict) else port).split(":")[-1]
            assert target.split("/")[0] not in {"9000", "9001"}, f"{name} publishes {port}"


def _setup_script(service: dict[str, Any]) -> str:
    entrypoint = service["entrypoint"]
    assert entrypoint[:2] == ["/bin/sh", "-c"], entrypoint
    return entrypoint[2].replace("$$", "$")


def test_a_one_shot_creates_the_bucket_before_web_and_worker(compose):
    services = compose["services"]
    bucket = urlsplit(compose["x-plinth-env"]["PLINTH_STORAGE_URL"]).netloc
    setup = services["minio-setup"]
    assert setup["image"].split(":")[0] == "minio/mc"
    assert setup.get("restart") == "no"
    assert setup["depends_on"]["minio"]["condition"] == "service_healthy"
    for name in ("web", "worker"):
        condition = services[name]["depends_on"]["minio-setup"]["condition"]
        assert condition == "service_completed_successfully", name
    script = _setup_script(setup)
    subprocess.run(["sh", "-n", "-c", script], check=True)  # it parses as a shell script
    assert f"mc mb --ignore-existing local/{bucket}" in script
    # The app's user is not root and holds a policy of that bucket alone.
    env = compose["x-plinth-env"]
    assert env["AWS_ACCESS_KEY_ID"] != setup["environment"]["MINIO_ROOT_USER"]
    assert 'mc admin user add local "$MINIO_APP_USER" "$MINIO_APP_PASSWORD"' in script
    policy = json.loads(script.split("printf '%s' '", 1)[1].split("'", 1)[0])
    resources = {r for statement in policy["Statement"] for r in statement["Resource"]}
    assert resources == {f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"}
    actions = {a for statement in policy["Statement"] for a in statement["Action"]}
    assert {"s3:PutObject", "s3:GetObject", "s3:DeleteObject", "s3:AbortMultipartUpload"} <= actions
    assert f'mc admin policy attach local {bucket} --user "$MINIO_APP_USER"' in script


def test_the_compose_settings_pass_start_up(compose):
    from runtime.settings import read_settings
    from runtime.storage import storage_location

    env = {
        name: "k" * 40 if str(value).startswith("${") else str(value)
        for name, value in compose["x-plinth-env"].items()
    }
    settings = read_settings(env)
    location = storage_location(settings.storage_url)
    assert (location.scheme, location.where, location.presign) == ("s3", "plinth-media", False)
    assert settings.s3_endpoint_url == "http://minio:9000"


def test_env_example_names_every_required_variable_and_holds_no_secret(compose):
    required = set(re.findall(r"\$\{([A-Z_]+):\?", COMPOSE_FILE.read_text(encoding="utf-8")))
    example = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, value = line.partition("=")
            example[name.strip()] = value.strip()
    assert required == set(example), f"required {sorted(required)}, .env.example {sorted(example)}"
    secrets = {
        name: value for name, value in example.items() if "PASSWORD" in name or "SECRET" in name
    }
    assert secrets and all(value == "" for value in secrets.values()), secrets
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert "/.env" in ignored or ".env" in ignored, ".env must never be committed"


def test_the_documented_bucket_policy_is_the_one_compose_sets(compose):
    """docs/operators/storage.md shows operators the policy to give Plinth; compose's
    minio-setup sets the same one."""
    docs = (ROOT / "docs" / "operators" / "storage.md").read_text(encoding="utf-8")
    documented = json.loads(docs.split("```json\n", 1)[1].split("```", 1)[0])
    script = _setup_script(compose["services"]["minio-setup"])
    composed = json.loads(script.split("printf '%s' '", 1)[1].split("'", 1)[0])

    def grants(policy: dict[str, Any]) -> set[tuple[str, str]]:
        found = set()
        for statement in policy["Statement"]:
            resources = statement["Resource"]
            for resource in resources if isinstance(resources, list) else [resources]:
                bucket = resource.replace("acme-plinth-media", "plinth-media")
                found |= {(action, bucket) for action in statement["Action"]}
        return found

    assert grants(documented) == grants(composed)


# --------------------------------------------------------------------------- migrations


def test_the_image_ships_the_committed_migrations_and_generates_none(compose):
    """Deploys apply the history committed in migrations/ (issue 16): the build context keeps
    it, the one-shot applies it with --apply-only (it writes no file), and no volume over
    /app/migrations holds a history of the deployment's own."""
    argv = _argv(compose["services"]["migrate"]["command"])
    parsed = _cli_parser().parse_args(argv[1:])
    assert (parsed.command, parsed.apply_only, parsed.allow_destructive) == (
        "migrate",
        True,
        False,
    ), f"the migrate service must run `plinth migrate --apply-only`, not {argv}"
    for name, service in _app_services(compose).items():
        for volume in service.get("volumes", []):
            target = volume.get("target") if isinstance(volume, dict) else volume.split(":")[1]
            assert not str(target).startswith("/app/migrations"), f"{name} mounts {volume}"
        argv = _argv(service["command"])
        if argv[1] == "migrate":
            assert "--apply-only" in argv, f"{name} would write migrations at deploy time"
    assert not any("migration" in name for name in compose.get("volumes") or {})

    rules = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert rules[0] == "*" and "!migrations/" in rules, rules
    after = rules[rules.index("!migrations/") + 1 :]
    assert not [r for r in after if r.lstrip("/").startswith("migrations")], after
    copies = [args for keyword, args in _dockerfile_instructions() if keyword == "COPY"]
    assert ". ." in copies, "the image copies the build context (with migrations/)"
    chowned = " ".join(args for keyword, args in _dockerfile_instructions() if keyword == "RUN")
    assert "/app/migrations" not in chowned, "the app user must not be able to write migrations"
