# syntax=docker/dockerfile:1

# One image for every role: the command is the first argument
# (docker run IMAGE ingest|detect|migrate|simulate ...). Configure through
# TRIPLINE_* environment variables; see README.md "Configuration".

FROM golang:1.26 AS build
WORKDIR /src
ENV CGO_ENABLED=0
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -ldflags="-s -w" -o /out/tripline ./cmd/tripline \
    && mkdir -p /out/etc/tripline

# Static binary on distroless: no shell, no package manager, runs as the
# nonroot user (65532). The Sigma rule pack is embedded in the binary.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/tripline /tripline
# Owned by nonroot so a volume mounted here (docker-compose's registry
# volume, initialised from the image) is writable by `simulate
# --registry-out`.
COPY --from=build --chown=65532:65532 /out/etc/tripline /etc/tripline
USER nonroot:nonroot
# /metrics, /healthz and /readyz when TRIPLINE_METRICS_ADDR=:9464.
EXPOSE 9464
ENTRYPOINT ["/tripline"]
