# rwg in a container, for `--shard K/N` runs on many machines (see the README,
# "Running on many machines"). Two stages: build with the Rust toolchain,
# run from a slim base as a non-root user. rwg links only libc (TLS is
# rustls with built-in roots), so nothing else is installed.
#
# io_uring: the default container seccomp profile blocks io_uring_setup, and
# rwg then falls back to epoll (its summary's `driver` line says which ran).
# Give the pod a seccomp profile that allows io_uring to get it.
#
#   docker build -t rwg .
#   docker run --rm --network host rwg run http://127.0.0.1:8080/ -r 1000 -d 10s

FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin rwg && strip target/release/rwg

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin rwg
COPY --from=build /src/target/release/rwg /usr/local/bin/rwg
USER 10001
WORKDIR /results
ENTRYPOINT ["/usr/local/bin/rwg"]
CMD ["--help"]
