//! Checks, with a plain `std::net::TcpStream` client, that every mode of the
//! hostile test server puts on the wire what its doc comment promises.

mod hostile;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use hostile::{all_modes, Hostile, Mode, HUGE_LINE, TRICKLE_BODY};

/// Upper bound on any single wait in these tests.
const DEADLINE: Duration = Duration::from_secs(5);
const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: hostile\r\n\r\n";
const NORMAL: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

/// Why [`read_until`] stopped.
#[derive(Debug, PartialEq)]
enum End {
    Enough,
    Eof,
    Error(ErrorKind),
    Deadline,
}

struct Received {
    bytes: Vec<u8>,
    end: End,
}

fn connect(server: &Hostile) -> TcpStream {
    let stream = TcpStream::connect(server.addr()).expect("connect to hostile server");
    stream
        .set_read_timeout(Some(Duration::from_millis(20)))
        .expect("set_read_timeout");
    stream
        .set_write_timeout(Some(DEADLINE))
        .expect("set_write_timeout");
    stream
}

fn send(stream: &mut TcpStream, bytes: &[u8]) {
    stream.write_all(bytes).expect("write request");
}

/// Reads until `enough(bytes so far)`, EOF, an error, or `within` has passed.
fn read_until(
    stream: &mut TcpStream,
    within: Duration,
    enough: impl Fn(&[u8]) -> bool,
) -> Received {
    let deadline = Instant::now() + within;
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 64 * 1024];
    loop {
        if enough(&bytes) {
            return Received {
                bytes,
                end: End::Enough,
            };
        }
        if Instant::now() >= deadline {
            return Received {
                bytes,
                end: End::Deadline,
            };
        }
        match stream.read(&mut chunk) {
            Ok(0) => {
                return Received {
                    bytes,
                    end: End::Eof,
                }
            }
            Ok(n) => bytes.extend_from_slice(&chunk[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => {
                return Received {
                    bytes,
                    end: End::Error(e.kind()),
                }
            }
        }
    }
}

/// Reads for all of `within` (or until EOF or an error).
fn read_for(stream: &mut TcpStream, within: Duration) -> Received {
    read_until(stream, within, |_| false)
}

/// Reads until at least `len` bytes arrived (or EOF, error, [`DEADLINE`]).
fn read_len(stream: &mut TcpStream, len: usize) -> Received {
    read_until(stream, DEADLINE, |bytes| bytes.len() >= len)
}

fn count(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .filter(|w| *w == needle)
        .count()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn normal_answers_every_request_and_counts_heads() {
    let server = Hostile::start(Mode::Normal);
    assert!(server.url().starts_with("http://127.0.0.1:"));
    assert!(server.url().ends_with('/'));

    // Three pipelined requests, one of them with a body to be discarded.
    let mut first = connect(&server);
    let post = b"POST / HTTP/1.1\r\nHost: hostile\r\ncontent-length: 11\r\n\r\nhello world";
    send(&mut first, &[GET, post, GET].concat());
    let got = read_len(&mut first, 3 * NORMAL.len());
    assert_eq!(got.bytes, [NORMAL, NORMAL, NORMAL].concat());

    let mut second = connect(&server);
    send(&mut second, GET);
    assert_eq!(read_len(&mut second, NORMAL.len()).bytes, NORMAL);
    assert_eq!(server.requests_seen(), 4);
    assert_eq!(server.connections_seen(), 2);

    // An unfinished head is not counted.
    send(&mut second, b"GET / HTTP/1.1\r\nHost: hostile\r\n");
    let got = read_for(&mut second, Duration::from_millis(100));
    assert!(got.bytes.is_empty());
    assert_eq!(server.requests_seen(), 4);
}

#[test]
fn fixed_answers_are_exact_and_keep_the_connection_open() {
    let cases: [(Mode, &[u8]); 8] = [
        (Mode::Normal, NORMAL),
        (
            Mode::DuplicateContentLength,
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 5\r\n\r\nok",
        ),
        (
            Mode::DuplicateContentLengthReversed,
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 2\r\n\r\nokxyz",
        ),
        (
            Mode::Status(999),
            b"HTTP/1.1 999 Hostile\r\nContent-Length: 2\r\n\r\nok",
        ),
        (
            Mode::NegativeContentLength,
            b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nok",
        ),
        (Mode::GarbageStatusLine, b"garbage\r\n\r\n"),
        (
            Mode::NoReasonPhrase,
            b"HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok",
        ),
        (
            Mode::ContinueThenAnswer,
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        ),
    ];
    for (mode, expected) in cases {
        let server = Hostile::start(mode);
        let mut client = connect(&server);
        for round in 0..2 {
            send(&mut client, GET);
            let got = read_len(&mut client, expected.len());
            assert_eq!(
                text(&got.bytes),
                text(expected),
                "{} round {round}",
                mode.name()
            );
            let extra = read_for(&mut client, Duration::from_millis(50));
            assert_eq!(extra.end, End::Deadline, "{} closed early", mode.name());
            assert!(extra.bytes.is_empty(), "{} sent extra bytes", mode.name());
        }
        assert_eq!(server.requests_seen(), 2, "{}", mode.name());
    }
}

#[test]
fn two_responses_sends_a_second_unrequested_response() {
    let server = Hostile::start(Mode::TwoResponses);
    let mut client = connect(&server);
    send(&mut client, GET);
    let sent = Instant::now();
    let first = read_until(&mut client, DEADLINE, |bytes| !bytes.is_empty());
    assert!(
        sent.elapsed() >= Duration::from_millis(20),
        "answered before the 20 ms delay"
    );
    let rest = read_for(&mut client, Duration::from_millis(200));
    let all = [first.bytes, rest.bytes].concat();
    assert_eq!(count(&all, b"HTTP/1.1 200 OK\r\n"), 2, "{}", text(&all));
    assert_eq!(all, [NORMAL, NORMAL].concat());
    assert_eq!(server.requests_seen(), 1);
}

#[test]
fn response_before_request_arrives_unasked() {
    let expected: &[u8] =
        b"HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    let server = Hostile::start(Mode::ResponseBeforeRequest);
    let mut client = connect(&server);
    let got = read_len(&mut client, expected.len());
    assert_eq!(text(&got.bytes), text(expected));
    assert_eq!(server.requests_seen(), 0);

    // The connection stays open and then answers normally.
    send(&mut client, GET);
    assert_eq!(read_len(&mut client, NORMAL.len()).bytes, NORMAL);
    assert_eq!(server.requests_seen(), 1);
}

#[test]
fn close_after_accept_closes_at_once() {
    let server = Hostile::start(Mode::CloseAfterAccept);
    let mut client = connect(&server);
    let started = Instant::now();
    let got = read_for(&mut client, DEADLINE);
    assert!(got.bytes.is_empty());
    assert_ne!(got.end, End::Deadline);
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(server.connections_seen(), 1);
    assert_eq!(server.requests_seen(), 0);
}

#[test]
fn huge_header_line_is_two_mebibytes() {
    let server = Hostile::start(Mode::HugeHeaderLine);
    let mut client = connect(&server);
    send(&mut client, GET);
    let got = read_until(&mut client, DEADLINE, |bytes| {
        bytes.ends_with(b"\r\n\r\nok")
    });
    assert_eq!(got.end, End::Enough);
    let response = text(&got.bytes);
    let lines: Vec<&str> = response.split("\r\n").collect();
    assert_eq!(lines[0], "HTTP/1.1 200 OK");
    assert!(lines[1].starts_with("X-Big: aaaa"));
    assert_eq!(lines[1].len(), HUGE_LINE);
    assert_eq!(lines[2], "Content-Length: 2");
    assert_eq!(&lines[3..], ["", "ok"]);
}

#[test]
fn many_headers_sends_that_many() {
    let server = Hostile::start(Mode::ManyHeaders(10_000));
    let mut client = connect(&server);
    send(&mut client, GET);
    let got = read_until(&mut client, DEADLINE, |bytes| {
        bytes.ends_with(b"\r\n\r\nok")
    });
    assert_eq!(got.end, End::Enough);
    let response = text(&got.bytes);
    let headers: Vec<&str> = response
        .split("\r\n")
        .filter(|l| l.starts_with("X-H"))
        .collect();
    assert_eq!(headers.len(), 10_000);
    assert_eq!(headers[0], "X-H0: v");
    assert_eq!(headers[9_999], "X-H9999: v");
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"));
}

#[test]
fn endless_chunked_keeps_sending() {
    let server = Hostile::start(Mode::EndlessChunked);
    let mut client = connect(&server);
    send(&mut client, GET);
    let got = read_len(&mut client, 100 * 1024 + 100);
    assert_eq!(got.end, End::Enough);
    let head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    assert!(got.bytes.starts_with(head));
    let mut chunk = b"400\r\n".to_vec();
    chunk.extend_from_slice(&[b'x'; 1024]);
    chunk.extend_from_slice(b"\r\n");
    assert!(got.bytes[head.len()..].starts_with(&[chunk.as_slice(); 50].concat()));
    assert_eq!(count(&got.bytes, b"\r\n0\r\n"), 0, "sent a last chunk");
}

#[test]
fn chunk_size_overflow_sends_the_size_line_then_closes() {
    let expected: &[u8] =
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFF\r\nok";
    let server = Hostile::start(Mode::ChunkSizeOverflow);
    let mut client = connect(&server);
    send(&mut client, GET);
    let got = read_for(&mut client, DEADLINE);
    assert_eq!(got.end, End::Eof);
    assert_eq!(text(&got.bytes), text(expected));
}

#[test]
fn reset_mid_body_sends_part_then_rst() {
    let server = Hostile::start(Mode::ResetMidBody);
    let mut client = connect(&server);
    send(&mut client, GET);
    let got = read_for(&mut client, DEADLINE);
    assert_eq!(got.end, End::Error(ErrorKind::ConnectionReset));
    // Linux delivers the queued bytes before it reports the reset.
    let mut expected = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n".to_vec();
    expected.extend_from_slice(&[b'x'; 100]);
    assert_eq!(text(&got.bytes), text(&expected));
}

#[test]
fn trickle_body_sends_one_byte_per_interval() {
    let server = Hostile::start(Mode::TrickleBody { byte_every_ms: 50 });
    let mut client = connect(&server);
    send(&mut client, GET);
    let sent = Instant::now();
    let head: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n";
    let early = read_for(&mut client, Duration::from_millis(200));
    assert!(early.bytes.starts_with(head));
    assert!(
        early.bytes.len() <= head.len() + 5,
        "{}",
        text(&early.bytes)
    );

    let rest = read_len(&mut client, head.len() + 20 - early.bytes.len());
    assert!(sent.elapsed() >= Duration::from_millis(20 * 50));
    let all = [early.bytes, rest.bytes].concat();
    assert_eq!(all, [head, TRICKLE_BODY].concat());
    // Then the connection stays open for the next request.
    let extra = read_for(&mut client, Duration::from_millis(50));
    assert_eq!(extra.end, End::Deadline);
}

#[test]
fn http10_body_is_delimited_by_close() {
    let server = Hostile::start(Mode::Http10CloseDelimited);
    let mut client = connect(&server);
    send(&mut client, GET);
    let got = read_for(&mut client, DEADLINE);
    assert_eq!(got.end, End::Eof);
    let mut expected = b"HTTP/1.0 200 OK\r\n\r\n".to_vec();
    expected.extend_from_slice(&[b'x'; 100]);
    assert_eq!(got.bytes, expected);
}

#[test]
fn all_modes_lists_each_mode_once() {
    let names: Vec<String> = all_modes().iter().map(Mode::name).collect();
    let mut unique = names.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), names.len());
    // One per variant of `Mode`.
    assert_eq!(names.len(), 19);
    assert!(names.contains(&"Status(999)".to_string()));
    assert!(names.contains(&"TrickleBody { byte_every_ms: 200 }".to_string()));
}

#[test]
fn drop_is_prompt_with_clients_still_connected() {
    for mode in all_modes() {
        let server = Hostile::start(mode);
        // One client mid-request and one idle, neither of them reading.
        let mut busy = connect(&server);
        let _idle = connect(&server);
        send(&mut busy, GET);
        thread::sleep(Duration::from_millis(30));
        let started = Instant::now();
        drop(server);
        let took = started.elapsed();
        assert!(
            took < Duration::from_secs(1),
            "{} took {took:?} to stop",
            mode.name()
        );
    }
}
