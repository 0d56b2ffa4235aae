# syntax=docker/dockerfile:1
# gordon-migrate: the one-shot gate of every Gordon deploy. Distroless, nonroot, no port.

# Build stage: the same Python (3.11) and Debian (12) as the distroless runtime, so binary
# wheels (psycopg, pglast) match its ABI.
FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md .gitattributes ./
COPY gordon_migrate ./gordon_migrate
COPY migrations ./migrations
COPY fixtures ./fixtures
COPY docs ./docs
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
USER nonroot
ENTRYPOINT ["/opt/gordon/bin/gordon-migrate"]
CMD ["apply"]
