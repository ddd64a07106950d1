//! End-to-end checks of the built-in target server over plain std sockets.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use rwg::serve::{start, Delay, ServeConfig, Stall};

fn connect(addr: std::net::SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s
}

/// Reads one response (head + Content-Length body); returns (status, head, body).
fn read_response(s: &mut TcpStream) -> (u16, String, Vec<u8>) {
    let mut data = Vec::new();
    let mut byte = [0u8; 1];
    while !data.ends_with(b"\r\n\r\n") {
        assert_eq!(s.read(&mut byte).unwrap(), 1, "eof inside head: {data:?}");
        data.push(byte[0]);
    }
    let head = String::from_utf8(data).unwrap();
    let status = head[9..12].parse().unwrap();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .unwrap()
        .parse()
        .unwrap();
    let mut body = vec![0; len];
    s.read_exact(&mut body).unwrap();
    (status, head, body)
}

fn assert_closed(s: &mut TcpStream) {
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty(), "unexpected bytes {rest:?}");
}

const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";

#[test]
fn keep_alive_and_pipelining() {
    let srv = start(ServeConfig {
        body_bytes: 30,
        ..Default::default()
    })
    .unwrap();
    let mut s = connect(srv.addr);
    for _ in 0..2 {
        s.write_all(GET).unwrap();
        let (status, _, body) = read_response(&mut s);
        assert_eq!(status, 200);
        assert_eq!(body.len(), 30);
        assert!(body.starts_with(b"Hello world\n"));
    }
    // Two pipelined requests, one with a body, split oddly across writes.
    let two = b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\n\r\n";
    s.write_all(&two[..20]).unwrap();
    std::thread::sleep(Duration::from_millis(20));
    s.write_all(&two[20..]).unwrap();
    assert_eq!(read_response(&mut s).0, 200);
    assert_eq!(read_response(&mut s).0, 200);
    srv.stop();
}

#[test]
fn status_mix_all_503() {
    let srv = start(ServeConfig {
        status_mix: vec![(503, 1.0)],
        ..Default::default()
    })
    .unwrap();
    let mut s = connect(srv.addr);
    for _ in 0..3 {
        s.write_all(GET).unwrap();
        let (status, head, _) = read_response(&mut s);
        assert_eq!(status, 503, "{head}");
    }
}

#[test]
fn close_every_two() {
    let srv = start(ServeConfig {
        close_every: Some(2),
        ..Default::default()
    })
    .unwrap();
    let mut s = connect(srv.addr);
    s.write_all(GET).unwrap();
    let (_, head, _) = read_response(&mut s);
    assert!(!head.contains("Connection: close"));
    s.write_all(GET).unwrap();
    let (status, head, _) = read_response(&mut s);
    assert_eq!(status, 200);
    assert!(head.contains("Connection: close"), "{head}");
    assert_closed(&mut s);
}

#[test]
fn malformed_and_bad_requests() {
    let srv = start(ServeConfig {
        malformed: true,
        ..Default::default()
    })
    .unwrap();
    let mut s = connect(srv.addr);
    s.write_all(GET).unwrap();
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).unwrap();
    assert!(!rest.is_empty() && !rest.starts_with(b"HTTP/"), "{rest:?}");

    let srv = start(ServeConfig::default()).unwrap();
    let mut s = connect(srv.addr);
    s.write_all(b"\x00\x01garbage\r\n\r\n").unwrap();
    assert_eq!(read_response(&mut s).0, 400);
    assert_closed(&mut s);
}

#[test]
fn fixed_delay_is_never_short() {
    let cfg = ServeConfig {
        delay: Delay::Fixed { ns: 20_000_000 },
        ..Default::default()
    };
    let srv = start(cfg).unwrap();
    let mut s = connect(srv.addr);
    for _ in 0..3 {
        let t0 = Instant::now();
        s.write_all(GET).unwrap();
        assert_eq!(read_response(&mut s).0, 200);
        let took = t0.elapsed();
        assert!(
            took >= Duration::from_millis(20) && took < Duration::from_millis(500),
            "{took:?}"
        );
    }
}

/// Delay rules by path prefix: the longest prefix wins, the query is part
/// of the path, other paths get the bare delay.
#[test]
fn delays_follow_the_path() {
    let ms = |n: u64| Delay::Fixed { ns: n * 1_000_000 };
    let srv = start(ServeConfig {
        delay: Delay::None,
        path_delays: vec![("/slow".into(), ms(60)), ("/slow/not".into(), ms(0))],
        ..Default::default()
    })
    .unwrap();
    let mut s = connect(srv.addr);
    for (path, slow) in [
        ("/slow", true),
        ("/slower?x=1", true),
        ("/slow/not", false),
        ("/", false),
        ("/fast/slow", false),
    ] {
        let t0 = Instant::now();
        write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        assert_eq!(read_response(&mut s).0, 200);
        let took = t0.elapsed();
        assert_eq!(took >= Duration::from_millis(60), slow, "{path}: {took:?}");
    }
}

/// `capture`: every request exactly as sent, pipelined ones and a body
/// split across writes included, and written before its answer.
#[test]
fn capture_keeps_every_request_as_received() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("capture.bin");
    let srv = start(ServeConfig {
        capture: Some(file.clone()),
        ..Default::default()
    })
    .unwrap();
    let mut s = connect(srv.addr);
    let post = b"POST /p?q=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789";
    s.write_all(&[GET, GET].concat()).unwrap();
    assert_eq!(read_response(&mut s).0, 200);
    assert_eq!(read_response(&mut s).0, 200);
    s.write_all(&post[..50]).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    s.write_all(&post[50..]).unwrap();
    assert_eq!(read_response(&mut s).0, 200);
    let seen = std::fs::read(&file).unwrap();
    assert_eq!(seen, [GET, GET, &post[..]].concat());
    let bad = ServeConfig {
        capture: Some(dir.path().join("no/such/dir/capture.bin")),
        ..Default::default()
    };
    let err = start(bad)
        .err()
        .expect("an unwritable capture file")
        .to_string();
    assert!(err.contains("no/such/dir"), "{err}");
}

#[test]
fn stall_holds_responses_until_window_ends() {
    let t0 = Instant::now(); // no later than the server's start
    let stall = Stall {
        every_ns: 400_000_000,
        for_ns: 200_000_000,
    };
    let srv = start(ServeConfig {
        stall: Some(stall),
        ..Default::default()
    })
    .unwrap();
    let mut s = connect(srv.addr);
    std::thread::sleep(Duration::from_millis(10).saturating_sub(t0.elapsed()));
    let sent = t0.elapsed();
    assert!(
        sent < Duration::from_millis(100),
        "setup too slow to test: {sent:?}"
    );
    s.write_all(GET).unwrap();
    assert_eq!(read_response(&mut s).0, 200);
    let done = t0.elapsed();
    assert!(
        done >= Duration::from_millis(200) && done < Duration::from_millis(390),
        "{done:?}"
    );
    // Outside the window, responses are immediate.
    let t1 = Instant::now();
    s.write_all(GET).unwrap();
    assert_eq!(read_response(&mut s).0, 200);
    assert!(t1.elapsed() < Duration::from_millis(100));
}

#[test]
fn several_threads_and_stop() {
    let srv = start(ServeConfig {
        cpus: vec![0, 1],
        ..Default::default()
    })
    .unwrap();
    let addr = srv.addr;
    let mut conns: Vec<_> = (0..8).map(|_| connect(addr)).collect();
    for s in &mut conns {
        s.write_all(GET).unwrap();
        assert_eq!(read_response(s).0, 200);
    }
    let t = Instant::now();
    srv.stop();
    assert!(t.elapsed() < Duration::from_secs(1));
    assert!(
        TcpStream::connect(addr).is_err(),
        "still listening after stop"
    );
}

#[test]
fn bad_config_is_rejected() {
    assert!(start(ServeConfig {
        status_mix: vec![(503, 2.0)],
        ..Default::default()
    })
    .is_err());
    assert!(start(ServeConfig {
        cpus: vec![100_000],
        ..Default::default()
    })
    .is_err());
}

#[test]
fn status_mix_fraction_over_many_pipelined_requests() {
    let srv = start(ServeConfig {
        status_mix: vec![(503, 0.1)],
        ..Default::default()
    })
    .unwrap();
    let mut s = connect(srv.addr);
    let n = 2000;
    let writer = {
        let mut w = s.try_clone().unwrap();
        std::thread::spawn(move || w.write_all(&GET.repeat(n)).unwrap())
    };
    let shed = (0..n).filter(|_| read_response(&mut s).0 == 503).count();
    writer.join().unwrap();
    assert!((120..=280).contains(&shed), "{shed} of {n} were 503");
}
