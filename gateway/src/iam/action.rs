//! The action names that policies may grant, for validating `Action`/`NotAction` values.
//!
//! A policy naming an action nobody knows (a typo like `s3:GetObjects`) is refused as malformed
//! rather than silently granting nothing. Known are: every Amazon S3 action, MinIO's `admin:`
//! and `kms:` actions (so MinIO-style policies carry over), `sts:AssumeRole`, and lakegate's own
//! `lakegate:` actions. Names compare ASCII-case-insensitively, as in AWS.

use super::wildcard::Pattern;

/// Whether `action_pattern` (e.g. `s3:GetObject`, `admin:CreateUser`, `lakegate:RunBackup`,
/// `sts:AssumeRole`) or an action pattern with wildcards (`s3:Get*`, `s3:*`, `*`) names at least
/// one known action.
pub fn is_known(action_pattern: &str) -> bool {
    if !action_pattern.contains(['*', '?']) {
        return all().any(|known| known.eq_ignore_ascii_case(action_pattern));
    }
    let pattern = Pattern::ascii_case_insensitive(action_pattern);
    all().any(|known| pattern.matches(known))
}

/// Every known action, service prefix included (for docs/tests).
pub fn all() -> impl Iterator<Item = &'static str> {
    [S3, ADMIN, KMS, STS, LAKEGATE]
        .into_iter()
        .flat_map(|actions| actions.iter().copied())
}

/// Amazon S3's actions, from the AWS Service Authorization Reference (service prefix `s3`).
const S3: &[&str] = &[
    "s3:AbortMultipartUpload",
    "s3:AllowVendedLogDeliveryForResource",
    "s3:AssociateAccessGrantsIdentityCenter",
    "s3:BypassGovernanceRetention",
    "s3:CreateAccessGrant",
    "s3:CreateAccessGrantsInstance",
    "s3:CreateAccessGrantsLocation",
    "s3:CreateAccessPoint",
    "s3:CreateAccessPointForObjectLambda",
    "s3:CreateBucket",
    "s3:CreateBucketMetadataTableConfiguration",
    "s3:CreateJob",
    "s3:CreateMultiRegionAccessPoint",
    "s3:CreateStorageLensGroup",
    "s3:DeleteAccessGrant",
    "s3:DeleteAccessGrantsInstance",
    "s3:DeleteAccessGrantsInstanceResourcePolicy",
    "s3:DeleteAccessGrantsLocation",
    "s3:DeleteAccessPoint",
    "s3:DeleteAccessPointForObjectLambda",
    "s3:DeleteAccessPointPolicy",
    "s3:DeleteAccessPointPolicyForObjectLambda",
    "s3:DeleteBucket",
    "s3:DeleteBucketMetadataTableConfiguration",
    "s3:DeleteBucketPolicy",
    "s3:DeleteBucketWebsite",
    "s3:DeleteJobTagging",
    "s3:DeleteMultiRegionAccessPoint",
    "s3:DeleteObject",
    "s3:DeleteObjectAnnotation",
    "s3:DeleteObjectTagging",
    "s3:DeleteObjectVersion",
    "s3:DeleteObjectVersionAnnotation",
    "s3:DeleteObjectVersionTagging",
    "s3:DeleteStorageLensConfiguration",
    "s3:DeleteStorageLensConfigurationTagging",
    "s3:DeleteStorageLensGroup",
    "s3:DescribeJob",
    "s3:DescribeMultiRegionAccessPointOperation",
    "s3:DissociateAccessGrantsIdentityCenter",
    "s3:GetAccelerateConfiguration",
    "s3:GetAccessGrant",
    "s3:GetAccessGrantsInstance",
    "s3:GetAccessGrantsInstanceForPrefix",
    "s3:GetAccessGrantsInstanceResourcePolicy",
    "s3:GetAccessGrantsLocation",
    "s3:GetAccessPoint",
    "s3:GetAccessPointConfigurationForObjectLambda",
    "s3:GetAccessPointForObjectLambda",
    "s3:GetAccessPointPolicy",
    "s3:GetAccessPointPolicyForObjectLambda",
    "s3:GetAccessPointPolicyStatus",
    "s3:GetAccessPointPolicyStatusForObjectLambda",
    "s3:GetAccountPublicAccessBlock",
    "s3:GetAnalyticsConfiguration",
    "s3:GetBucketAbac",
    "s3:GetBucketAcl",
    "s3:GetBucketCORS",
    "s3:GetBucketLocation",
    "s3:GetBucketLogging",
    "s3:GetBucketMetadataTableConfiguration",
    "s3:GetBucketNotification",
    "s3:GetBucketObjectLockConfiguration",
    "s3:GetBucketOwnershipControls",
    "s3:GetBucketPolicy",
    "s3:GetBucketPolicyStatus",
    "s3:GetBucketPublicAccessBlock",
    "s3:GetBucketRequestPayment",
    "s3:GetBucketTagging",
    "s3:GetBucketVersioning",
    "s3:GetBucketWebsite",
    "s3:GetDataAccess",
    "s3:GetEncryptionConfiguration",
    "s3:GetIntelligentTieringConfiguration",
    "s3:GetInventoryConfiguration",
    "s3:GetJobTagging",
    "s3:GetLifecycleConfiguration",
    "s3:GetMetricsConfiguration",
    "s3:GetMultiRegionAccessPoint",
    "s3:GetMultiRegionAccessPointPolicy",
    "s3:GetMultiRegionAccessPointPolicyStatus",
    "s3:GetMultiRegionAccessPointRoutes",
    "s3:GetObject",
    "s3:GetObjectAcl",
    "s3:GetObjectAnnotation",
    "s3:GetObjectAttributes",
    "s3:GetObjectLegalHold",
    "s3:GetObjectRetention",
    "s3:GetObjectTagging",
    "s3:GetObjectTorrent",
    "s3:GetObjectVersion",
    "s3:GetObjectVersionAcl",
    "s3:GetObjectVersionAnnotation",
    "s3:GetObjectVersionAnnotationForReplication",
    "s3:GetObjectVersionAttributes",
    "s3:GetObjectVersionForReplication",
    "s3:GetObjectVersionTagging",
    "s3:GetObjectVersionTorrent",
    "s3:GetReplicationConfiguration",
    "s3:GetStorageLensConfiguration",
    "s3:GetStorageLensConfigurationTagging",
    "s3:GetStorageLensDashboard",
    "s3:GetStorageLensGroup",
    "s3:InitiateReplication",
    "s3:ListAccessGrants",
    "s3:ListAccessGrantsInstances",
    "s3:ListAccessGrantsLocations",
    "s3:ListAccessPoints",
    "s3:ListAccessPointsForObjectLambda",
    "s3:ListAllMyBuckets",
    "s3:ListBucket",
    "s3:ListBucketMultipartUploads",
    "s3:ListBucketVersions",
    "s3:ListCallerAccessGrants",
    "s3:ListJobs",
    "s3:ListMultiRegionAccessPoints",
    "s3:ListMultipartUploadParts",
    "s3:ListObjectAnnotations",
    "s3:ListObjectVersionAnnotations",
    "s3:ListStorageLensConfigurations",
    "s3:ListStorageLensGroups",
    "s3:ListTagsForResource",
    "s3:ObjectOwnerOverrideToBucketOwner",
    "s3:PauseReplication",
    "s3:PutAccelerateConfiguration",
    "s3:PutAccessGrantsInstanceResourcePolicy",
    "s3:PutAccessPointConfigurationForObjectLambda",
    "s3:PutAccessPointPolicy",
    "s3:PutAccessPointPolicyForObjectLambda",
    "s3:PutAccessPointPublicAccessBlock",
    "s3:PutAccountPublicAccessBlock",
    "s3:PutAnalyticsConfiguration",
    "s3:PutBucketAbac",
    "s3:PutBucketAcl",
    "s3:PutBucketCORS",
    "s3:PutBucketLogging",
    "s3:PutBucketNotification",
    "s3:PutBucketObjectLockConfiguration",
    "s3:PutBucketOwnershipControls",
    "s3:PutBucketPolicy",
    "s3:PutBucketPublicAccessBlock",
    "s3:PutBucketRequestPayment",
    "s3:PutBucketTagging",
    "s3:PutBucketVersioning",
    "s3:PutBucketWebsite",
    "s3:PutEncryptionConfiguration",
    "s3:PutIntelligentTieringConfiguration",
    "s3:PutInventoryConfiguration",
    "s3:PutJobTagging",
    "s3:PutLifecycleConfiguration",
    "s3:PutMetricsConfiguration",
    "s3:PutMultiRegionAccessPointPolicy",
    "s3:PutObject",
    "s3:PutObjectAcl",
    "s3:PutObjectAnnotation",
    "s3:PutObjectLegalHold",
    "s3:PutObjectRetention",
    "s3:PutObjectTagging",
    "s3:PutObjectVersionAcl",
    "s3:PutObjectVersionAnnotation",
    "s3:PutObjectVersionTagging",
    "s3:PutReplicationConfiguration",
    "s3:PutStorageLensConfiguration",
    "s3:PutStorageLensConfigurationTagging",
    "s3:ReplicateDelete",
    "s3:ReplicateObject",
    "s3:ReplicateObjectAnnotation",
    "s3:ReplicateTags",
    "s3:RestoreObject",
    "s3:SubmitMultiRegionAccessPointRoutes",
    "s3:TagResource",
    "s3:UntagResource",
    "s3:UpdateAccessGrantsLocation",
    "s3:UpdateBucketMetadataAnnotationTableConfiguration",
    "s3:UpdateBucketMetadataInventoryTableConfiguration",
    "s3:UpdateBucketMetadataJournalTableConfiguration",
    "s3:UpdateJobPriority",
    "s3:UpdateJobStatus",
    "s3:UpdateObjectEncryption",
    "s3:UpdateStorageLensGroup",
];

/// MinIO's administration actions (`admin:*`), as MinIO's `pkg/policy` defines them, plus
/// `admin:Trace`.
const ADMIN: &[&str] = &[
    "admin:Heal",
    "admin:Decommission",
    "admin:Rebalance",
    "admin:StorageInfo",
    "admin:Prometheus",
    "admin:DataUsageInfo",
    "admin:ForceUnlock",
    "admin:TopLocksInfo",
    "admin:Profiling",
    "admin:Trace",
    "admin:ServerTrace",
    "admin:ConsoleLog",
    "admin:KMSCreateKey",
    "admin:KMSKeyStatus",
    "admin:ServerInfo",
    "admin:OBDInfo",
    "admin:LicenseInfo",
    "admin:BandwidthMonitor",
    "admin:InspectData",
    "admin:ServerUpdate",
    "admin:ServiceRestart",
    "admin:ServiceStop",
    "admin:ServiceFreeze",
    "admin:ServiceCordon",
    "admin:ConfigUpdate",
    "admin:CreateUser",
    "admin:DeleteUser",
    "admin:ListUsers",
    "admin:EnableUser",
    "admin:DisableUser",
    "admin:GetUser",
    "admin:SiteReplicationAdd",
    "admin:SiteReplicationDisable",
    "admin:SiteReplicationRemove",
    "admin:SiteReplicationResync",
    "admin:SiteReplicationInfo",
    "admin:SiteReplicationOperation",
    "admin:CreateServiceAccount",
    "admin:UpdateServiceAccount",
    "admin:RemoveServiceAccount",
    "admin:ListServiceAccounts",
    "admin:ListTemporaryAccounts",
    "admin:AddUserToGroup",
    "admin:RemoveUserFromGroup",
    "admin:GetGroup",
    "admin:ListGroups",
    "admin:EnableGroup",
    "admin:DisableGroup",
    "admin:CreatePolicy",
    "admin:DeletePolicy",
    "admin:GetPolicy",
    "admin:AttachUserOrGroupPolicy",
    "admin:UpdatePolicyAssociation",
    "admin:ListUserPolicies",
    "admin:SetBucketQuota",
    "admin:GetBucketQuota",
    "admin:SetBucketTarget",
    "admin:GetBucketTarget",
    "admin:ReplicationDiff",
    "admin:ImportBucketMetadata",
    "admin:ExportBucketMetadata",
    "admin:SetTier",
    "admin:ListTier",
    "admin:ExportIAM",
    "admin:ImportIAM",
    "admin:ListBatchJobs",
    "admin:DescribeBatchJob",
    "admin:StartBatchJob",
    "admin:CancelBatchJob",
    "admin:GenerateBatchJob",
    "admin:InventoryControl",
    "admin:ClusterInfo",
    "admin:PoolList",
    "admin:PoolInfo",
    "admin:NodeList",
    "admin:NodeInfo",
    "admin:SetInfo",
    "admin:DriveList",
    "admin:DriveInfo",
];

/// MinIO's key-management actions (`kms:*`).
const KMS: &[&str] = &[
    "kms:Status",
    "kms:API",
    "kms:Metrics",
    "kms:Version",
    "kms:CreateKey",
    "kms:DeleteKey",
    "kms:ListKeys",
    "kms:ImportKey",
    "kms:KeyStatus",
    "kms:KeyRotate",
    "kms:DescribePolicy",
    "kms:AssignPolicy",
    "kms:DeletePolicy",
    "kms:SetPolicy",
    "kms:GetPolicy",
    "kms:ListPolicies",
    "kms:DescribeIdentity",
    "kms:DescribeSelfIdentity",
    "kms:DeleteIdentity",
    "kms:ListIdentities",
    "kms:AuditLog",
    "kms:ErrorLog",
    "kms:Enable",
];

/// Security Token Service actions.
const STS: &[&str] = &["sts:AssumeRole"];

/// lakegate's own surface: policy bindings, plugins, lifecycle, backups, jobs, clock, metrics.
const LAKEGATE: &[&str] = &[
    "lakegate:ListPolicyBindings",
    "lakegate:GetPolicyBinding",
    "lakegate:PutPolicyBinding",
    "lakegate:DeletePolicyBinding",
    "lakegate:PutPlugin",
    "lakegate:GetLifecycleStatus",
    "lakegate:RunLifecycle",
    "lakegate:ListBackups",
    "lakegate:GetBackupStatus",
    "lakegate:RunBackup",
    "lakegate:RestoreBackup",
    "lakegate:ListJobs",
    "lakegate:GetJob",
    "lakegate:GetClock",
    "lakegate:SetClock",
    "lakegate:GetMetrics",
    "lakegate:GetAuditTrail",
    "lakegate:RunPolicySuites",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_names_are_known_in_any_case() {
        for action in [
            "s3:GetObject",
            "s3:ListBucket",
            "s3:PutBucketPolicy",
            "s3:GetBucketPolicyStatus",
            "s3:ListAllMyBuckets",
            "admin:CreateUser",
            "admin:ServerTrace",
            "admin:Trace",
            "kms:Status",
            "kms:CreateKey",
            "sts:AssumeRole",
            "lakegate:RunBackup",
            "lakegate:SetClock",
            "S3:GETOBJECT",
            "s3:getobject",
        ] {
            assert!(is_known(action), "{action}");
        }
    }

    #[test]
    fn unknown_names_are_not() {
        for action in [
            "s3:GetObjects",
            "s3:",
            "s3",
            "",
            "GetObject",
            "iam:CreateUser",
            "lakegate:Reboot",
            "sts:GetSessionToken",
            "s3:Get Object",
        ] {
            assert!(!is_known(action), "{action}");
        }
    }

    #[test]
    fn patterns_are_known_when_they_name_some_action() {
        for pattern in [
            "*",
            "s3:*",
            "s3:Get*",
            "s3:*Object",
            "S3:get*",
            "admin:*",
            "kms:*",
            "lakegate:*",
            "lakegate:Run*",
            "s3:GetObjec?",
            "*:AssumeRole",
        ] {
            assert!(is_known(pattern), "{pattern}");
        }
        for pattern in ["iam:*", "s3:Frobnicate*", "s3:GetObjec??", "x*:y"] {
            assert!(!is_known(pattern), "{pattern}");
        }
    }

    #[test]
    fn the_list_has_no_duplicates_and_every_name_has_a_service() {
        let mut names: Vec<String> = all().map(str::to_ascii_lowercase).collect();
        let count = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), count, "duplicate action names");
        for name in all() {
            let (service, action) = name.split_once(':').expect("service prefix");
            assert!(!service.is_empty() && !action.is_empty(), "{name}");
        }
        assert_eq!(
            all().filter(|name| name.starts_with("lakegate:")).count(),
            18
        );
        assert!(all().count() > 250);
    }
}
