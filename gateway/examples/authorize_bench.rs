//! Authorisation micro-benchmark: the one evaluator (`iam/access.rs`) on the request path.
//!
//! ```text
//! cargo run --release -p lakegate --example authorize_bench
//! ```
//!
//! Builds 100 users with 100 named policies of 2 statements each (200 statements), puts the
//! caller in a group with 10 more policies, gives its bucket a policy, and times
//! `Identities::authorize` for an allowed GET, a denied PUT and a request that only the bucket
//! policy decides; then the lookup of the signing key. Reports mean, p50 and p99 per call.

use std::time::Instant;

use lakegate::iam::condition::ConditionContext;
use lakegate::iam::identity::{AttachMode, AttachTarget};
use lakegate::iam::{BucketPolicies, Caller, Identities};
use lakegate::local_key::LocalKey;
use lakegate::store::{Store, StoreOptions};

const USERS: usize = 100;
const ROUNDS: usize = 200_000;

fn policy(i: usize) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[
        {{"Effect":"Allow","Action":["s3:GetObject","s3:ListBucket"],"Resource":["arn:aws:s3:::team-{i}","arn:aws:s3:::team-{i}/*"]}},
        {{"Effect":"Deny","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::team-{i}/archive/*","Condition":{{"StringNotEquals":{{"aws:username":"owner-{i}"}}}}}}]}}"#
    )
}

fn report(what: &str, mut samples: Vec<u128>) {
    samples.sort_unstable();
    let n = samples.len().max(1);
    let mean = samples.iter().sum::<u128>() as f64 / n as f64;
    let pct = |p: f64| samples[((n as f64 * p) as usize).min(n - 1)] as f64;
    println!(
        "{what:<48} mean {:>6.2} µs  p50 {:>6.2} µs  p99 {:>6.2} µs",
        mean / 1000.0,
        pct(0.50) / 1000.0,
        pct(0.99) / 1000.0
    );
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let dir = std::env::temp_dir().join(format!("lakegate-authz-{}", std::process::id()));
    runtime.block_on(async {
        let store = Store::open(&dir, StoreOptions::default())
            .await
            .expect("store");
        store
            .create_bucket("team-7", "us-east-1", false, 0)
            .await
            .expect("bucket");
        let ids = Identities::load(
            store.clone(),
            LocalKey::random().expect("key"),
            "root".into(),
            "root-secret-123".into(),
        )
        .expect("identities");
        for i in 0..USERS {
            let user = format!("user-{i}");
            ids.add_user("root", &user, "user-secret-123", 0)
                .await
                .expect("user");
            ids.put_policy("root", &format!("team-{i}"), &policy(i), 0)
                .await
                .expect("policy");
            ids.set_attachment(
                "root",
                AttachTarget::User(user),
                vec![format!("team-{i}")],
                AttachMode::Attach,
                0,
            )
            .await
            .expect("attach");
        }
        let extra: Vec<String> = (USERS - 10..USERS).map(|i| format!("team-{i}")).collect();
        ids.update_group_members("root", "analysts", vec!["user-7".into()], false, 0)
            .await
            .expect("group");
        ids.set_attachment(
            "root",
            AttachTarget::Group("analysts".into()),
            extra,
            AttachMode::Attach,
            0,
        )
        .await
        .expect("group policies");
        let buckets = BucketPolicies::new(store.clone());
        buckets
            .put(
                "team-7",
                br#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["*"]},"Action":"s3:GetObjectTagging","Resource":"arn:aws:s3:::team-7/*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}"#,
            )
            .await
            .expect("bucket policy");
        let bucket_policy = buckets.get("team-7").expect("read").expect("policy");

        let key = ids.signing_key("user-7", 0).expect("user-7 signs");
        let caller = Caller::Key(key);
        let context = || {
            let mut c = ConditionContext::new();
            c.insert("aws:SourceIp", "10.1.2.3");
            c.insert("aws:SecureTransport", "false");
            c.insert("aws:UserAgent", "aws-sdk-rust/1.0");
            c
        };
        let cases = [
            ("allowed GetObject (user + group policies)", "s3:GetObject", "arn:aws:s3:::team-7/data/part-0001.parquet", true),
            ("refused PutObject (implicit deny)", "s3:PutObject", "arn:aws:s3:::team-7/data/x", false),
            ("GetObjectTagging allowed by the bucket policy", "s3:GetObjectTagging", "arn:aws:s3:::team-7/data/x", true),
        ];
        for (what, action, resource, expected) in cases {
            let mut samples = Vec::with_capacity(ROUNDS);
            for _ in 0..ROUNDS {
                let mut ctx = context();
                let t = Instant::now();
                let verdict =
                    ids.authorize(&caller, action, resource, &mut ctx, Some(&bucket_policy));
                samples.push(t.elapsed().as_nanos());
                assert_eq!(verdict.is_allowed(), expected, "{what}");
            }
            report(what, samples);
        }
        let mut samples = Vec::with_capacity(ROUNDS);
        for _ in 0..ROUNDS {
            let t = Instant::now();
            let k = ids.signing_key("user-42", 0);
            samples.push(t.elapsed().as_nanos());
            assert!(k.is_some());
        }
        report("signing-key lookup", samples);
        println!(
            "({USERS} users, {} statements in named policies, 10 group policies, 1 bucket policy)",
            USERS * 2
        );
    });
    let _ = std::fs::remove_dir_all(&dir);
}
