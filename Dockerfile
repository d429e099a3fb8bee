# syntax=docker/dockerfile:1
#
# One image for every process of the 享惠受阻协调申请 suite. The process is chosen
# by the command (compose `command:` / k8s `command:`), e.g.
#   python -m gateway
#   python -m services.identity
# No configuration or secrets are baked in: everything comes from the environment.

# The web portal is built in its own stage; only its static files reach the runtime image.
FROM node:24.11-bookworm-slim AS portal
WORKDIR /portal
COPY portal/package.json portal/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY portal/index.html portal/vite.config.ts portal/tsconfig.json ./
COPY portal/src ./src
RUN npm run build

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

# Fixed, non-root UID/GID so Kubernetes `runAsNonRoot`/`runAsUser` can match.
RUN groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid app --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin app

WORKDIR /app

# Dependencies first for better layer caching. All runtime deps ship manylinux
# wheels for CPython 3.11, so no compiler / apt packages are needed.
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt

COPY shared ./shared
COPY services ./services
COPY gateway ./gateway
COPY --from=portal /portal/dist ./portal/dist

# Byte-compile at build time: the runtime root filesystem is read-only and
# PYTHONDONTWRITEBYTECODE stops the interpreter writing .pyc files anyway.
RUN python -m compileall -q shared services gateway

USER 10001:10001

# 8000: gateway HTTP; 8081: health/readiness/metrics of the back-end services.
EXPOSE 8000 8081

# Health checks are defined per process by docker-compose.yml / the k8s probes,
# because the gateway and the services answer on different ports.
CMD ["python", "-m", "gateway"]
