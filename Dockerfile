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
# migrations/, piccolo_conf.py, README.md). migrations/ is the committed history: the image
# ships it, and the deploy's `plinth migrate --apply-only` applies it and writes nothing.
COPY . .
RUN uv sync --frozen --no-dev

# Non-root runtime user. Code and migrations stay root-owned (read-only to the app); the user
# may create files in /app (the embedded SQLite default) and media/ (file:// storage).
RUN useradd --system --uid 10001 --user-group --home-dir /app --no-create-home plinth \
    && mkdir -p /app/media \
    && chown plinth:plinth /app /app/media

ENV PATH="/app/.venv/bin:${PATH}"
USER plinth

EXPOSE 8000
CMD ["plinth", "serve", "--host", "0.0.0.0", "--port", "8000"]
