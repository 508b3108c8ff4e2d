//! Integration tests for lakegate's S3 API: one binary (aws-sdk-s3 links once), one real
//! `lakegate server` process per test on a fresh temp directory.
//!
//! Run: `cargo test -p lakegate --test s3`. Set `LAKEGATE_TEST_KEEP=1` to keep test dirs
//! (each holds `data/` and `server.log`).

mod common;

mod acl;
mod audit;
mod auth;
mod buckets;
mod checksums;
mod conditional;
mod connections;
mod console;
mod encryption;
mod faults;
mod iam;
mod keys;
mod listing;
mod logging;
mod metrics;
mod multipart;
mod object_lock;
mod objects;
mod open_defaults;
mod persistence;
mod raw;
mod signed_headers;
mod strictness;
mod tagging;
mod versioning;
