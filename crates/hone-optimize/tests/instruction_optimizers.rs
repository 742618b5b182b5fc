//! The instruction optimizers against a fake instruction-sensitive model: each finishes and
//! beats the student, is deterministic under any concurrency and arrival order, and resumes
//! from its saved state to the same end.

mod fake_lm;

use fake_lm::{check_optimizer, dataset, student};
use hone_optimize::{
    Copro, CoproConfig, Gepa, GepaBudget, GepaConfig, MiproConfig, MiproV2, Optimizer, Simba,
    SimbaConfig,
};

#[test]
fn gepa_improves_deterministically_and_resumes() {
    let train = dataset(12, 1);
    let val = dataset(10, 2);
    let dev = dataset(200, 3);
    let st = student(false);
    let make = || -> Box<dyn Optimizer> {
        let config = GepaConfig {
            budget: GepaBudget::MaxMetricCalls(300),
            num_parallel_proposals: 2,
            ..Default::default()
        };
        Box::new(Gepa::new(&st, &train, Some(&val), config).expect("valid"))
    };
    check_optimizer(&make, &st, &dev, &[1, 3, 10, 25, 60]);
}

#[test]
fn gepa_overlapping_full_evaluations_improves_deterministically_and_resumes() {
    let train = dataset(12, 14);
    let val = dataset(10, 15);
    let dev = dataset(200, 16);
    for two in [false, true] {
        let st = student(two);
        let make = || -> Box<dyn Optimizer> {
            let config = GepaConfig {
                budget: GepaBudget::MaxMetricCalls(300),
                num_parallel_proposals: 3,
                overlap_full_evals: true,
                ..Default::default()
            };
            Box::new(Gepa::new(&st, &train, Some(&val), config).expect("valid"))
        };
        check_optimizer(&make, &st, &dev, &[1, 3, 10, 25, 60]);
    }
}

#[test]
fn gepa_merges_and_keeps_pareto_bookkeeping_for_two_components() {
    let train = dataset(12, 4);
    let val = dataset(8, 5);
    let st = student(true);
    let config = GepaConfig {
        budget: GepaBudget::MaxFullEvals(12),
        ..Default::default()
    };
    let mut gepa = Gepa::new(&st, &train, Some(&val), config).expect("valid");
    fake_lm::drive(&mut gepa, Default::default());
    assert!(gepa.is_done());
    assert!(gepa.metric_calls() >= gepa.max_metric_calls());
    let best = gepa.best_candidate();
    assert_eq!(best.keys().collect::<Vec<_>>(), vec!["draft", "answer"]);
    let front = gepa.pareto_front();
    assert_eq!(front.members().len(), 8);
    for (i, members) in front.members().iter().enumerate() {
        let best_score = front.best_scores()[i].expect("scored");
        for &p in members {
            assert_eq!(gepa.candidates()[p].val_scores[i], best_score);
        }
    }
    assert!(gepa.candidates().len() > 1, "GEPA found new candidates");
}

#[test]
fn gepa_rejects_bad_configurations() {
    let st = student(false);
    assert!(Gepa::new(&st, &[], None, GepaConfig::default()).is_err());
}

#[test]
fn mipro_v2_improves_deterministically_and_resumes() {
    let train = dataset(16, 6);
    let val = dataset(12, 7);
    let dev = dataset(200, 8);
    let st = student(false);
    let make = || -> Box<dyn Optimizer> {
        let config = MiproConfig {
            auto: None,
            num_candidates: Some(6),
            num_trials: Some(12),
            minibatch_size: 6,
            minibatch_full_eval_steps: 4,
            ..Default::default()
        };
        Box::new(MiproV2::new(&st, &train, Some(&val), config).expect("valid"))
    };
    check_optimizer(&make, &st, &dev, &[1, 4, 9, 20, 40]);
}

#[test]
fn mipro_v2_zero_shot_keeps_the_students_demos_and_auto_light_works() {
    let train = dataset(20, 9);
    let st = student(true);
    let config = MiproConfig {
        max_bootstrapped_demos: 0,
        max_labeled_demos: 0,
        ..Default::default()
    };
    let mut mipro = MiproV2::new(&st, &train, None, config).expect("valid");
    fake_lm::drive(&mut mipro, Default::default());
    assert!(mipro.is_done());
    let best = mipro.best().expect("a program");
    assert!(best.predictors.values().all(|p| p.demos.is_empty()));
    let candidates = mipro.instruction_candidates();
    assert_eq!(candidates.len(), 2);
    for (name, list) in candidates {
        assert_eq!(list[0], st.predictors[&name].signature.instructions);
    }
    // auto with num_trials is refused, as in DSPy.
    let bad = MiproConfig {
        num_trials: Some(3),
        ..Default::default()
    };
    assert!(MiproV2::new(&st, &train, None, bad).is_err());
}

#[test]
fn copro_improves_deterministically_and_resumes() {
    let train = dataset(15, 10);
    let dev = dataset(200, 11);
    for two in [false, true] {
        let st = student(two);
        let make = || -> Box<dyn Optimizer> {
            let config = CoproConfig {
                breadth: 4,
                depth: 3,
                ..Default::default()
            };
            Box::new(Copro::new(&st, &train, config).expect("valid"))
        };
        check_optimizer(&make, &st, &dev, &[1, 3, 7, 15]);
    }
    assert!(
        Copro::new(
            &student(false),
            &train,
            CoproConfig {
                breadth: 1,
                ..Default::default()
            }
        )
        .is_err()
    );
}

#[test]
fn mipro_v2_observes_every_data_batch_at_once_unless_sequential() {
    use hone_optimize::JobSpec;
    let train = dataset(30, 12);
    let val = dataset(10, 13);
    let st = student(false);
    let summary_calls = |jobs: &[hone_optimize::Job]| {
        jobs.iter()
            .filter(|j| matches!(&j.spec, JobSpec::Predict { purpose, .. } if purpose == "dataset_summary"))
            .count()
    };
    for (sequential, first_round) in [(false, 3), (true, 1)] {
        let config = MiproConfig {
            auto: None,
            num_candidates: Some(3),
            num_trials: Some(4),
            minibatch: false,
            sequential_data_summary: sequential,
            ..Default::default()
        };
        let mut mipro = MiproV2::new(&st, &train, Some(&val), config.clone()).expect("valid");
        let jobs = mipro.ask();
        assert_eq!(
            summary_calls(&jobs),
            first_round,
            "sequential: {sequential}"
        );
        let mut mipro = MiproV2::new(&st, &train, Some(&val), config).expect("valid");
        fake_lm::drive(&mut mipro, Default::default());
        assert!(mipro.is_done());
        let summarized = mipro.log().events().iter().any(|e| {
            matches!(e, hone_optimize::LogEvent::Note { message } if message.starts_with("dataset summary: "))
        });
        assert!(
            summarized,
            "sequential: {sequential}: no dataset summary in the log"
        );
    }
}

#[test]
fn simba_improves_deterministically_and_resumes() {
    let train = dataset(16, 17);
    let dev = dataset(200, 18);
    for two in [false, true] {
        let st = student(two);
        let make = || -> Box<dyn Optimizer> {
            let config = SimbaConfig {
                bsize: 6,
                num_candidates: 4,
                max_steps: 5,
                ..Default::default()
            };
            Box::new(Simba::new(&st, &train, config).expect("valid"))
        };
        check_optimizer(&make, &st, &dev, &[1, 3, 8, 15]);
    }
}

#[test]
fn simba_checks_its_settings() {
    let st = student(false);
    let train = dataset(10, 19);
    let err = Simba::new(&st, &train, SimbaConfig::default()).expect_err("bsize 32 > 10 examples");
    let text = err.to_string();
    assert!(
        text.contains("bsize = 32") && text.contains("lower bsize"),
        "{text}"
    );
    let bad = SimbaConfig {
        bsize: 4,
        temperature_for_sampling: 0.0,
        ..Default::default()
    };
    assert!(Simba::new(&st, &train, bad).is_err());
}

#[test]
fn mipro_v2_scores_original_instruction_trials_while_instructions_are_proposed() {
    use hone_optimize::JobSpec;
    let train = dataset(16, 18);
    let val = dataset(12, 19);
    let st = student(false);
    let instructions = |p: &hone_core::state::ProgramState| {
        p.predictors
            .values()
            .map(|p| p.signature.instructions.clone())
            .collect::<Vec<_>>()
    };
    let original = instructions(&st);
    let config = MiproConfig {
        auto: None,
        num_candidates: Some(4),
        num_trials: Some(8),
        minibatch: false,
        ..Default::default()
    };
    let mut mipro = MiproV2::new(&st, &train, Some(&val), config).expect("valid");
    // Answer every job except the instruction proposals, which are held back; count the
    // evaluations asked for once the proposer's first call (a program description) was.
    let mut held = Vec::new();
    let mut proposing = false;
    let mut early_evaluations = 0;
    loop {
        let jobs = mipro.ask();
        if jobs.is_empty() {
            break;
        }
        for job in jobs {
            match &job.spec {
                JobSpec::Predict { purpose, .. } if purpose == "propose_instruction" => {
                    held.push(job);
                    continue;
                }
                JobSpec::Predict { purpose, .. } if purpose == "describe_program" => {
                    proposing = true;
                }
                JobSpec::Evaluate { program, .. } if proposing => {
                    assert_eq!(
                        instructions(program),
                        original,
                        "only the original instruction is scored before the proposals"
                    );
                    early_evaluations += 1;
                }
                _ => {}
            }
            mipro.tell(fake_lm::answer(&job)).expect("told");
        }
    }
    assert!(!held.is_empty(), "the proposals were asked for");
    // The student's full evaluation, and at least one trial.
    assert!(
        early_evaluations >= 2,
        "no trial ran beside the instruction proposals"
    );
    assert!(!mipro.is_done());
    for job in held {
        mipro.tell(fake_lm::answer(&job)).expect("told");
    }
    fake_lm::drive(&mut mipro, Default::default());
    assert!(mipro.is_done());
    let trials = mipro
        .log()
        .events()
        .iter()
        .filter(|e| matches!(e, hone_optimize::LogEvent::Trial { .. }))
        .count();
    // The student's evaluation and every trial (full evaluations without minibatches).
    assert_eq!(trials, 1 + 8);
}

/// GEPA with `overlap_full_evals`, answered one hop at a time: every job of an `ask` before the
/// next. Returns the finished run and, per hop, the kinds of jobs asked for.
fn gepa_hops(budget: u64) -> (Gepa, Vec<Vec<&'static str>>) {
    use hone_optimize::JobSpec;
    let train = dataset(12, 20);
    let val = dataset(10, 21);
    let st = student(false);
    let config = GepaConfig {
        budget: GepaBudget::MaxMetricCalls(budget),
        num_parallel_proposals: 2,
        overlap_full_evals: true,
        use_merge: false,
        ..Default::default()
    };
    let mut gepa = Gepa::new(&st, &train, Some(&val), config).expect("valid");
    let mut hops = Vec::new();
    while !gepa.is_done() {
        let jobs = gepa.ask();
        assert!(!jobs.is_empty(), "GEPA is not done but has no job");
        let mut kinds = Vec::new();
        for job in &jobs {
            kinds.push(match &job.spec {
                JobSpec::Predict { purpose, .. } => {
                    assert_eq!(purpose, "gepa_reflection");
                    "reflect"
                }
                JobSpec::Evaluate { examples, .. } if job.deferred => {
                    assert_eq!(
                        examples.len(),
                        val.len().min(16),
                        "deferred: valset scoring"
                    );
                    "valset"
                }
                JobSpec::Evaluate {
                    capture_traces: true,
                    ..
                } => "parents",
                JobSpec::Evaluate { .. } => "children",
            });
        }
        for job in jobs {
            gepa.tell(fake_lm::answer(&job)).expect("told");
        }
        hops.push(kinds);
    }
    (gepa, hops)
}

#[test]
fn gepa_pipelines_iterations_and_drops_those_begun_past_the_budget() {
    let (gepa, hops) = gepa_hops(200);
    // The first iteration's parents run before and beside the seed's valset scoring.
    assert_eq!(hops[0], vec!["parents", "parents", "valset"]);
    // Then one iteration per stage: the oldest one's children, the next one's reflections and
    // the youngest one's parents in the same hop.
    assert!(
        hops.iter().any(|h| ["children", "reflect", "parents"]
            .iter()
            .all(|k| h.contains(k))),
        "{hops:?}"
    );
    assert!(gepa.metric_calls() >= gepa.max_metric_calls());
    assert!(gepa.candidates().len() > 1, "GEPA found new candidates");

    // Some budget is spent by accepted children's valset scoring while younger iterations are
    // in flight: they are dropped, their issued evaluations counted, and the run ends.
    let dropped = (40..200).find_map(|budget| {
        let (gepa, _) = gepa_hops(budget);
        let notes: Vec<String> = gepa
            .log()
            .events()
            .iter()
            .filter_map(|e| match e {
                hone_optimize::LogEvent::Note { message }
                    if message.contains("begun beside this one") =>
                {
                    Some(message.clone())
                }
                _ => None,
            })
            .collect();
        (!notes.is_empty()).then_some((gepa, notes))
    });
    let (gepa, notes) = dropped.expect("a budget where iterations are dropped");
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(gepa.is_done());
    assert!(gepa.metric_calls() >= gepa.max_metric_calls());
    let finished = gepa.log().events().last().cloned();
    assert!(
        matches!(&finished, Some(hone_optimize::LogEvent::Note { message }) if message.starts_with("GEPA finished")),
        "{finished:?}"
    );
}
