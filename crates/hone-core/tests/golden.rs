//! Every reference case made by DSPy (testdata/dspy-golden and testdata/dspy-golden-extra)
//! must be rendered and parsed identically by hone's adapters.

use std::path::{Path, PathBuf};

use hone_core::conformance::{CaseFiles, check_case};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn load_cases(dir: &Path) -> Vec<CaseFiles> {
    let mut cases = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.is_dir() && p.file_name().is_some_and(|n| n != "programs"))
        .collect();
    entries.sort();
    for path in entries {
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let mut case = CaseFiles::new(name);
        for file in std::fs::read_dir(&path).expect("case directory") {
            let file = file.expect("entry").path();
            if file.extension().is_some_and(|e| e == "json") {
                let contents = std::fs::read_to_string(&file).expect("readable file");
                let fname = file
                    .file_name()
                    .expect("name")
                    .to_string_lossy()
                    .into_owned();
                case = case.with_file(fname, contents);
            }
        }
        cases.push(case);
    }
    cases
}

fn run_dir(dir: &str) -> (usize, Vec<String>) {
    let cases = load_cases(&repo_root().join(dir));
    assert!(!cases.is_empty(), "no cases in {dir}");
    let mut passed = 0;
    let mut failures = Vec::new();
    for case in &cases {
        let report = check_case(case).unwrap_or_else(|e| panic!("{e}"));
        for check in &report.checks {
            match &check.failure {
                None => passed += 1,
                Some(diff) => failures.push(format!("{} {}\n{diff}", report.case, check.name)),
            }
        }
    }
    (passed, failures)
}

#[test]
fn shipped_golden_cases_match_dspy_byte_for_byte() {
    let (passed, failures) = run_dir("testdata/dspy-golden");
    assert!(
        failures.is_empty(),
        "{} passed, failures:\n{}",
        passed,
        failures.join("\n\n")
    );
    assert!(passed >= 30, "only {passed} checks ran");
}

#[test]
fn extra_golden_cases_match_dspy_byte_for_byte() {
    let dir = repo_root().join("testdata/dspy-golden-extra");
    if !dir.exists() {
        return;
    }
    let (passed, failures) = run_dir("testdata/dspy-golden-extra");
    assert!(
        failures.is_empty(),
        "{} passed, failures:\n{}",
        passed,
        failures.join("\n\n")
    );
}
