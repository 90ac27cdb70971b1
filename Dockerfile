# A container image of uptake: built on Debian 12 with the same packages as scripts/setup, then
# copied into a slim runtime image with only the shared libraries it links.
#   docker build -t uptake:latest .
#   docker run --rm uptake:latest run scenarios/smoke.yaml     # against the embedded service
FROM debian:12 AS build
RUN apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      build-essential cmake ninja-build pkg-config ca-certificates \
      libboost1.81-dev libboost-program-options1.81-dev libboost-url1.81-dev \
      libfmt-dev libyaml-cpp-dev nlohmann-json3-dev libeigen3-dev libhowardhinnant-date-dev tzdata \
      libssl-dev libsqlite3-dev zlib1g-dev libnghttp2-dev \
      nodejs npm \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# The report's charting library is pinned by tools/package-lock.json and embedded at build time.
RUN cd tools && npm ci --no-audit --no-fund --loglevel=error
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF -DUPTAKE_BUILD_BENCHMARKS=OFF \
 && cmake --build /build --target uptake --parallel "$(nproc)"

FROM debian:12-slim
RUN apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      libboost-program-options1.81.0 libboost-url1.81.0 libfmt9 libyaml-cpp0.7 libdate-tz3 tzdata libssl3 libnghttp2-14 libsqlite3-0 zlib1g ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /build/cli/uptake /usr/local/bin/uptake
COPY scenarios /opt/uptake/scenarios
WORKDIR /opt/uptake
# Results go to /results (mount a volume there); the image runs as an unprivileged user.
# The working folder is the user's too: `uptake run` writes results/ beside the scenarios.
RUN useradd --system --uid 10001 uptake && mkdir -p /results /opt/uptake/results && chown uptake /results /opt/uptake /opt/uptake/results
USER uptake
ENTRYPOINT ["uptake"]
CMD ["--help"]
