//! `hone conformance DIR`: runs every reference case under DIR through the adapters.

use std::fs;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, bail};
use hone_core::conformance::{CaseFiles, check_case};

/// Reads the case directories under `dir` (skipping `programs/` and plain files).
fn read_cases(dir: &Path) -> anyhow::Result<Vec<CaseFiles>> {
    let entries = fs::read_dir(dir)
        .with_context(|| format!("cannot read the cases directory {}", dir.display()))?;
    let mut dirs = Vec::new();
    for entry in entries {
        let path = entry
            .with_context(|| format!("cannot list {}", dir.display()))?
            .path();
        let skip = path.file_name().is_some_and(|n| n == "programs");
        if path.is_dir() && !skip {
            dirs.push(path);
        }
    }
    dirs.sort();
    let mut cases = Vec::new();
    for case_dir in dirs {
        let name = case_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut case = CaseFiles::new(name);
        let files = fs::read_dir(&case_dir)
            .with_context(|| format!("cannot read the case directory {}", case_dir.display()))?;
        for file in files {
            let path = file
                .with_context(|| format!("cannot list {}", case_dir.display()))?
                .path();
            if path.is_file() && path.extension().is_some_and(|e| e == "json") {
                let contents = fs::read_to_string(&path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                let fname = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                case = case.with_file(fname, contents);
            }
        }
        cases.push(case);
    }
    if cases.is_empty() {
        bail!(
            "no reference cases in {}: expected one directory per case holding signature.json",
            dir.display()
        );
    }
    Ok(cases)
}

/// Runs the checks, printing one line per check and a summary. `Ok(true)` when all pass.
pub fn run(dir: &Path) -> anyhow::Result<bool> {
    let cases = read_cases(dir)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let (mut passed, mut failed) = (0usize, 0usize);
    for case in &cases {
        let report = check_case(case).with_context(|| {
            format!(
                "malformed reference case in {}",
                dir.join(&case.name).display()
            )
        })?;
        for check in &report.checks {
            match &check.failure {
                None => {
                    passed += 1;
                    writeln!(out, "ok   {} {}", report.case, check.name)?;
                }
                Some(diff) => {
                    failed += 1;
                    writeln!(out, "FAIL {} {}", report.case, check.name)?;
                    for line in diff.lines() {
                        writeln!(out, "    {line}")?;
                    }
                }
            }
        }
    }
    writeln!(out, "{passed} passed, {failed} failed")?;
    Ok(failed == 0)
}
