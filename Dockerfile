# syntax=docker/dockerfile:1
# explorer in an image: docker build -t explorer . ; then, with an image archive in the current folder:
#   docker save alpine:3 -o alpine.tar
#   docker run --rm -v "$PWD:/work:ro" explorer scan alpine.tar --format json
# (No Docker socket is mounted: explorer reads archives and OCI layouts; give it the daemon's socket only if
# you mean to, and know that whoever holds that socket controls the host.)
FROM python:3.12-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml setup.py MANIFEST.in README.md ./
COPY explorer/ explorer/
COPY yara_rules/ yara_rules/
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.12-slim-bookworm
RUN apt-get update \
    && apt-get install -y --no-install-recommends libmagic1 \
    && rm -rf /var/lib/apt/lists/*
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links=/wheels explorer
RUN useradd --create-home --uid 10001 explorer
USER 10001:10001
ENV XDG_CACHE_HOME=/tmp/explorer-cache
WORKDIR /work
ENTRYPOINT ["explorer"]
CMD ["--help"]
