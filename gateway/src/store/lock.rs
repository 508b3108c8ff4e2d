//! Object-lock rules (WORM): when a version may be deleted and how its retention may change.
//! Pure functions, enforced by the store inside the committing transaction.

use super::StoreError;
use super::model::*;

/// Whether `v` may be permanently deleted at `now`.
pub fn check_delete(
    v: &VersionRecord,
    now: Millis,
    bypass_governance: bool,
) -> Result<(), StoreError> {
    if v.is_delete_marker {
        return Ok(());
    }
    if v.legal_hold {
        return Err(StoreError::Locked(
            "object version is under legal hold".into(),
        ));
    }
    if let Some(r) = v.retention
        && r.retain_until > now
    {
        match r.mode {
            RetentionMode::Compliance => {
                return Err(StoreError::Locked(
                    "object version is under COMPLIANCE retention".into(),
                ));
            }
            RetentionMode::Governance if !bypass_governance => {
                return Err(StoreError::Locked(
                    "object version is under GOVERNANCE retention".into(),
                ));
            }
            RetentionMode::Governance => {}
        }
    }
    Ok(())
}

/// Whether `current` retention may be replaced by `new` at `now`.
///
/// COMPLIANCE can only be extended (same mode, later date). GOVERNANCE can be extended or turned
/// into COMPLIANCE freely; shortened, removed or weakened only with the bypass.
pub fn check_retention_change(
    current: Option<Retention>,
    new: Option<Retention>,
    now: Millis,
    bypass_governance: bool,
) -> Result<(), StoreError> {
    let Some(cur) = current.filter(|c| c.retain_until > now) else {
        return Ok(());
    };
    let extends = |n: &Retention| n.retain_until >= cur.retain_until;
    match cur.mode {
        RetentionMode::Compliance => match new {
            Some(n) if n.mode == RetentionMode::Compliance && extends(&n) => Ok(()),
            _ => Err(StoreError::Locked(
                "COMPLIANCE retention can only be extended".into(),
            )),
        },
        // Extending GOVERNANCE retention is free; any other change (shortening, removing, or
        // switching to COMPLIANCE, as AWS has it) alters the lock and needs the bypass.
        RetentionMode::Governance => match new {
            Some(n) if n.mode == RetentionMode::Governance && extends(&n) => Ok(()),
            _ if bypass_governance => Ok(()),
            _ => Err(StoreError::Locked(
                "shortening, removing or changing the mode of GOVERNANCE retention requires x-amz-bypass-governance-retention".into(),
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ret(mode: RetentionMode, until: Millis) -> Option<Retention> {
        Some(Retention {
            mode,
            retain_until: until,
        })
    }

    #[test]
    fn compliance_only_extends() {
        let c = ret(RetentionMode::Compliance, 100);
        assert!(check_retention_change(c, ret(RetentionMode::Compliance, 200), 0, false).is_ok());
        assert!(check_retention_change(c, ret(RetentionMode::Compliance, 50), 0, true).is_err());
        assert!(check_retention_change(c, ret(RetentionMode::Governance, 200), 0, true).is_err());
        assert!(check_retention_change(c, None, 0, true).is_err());
        // Expired retention no longer binds.
        assert!(check_retention_change(c, None, 101, false).is_ok());
    }

    #[test]
    fn governance_needs_bypass_to_shorten() {
        let g = ret(RetentionMode::Governance, 100);
        assert!(check_retention_change(g, ret(RetentionMode::Governance, 200), 0, false).is_ok());
        assert!(check_retention_change(g, ret(RetentionMode::Compliance, 200), 0, false).is_err());
        assert!(check_retention_change(g, ret(RetentionMode::Compliance, 200), 0, true).is_ok());
        assert!(check_retention_change(g, ret(RetentionMode::Governance, 50), 0, false).is_err());
        assert!(check_retention_change(g, None, 0, false).is_err());
        assert!(check_retention_change(g, None, 0, true).is_ok());
    }

    #[test]
    fn deletes_respect_holds_and_retention() {
        let mut v = VersionRecord {
            version_id: "v".into(),
            seq: 1,
            is_delete_marker: false,
            last_modified: 0,
            size: 0,
            etag: String::new(),
            data: ObjectData::empty(),
            meta: ObjectMeta::default(),
            checksum: None,
            parts: vec![],
            tags: vec![],
            retention: ret(RetentionMode::Governance, 100),
            legal_hold: false,
            owner: None,
            acl: None,
            encryption: None,
        };
        assert!(check_delete(&v, 0, false).is_err());
        assert!(check_delete(&v, 0, true).is_ok());
        assert!(check_delete(&v, 100, false).is_ok());
        v.legal_hold = true;
        assert!(check_delete(&v, 1000, true).is_err());
        v.legal_hold = false;
        v.retention = ret(RetentionMode::Compliance, 100);
        assert!(check_delete(&v, 0, true).is_err());
    }
}
