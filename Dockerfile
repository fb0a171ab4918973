# Hibah API image. Built and run by docker-compose.yml; on its own:
#   docker build -t hibah .
#   docker run -e DATABASE_URL=postgresql://user:pass@host:5432/db -p 8000:8000 hibah
# DATABASE_URL must always be set: the embedded PostgreSQL (pgserver) is for development only.
# Plain Dockerfile syntax (no BuildKit-only features), so the classic builder builds it too;
# layer order gives the caching: dependencies are re-resolved only when pyproject.toml/uv.lock change.

# ---------------------------------------------------------------------------------------------
# Build stage: resolve the locked dependencies into /app/.venv with uv.
# ---------------------------------------------------------------------------------------------
FROM python:3.11-slim AS build

# uv from PyPI, pinned to the version that satisfies the uv_build requirement in pyproject.toml.
RUN PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore pip install --no-cache-dir "uv==0.13.9"

ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3.11 \
    UV_PROJECT_ENVIRONMENT=/app/.venv \
    UV_NO_CACHE=1

WORKDIR /app

# 1. Dependencies only: this layer is rebuilt only when pyproject.toml or uv.lock change.
COPY pyproject.toml uv.lock .python-version ./
RUN uv sync --frozen --no-dev --no-install-project

# 2. The project itself, installed editable (uv's default), so app/core/migrate.py resolves
#    PROJECT_ROOT to /app and finds /app/migrations. README.md is the package readme: the build
#    backend needs it.
COPY README.md alembic.ini ./
COPY migrations ./migrations
COPY app ./app
RUN uv sync --frozen --no-dev \
 && python -m compileall -q app migrations

# ---------------------------------------------------------------------------------------------
# Runtime stage: the same base (the venv's python links to /usr/local/bin/python3.11), no uv.
# ---------------------------------------------------------------------------------------------
FROM python:3.11-slim AS runtime

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH="/app/.venv/bin:${PATH}" \
    HIBAH_WORKERS=4

RUN groupadd --system --gid 10001 hibah \
 && useradd --system --uid 10001 --gid hibah --home-dir /app --no-create-home --shell /usr/sbin/nologin hibah

WORKDIR /app
# Owned by root: the service user can read and run the code and the venv but not change them;
# nothing is written there at run time (bytecode was compiled in the build stage).
COPY --from=build /app /app

USER 10001:10001
EXPOSE 8000

HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4).status == 200 else 1)"]

# Apply pending migrations once, then serve with several uvicorn workers. `exec` replaces the shell
# so the server itself receives the stop signal (SIGTERM) and shuts down gracefully.
CMD ["sh", "-c", "hibah migrate && exec hibah serve --host 0.0.0.0 --port 8000 --workers \"${HIBAH_WORKERS:-4}\" --no-migrate"]
