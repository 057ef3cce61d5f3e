//! The documentation shows what the code does: the full example in docs/report.md is exactly
//! what `regnet hive` prints for the bundled example (regenerate with scripts/update-docs.py).

use std::path::Path;
use std::process::Command;

/// The JSON block between the example markers of a doc, and what the program prints for `args`.
fn example_and_output(doc: &str, args: &[&str]) -> (String, String) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let doc = std::fs::read_to_string(root.join(doc)).expect("the doc");
    let start = doc.find("<!-- example:begin -->").expect("begin marker");
    let end = doc.find("<!-- example:end -->").expect("end marker");
    let json = doc[start..end].split("```json\n").nth(1).and_then(|b| b.split("\n```").next()).expect("a json block");
    let out = Command::new(env!("CARGO_BIN_EXE_regnet")).args(args).current_dir(&root).output().expect("runs regnet");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    (json.trim_end().to_owned(), String::from_utf8(out.stdout).expect("utf-8").trim_end().to_owned())
}

#[test]
fn mapping_doc_example_matches_the_program() {
    let (doc, printed) = example_and_output(
        "docs/mapping.md",
        &["map", "--plan", "testdata/example/plan.json", "testdata/example/disk.qcow2"],
    );
    assert_eq!(printed, doc, "docs/mapping.md is stale: run scripts/update-docs.py");
    let v: serde_json::Value = serde_json::from_str(&doc).expect("valid JSON");
    for k in ["schema_version", "automatic", "cloud_networks", "vms", "warnings"] {
        assert!(v.get(k).is_some(), "{k} missing");
    }
}

#[test]
fn report_doc_example_matches_the_program() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let doc = std::fs::read_to_string(root.join("docs/report.md")).expect("docs/report.md");
    let start = doc.find("<!-- example:begin -->").expect("begin marker");
    let end = doc.find("<!-- example:end -->").expect("end marker");
    let block = &doc[start..end];
    let json = block.split("```json\n").nth(1).and_then(|b| b.split("\n```").next()).expect("a json block");
    let out = Command::new(env!("CARGO_BIN_EXE_regnet"))
        .args(["hive", "testdata/example/SYSTEM"])
        .current_dir(&root)
        .output()
        .expect("runs regnet");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed = String::from_utf8(out.stdout).expect("utf-8");
    assert_eq!(printed.trim_end(), json.trim_end(), "docs/report.md is stale: run scripts/update-docs.py");
    // And it is valid JSON with the contract's names.
    let v: serde_json::Value = serde_json::from_str(json).expect("valid JSON");
    for k in ["schema_version", "hostname", "domain", "control_set", "hive", "adapters", "warnings"] {
        assert!(v.get(k).is_some(), "{k} missing");
    }
}
