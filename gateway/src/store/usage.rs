//! What a bucket holds: objects, versions, delete markers, bytes, inline versus blob, and the
//! size and version-count distributions MinIO's dashboards draw. Computed by one pass over the
//! bucket's versions in a single read snapshot (the metrics endpoints run it periodically and
//! serve the last result, as MinIO's scanner does).

use super::Store;
use super::StoreError;
use super::model::{ObjectData, VersionRecord};
use super::schema::{self, VERSIONS, decode};

/// MinIO's object size ranges (`range` label), inclusive bounds in bytes. They overlap on
/// purpose (`BETWEEN_1024B_AND_1_MB` sums three others), as in MinIO.
pub const SIZE_RANGES: [(&str, u64, u64); 11] = [
    ("LESS_THAN_1024_B", 0, 1023),
    ("BETWEEN_1024_B_AND_64_KB", 1024, 64 * 1024 - 1),
    ("BETWEEN_64_KB_AND_256_KB", 64 * 1024, 256 * 1024 - 1),
    ("BETWEEN_256_KB_AND_512_KB", 256 * 1024, 512 * 1024 - 1),
    ("BETWEEN_512_KB_AND_1_MB", 512 * 1024, 1024 * 1024 - 1),
    ("BETWEEN_1024B_AND_1_MB", 1024, 1024 * 1024 - 1),
    ("BETWEEN_1_MB_AND_10_MB", 1024 * 1024, 10 * 1024 * 1024 - 1),
    (
        "BETWEEN_10_MB_AND_64_MB",
        10 * 1024 * 1024,
        64 * 1024 * 1024 - 1,
    ),
    (
        "BETWEEN_64_MB_AND_128_MB",
        64 * 1024 * 1024,
        128 * 1024 * 1024 - 1,
    ),
    (
        "BETWEEN_128_MB_AND_512_MB",
        128 * 1024 * 1024,
        512 * 1024 * 1024 - 1,
    ),
    ("GREATER_THAN_512_MB", 512 * 1024 * 1024, u64::MAX),
];

/// MinIO's version-count ranges (`range` label): versions (delete markers included) per key;
/// `UNVERSIONED` is a key whose only version is the null version.
pub const VERSION_RANGES: [(&str, u64, u64); 7] = [
    ("UNVERSIONED", 0, 0),
    ("SINGLE_VERSION", 1, 1),
    ("BETWEEN_2_AND_10", 2, 9),
    ("BETWEEN_10_AND_100", 10, 99),
    ("BETWEEN_100_AND_1000", 100, 999),
    ("BETWEEN_1000_AND_10000", 1000, 9999),
    ("GREATER_THAN_10000", 10000, u64::MAX),
];

/// What one bucket holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BucketUsage {
    /// Keys whose latest version is an object (not a delete marker).
    pub objects: u64,
    /// Object versions (delete markers excluded), current or not.
    pub versions: u64,
    pub delete_markers: u64,
    /// Bytes of every object version (plaintext sizes).
    pub bytes: u64,
    /// Object versions whose bytes ride in their metadata record.
    pub inline_versions: u64,
    /// Object versions whose bytes are blobs.
    pub blob_versions: u64,
    /// Latest objects per [`SIZE_RANGES`] entry.
    pub sizes: [u64; SIZE_RANGES.len()],
    /// Keys per [`VERSION_RANGES`] entry.
    pub version_counts: [u64; VERSION_RANGES.len()],
    /// Versions visited (for the scanner's counters).
    pub scanned: u64,
}

impl BucketUsage {
    fn object_size(&mut self, size: u64) {
        for (i, (_, lo, hi)) in SIZE_RANGES.iter().enumerate() {
            if size >= *lo && size <= *hi {
                self.sizes[i] += 1;
            }
        }
    }

    fn key_done(&mut self, versions: u64, only_null: bool) {
        let n = if only_null { 0 } else { versions };
        if let Some(i) = VERSION_RANGES
            .iter()
            .position(|(_, lo, hi)| n >= *lo && n <= *hi)
        {
            self.version_counts[i] += 1;
        }
    }

    fn version(&mut self, v: &VersionRecord, latest: bool) {
        self.scanned += 1;
        if v.is_delete_marker {
            self.delete_markers += 1;
            return;
        }
        self.versions += 1;
        self.bytes += v.size;
        match v.data {
            ObjectData::Inline(_) => self.inline_versions += 1,
            ObjectData::Segments(_) => self.blob_versions += 1,
        }
        if latest {
            self.objects += 1;
            self.object_size(v.size);
        }
    }
}

impl Store {
    /// Counts what `bucket` holds, in one read snapshot.
    pub fn bucket_usage(&self, bucket: &str) -> Result<BucketUsage, StoreError> {
        let start = schema::bucket_prefix(bucket);
        let end = schema::bucket_end(bucket);
        self.meta.read(|r| {
            let mut usage = BucketUsage::default();
            // The key (bytes) of the versions being counted, how many, whether all are null.
            let mut current: Option<(Vec<u8>, u64, bool)> = None;
            r.for_each_in(VERSIONS, &start, &end, |k, v| {
                let key = &k[..k.len().saturating_sub(9)];
                let record: VersionRecord = decode(v)?;
                let latest = current.as_ref().is_none_or(|(c, _, _)| c.as_slice() != key);
                if latest {
                    if let Some((_, n, only_null)) = current.take() {
                        usage.key_done(n, only_null);
                    }
                    current = Some((key.to_vec(), 0, true));
                }
                if let Some((_, n, only_null)) = current.as_mut() {
                    *n += 1;
                    *only_null &= record.version_id == "null";
                }
                usage.version(&record, latest);
                Ok(())
            })?;
            if let Some((_, n, only_null)) = current {
                usage.key_done(n, only_null);
            }
            Ok(usage)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_cover_every_size_and_count() {
        for size in [
            0,
            1023,
            1024,
            65535,
            65536,
            1 << 20,
            (1 << 29) - 1,
            1 << 29,
            u64::MAX,
        ] {
            let mut u = BucketUsage::default();
            u.object_size(size);
            // Exactly one of the non-aggregate ranges (all but BETWEEN_1024B_AND_1_MB).
            let hits: u64 = u
                .sizes
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != 5)
                .map(|(_, n)| n)
                .sum();
            assert_eq!(hits, 1, "{size}");
        }
        for n in [0, 1, 2, 9, 10, 99, 100, 9999, 10000] {
            let mut u = BucketUsage::default();
            u.key_done(n, false);
            assert_eq!(u.version_counts.iter().sum::<u64>(), 1, "{n}");
        }
    }
}
