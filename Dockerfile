# The DINAMIS STAC image: `dinamis serve` by default, `dinamis worker` or `dinamis db migrate`
# with another command; a non-root user; production mode. deploy/compose.yaml and
# deploy/kubernetes/ run it (docs/operations.md).
#
# Stage 1 builds the wheels: the product's (its data included: the npm packages' files copied
# in, the viewer built) and its dependencies'.
FROM python:3.11-slim-bookworm AS build

# Debian's Node.js and npm build the viewer and fetch the gazetteer (package-lock.json pins them).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends nodejs npm \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY package.json package-lock.json ./
RUN SCARF_ANALYTICS=false npm ci --no-audit --no-fund --loglevel=error

COPY pyproject.toml README.md NOTICE ./
COPY scripts ./scripts
COPY stac_api ./stac_api
COPY extensions ./extensions
COPY ingest ./ingest
COPY pgstac ./pgstac
COPY registry_plugin ./registry_plugin
COPY ordering_plugin ./ordering_plugin
COPY simulators ./simulators
RUN npm run --silent build \
    && scripts/package-npm-data.sh \
    && pip wheel --no-cache-dir --wheel-dir /wheels .

# Stage 2 runs it: the wheels installed, the PostgreSQL client (pg_dump, psql) and GDAL's tools
# for the operators; rasterio and pyogrio bring their own GDAL library.
FROM python:3.11-slim-bookworm

# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client gdal-bin \
    && rm -rf /var/lib/apt/lists/*

COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links=/wheels /wheels/dinamis_stac-*.whl \
    && rm -rf /wheels \
    && useradd --system --uid 10001 --user-group --home-dir /var/lib/dinamis --create-home dinamis

USER 10001:10001
WORKDIR /var/lib/dinamis
ENV DINAMIS_HOME=/var/lib/dinamis \
    DINAMIS_MODE=production \
    DINAMIS_LOG_FORMAT=json \
    PYTHONUNBUFFERED=1

EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"]
ENTRYPOINT ["dinamis"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080"]
