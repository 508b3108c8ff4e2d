//! What browsers send without a signature of the request itself: POST Object policies (the
//! base64 JSON document and the form fields it is checked against) and CORS configurations.
//! The first input byte picks the parser.
//!
//! Checked beyond "no panic":
//! - a policy that allows the form gives a size range with `min <= max` only when the bounds
//!   were consistent (otherwise the upload is refused when streamed), and never a range wider
//!   than 5 GiB;
//! - a CORS configuration that is accepted, rendered as stored and checked again, renders the
//!   same (what Get answers is what the next Put would store).

use base64::Engine;
use lakegate::fuzzing::{cors_configuration, post_policy};

const FIVE_GIB: u64 = 5 * 1024 * 1024 * 1024;

fn policy(data: &[u8]) {
    // Fields: `name=value` lines before a NUL, the policy JSON after it.
    let (form, json) = match data.iter().position(|b| *b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (&[][..], data),
    };
    let fields: Vec<(String, String)> = String::from_utf8_lossy(form)
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let encoded = base64::engine::general_purpose::STANDARD.encode(json);
    for field in [encoded.as_str(), &String::from_utf8_lossy(json)] {
        if let Ok((_, max)) = post_policy(field, &fields, "bucket", 0) {
            assert!(max <= FIVE_GIB, "a policy widened the size limit: {max}");
        }
    }
}

fn cors(body: &[u8]) {
    let Ok(stored) = cors_configuration(body) else {
        return;
    };
    let again =
        cors_configuration(stored.as_bytes()).expect("a stored CORS configuration is refused");
    assert_eq!(
        stored, again,
        "a stored CORS configuration changes when put again"
    );
}

pub fn run(data: &[u8]) {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    match which % 2 {
        0 => policy(rest),
        _ => cors(rest),
    }
}
