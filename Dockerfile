# syntax=docker/dockerfile:1
# One image for every process: `gateway serve` (the default command) and `gateway worker`.
#   docker build -t pf-jira-gateway .
#   docker run --env-file .env -p 8000:8000 pf-jira-gateway
#   docker run --env-file .env pf-jira-gateway worker
ARG PYTHON_VERSION=3.11

# --- build: install the package and its dependencies into a virtualenv ------------------
FROM python:${PYTHON_VERSION}-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Dependencies first, so editing the code does not reinstall them.
COPY pyproject.toml README.md ./
RUN mkdir -p gateway fakes scenarios \
    && touch gateway/__init__.py fakes/__init__.py scenarios/__init__.py \
    && pip install ".[postgres,otlp]" \
    && pip uninstall --yes pf-jira-gateway
COPY gateway ./gateway
COPY fakes ./fakes
COPY scenarios ./scenarios
RUN pip install --no-deps ".[postgres,otlp]" \
    && python -c "import gateway.cli, gateway.migrate"

# --- runtime: the virtualenv only, run as an unprivileged user ----------------------------
FROM python:${PYTHON_VERSION}-slim AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    GATEWAY_DATA_DIR=/data \
    GATEWAY_LOG_FORMAT=json
RUN groupadd --system --gid 10001 gateway \
    && useradd --system --uid 10001 --gid gateway --home-dir /data --no-create-home \
       --shell /usr/sbin/nologin gateway \
    && mkdir -p /data \
    && chown gateway:gateway /data
COPY --from=build /opt/venv /opt/venv
USER gateway:gateway
WORKDIR /data
VOLUME ["/data"]
# 8000: the API (gateway serve). 9100: a worker's metrics (GATEWAY_WORKER_METRICS_PORT=9100).
EXPOSE 8000 9100
# Liveness of the API; compose.yml gives workers their own check on the metrics port.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"]
ENTRYPOINT ["gateway"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
