//! HOT: the incremental decoder of HTTP/1.1 chunked bodies. It only finds
//! where the body ends (chunk data is drained, never copied), across reads
//! that may split the framing anywhere.

use crate::base::kind::ErrorKind;

/// Incremental chunked-body decoder: tells how many input bytes belong to the
/// body and whether the body ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChunkedDecoder {
    state: ChunkState,
    remaining: u64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum ChunkState {
    #[default]
    Size,
    SizeExt,
    SizeLf,
    Data,
    DataCr,
    DataLf,
    Trailer,
    TrailerLine,
    TrailerLf,
    Done,
}

impl ChunkedDecoder {
    /// Consumes bytes of `input`; returns (bytes consumed, body finished),
    /// or `ErrorKind::Protocol` for a malformed chunk.
    pub fn feed(&mut self, input: &[u8]) -> Result<(usize, bool), ErrorKind> {
        let mut i = 0;
        while i < input.len() {
            let b = input[i];
            match self.state {
                ChunkState::Size => match b {
                    b'0'..=b'9' | b'a'..=b'f' | b'A'..=b'F' => {
                        let digit = (b as char).to_digit(16).unwrap_or(0) as u64;
                        self.remaining = self
                            .remaining
                            .checked_mul(16)
                            .and_then(|r| r.checked_add(digit))
                            .ok_or(ErrorKind::Protocol)?;
                    }
                    b';' | b' ' | b'\t' => self.state = ChunkState::SizeExt,
                    b'\r' => self.state = ChunkState::SizeLf,
                    _ => return Err(ErrorKind::Protocol),
                },
                ChunkState::SizeExt => {
                    if b == b'\r' {
                        self.state = ChunkState::SizeLf;
                    }
                }
                ChunkState::SizeLf => {
                    if b != b'\n' {
                        return Err(ErrorKind::Protocol);
                    }
                    self.state = if self.remaining == 0 {
                        ChunkState::Trailer
                    } else {
                        ChunkState::Data
                    };
                }
                ChunkState::Data => {
                    let take = (self.remaining as usize).min(input.len() - i);
                    self.remaining -= take as u64;
                    i += take;
                    if self.remaining == 0 {
                        self.state = ChunkState::DataCr;
                    }
                    continue;
                }
                ChunkState::DataCr => {
                    if b != b'\r' {
                        return Err(ErrorKind::Protocol);
                    }
                    self.state = ChunkState::DataLf;
                }
                ChunkState::DataLf => {
                    if b != b'\n' {
                        return Err(ErrorKind::Protocol);
                    }
                    self.state = ChunkState::Size;
                }
                ChunkState::Trailer => {
                    self.state = if b == b'\r' {
                        ChunkState::TrailerLf
                    } else {
                        ChunkState::TrailerLine
                    };
                }
                ChunkState::TrailerLine => {
                    if b == b'\n' {
                        self.state = ChunkState::Trailer;
                    }
                }
                ChunkState::TrailerLf => {
                    if b != b'\n' {
                        return Err(ErrorKind::Protocol);
                    }
                    self.state = ChunkState::Done;
                    return Ok((i + 1, true));
                }
                ChunkState::Done => return Ok((i, true)),
            }
            i += 1;
        }
        Ok((i, self.state == ChunkState::Done))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_chunked_in_pieces() {
        let body = b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-T: 1\r\n\r\nNEXT";
        for split in 0..body.len() {
            let mut d = ChunkedDecoder::default();
            let (a, done_a) = d.feed(&body[..split]).unwrap();
            if done_a {
                assert_eq!(a, body.len() - 4, "stops at the end of the body");
                continue;
            }
            assert_eq!(a, split);
            let (b, done) = d.feed(&body[split..]).unwrap();
            assert!(done, "split {split}");
            assert_eq!(a + b, body.len() - 4);
        }
        assert!(ChunkedDecoder::default().feed(b"zz\r\n").is_err());
    }
}
