//! The `hone-sim` binary prints its address first and serves it.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};

#[test]
fn binary_prints_its_address_and_serves() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hone-sim"))
        .args([
            "--port",
            "0",
            "--latency-ms",
            "5",
            "--jitter-ms",
            "2",
            "--seed",
            "3",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("binary starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("first line");
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("unexpected first line: {line}"));
    let authority = url
        .strip_prefix("http://")
        .and_then(|u| u.strip_suffix("/v1"))
        .expect("http://HOST:PORT/v1");
    assert!(authority.starts_with("127.0.0.1:"));
    let mut s = std::net::TcpStream::connect(authority).expect("connect");
    s.write_all(b"GET /v1/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .expect("write");
    let mut text = String::new();
    s.read_to_string(&mut text).expect("read");
    let _ = child.kill();
    let _ = child.wait();
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains("\"object\":\"list\""), "{text}");
}
