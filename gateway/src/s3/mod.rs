//! The S3 API: routing, XML, errors and one handler module per operation family.

pub mod error;
