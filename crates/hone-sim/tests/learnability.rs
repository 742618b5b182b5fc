//! The simulated model is learnable: correct demos and instructions with the
//! task's key ideas raise its accuracy, measured over HTTP.

mod common;

use common::{arithmetic_prompt, chat_field, content};
use hone_sim::datasets;
use hone_sim::{SimConfig, SimServer};
use serde_json::json;

const BLAND: &str = "Given the fields `question`, produce the fields `answer`.";
const GOOD: &str = "Solve the arithmetic question step by step, respecting the order of operations. Show the arithmetic for each intermediate result and double-check the final answer before responding.";

/// Accuracy over the questions and the model's reported probability.
async fn accuracy(
    client: &reqwest::Client,
    url: &str,
    instructions: &str,
    demos: &[(String, i64)],
    cot: bool,
) -> (f64, String) {
    let questions = datasets::arithmetic(100, 7);
    let mut correct = 0;
    let mut reported = String::new();
    for q in &questions {
        let body = json!({"model": "sim-1", "messages": arithmetic_prompt(instructions, demos, &q.question, cot)});
        let resp = client.post(url).json(&body).send().await.expect("sent");
        reported = resp
            .headers()
            .get("x-sim-accuracy")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let v: serde_json::Value = resp.json().await.expect("JSON");
        let answer = chat_field(&content(&v), "answer").and_then(|a| a.parse::<i64>().ok());
        if answer == Some(q.answer) {
            correct += 1;
        }
    }
    (f64::from(correct) / questions.len() as f64, reported)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demos_and_instructions_raise_accuracy() {
    let sim = SimServer::start(SimConfig {
        seed: 42,
        ..SimConfig::default()
    })
    .await
    .expect("start");
    let url = format!("{}/chat/completions", sim.base_url());
    let client = common::http_client_builder().build().expect("client");
    let pool = datasets::arithmetic(10, 99);
    let good_demos: Vec<(String, i64)> = pool
        .iter()
        .take(3)
        .map(|e| (e.question.clone(), e.answer))
        .collect();
    let bad_demos: Vec<(String, i64)> = pool
        .iter()
        .take(3)
        .map(|e| (e.question.clone(), e.answer + 3))
        .collect();

    let (none, p_none) = accuracy(&client, &url, BLAND, &[], false).await;
    let (with_demos, p_demos) = accuracy(&client, &url, BLAND, &good_demos, false).await;
    let (with_bad_demos, _) = accuracy(&client, &url, BLAND, &bad_demos, false).await;
    let (good_instr, p_good) = accuracy(&client, &url, GOOD, &[], false).await;
    let (both, p_both) = accuracy(&client, &url, GOOD, &good_demos, true).await;

    eprintln!(
        "accuracy: none {none}, demos {with_demos}, wrong demos {with_bad_demos}, instruction {good_instr}, both {both}"
    );
    assert_eq!(p_none, "0.350");
    assert_eq!(p_demos, "0.650");
    assert_eq!(p_good, "0.700");
    assert_eq!(p_both, "0.950");
    assert!(
        with_demos >= none + 0.15,
        "demos: {with_demos} vs none: {none}"
    );
    assert!(
        good_instr >= none + 0.15,
        "instruction: {good_instr} vs bland: {none}"
    );
    assert!(
        with_bad_demos < with_demos,
        "wrong demos: {with_bad_demos} vs right demos: {with_demos}"
    );
    assert!(both > with_demos && both > good_instr, "both: {both}");
    assert!(both < 1.0 || both >= 0.9);
    sim.shutdown().await;
}
