# syntax=docker/dockerfile:1
# gordon-migrate: the one-shot gate of every Gordon deploy. Distroless, nonroot, no port.
# tests/test_image.py replays the build stage without an engine (tests/support/dockerfile_replay.py)
# and runs the result as this image does: read-only, as nonroot, against a real server.

# Build stage: the same Python (3.11) and Debian (12) as the distroless runtime, so binary
# wheels (psycopg, pglast) match its ABI.
FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
# The whole build context, not a list of what the wheel needs: pyproject.toml alone decides
# what goes into the wheel (its force-includes too), and a list of COPY lines once fell behind
# it (lint/baseline.txt). .dockerignore only keeps out what never goes into a wheel.
COPY . ./
RUN pip wheel --no-deps -w /wheels . \
 && pip install --target /opt/gordon /wheels/*.whl \
 && mkdir -p /opt/gordon/bin \
 && printf '#!/usr/bin/python3\nfrom gordon_migrate.cli import entry\nentry()\n' \
      > /opt/gordon/bin/gordon-migrate \
 && chmod 0755 /opt/gordon/bin/gordon-migrate \
 && python -m compileall -q /opt/gordon

FROM gcr.io/distroless/python3-debian12:nonroot
COPY --from=build /opt/gordon /opt/gordon
ENV PYTHONPATH=/opt/gordon \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
# distroless's nonroot by number: a runtime that enforces non-root (Kubernetes runAsNonRoot)
# can only verify a numeric user without reading the image's /etc/passwd (hadolint DL3066).
USER 65532:65532
ENTRYPOINT ["/opt/gordon/bin/gordon-migrate"]
CMD ["apply"]
