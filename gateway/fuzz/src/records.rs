//! The stored record decoders (`store::decode`): every record family kept in the metadata
//! database, decoded from arbitrary bytes (a damaged or foreign database file must be an error,
//! never a panic or an allocation bomb). The first input byte picks the record type.
//!
//! Checked beyond "no panic": a record that decodes, encoded again, decodes to the same record.

use std::fmt::Debug;

use lakegate::store::{
    BucketInfo, CurrentEntry, DefaultRetention, ObjectData, ObjectMeta, ObjectVersion, PartInfo,
    UploadInfo, decode, encode,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

fn round_trip<T: Serialize + DeserializeOwned + PartialEq + Debug>(bytes: &[u8]) {
    let Ok(record) = decode::<T>(bytes) else {
        return;
    };
    let again: T = decode(&encode(&record)).expect("an encoded record does not decode");
    assert_eq!(record, again, "a record changes through encode and decode");
}

/// Runs one input (what libFuzzer hands the `records` binary).
pub fn run(data: &[u8]) {
    let Some((&which, bytes)) = data.split_first() else {
        return;
    };
    match which % 9 {
        0 => round_trip::<BucketInfo>(bytes),
        1 => round_trip::<ObjectVersion>(bytes),
        2 => round_trip::<CurrentEntry>(bytes),
        3 => round_trip::<UploadInfo>(bytes),
        4 => round_trip::<PartInfo>(bytes),
        5 => round_trip::<ObjectMeta>(bytes),
        6 => round_trip::<ObjectData>(bytes),
        7 => round_trip::<DefaultRetention>(bytes),
        // `system` table values.
        _ => {
            round_trip::<String>(bytes);
            round_trip::<Vec<u8>>(bytes);
            round_trip::<u64>(bytes);
        }
    }
}
