//! MinIO's canned identity policies, as JSON texts, so that users and tools that attach
//! `readwrite`, `readonly`, `writeonly`, `diagnostics` or `consoleAdmin` by name find them here.
//!
//! MinIO leaves `Resource` out of the statements of its `admin:`/`kms:` actions; IAM (and
//! [`super::document`]) require it, so those statements name `arn:aws:s3:::*`, as MinIO's own
//! `diagnostics` policy does. `consoleAdmin` also grants `lakegate:*`, so the console administrator
//! can use lakegate's own surface.

/// MinIO's canned policies (name, JSON text).
pub const CANNED: &[(&str, &str)] = &[
    ("readwrite", READ_WRITE),
    ("readonly", READ_ONLY),
    ("writeonly", WRITE_ONLY),
    ("diagnostics", DIAGNOSTICS),
    ("consoleAdmin", CONSOLE_ADMIN),
];

/// Every S3 action on every bucket and object.
const READ_WRITE: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": ["s3:*"],
      "Resource": ["arn:aws:s3:::*"]
    }
  ]
}"#;

/// Reading objects (and locating their buckets) everywhere.
const READ_ONLY: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": ["s3:GetBucketLocation", "s3:GetObject"],
      "Resource": ["arn:aws:s3:::*"]
    }
  ]
}"#;

/// Writing objects everywhere.
const WRITE_ONLY: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": ["s3:PutObject"],
      "Resource": ["arn:aws:s3:::*"]
    }
  ]
}"#;

/// The administration actions that only observe the server.
const DIAGNOSTICS: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": [
        "admin:ServerTrace",
        "admin:Profiling",
        "admin:ConsoleLog",
        "admin:ServerInfo",
        "admin:TopLocksInfo",
        "admin:OBDInfo",
        "admin:BandwidthMonitor",
        "admin:Prometheus"
      ],
      "Resource": ["arn:aws:s3:::*"]
    }
  ]
}"#;

/// Everything: administration, key management, S3 and lakegate's own actions.
const CONSOLE_ADMIN: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": ["admin:*"],
      "Resource": ["arn:aws:s3:::*"]
    },
    {
      "Effect": "Allow",
      "Action": ["kms:*"],
      "Resource": ["arn:aws:s3:::*"]
    },
    {
      "Effect": "Allow",
      "Action": ["s3:*"],
      "Resource": ["arn:aws:s3:::*"]
    },
    {
      "Effect": "Allow",
      "Action": ["lakegate:*"],
      "Resource": ["arn:aws:s3:::*"]
    }
  ]
}"#;

#[cfg(test)]
mod tests {
    use super::super::condition::ConditionContext;
    use super::super::document::{AccessRequest, Decision, PolicyDocument, PolicyKind, Principal};
    use super::*;

    fn canned(name: &str) -> PolicyDocument {
        let (_, json) = CANNED
            .iter()
            .find(|(canned_name, _)| *canned_name == name)
            .expect("canned policy exists");
        PolicyDocument::parse(json.as_bytes(), &PolicyKind::Identity).expect("canned policy parses")
    }

    fn decide(document: &PolicyDocument, action: &str, resource: &str) -> Decision {
        let principal = Principal::default();
        let context = ConditionContext::new();
        document.evaluate(&AccessRequest {
            action,
            resource,
            principal: &principal,
            context: &context,
        })
    }

    #[test]
    fn every_canned_policy_parses_as_an_identity_policy() {
        for (name, json) in CANNED {
            let document = PolicyDocument::parse(json.as_bytes(), &PolicyKind::Identity)
                .unwrap_or_else(|error| panic!("{name}: {error}"));
            assert!(!document.is_empty(), "{name}");
            assert_eq!(document.source(), *json);
            assert!(!document.is_public(), "{name}");
        }
        let names: Vec<&str> = CANNED.iter().map(|(name, _)| *name).collect();
        assert_eq!(
            names,
            [
                "readwrite",
                "readonly",
                "writeonly",
                "diagnostics",
                "consoleAdmin"
            ]
        );
    }

    #[test]
    fn canned_policies_grant_what_their_names_say() {
        let object = "arn:aws:s3:::bucket/key";
        let bucket = "arn:aws:s3:::bucket";
        let readwrite = canned("readwrite");
        assert_eq!(decide(&readwrite, "s3:PutObject", object), Decision::Allow);
        assert_eq!(
            decide(&readwrite, "s3:DeleteBucket", bucket),
            Decision::Allow
        );
        assert_eq!(
            decide(&readwrite, "admin:CreateUser", bucket),
            Decision::NotApplicable
        );

        let readonly = canned("readonly");
        assert_eq!(decide(&readonly, "s3:GetObject", object), Decision::Allow);
        assert_eq!(
            decide(&readonly, "s3:GetBucketLocation", bucket),
            Decision::Allow
        );
        assert_eq!(
            decide(&readonly, "s3:PutObject", object),
            Decision::NotApplicable
        );

        let writeonly = canned("writeonly");
        assert_eq!(decide(&writeonly, "s3:PutObject", object), Decision::Allow);
        assert_eq!(
            decide(&writeonly, "s3:GetObject", object),
            Decision::NotApplicable
        );

        let diagnostics = canned("diagnostics");
        assert_eq!(
            decide(&diagnostics, "admin:Prometheus", "arn:aws:s3:::"),
            Decision::Allow
        );
        assert_eq!(
            decide(&diagnostics, "admin:CreateUser", "arn:aws:s3:::"),
            Decision::NotApplicable
        );

        let admin = canned("consoleAdmin");
        for action in [
            "admin:CreateUser",
            "kms:CreateKey",
            "s3:GetObject",
            "lakegate:RunBackup",
        ] {
            assert_eq!(decide(&admin, action, object), Decision::Allow, "{action}");
        }
        assert_eq!(
            decide(&admin, "sts:AssumeRole", object),
            Decision::NotApplicable
        );
    }

    #[test]
    fn the_lab_examples_parse_and_scope_each_workload() {
        let examples = [
            (
                "spark-etl",
                include_str!("../../../examples/iam/spark-etl.json"),
            ),
            ("mlflow", include_str!("../../../examples/iam/mlflow.json")),
            (
                "analyst",
                include_str!("../../../examples/iam/analyst.json"),
            ),
            (
                "backup-operator",
                include_str!("../../../examples/iam/backup-operator.json"),
            ),
        ];
        let docs: Vec<PolicyDocument> = examples
            .iter()
            .map(|(name, json)| {
                PolicyDocument::parse(json.as_bytes(), &PolicyKind::Identity)
                    .unwrap_or_else(|e| panic!("{name}: {e}"))
            })
            .collect();
        let [spark, mlflow, _, operator] = &docs[..] else {
            panic!("four examples");
        };
        assert_eq!(
            decide(spark, "s3:PutObject", "arn:aws:s3:::silver/t/p.parquet"),
            Decision::Allow
        );
        assert_eq!(
            decide(spark, "s3:GetObject", "arn:aws:s3:::gold/kpi.csv"),
            Decision::Allow
        );
        assert_eq!(
            decide(spark, "s3:PutObject", "arn:aws:s3:::gold/kpi.csv"),
            Decision::NotApplicable
        );
        assert_eq!(
            decide(
                mlflow,
                "s3:PutObject",
                "arn:aws:s3:::mlflow/models/production/m"
            ),
            Decision::Allow
        );
        assert_eq!(
            decide(
                mlflow,
                "s3:DeleteObject",
                "arn:aws:s3:::mlflow/models/production/m"
            ),
            Decision::Deny
        );
        assert_eq!(
            decide(mlflow, "s3:GetObject", "arn:aws:s3:::gold/x"),
            Decision::NotApplicable
        );
        assert_eq!(
            decide(operator, "lakegate:RunBackup", "arn:aws:s3:::gold"),
            Decision::Allow
        );
        assert_eq!(
            decide(operator, "lakegate:RunLifecycle", "arn:aws:s3:::gold"),
            Decision::NotApplicable
        );
        assert_eq!(
            decide(operator, "s3:PutObject", "arn:aws:s3:::gold/x"),
            Decision::Deny
        );
    }
}
