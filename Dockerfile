# Plinth application image: web (`plinth serve`), workers (`plinth worker`) and the one-shot
# `plinth migrate` all run from this image; docker-compose.yml picks the command.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_NO_CACHE=1

RUN pip install --no-cache-dir uv

WORKDIR /app

# Dependencies first: this layer is rebuilt only when pyproject.toml or uv.lock change.
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project

# The project itself. .dockerignore is an allow-list (runtime/, admin/, definitions/,
# migrations/, piccolo_conf.py, README.md), so a folder that is absent from a fresh clone
# (an empty migrations/) does not break the build.
COPY . .
RUN uv sync --frozen --no-dev

# Non-root runtime user. Code stays root-owned; the user may create files in /app (the embedded
# SQLite default), media/ (file:// storage) and migrations/ (`plinth migrate` writes there).
RUN useradd --system --uid 10001 --user-group --home-dir /app --no-create-home plinth \
    && mkdir -p /app/media /app/migrations/postgres \
    && chown plinth:plinth /app /app/media /app/migrations /app/migrations/postgres

ENV PATH="/app/.venv/bin:${PATH}"
USER plinth

EXPOSE 8000
CMD ["plinth", "serve", "--host", "0.0.0.0", "--port", "8000"]
