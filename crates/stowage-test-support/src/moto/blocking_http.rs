//! Just enough blocking HTTP/1.1 to talk to moto's own API on loopback.
//!
//! Blocking on purpose: [`super::Moto`] must work from plain `#[test]`s and from inside a
//! tokio runtime alike, and a std socket needs no runtime. moto answers these small calls
//! with a `Content-Length` body and closes the connection, so reading to the end is enough.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// A reset of a busy moto on a loaded 2-core machine can take a while.
const READ_WRITE_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug)]
pub(crate) struct Response {
    pub status: u16,
    pub body: String,
}

pub(crate) fn send(
    address: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> io::Result<Response> {
    let mut stream = TcpStream::connect_timeout(&address, CONNECT_TIMEOUT)?;
    stream.set_read_timeout(Some(READ_WRITE_TIMEOUT))?;
    stream.set_write_timeout(Some(READ_WRITE_TIMEOUT))?;

    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes())?;
    stream.write_all(body)?;

    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> io::Result<Response> {
    let text = String::from_utf8_lossy(raw);
    let malformed = || io::Error::new(io::ErrorKind::InvalidData, "malformed HTTP response");
    let (head, body) = text.split_once("\r\n\r\n").ok_or_else(malformed)?;
    let status = head.split_whitespace().nth(1).and_then(|code| code.parse().ok()).ok_or_else(malformed)?;
    Ok(Response { status, body: body.to_owned() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status_and_body() {
        let response = parse_response(b"HTTP/1.1 201 CREATED\r\nContent-Length: 2\r\n\r\nok").unwrap();
        assert_eq!(response.status, 201);
        assert_eq!(response.body, "ok");
    }

    #[test]
    fn rejects_a_response_without_a_head() {
        let error = parse_response(b"garbage").unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
    }
}
