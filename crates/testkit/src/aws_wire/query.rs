//! The few pieces of the AWS query protocol (STS, IAM) that the fakes need: form values encoded
//! and decoded as `application/x-www-form-urlencoded`, text pulled out of the XML answers by
//! tag, and STS's XML error answer. Enough for the fakes' own requests and for reading moto's
//! answers; not an XML parser.

use std::collections::HashMap;

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::new_id;

/// `application/x-www-form-urlencoded` value encoding.
pub fn form_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Decodes one form component (`+` is a space, `%XX` a byte); invalid escapes are kept as written.
pub fn form_decode(component: &str) -> String {
    let bytes = component.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match u8::from_str_radix(&component[i + 1..i + 3], 16) {
                Ok(b) => {
                    out.push(b);
                    i += 2;
                }
                Err(_) => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A form body (or query string) as name → value; the last of repeated names wins.
pub fn parse_form(body: &str) -> HashMap<String, String> {
    parse_form_all(body).into_iter().collect()
}

/// A form body (or query string) as (name, value) pairs in order, repeated names kept.
pub fn parse_form_all(body: &str) -> Vec<(String, String)> {
    body.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (form_decode(name), form_decode(value))
        })
        .collect()
}

/// The text of the first `<tag>…</tag>`, XML entities decoded.
pub fn xml_text(xml: &str, tag: &str) -> Option<String> {
    xml_texts(xml, tag).into_iter().next()
}

/// The texts of every `<tag>…</tag>`, in order, XML entities decoded.
pub fn xml_texts(xml: &str, tag: &str) -> Vec<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let mut found = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find(&open).map(|s| s + open.len()) {
        let Some(len) = rest[start..].find(&close) else {
            break;
        };
        found.push(xml_unescape(&rest[start..start + len]));
        rest = &rest[start + len + close.len()..];
    }
    found
}

fn xml_unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// Escapes text for an XML element.
pub fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// An STS (query protocol) error: HTTP 400 with the XML `ErrorResponse`.
pub fn sts_error(code: &str, message: &str) -> Response {
    error_response(
        "https://sts.amazonaws.com/doc/2011-06-15/",
        StatusCode::BAD_REQUEST,
        code,
        message,
    )
}

/// IAM's refusal of `action` (query protocol): HTTP 403, code `AccessDenied`, the message IAM
/// writes ("User: ARN is not authorized to perform: iam:ACTION on resource: …").
pub fn iam_access_denied(caller_arn: &str, action: &str, resource: &str) -> Response {
    error_response(
        "https://iam.amazonaws.com/doc/2010-05-08/",
        StatusCode::FORBIDDEN,
        "AccessDenied",
        &format!(
            "User: {caller_arn} is not authorized to perform: iam:{action} on resource: {resource}"
        ),
    )
}

/// A query-protocol error: the XML `ErrorResponse` of the API's namespace `xmlns`.
fn error_response(xmlns: &str, status: StatusCode, code: &str, message: &str) -> Response {
    let xml = format!(
        "<ErrorResponse xmlns=\"{xmlns}\"><Error><Type>Sender</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>{}</RequestId></ErrorResponse>",
        xml_escape(code),
        xml_escape(message),
        new_id()
    );
    (status, [(header::CONTENT_TYPE, "text/xml")], xml).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_round_trip() {
        let value = "arn:aws:iam::1:role/a b+c%/é";
        let form = parse_form(&format!("Action=X&Value={}&Empty=", form_encode(value)));
        assert_eq!(form["Value"], value);
        assert_eq!(form["Action"], "X");
        assert_eq!(form["Empty"], "");
        assert_eq!(form_decode("a+b%2"), "a b%2");
        assert_eq!(form_decode("%zz%41"), "%zzA");
    }

    #[test]
    fn reads_xml_texts() {
        let xml = "<R><ClientIDList><member>a</member><member>b&amp;c</member></ClientIDList><Code>X</Code></R>";
        assert_eq!(xml_texts(xml, "member"), vec!["a", "b&c"]);
        assert_eq!(xml_text(xml, "Code").as_deref(), Some("X"));
        assert_eq!(xml_text(xml, "Nope"), None);
        assert_eq!(xml_escape("<a&\">"), "&lt;a&amp;&quot;&gt;");
    }
}
