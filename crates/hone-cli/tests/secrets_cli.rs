//! Secrets never reach a file or a log: a marker key in the key variable, in the base URL's
//! userinfo and in its query, through `run`, `eval`, `optimize` and `report` at
//! `-vvv` with the disk cache on: the marker is in no output, no file of the run directory and
//! not in the cache. The requests still reach the server: the path is joined before the query.
//! Over Redis too: a coordinator and a worker at `-vvv`, and everything Redis holds mid-run and
//! afterwards.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{Process, Sim, command, read, text};
use hone_redis::LocalRedis;

const KEY_MARKER: &str = "sk-KeyMarker4Vq8";
const USER_MARKER: &str = "UserMarker2Lp6";
const QUERY_MARKER: &str = "QueryMarker5Zt3";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn hone(dir: &Path, args: &[&str]) -> String {
    let out = command()
        .args(args)
        .arg("-vvv")
        .env("OPENAI_API_KEY", KEY_MARKER)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run hone: {e}"));
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(
        out.status.success(),
        "{args:?}: exit {:?}\n{all}",
        out.status.code()
    );
    all
}

/// The review pipeline with the disk cache on, beside its data, in `dir`.
fn setup(dir: &Path) {
    let program = read(&repo().join("testdata/programs/review-pipeline.toml")).replace(
        "[lm.task]\nmodel = \"sim-model\"",
        "[lm.task]\nmodel = \"sim-model\"\ncache = true",
    );
    assert!(program.contains("cache = true"));
    std::fs::write(dir.join("program.toml"), program).unwrap_or_else(|e| panic!("{e}"));
    std::fs::copy(
        repo().join("testdata/programs/reviews.jsonl"),
        dir.join("reviews.jsonl"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
}

/// The simulator's URL with a marker in its userinfo and in its query.
fn marked_url(sim: &Sim) -> String {
    sim.url
        .replacen("http://", &format!("http://user:{USER_MARKER}@"), 1)
        + &format!("?api-key={QUERY_MARKER}&token={QUERY_MARKER}&api-version=1")
}

/// Fails if any marker is in `outputs` or in a file under `dir`.
fn assert_no_marker(outputs: &[String], dir: &Path) {
    let mut files = Vec::new();
    files_under(dir, &mut files);
    for marker in [KEY_MARKER, USER_MARKER, QUERY_MARKER] {
        for (i, out) in outputs.iter().enumerate() {
            assert!(!out.contains(marker), "output {i} leaks {marker}:\n{out}");
        }
        for file in &files {
            let bytes = std::fs::read(file).unwrap_or_else(|e| panic!("{e}"));
            assert!(
                !bytes.windows(marker.len()).any(|w| w == marker.as_bytes()),
                "{} leaks {marker}",
                file.display()
            );
        }
    }
}

/// Every key Redis holds with its values (strings, hashes, lists, sets, sorted sets, stream
/// entries), as `redis-cli` prints them.
fn redis_contents(url: &str) -> String {
    const DUMP: &str = r#"
local out = {}
for _, k in ipairs(redis.call('KEYS', '*')) do
  table.insert(out, k)
  local t = redis.call('TYPE', k)['ok']
  local add = function(vs) for _, v in ipairs(vs) do table.insert(out, tostring(v)) end end
  if t == 'string' then table.insert(out, redis.call('GET', k))
  elseif t == 'hash' then add(redis.call('HGETALL', k))
  elseif t == 'list' then add(redis.call('LRANGE', k, 0, -1))
  elseif t == 'set' then add(redis.call('SMEMBERS', k))
  elseif t == 'zset' then add(redis.call('ZRANGE', k, 0, -1))
  elseif t == 'stream' then
    for _, e in ipairs(redis.call('XRANGE', k, '-', '+')) do add(e[2]) end
  end
end
return out"#;
    let out = std::process::Command::new("redis-cli")
        .args(["-u", url, "--raw", "EVAL", DUMP, "0"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run redis-cli: {e}"));
    assert!(out.status.success(), "redis-cli: {}", text(&out.stderr));
    text(&out.stdout)
}

#[test]
fn markers_appear_nowhere_over_redis() {
    let binary = std::env::var("HONE_REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
    if !LocalRedis::available(&binary) || which("redis-cli").is_none() {
        assert!(
            !std::env::var("CI").is_ok_and(|v| v == "true" || v == "1"),
            "this test needs redis-server and redis-cli (apt-get install redis-server)"
        );
        eprintln!("SKIPPED: redis-server or redis-cli is not installed");
        return;
    }
    let redis = LocalRedis::start(&binary).unwrap_or_else(|e| panic!("{e}"));
    let sim = Sim::start(&["--latency-ms", "20"]);
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir = tmp.path();
    setup(dir);
    let url = marked_url(&sim);
    let logs = |name: &str| std::fs::File::create(dir.join(name)).unwrap_or_else(|e| panic!("{e}"));
    let mut worker = Process(
        command()
            .args(["-vvv", "worker", "--program", "program.toml", "--redis"])
            .arg(redis.url())
            .args(["--run", "secrets", "--base-url", &url, "--name", "w1"])
            .env("OPENAI_API_KEY", KEY_MARKER)
            .current_dir(dir)
            .stdout(Stdio::from(logs("worker.out")))
            .stderr(Stdio::from(logs("worker.err")))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start hone worker: {e}")),
    );
    let mut coordinator = Process(
        command()
            .args([
                "-vvv",
                "optimize",
                "program.toml",
                "--out",
                "run",
                "--run-id",
                "secrets",
            ])
            .args(["--base-url", &url, "--redis"])
            .arg(redis.url())
            .env("OPENAI_API_KEY", KEY_MARKER)
            .current_dir(dir)
            .stdout(Stdio::from(logs("coordinator.out")))
            .stderr(Stdio::from(logs("coordinator.err")))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the coordinator: {e}")),
    );
    // Redis mid-run (jobs and results in the streams), then at the end.
    let deadline = Instant::now() + Duration::from_secs(120);
    while !dir.join("run/checkpoint.json").exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let mid_run = redis_contents(&redis.url());
    let status = loop {
        if let Some(status) = coordinator.0.try_wait().unwrap_or_else(|e| panic!("{e}")) {
            break status;
        }
        assert!(Instant::now() < deadline, "the distributed run did not end");
        std::thread::sleep(Duration::from_millis(50));
    };
    let after = redis_contents(&redis.url());
    let _ = worker.0.kill();
    let _ = worker.0.wait();
    let coordinator_err = read(&dir.join("coordinator.err"));
    assert!(status.success(), "exit {status}\n{coordinator_err}");
    let record: serde_json::Value =
        serde_json::from_str(&read(&dir.join("run/run.json"))).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(record["status"], "done", "{record}");
    assert!(
        mid_run.contains("hone:secrets:results") && mid_run.len() > 10_000,
        "Redis held the run's jobs and results mid-run:\n{mid_run}"
    );
    assert!(
        read(&dir.join("worker.err")).contains("request body"),
        "the worker ran jobs and logged their request bodies at -vvv"
    );
    assert_no_marker(&[mid_run, after], dir);
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(program))
        .find(|p| p.is_file())
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{e}")) {
        let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

#[test]
fn markers_appear_in_no_output_and_no_file() {
    let sim = Sim::start(&[]);
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir = tmp.path();
    setup(dir);
    let url = marked_url(&sim);

    let mut outputs = vec![
        hone(
            dir,
            &[
                "run",
                "program.toml",
                "--base-url",
                &url,
                "--input",
                "review=Great kettle.",
            ],
        ),
        hone(dir, &["eval", "program.toml", "--base-url", &url]),
        hone(
            dir,
            &[
                "optimize",
                "program.toml",
                "--out",
                "run",
                "--base-url",
                &url,
            ],
        ),
        hone(dir, &["report", "run"]),
    ];
    // The optimization went through the server, and the cache holds its answers.
    let record: serde_json::Value =
        serde_json::from_str(&read(&dir.join("run/run.json"))).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(record["status"], "done", "{record}");
    let recorded_url = record["lms"]["task"]["base_url"].as_str().unwrap_or("");
    assert!(
        recorded_url.contains("api-version=1") && recorded_url.contains("REDACTED"),
        "{recorded_url}"
    );
    // A second optimization answers from the cache.
    outputs.push(hone(
        dir,
        &[
            "optimize",
            "program.toml",
            "--out",
            "run2",
            "--base-url",
            &url,
        ],
    ));
    let mut files = Vec::new();
    files_under(dir, &mut files);
    assert!(
        files.iter().any(|f| f.ends_with("cache.sqlite")),
        "the disk cache was used: {files:?}"
    );
    assert_no_marker(&outputs, dir);
    assert!(
        outputs.iter().any(|o| o.contains("request body")),
        "-vvv logged the request bodies"
    );
}
