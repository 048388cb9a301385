//! The JSON Schemas in `schemas/` agree with the code: what the writer produces validates,
//! and what the schemas refuse, the decoder refuses too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use custody_verifier::bundle::Manifest;
use custody_verifier::node;
use serde_json::Value;
use support::{LocalTsa, TestLog, offboarding_case};

fn schema(name: &str) -> Value {
    let path = support::testdata().join("../schemas").join(name);
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// Resolves `https://custody.dev/schemas/<file>` to `schemas/<file>` in the repository.
struct SchemaFolder;

impl jsonschema::Retrieve for SchemaFolder {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let name = uri
            .as_str()
            .strip_prefix("https://custody.dev/schemas/")
            .ok_or("not ours")?;
        Ok(schema(name))
    }
}

fn node_validator() -> jsonschema::Validator {
    jsonschema::options()
        .with_retriever(SchemaFolder)
        .build(&schema("node.schema.json"))
        .unwrap()
}

#[test]
fn every_node_the_writer_makes_validates() {
    let mut log = TestLog::new();
    offboarding_case(&mut log, "case-1", b"%PDF-1.7 x", 0);
    let validator = node_validator();
    for encoded in &log.nodes {
        let value: Value = serde_json::from_slice(encoded.bytes()).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{value}: {errors:?}");
    }
}

#[test]
fn what_the_node_schema_refuses_the_decoder_refuses() {
    let mut log = TestLog::new();
    offboarding_case(&mut log, "case-1", b"%PDF-1.7 x", 0);
    let validator = node_validator();
    let snapshot: Value = serde_json::from_slice(log.nodes[1].bytes()).unwrap();
    type Mutation = (&'static str, Box<dyn Fn(&mut Value)>);
    let mutations: Vec<Mutation> = vec![
        (
            "extra member",
            Box::new(|v| {
                v["zz"] = Value::Null;
            }),
        ),
        ("version 2", Box::new(|v| v["version"] = 2.into())),
        ("upper-case org", Box::new(|v| v["org"] = "ACME".into())),
        (
            "kind with a dash",
            Box::new(|v| v["kind"] = "snapshot-uploaded".into()),
        ),
        (
            "offset time",
            Box::new(|v| v["recorded_at"] = "2025-06-01T09:00:05+00:00".into()),
        ),
        (
            "short parent hash",
            Box::new(|v| v["parents"][0]["hash"] = "abcd".into()),
        ),
        (
            "lock without date",
            Box::new(|v| v["body"]["pdf"]["retain_until"] = Value::Null),
        ),
        (
            "unknown lock mode",
            Box::new(|v| v["body"]["pdf"]["lock_mode"] = "WORM".into()),
        ),
        (
            "upper-case digest",
            Box::new(|v| v["body"]["pdf"]["sha256"] = "AB".repeat(32).into()),
        ),
    ];
    for (what, mutate) in mutations {
        let mut value = snapshot.clone();
        mutate(&mut value);
        assert!(!validator.is_valid(&value), "schema accepted: {what}");
        let bytes = custody_verifier::jcs::canonicalize(&value).unwrap();
        let decoded = node::decode(&bytes).and_then(|n| {
            // The snapshot record is checked by the bundle verifier's step 6.
            custody_verifier::snapshot::SnapshotRecord::from_body(1, &n.node().body)
                .map(|_| n)
                .map_err(|e| node::NodeError::InvalidMember {
                    member: "body",
                    reason: e.to_string(),
                })
        });
        assert!(decoded.is_err(), "decoder accepted: {what}");
    }
}

#[test]
fn the_manifest_the_writer_makes_validates() {
    let mut log = TestLog::new();
    offboarding_case(&mut log, "case-1", b"%PDF-1.7 x", 0);
    let files = log.case_bundle("case-1", &[6], &LocalTsa::start(), &[b"%PDF-1.7 x"]);
    let validator = jsonschema::validator_for(&schema("bundle-manifest.schema.json")).unwrap();
    let manifest: Value = serde_json::from_slice(files.get("manifest.json").unwrap()).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&manifest)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    Manifest::parse(files.get("manifest.json").unwrap()).unwrap();
}
