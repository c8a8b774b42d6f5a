# syntax=docker/dockerfile:1
# UI stage: the React app, built into the package's static folder.
FROM node:20-slim AS ui
WORKDIR /src/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY frontend ./
RUN npm run build  # writes ../src/bigshot_llm/static

# Build stage: wheels for the gateway (with the built UI) and its dependencies.
FROM python:3.11-slim AS build
WORKDIR /src
RUN pip install --no-cache-dir --upgrade pip wheel
COPY pyproject.toml setup.py README.md ./
COPY src ./src
COPY --from=ui /src/src/bigshot_llm/static ./src/bigshot_llm/static
# With the trace exporter (README "Traces"): set OTEL_EXPORTER_OTLP_ENDPOINT to turn it on.
RUN pip wheel --no-cache-dir --wheel-dir /wheels '.[otel]'

# Runtime stage: non-root, only what runs.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    BIGSHOT_HOST=0.0.0.0 BIGSHOT_PORT=8000 BIGSHOT_DATA_DIR=/data
RUN useradd --system --uid 10001 --home /app bigshot \
    && mkdir -p /data /app && chown bigshot /data /app
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER bigshot
WORKDIR /app
EXPOSE 8000
VOLUME ["/data"]
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2).status == 200 else 1)"
CMD ["bigshot-llm", "serve"]
