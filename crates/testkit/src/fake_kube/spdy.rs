//! SPDY/3.1 framing, the server's half of what kubectl before 1.30 speaks for `kubectl exec`
//! (SPDY Protocol Draft 3, chromium.org's spdy-protocol-draft3; the `SPDY/3.1` upgrade token
//! is Kubernetes' name for it, moby/spdystream the client's implementation). A frame is an
//! 8-byte head and a body: a control frame starts with the control bit, version 3 and its type,
//! a data frame with its 31-bit stream id; then 8 bits of flags (`FIN` 0x01) and a 24-bit
//! length (§2.2). SYN_STREAM (§2.6.1: stream id, associated stream id, priority, slot) and
//! SYN_REPLY (§2.6.2: stream id) carry a name/value header block (§2.6.10: a 32-bit count, then
//! each name and value with a 32-bit length), zlib-compressed with the spec's dictionary
//! (§2.6.10.1) in one stream per direction for the whole connection, each block ending on a
//! sync flush. RST_STREAM, PING and GOAWAY are decoded; SETTINGS, WINDOW_UPDATE and the rest
//! are read and not acted on (the fake's replies stay far below the initial 64 KiB window).

use std::sync::OnceLock;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};
use tokio::io::{AsyncRead, AsyncReadExt};

/// The protocol version in every control frame.
pub const VERSION: u16 = 3;
/// The `FIN` flag: the sender's last frame on the stream.
pub const FLAG_FIN: u8 = 0x01;
const CONTROL_BIT: u32 = 0x8000_0000;
const STREAM_ID_MASK: u32 = 0x7fff_ffff;
const SYN_STREAM: u16 = 1;
const SYN_REPLY: u16 = 2;
const RST_STREAM: u16 = 3;
const PING: u16 = 6;
const GOAWAY: u16 = 7;
const HEADERS: u16 = 8;

/// Header names (lower case, as SPDY/3 requires) and values, in the block's order.
pub type Headers = Vec<(String, String)>;

/// A malformed frame or header block, or the connection failing.
#[derive(Debug, thiserror::Error)]
pub enum SpdyError {
    /// Reading from the connection failed.
    #[error("reading a SPDY frame: {0}")]
    Io(#[from] std::io::Error),
    /// The bytes are not what SPDY/3 allows.
    #[error("malformed SPDY frame: {0}")]
    Malformed(String),
    /// A header block does not inflate with the SPDY/3 dictionary.
    #[error("SPDY header block: {0}")]
    Compression(String),
}

/// One frame, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// Opens a stream with its headers (§2.6.1).
    SynStream {
        stream_id: u32,
        headers: Headers,
        fin: bool,
    },
    /// Accepts a stream opened by the peer (§2.6.2).
    SynReply {
        stream_id: u32,
        headers: Headers,
        fin: bool,
    },
    /// Aborts a stream with a status code, e.g. 5 CANCEL (§2.6.3).
    RstStream { stream_id: u32, status: u32 },
    /// A ping the receiver echoes (§2.6.5).
    Ping { id: u32 },
    /// The sender closes the session (§2.6.6).
    GoAway {
        last_good_stream_id: u32,
        status: u32,
    },
    /// Bytes on a stream (§2.2.2).
    Data {
        stream_id: u32,
        fin: bool,
        payload: Vec<u8>,
    },
    /// A control frame the fake does not act on (SETTINGS, WINDOW_UPDATE, HEADERS, …).
    Ignored { kind: u16 },
}

/// The words of the SPDY/3 header dictionary (§2.6.10.1), each preceded by its 32-bit length.
const DICTIONARY_WORDS: [&str; 65] = [
    "options",
    "head",
    "post",
    "put",
    "delete",
    "trace",
    "accept",
    "accept-charset",
    "accept-encoding",
    "accept-language",
    "accept-ranges",
    "age",
    "allow",
    "authorization",
    "cache-control",
    "connection",
    "content-base",
    "content-encoding",
    "content-language",
    "content-length",
    "content-location",
    "content-md5",
    "content-range",
    "content-type",
    "date",
    "etag",
    "expect",
    "expires",
    "from",
    "host",
    "if-match",
    "if-modified-since",
    "if-none-match",
    "if-range",
    "if-unmodified-since",
    "last-modified",
    "location",
    "max-forwards",
    "pragma",
    "proxy-authenticate",
    "proxy-authorization",
    "range",
    "referer",
    "retry-after",
    "server",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "user-agent",
    "vary",
    "via",
    "warning",
    "www-authenticate",
    "method",
    "get",
    "status",
    "200 OK",
    "version",
    "HTTP/1.1",
    "url",
    "public",
    "set-cookie",
    "keep-alive",
    "origin",
];

/// The dictionary's unprefixed tail: status codes, reason phrases, dates, common values.
const DICTIONARY_TAIL: &str = concat!(
    "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505",
    "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request",
    "401 Unauthorized403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented",
    "503 Service Unavailable",
    "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 ",
    "Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT",
    "chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,",
    "text/plain,text/javascript,publicprivatemax-age=gzip,deflate,sdch",
    "charset=utf-8charset=iso-8859-1,utf-,*,enq=0.",
);

/// The SPDY/3 zlib dictionary (1,423 bytes).
pub fn dictionary() -> &'static [u8] {
    static DICTIONARY: OnceLock<Vec<u8>> = OnceLock::new();
    DICTIONARY.get_or_init(|| {
        let mut out = Vec::new();
        for word in DICTIONARY_WORDS {
            put_str(&mut out, word);
        }
        out.extend_from_slice(DICTIONARY_TAIL.as_bytes());
        out
    })
}

fn put_str(out: &mut Vec<u8>, text: &str) {
    out.extend((text.len() as u32).to_be_bytes());
    out.extend_from_slice(text.as_bytes());
}

/// The connection's two zlib streams: the peer's header blocks in, ours out.
pub struct HeaderCodec {
    inflate: Decompress,
    deflate: Compress,
}

impl Default for HeaderCodec {
    fn default() -> Self {
        let mut deflate = Compress::new(Compression::default(), true);
        deflate
            .set_dictionary(dictionary())
            .expect("a fresh deflate stream takes a dictionary");
        HeaderCodec {
            inflate: Decompress::new(true),
            deflate,
        }
    }
}

impl HeaderCodec {
    /// Compresses one header block, ending on a sync flush.
    pub fn encode(&mut self, headers: &Headers) -> Vec<u8> {
        let mut raw = Vec::new();
        raw.extend((headers.len() as u32).to_be_bytes());
        for (name, value) in headers {
            put_str(&mut raw, &name.to_ascii_lowercase());
            put_str(&mut raw, value);
        }
        let mut out = Vec::with_capacity(raw.len() + 64);
        let mut input = &raw[..];
        loop {
            let before = self.deflate.total_in();
            self.deflate
                .compress_vec(input, &mut out, FlushCompress::Sync)
                .expect("deflate of an in-memory block");
            input = &input[(self.deflate.total_in() - before) as usize..];
            if input.is_empty() && out.len() < out.capacity() {
                return out;
            }
            out.reserve(out.capacity().max(64));
        }
    }

    /// Inflates and parses one header block, giving the dictionary when zlib asks for it.
    pub fn decode(&mut self, block: &[u8]) -> Result<Headers, SpdyError> {
        let raw = self.inflate_block(block)?;
        parse_header_block(&raw)
    }

    fn inflate_block(&mut self, block: &[u8]) -> Result<Vec<u8>, SpdyError> {
        let mut out = Vec::with_capacity(block.len() * 4 + 64);
        let mut input = block;
        loop {
            let (in_before, out_before) = (self.inflate.total_in(), self.inflate.total_out());
            let result = self
                .inflate
                .decompress_vec(input, &mut out, FlushDecompress::Sync);
            input = &input[(self.inflate.total_in() - in_before) as usize..];
            let progressed = self.inflate.total_out() > out_before;
            match result {
                Err(e) if e.needs_dictionary().is_some() => {
                    self.inflate
                        .set_dictionary(dictionary())
                        .map_err(|e| SpdyError::Compression(e.to_string()))?;
                }
                Err(e) => return Err(SpdyError::Compression(e.to_string())),
                Ok(_) if out.len() == out.capacity() => out.reserve(out.capacity()),
                Ok(_) if input.is_empty() || !progressed => return Ok(out),
                Ok(_) => {}
            }
        }
    }
}

/// Takes `n` bytes off the front of `raw`.
fn take<'a>(raw: &mut &'a [u8], n: usize, what: &str) -> Result<&'a [u8], SpdyError> {
    if raw.len() < n {
        return Err(SpdyError::Malformed(format!(
            "{what}: {n} bytes needed, {} left",
            raw.len()
        )));
    }
    let (head, rest) = raw.split_at(n);
    *raw = rest;
    Ok(head)
}

fn take_u32(raw: &mut &[u8], what: &str) -> Result<u32, SpdyError> {
    let bytes = take(raw, 4, what)?;
    Ok(u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
}

fn take_str(raw: &mut &[u8], what: &str) -> Result<String, SpdyError> {
    let len = take_u32(raw, what)? as usize;
    let bytes = take(raw, len, what)?;
    String::from_utf8(bytes.to_vec())
        .map_err(|_| SpdyError::Malformed(format!("{what}: not UTF-8")))
}

fn parse_header_block(mut raw: &[u8]) -> Result<Headers, SpdyError> {
    let count = take_u32(&mut raw, "header count")?;
    (0..count)
        .map(|_| {
            Ok((
                take_str(&mut raw, "header name")?,
                take_str(&mut raw, "header value")?,
            ))
        })
        .collect()
}

fn control_head(kind: u16, flags: u8, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + len);
    out.extend((CONTROL_BIT | (u32::from(VERSION) << 16) | u32::from(kind)).to_be_bytes());
    out.push(flags);
    out.extend(&(len as u32).to_be_bytes()[1..]);
    out
}

fn fin_flag(fin: bool) -> u8 {
    if fin { FLAG_FIN } else { 0 }
}

impl Frame {
    /// The frame's bytes; header blocks go through `codec`'s outgoing zlib stream.
    pub fn encode(&self, codec: &mut HeaderCodec) -> Vec<u8> {
        let (kind, flags, body) = match self {
            Frame::SynStream {
                stream_id,
                headers,
                fin,
            } => {
                let mut body = stream_id.to_be_bytes().to_vec();
                body.extend([0; 6]); // associated stream, priority, slot
                body.extend(codec.encode(headers));
                (SYN_STREAM, fin_flag(*fin), body)
            }
            Frame::SynReply {
                stream_id,
                headers,
                fin,
            } => {
                let mut body = stream_id.to_be_bytes().to_vec();
                body.extend(codec.encode(headers));
                (SYN_REPLY, fin_flag(*fin), body)
            }
            Frame::RstStream { stream_id, status } => (RST_STREAM, 0, pair(*stream_id, *status)),
            Frame::Ping { id } => (PING, 0, id.to_be_bytes().to_vec()),
            Frame::GoAway {
                last_good_stream_id,
                status,
            } => (GOAWAY, 0, pair(*last_good_stream_id, *status)),
            Frame::Data {
                stream_id,
                fin,
                payload,
            } => {
                let mut out = (stream_id & STREAM_ID_MASK).to_be_bytes().to_vec();
                out.push(fin_flag(*fin));
                out.extend(&(payload.len() as u32).to_be_bytes()[1..]);
                out.extend_from_slice(payload);
                return out;
            }
            Frame::Ignored { kind } => (*kind, 0, Vec::new()),
        };
        let mut out = control_head(kind, flags, body.len());
        out.extend(body);
        out
    }

    /// Decodes a frame from its 8-byte head and its body.
    pub fn decode(head: [u8; 8], body: &[u8], codec: &mut HeaderCodec) -> Result<Frame, SpdyError> {
        let first = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
        let fin = head[4] & FLAG_FIN != 0;
        if first & CONTROL_BIT == 0 {
            return Ok(Frame::Data {
                stream_id: first & STREAM_ID_MASK,
                fin,
                payload: body.to_vec(),
            });
        }
        let version = ((first >> 16) & 0x7fff) as u16;
        if version != VERSION {
            return Err(SpdyError::Malformed(format!(
                "version {version}, not {VERSION}"
            )));
        }
        let mut body = body;
        let kind = (first & 0xffff) as u16;
        let stream_id =
            |body: &mut &[u8]| Ok::<_, SpdyError>(take_u32(body, "stream id")? & STREAM_ID_MASK);
        Ok(match kind {
            SYN_STREAM => {
                let stream_id = stream_id(&mut body)?;
                take(&mut body, 6, "SYN_STREAM priority")?;
                Frame::SynStream {
                    stream_id,
                    headers: codec.decode(body)?,
                    fin,
                }
            }
            SYN_REPLY => Frame::SynReply {
                stream_id: stream_id(&mut body)?,
                headers: codec.decode(body)?,
                fin,
            },
            RST_STREAM => Frame::RstStream {
                stream_id: stream_id(&mut body)?,
                status: take_u32(&mut body, "RST_STREAM status")?,
            },
            PING => Frame::Ping {
                id: take_u32(&mut body, "PING id")?,
            },
            GOAWAY => Frame::GoAway {
                last_good_stream_id: stream_id(&mut body)?,
                status: take_u32(&mut body, "GOAWAY status").unwrap_or(0),
            },
            HEADERS => {
                // Inflated to keep the zlib stream in step; the fake acts on none.
                stream_id(&mut body)?;
                codec.decode(body)?;
                Frame::Ignored { kind }
            }
            kind => Frame::Ignored { kind },
        })
    }
}

fn pair(a: u32, b: u32) -> Vec<u8> {
    [a.to_be_bytes(), b.to_be_bytes()].concat()
}

/// Reads the next frame; `None` when the peer has closed the connection between frames.
pub async fn read_frame<R: AsyncRead + Unpin>(
    io: &mut R,
    codec: &mut HeaderCodec,
) -> Result<Option<Frame>, SpdyError> {
    let mut head = [0u8; 8];
    match io.read_exact(&mut head).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    let len = u32::from_be_bytes([0, head[5], head[6], head[7]]) as usize;
    let mut body = vec![0u8; len];
    io.read_exact(&mut body).await?;
    Frame::decode(head, &body, codec).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    fn split(frame: &[u8]) -> ([u8; 8], &[u8]) {
        (frame[..8].try_into().unwrap(), &frame[8..])
    }

    /// The first three frames Debian's kubectl 1.20 (moby/spdystream) sent for `kubectl exec
    /// POD -- aws sts get-caller-identity`, captured on the wire: the error, stdout and stderr
    /// streams, their header blocks in one zlib stream whose first block names the dictionary
    /// by its Adler-32 (0xe3c6a7c2, after the 0x78f9 zlib header).
    const KUBECTL_1_20_SYN_STREAMS: [&str; 3] = [
        "80030001000000290000000100000000000078f9e3c6a7c26260606004a7b392a2d4c45c6851c29a0a0a6800000000ffff",
        "800300010000001900000003000000000000c22ac5565c92925f5a02000000ffff",
        "800300010000001500000005000000000000c229975a5404000000ffff",
    ];

    #[test]
    fn kubectls_syn_streams_decode_to_the_stream_types_it_opens() {
        let mut codec = HeaderCodec::default();
        let frames: Vec<Frame> = KUBECTL_1_20_SYN_STREAMS
            .iter()
            .map(|text| {
                let bytes = hex(text);
                let (head, body) = split(&bytes);
                Frame::decode(head, body, &mut codec).unwrap()
            })
            .collect();
        let expected =
            [(1, "error"), (3, "stdout"), (5, "stderr")].map(|(id, kind)| Frame::SynStream {
                stream_id: id,
                headers: vec![("streamtype".into(), kind.into())],
                fin: false,
            });
        assert_eq!(frames, expected);
    }

    #[test]
    fn the_dictionary_is_the_one_kubectl_names() {
        assert_eq!(dictionary().len(), 1423);
        let mut deflate = Compress::new(Compression::default(), true);
        // What the zlib stream above carries as its DICTID.
        assert_eq!(deflate.set_dictionary(dictionary()).unwrap(), 0xe3c6_a7c2);
    }

    #[test]
    fn header_blocks_round_trip_through_one_zlib_stream_per_direction() {
        let (mut client, mut server) = (HeaderCodec::default(), HeaderCodec::default());
        for kind in ["error", "stdout", "stderr"] {
            let frame = Frame::SynStream {
                stream_id: 7,
                headers: vec![("streamType".into(), kind.into())],
                fin: true,
            };
            let bytes = frame.encode(&mut client);
            assert_eq!(&bytes[..5], &[0x80, 0x03, 0x00, 0x01, FLAG_FIN]);
            let (head, body) = split(&bytes);
            let Frame::SynStream { headers, .. } = Frame::decode(head, body, &mut server).unwrap()
            else {
                panic!("not a SYN_STREAM");
            };
            // Names travel in lower case (§2.6.10).
            assert_eq!(headers, vec![("streamtype".to_string(), kind.to_string())]);
        }
    }

    #[test]
    fn data_and_control_frames_have_the_draft_3_layout() {
        let mut codec = HeaderCodec::default();
        let data = Frame::Data {
            stream_id: 3,
            fin: true,
            payload: b"hi".to_vec(),
        };
        assert_eq!(data.encode(&mut codec), hex("00000003010000026869"));
        let reset = hex("80030003000000080000000100000005");
        let (head, body) = split(&reset);
        assert_eq!(
            Frame::decode(head, body, &mut codec).unwrap(),
            Frame::RstStream {
                stream_id: 1,
                status: 5
            }
        );
        let ping = Frame::Ping { id: 2 }.encode(&mut codec);
        assert_eq!(ping, hex("800300060000000400000002"));
        let spdy2 = hex("8002000600000004");
        let (head, _) = split(&spdy2);
        assert!(matches!(
            Frame::decode(head, &[0, 0, 0, 2], &mut codec),
            Err(SpdyError::Malformed(_))
        ));
    }

    #[tokio::test]
    async fn frames_are_read_one_at_a_time_until_the_peer_closes() {
        let mut codec = HeaderCodec::default();
        let mut wire = hex("80030007000000080000000000000000");
        wire.extend(hex("8003000900000008000000000000ffff"));
        let mut reader = &wire[..];
        assert_eq!(
            read_frame(&mut reader, &mut codec).await.unwrap(),
            Some(Frame::GoAway {
                last_good_stream_id: 0,
                status: 0
            })
        );
        assert_eq!(
            read_frame(&mut reader, &mut codec).await.unwrap(),
            Some(Frame::Ignored { kind: 9 })
        );
        assert_eq!(read_frame(&mut reader, &mut codec).await.unwrap(), None);
    }
}
