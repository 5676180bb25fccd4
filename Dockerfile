# The safeguarding guidance service.
#
#   docker build -t safeguarding-guidance .
#   docker run --rm -p 8000:8000 -v /etc/guidance:/etc/guidance:ro \
#     -e GUIDANCE_AUTH=jwt -e GUIDANCE_AUTH_ISSUERS=/etc/guidance/issuers.yaml safeguarding-guidance
#
# It listens on 0.0.0.0, so it refuses to start until GUIDANCE_AUTH is set: `jwt` with a file of
# trusted issuers, or `off` behind a gateway that authenticates callers (see docs/operating.md).
#
# Two stages: the build stage has gcc and the Python headers, because durable-rules 2.0.28
# ships as C source only; the runtime stage has Debian's python3 and nothing to compile with.
# Both stages use the same base, Debian 13 "trixie" (Python 3.13), so the virtual environment
# built in the first runs unchanged in the second. durable-rules is built from its source
# distribution with the repository's patch (patches/, tools/durable_rules_wheel.py), as `make` does.
#
# BASE names the image both stages start from. A registry digest pins it
# (--build-arg BASE=debian:trixie-slim@sha256:...); the smoke test passes its local stand-in.
ARG BASE=debian:trixie-slim

FROM ${BASE} AS build

RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        ca-certificates gcc libc6-dev patch python3 python3-dev python3-venv \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/*

# pip trusts Debian's CA bundle. Where HTTPS goes through an inspecting proxy, mount that
# machine's bundle elsewhere and point pip at it, as the smoke test does:
#   -v /etc/ssl/certs/ca-certificates.crt:/run/host-ca.crt:ro --build-arg PIP_CERT=/run/host-ca.crt
# (mounting it over /etc/ssl/certs/ca-certificates.crt breaks the ca-certificates install above).
ARG PIP_CERT=/etc/ssl/certs/ca-certificates.crt
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
RUN python3 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src

# Dependencies first (the durable-rules build is the slow step), so this layer is reused until
# pyproject.toml, constraints.txt or the patch change: the patched durable-rules wheel (sdist
# digest checked), then the rest, which durable-rules==2.0.28 finds already satisfied.
COPY pyproject.toml constraints.txt ./
COPY tools/durable_rules_wheel.py tools/
COPY patches patches/
RUN pip install --no-deps "$(python3 tools/durable_rules_wheel.py --cache /tmp/durable-rules)" \
    && rm -rf /tmp/durable-rules \
    && python3 -c 'import tomllib; print(*tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"], sep="\n")' \
        > /tmp/requirements.txt \
    && pip install -c constraints.txt -r /tmp/requirements.txt

# Then the service itself, as an ordinary (not editable) install into the venv; the knowledge
# check runs with it, and pip leaves the venv (the service does not need it at run time).
COPY . ./
RUN pip install -c constraints.txt . \
    && guidance check knowledge \
    && python3 -c 'import durable_rules_engine as e; print("durable_rules_engine:", e.build_marker)' \
    && pip uninstall --yes pip


FROM ${BASE} AS runtime

RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 10001 guidance \
    && useradd --uid 10001 --gid guidance --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin guidance \
    && install -d -o 10001 -g 10001 -m 0750 /var/lib/guidance

COPY --from=build /opt/venv /opt/venv
COPY knowledge /opt/guidance/knowledge

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    GUIDANCE_KNOWLEDGE=/opt/guidance/knowledge \
    HOST=0.0.0.0 \
    PORT=8000 \
    WORKERS=1

# The service's user; it owns nothing but /var/lib/guidance, a place for GUIDANCE_AUDIT_FILE.
USER 10001:10001
WORKDIR /opt/guidance
EXPOSE 8000

# Ready means the knowledge is loaded and the engine answers; urlopen raises (exit 1) on a 503.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/ready' % os.environ.get('PORT', '8000'), timeout=4)"]

CMD ["guidance", "serve"]
