//! What became of a request, in words every layer shares: the
//! [`ErrorKind`] of the CSV's `error` column, and the gRPC status codes that
//! have a meaning of their own in the summary.

/// Why a request did not end in an answered exchange. `None` = it did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum ErrorKind {
    None = 0,
    /// No worker was free at the intended instant.
    Skipped,
    /// The per-request timeout expired.
    Timeout,
    /// The connection could not be established.
    Connect,
    /// The server closed or reset the connection mid-exchange.
    Reset,
    /// The response was not valid HTTP.
    Protocol,
    /// Another I/O error.
    Io,
    /// The run was stopped (Ctrl-C, first error) while the request was in flight.
    Cancelled,
    /// The request could not be built from its template (over HTTP/2 or
    /// gRPC: a rendered value that a header or the message cannot hold).
    /// Nothing was sent.
    Request,
    /// Planned before this process could start: its `--start-at` instant
    /// had passed when it was ready. Never sent; a skip that is the
    /// generator's, not the target's.
    LateStart,
}

impl ErrorKind {
    pub const ALL: [ErrorKind; 9] = [
        ErrorKind::Skipped,
        ErrorKind::Timeout,
        ErrorKind::Connect,
        ErrorKind::Reset,
        ErrorKind::Protocol,
        ErrorKind::Io,
        ErrorKind::Cancelled,
        ErrorKind::Request,
        ErrorKind::LateStart,
    ];

    /// The CSV `error` column's word.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::None => "",
            ErrorKind::Skipped => "skipped",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Connect => "connect",
            ErrorKind::Reset => "reset",
            ErrorKind::Protocol => "protocol",
            ErrorKind::Io => "io",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::Request => "request",
            ErrorKind::LateStart => "late_start",
        }
    }
}

/// gRPC codes with a meaning of their own in the summary.
pub const GRPC_OK: u16 = 0;
pub const GRPC_CANCELLED: u16 = 1;
pub const GRPC_UNKNOWN: u16 = 2;
pub const GRPC_DEADLINE_EXCEEDED: u16 = 4;
pub const GRPC_RESOURCE_EXHAUSTED: u16 = 8;

/// The canonical name of a gRPC status code.
pub fn grpc_code_name(code: u16) -> &'static str {
    const NAMES: [&str; 17] = [
        "OK",
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED",
    ];
    NAMES.get(code as usize).copied().unwrap_or("UNKNOWN_CODE")
}
