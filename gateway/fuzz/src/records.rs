//! The stored record decoders (`store::schema::decode_record`): every record type kept in the
//! metadata database, decoded from arbitrary bytes (a damaged or foreign database file must be
//! an error, never a panic or an allocation bomb). The first input byte picks the record type
//! (`RecordKind::ALL`, modulo its length); the nested types (`ObjectMeta`, `ObjectData`,
//! `DefaultRetention`, ...) are decoded inside them.
//!
//! Checked beyond "no panic": a record that decodes, encoded again, decodes to the same record.

use lakegate::store::schema::{RecordKind, decode_record};

/// Runs one input (what libFuzzer hands the `records` binary).
pub fn run(data: &[u8]) {
    let Some((&which, bytes)) = data.split_first() else {
        return;
    };
    let kind = RecordKind::ALL[usize::from(which) % RecordKind::ALL.len()];
    let Ok(record) = decode_record(kind, bytes) else {
        return;
    };
    let encoded = record.encode().expect("a decoded record does not encode");
    let again = decode_record(kind, &encoded).expect("an encoded record does not decode");
    assert_eq!(record, again, "a record changes through encode and decode");
}
