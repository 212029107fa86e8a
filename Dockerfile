# zapbot: Slack Bolt (HTTP mode) service that runs Zapier AI Actions.
#
#   docker build -t zapbot .
#   docker run --rm -p 3000:3000 --env-file .env zapbot
#
# Two stages: the builder installs the project and its runtime dependencies (no dev extra) into a
# virtualenv at /opt/venv; the final image copies only that venv onto a clean python:3.11-slim.
# Both stages use the same base, so the venv's interpreter symlinks stay valid.

FROM python:3.11-slim AS builder

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH="/opt/venv/bin:${PATH}"

RUN python -m venv /opt/venv

WORKDIR /src

# Dependencies first, against a stub package, so that changing bot/ does not re-download them.
# (README.md is not copied: setuptools only warns that the long description is missing.)
COPY pyproject.toml ./
RUN mkdir bot && touch bot/__init__.py \
    && pip install --no-cache-dir .

# Then the real package, without touching the dependencies installed above.
COPY bot ./bot
RUN pip install --no-cache-dir --no-deps --force-reinstall . \
    && python -c "import bot"


FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH="/opt/venv/bin:${PATH}" \
    HOST=0.0.0.0 \
    PORT=3000

RUN groupadd --system --gid 10001 zapbot \
    && useradd --system --uid 10001 --gid zapbot --no-create-home --home-dir /app \
       --shell /usr/sbin/nologin zapbot

COPY --from=builder /opt/venv /opt/venv

WORKDIR /app

USER 10001:10001

EXPOSE 3000

# No curl in slim images: python's urllib does the probe, on http://127.0.0.1:${PORT}/healthz.
# urlopen raises (exit 1) on a refused connection, a timeout, or any non-2xx status. Exec form, so
# PORT is read from the environment by python rather than expanded by a shell.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '3000'), timeout=4)"]

CMD ["python", "-m", "bot"]
