//! Tests of GEPA's controls beside the budget: parent selection strategies, component
//! selection, stop conditions, best outputs per validation example, and checkpoints of runs
//! that use them.

use std::collections::BTreeSet;

use super::*;
use crate::protocol::RunSignals;

/// A run whose config is [`config`]`(budget)` changed by `change`.
fn gepa_with(budget: u64, change: impl FnOnce(&mut GepaConfig)) -> Gepa {
    let mut config = config(budget);
    change(&mut config);
    Gepa::new(
        &student(STUDENT),
        &examples(8, "t"),
        Some(&examples(4, "v")),
        config,
    )
    .expect("a valid run")
}

/// A run with `strategy` whose pool holds candidates with these per-validation-example
/// scores (over the four validation examples), and their front.
fn pool(change: impl FnOnce(&mut GepaConfig), scores: &[[f64; 4]]) -> Gepa {
    let mut opt = gepa_with(100, change);
    for (i, s) in scores.iter().enumerate() {
        opt.programs.push(GepaCandidate {
            texts: IndexMap::from([("self".to_owned(), format!("v{i}"))]),
            parents: Vec::new(),
            val_scores: s.to_vec(),
            val_objectives: Vec::new(),
            discovered_at: 0,
            next_component: 0,
        });
        opt.front.add(i, s);
    }
    opt
}

/// Candidate 0 is best on example 0 only, 1 on example 1 only, 2 on examples 2 and 3; 3 is
/// on no front but has the best mean (0.7); 4 is dominated by 2.
const SCORES: [[f64; 4]; 5] = [
    [1.0, 0.0, 0.0, 0.0],
    [0.0, 1.0, 0.0, 0.0],
    [0.0, 0.0, 1.0, 1.0],
    [0.7, 0.7, 0.7, 0.7],
    [0.0, 0.0, 1.0, 0.0],
];

fn parents(opt: &mut Gepa, draws: usize) -> Vec<usize> {
    (0..draws).map(|_| opt.select_parent()).collect()
}

#[test]
fn current_best_always_picks_the_best_mean_score() {
    let mut opt = pool(
        |c| c.candidate_selection_strategy = CandidateSelection::CurrentBest,
        &SCORES,
    );
    assert_eq!(parents(&mut opt, 20), vec![3; 20]);
}

#[test]
fn pareto_samples_the_undominated_front_members_by_frequency() {
    let mut opt = pool(|_| {}, &SCORES);
    let picked = parents(&mut opt, 400);
    let seen: BTreeSet<usize> = picked.iter().copied().collect();
    // 3 stands on no front and 4 is dominated by 2: neither is ever a parent.
    assert_eq!(seen, BTreeSet::from([0, 1, 2]));
    // 2 stands on two fronts, 0 and 1 on one each: 2 is drawn about twice as often.
    let count = |c: usize| picked.iter().filter(|&&p| p == c).count();
    assert!(count(2) > count(0) && count(2) > count(1), "{picked:?}");
}

#[test]
fn epsilon_greedy_explores_with_probability_epsilon_from_the_run_seed() {
    // Never exploring: the best candidate, every time.
    let mut opt = pool(
        |c| {
            c.candidate_selection_strategy = CandidateSelection::EpsilonGreedy;
            c.epsilon = 0.0;
        },
        &SCORES,
    );
    assert_eq!(parents(&mut opt, 20), vec![3; 20]);

    // Half the time a uniform draw over the whole pool, from the run's seeded generator.
    let mut opt = pool(
        |c| {
            c.candidate_selection_strategy = CandidateSelection::EpsilonGreedy;
            c.epsilon = 0.5;
        },
        &SCORES,
    );
    let mut rng = OptRng::new(7);
    let expected: Vec<usize> = (0..200)
        .map(|_| {
            if rng.next_f64() < 0.5 {
                rng.below(SCORES.len())
            } else {
                3
            }
        })
        .collect();
    let picked = parents(&mut opt, 200);
    assert_eq!(picked, expected);
    let seen: BTreeSet<usize> = picked.iter().copied().collect();
    assert_eq!(
        seen,
        BTreeSet::from([0, 1, 2, 3, 4]),
        "exploring reaches every candidate"
    );
    let greedy = picked.iter().filter(|&&p| p == 3).count();
    assert!(
        (100..160).contains(&greedy),
        "about 50% + 10% greedy: {greedy}"
    );

    // The same seed draws the same parents.
    let mut again = pool(
        |c| {
            c.candidate_selection_strategy = CandidateSelection::EpsilonGreedy;
            c.epsilon = 0.5;
        },
        &SCORES,
    );
    assert_eq!(parents(&mut again, 200), expected);
}

#[test]
fn top_k_pareto_samples_the_front_among_the_k_best() {
    let top = |k: usize| {
        pool(
            |c| {
                c.candidate_selection_strategy = CandidateSelection::TopKPareto;
                c.top_k = k;
            },
            &SCORES,
        )
    };
    // Means: 3 (0.7) > 2 (0.5) > 0, 1, 4 (0.25; ties in discovery order). The top 2 are
    // {3, 2}: only 2 stands on a front among them.
    assert_eq!(parents(&mut top(2), 50), vec![2; 50]);
    // The top 3 are {3, 2, 0}: 2 and 0 stand on fronts.
    let seen: BTreeSet<usize> = parents(&mut top(3), 200).into_iter().collect();
    assert_eq!(seen, BTreeSet::from([0, 2]));
    // The top 1 is {3}, on no front: the best candidate.
    assert_eq!(parents(&mut top(1), 20), vec![3; 20]);
    // A k above the pool's size is plain Pareto sampling.
    let seen: BTreeSet<usize> = parents(&mut top(50), 400).into_iter().collect();
    assert_eq!(seen, BTreeSet::from([0, 1, 2]));
}

#[test]
fn selection_settings_out_of_range_are_refused_with_what_to_do() {
    let make = |change: fn(&mut GepaConfig)| {
        let mut config = config(100);
        change(&mut config);
        Gepa::new(&student(STUDENT), &examples(2, "t"), None, config)
            .expect_err("an invalid setting")
            .to_string()
    };
    let err = make(|c| c.epsilon = 1.5);
    assert!(
        err.contains("`epsilon` is 1.5") && err.contains("between 0 and 1"),
        "{err}"
    );
    let err = make(|c| c.top_k = 0);
    assert!(
        err.contains("`top_k` is 0") && err.contains("1 or more"),
        "{err}"
    );
}

/// A two-predictor student, `a` and `b`, both at `v0`.
fn two_predictors() -> ProgramState {
    use hone_core::Signature;
    use hone_core::state::ProgramStructure;
    let sig = || {
        let mut sig = Signature::parse("question -> answer").expect("parses");
        sig.instructions = STUDENT.into();
        sig
    };
    let structure = ProgramStructure::new()
        .with_predictor("a", sig())
        .with_predictor("b", sig());
    ProgramState::from_structure(&structure)
}

/// The scripted executor of [`two_predictors`]: a program whose instructions are `vA` and
/// `vB` scores `(min(A, 2) + min(B, 2)) / 4` on every example, with a trace of both
/// predictors when asked; a reflection answers the next version.
fn answer_two(job: &Job) -> JobResult {
    let JobSpec::Evaluate {
        program,
        examples,
        capture_traces,
        ..
    } = &job.spec
    else {
        return answer(job);
    };
    let v = |name: &str| version(&program.predictors[name].signature.instructions).min(2);
    let score = (v("a") + v("b")) as f64 / 4.0;
    let JobOutput::Evaluated { mut outcomes } = evaluated(examples, *capture_traces, score, |q| {
        Some(format!("feedback on {q}"))
    }) else {
        unreachable!()
    };
    for outcome in &mut outcomes {
        if let Some(step) = outcome.trace.first().cloned() {
            outcome.trace = ["a", "b"]
                .iter()
                .map(|&p| crate::protocol::TraceStep {
                    predictor: p.into(),
                    ..step.clone()
                })
                .collect();
        }
    }
    JobResult {
        id: job.id,
        output: JobOutput::Evaluated { outcomes },
        lm_calls: 1,
    }
}

fn two_predictor_run(selector: ComponentSelection) -> Gepa {
    let mut config = config(60);
    config.component_selector = selector;
    Gepa::new(
        &two_predictors(),
        &examples(8, "t"),
        Some(&examples(4, "v")),
        config,
    )
    .expect("a valid run")
}

/// The reflections' proposals in order: (predictor, new text).
fn proposals(opt: &Gepa) -> Vec<(String, String)> {
    opt.log()
        .events()
        .iter()
        .filter_map(|e| match e {
            crate::log::LogEvent::Proposal {
                predictor, text, ..
            } => Some((predictor.clone(), text.clone())),
            _ => None,
        })
        .collect()
}

fn pair(a: &str, b: &str) -> (String, String) {
    (a.to_owned(), b.to_owned())
}

#[test]
fn round_robin_rewrites_one_component_per_mutation_in_turn() {
    let mut opt = two_predictor_run(ComponentSelection::RoundRobin);
    let jobs = drive(&mut opt, None, answer_two);
    // Every reflection step holds one call.
    let reflections = jobs
        .iter()
        .filter(|j| matches!(j.spec, JobSpec::Predict { .. }))
        .count();
    assert_eq!(reflections, proposals(&opt).len());
    // a, then b of the child (which inherits its parent's turn), then a, then b.
    assert_eq!(
        proposals(&opt),
        [
            pair("a", "v1"),
            pair("b", "v1"),
            pair("a", "v2"),
            pair("b", "v2")
        ]
    );
    let texts: Vec<(String, String)> = opt
        .candidates()
        .iter()
        .map(|c| (c.texts["a"].clone(), c.texts["b"].clone()))
        .collect();
    assert_eq!(
        texts,
        [
            pair("v0", "v0"),
            pair("v1", "v0"),
            pair("v1", "v1"),
            pair("v2", "v1"),
            pair("v2", "v2")
        ]
    );
}

#[test]
fn all_rewrites_every_component_in_one_mutation() {
    let mut opt = two_predictor_run(ComponentSelection::All);
    let mut first_reflection = None;
    for _ in 0..3 {
        let jobs = opt.ask();
        if jobs
            .iter()
            .all(|j| matches!(j.spec, JobSpec::Predict { .. }))
        {
            first_reflection = Some(jobs.len());
        }
        for job in jobs {
            assert_eq!(opt.tell(answer_two(&job)), Ok(Told::Accepted));
        }
    }
    // The seed's valset, the parent's minibatch, then both components' reflections at once.
    assert_eq!(first_reflection, Some(2));
    drive(&mut opt, None, answer_two);
    let texts: Vec<(String, String)> = opt
        .candidates()
        .iter()
        .map(|c| (c.texts["a"].clone(), c.texts["b"].clone()))
        .collect();
    assert_eq!(
        texts,
        [pair("v0", "v0"), pair("v1", "v1"), pair("v2", "v2")]
    );
    assert_eq!(
        proposals(&opt)[..4],
        [
            pair("a", "v1"),
            pair("b", "v1"),
            pair("a", "v2"),
            pair("b", "v2")
        ]
    );
}

/// Runs `opt` to its end one job at a time like [`drive`], handing it `signals(k)` before its
/// `k`-th result (from 1): the driver's clock and stop requests.
fn drive_observing(opt: &mut Gepa, signals: impl Fn(usize) -> RunSignals) -> usize {
    let mut tells = 0;
    while !opt.is_done() {
        let jobs = opt.ask();
        assert!(!jobs.is_empty(), "not done but nothing to run");
        for job in jobs {
            tells += 1;
            opt.observe(signals(tells));
            assert_eq!(opt.tell(answer(&job)), Ok(Told::Accepted));
        }
    }
    tells
}

/// The log's notes.
fn notes(opt: &Gepa) -> Vec<String> {
    opt.log()
        .events()
        .iter()
        .filter_map(|e| match e {
            crate::log::LogEvent::Note { message } => Some(message.clone()),
            _ => None,
        })
        .collect()
}

/// The run's iterations, as its final note counts them.
fn iterations(opt: &Gepa) -> i64 {
    opt.iteration + 1
}

/// The scripted run (see [`score_of`]): the seed scores 0 on the valset (4 calls); the first
/// iteration accepts v1 (0.25; 2 + 2 + 4 calls), the second v2 (0.5), later ones reject v3
/// (2 + 2 calls each).
fn stopping(change: impl FnOnce(&mut GepaConfig)) -> Gepa {
    let mut opt = gepa_with(1000, change);
    drive(&mut opt, None, answer);
    opt
}

#[test]
fn the_budget_is_the_recorded_stop_reason_when_nothing_else_stops_the_run() {
    let mut opt = gepa(30);
    drive(&mut opt, None, answer);
    assert_eq!(opt.stop_reason(), Some(GepaStopReason::MaxMetricCalls));
    assert_eq!(opt.metric_calls(), 32);
    let notes = notes(&opt);
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("GEPA stops (max_metric_calls): the budget of 30")),
        "{notes:?}"
    );
    assert!(
        notes
            .last()
            .is_some_and(|n| n.starts_with("GEPA finished (max_metric_calls) after 5 iteration(s)")),
        "{notes:?}"
    );
}

#[test]
fn no_improvement_stops_after_n_iterations_without_a_better_best() {
    let opt = stopping(|c| c.no_improvement_iterations = Some(2));
    // Iterations 1 and 2 raise the best score; 3 and 4 do not: the check before the fifth
    // stops the run.
    assert_eq!(opt.stop_reason(), Some(GepaStopReason::NoImprovement));
    assert_eq!(iterations(&opt), 4);
    assert_eq!(opt.metric_calls(), 4 + 8 + 8 + 4 + 4);
    assert_eq!(opt.candidates().len(), 3);
    assert!(
        notes(&opt).iter().any(|n| n
            == "GEPA stops (no_improvement_iterations): 2 iteration(s) in a row did not raise \
                the best score 0.5"),
        "{:?}",
        notes(&opt)
    );
}

#[test]
fn score_threshold_stops_once_the_best_valset_score_reaches_it() {
    let opt = stopping(|c| c.score_threshold = Some(0.5));
    assert_eq!(opt.stop_reason(), Some(GepaStopReason::ScoreThreshold));
    assert_eq!(iterations(&opt), 2);
    assert_eq!(opt.metric_calls(), 20);
    assert_eq!(opt.best_candidate()["self"], "v2");

    let opt = stopping(|c| c.score_threshold = Some(0.25));
    assert_eq!(opt.stop_reason(), Some(GepaStopReason::ScoreThreshold));
    assert_eq!(iterations(&opt), 1);
    assert_eq!(opt.metric_calls(), 12);
    assert_eq!(opt.best_candidate()["self"], "v1");
}

#[test]
fn max_candidates_stops_once_the_pool_is_full() {
    let opt = stopping(|c| c.max_candidates = Some(2));
    assert_eq!(opt.stop_reason(), Some(GepaStopReason::MaxCandidates));
    assert_eq!(iterations(&opt), 1);
    assert_eq!(opt.candidates().len(), 2);
    // The seed alone fills a pool of one: no iteration runs.
    let opt = stopping(|c| c.max_candidates = Some(1));
    assert_eq!(opt.stop_reason(), Some(GepaStopReason::MaxCandidates));
    assert_eq!(iterations(&opt), 0);
    assert_eq!(opt.metric_calls(), 4);
}

#[test]
fn timeout_stops_by_the_time_the_driver_hands_in() {
    // The driver's clock says 10 s per result. The checks before iterations 1 to 4 come with
    // results 1, 5, 9 and 12 (10, 50, 90 and 120 s): 120 > 100 stops the run before the
    // fourth iteration.
    let mut opt = gepa_with(1000, |c| c.timeout_secs = Some(100.0));
    drive_observing(&mut opt, |k| RunSignals {
        elapsed_secs: 10.0 * k as f64,
        stop_requested: false,
    });
    assert_eq!(opt.stop_reason(), Some(GepaStopReason::Timeout));
    assert_eq!(iterations(&opt), 3);
    assert_eq!(opt.metric_calls(), 24);
    assert!(
        notes(&opt).iter().any(|n| n
            == "GEPA stops (timeout_secs): 120.0 s of wall time passed, over timeout_secs = 100"),
        "{:?}",
        notes(&opt)
    );
    // A driver that hands in no time never times out: the budget ends the run.
    let opt = stopping(|c| {
        c.timeout_secs = Some(100.0);
        c.budget = GepaBudget::MaxMetricCalls(30);
    });
    assert_eq!(opt.stop_reason(), Some(GepaStopReason::MaxMetricCalls));
}

#[test]
fn a_stop_request_stops_before_the_next_iteration_and_names_the_stop_file() {
    let mut opt = gepa_with(1000, |c| c.stop_file = Some("run/gepa.stop".into()));
    assert_eq!(opt.stop_file(), Some(std::path::Path::new("run/gepa.stop")));
    // The file appears with the fifth result, the one that ends the first iteration.
    drive_observing(&mut opt, |k| RunSignals {
        elapsed_secs: 0.0,
        stop_requested: k >= 5,
    });
    assert_eq!(opt.stop_reason(), Some(GepaStopReason::StopRequested));
    assert_eq!(iterations(&opt), 1);
    assert_eq!(opt.metric_calls(), 12);
    assert!(
        notes(&opt)
            .iter()
            .any(|n| n == "GEPA stops (stop_file): the stop file run/gepa.stop exists"),
        "{:?}",
        notes(&opt)
    );
}

#[test]
fn stop_conditions_compose_and_the_first_to_hold_stops_the_run() {
    // max_candidates = 3 holds after iteration 2, before no_improvement = 2 would (after 4).
    let opt = stopping(|c| {
        c.no_improvement_iterations = Some(2);
        c.max_candidates = Some(3);
    });
    assert_eq!(opt.stop_reason(), Some(GepaStopReason::MaxCandidates));
    assert_eq!(iterations(&opt), 2);
    // A budget smaller than the threshold's needs stops first.
    let opt = stopping(|c| {
        c.score_threshold = Some(0.5);
        c.budget = GepaBudget::MaxMetricCalls(12);
    });
    assert_eq!(opt.stop_reason(), Some(GepaStopReason::MaxMetricCalls));
    assert_eq!(iterations(&opt), 1);
}

#[test]
fn stop_conditions_end_a_pipelined_run_cleanly() {
    let opt = stopping(|c| {
        c.overlap_full_evals = true;
        c.score_threshold = Some(0.5);
    });
    assert_eq!(opt.stop_reason(), Some(GepaStopReason::ScoreThreshold));
    assert!(opt.best_candidate()["self"] == "v2");
    assert!(opt.pending().is_empty());
}

#[test]
fn stop_settings_out_of_range_are_refused_with_what_to_do() {
    let make = |change: fn(&mut GepaConfig)| {
        let mut config = config(100);
        change(&mut config);
        Gepa::new(&student(STUDENT), &examples(2, "t"), None, config)
            .expect_err("an invalid setting")
            .to_string()
    };
    for (change, expected) in [
        (
            (|c: &mut GepaConfig| c.timeout_secs = Some(-1.0)) as fn(&mut GepaConfig),
            "`timeout_secs` is -1",
        ),
        (
            |c| c.no_improvement_iterations = Some(0),
            "`no_improvement_iterations` is 0",
        ),
        (
            |c| c.score_threshold = Some(f64::NAN),
            "`score_threshold` is NaN",
        ),
        (|c| c.max_candidates = Some(0), "`max_candidates` is 0"),
        (|c| c.stop_file = Some("".into()), "`stop_file` is empty"),
    ] {
        let err = make(change);
        assert!(err.contains(expected), "{err}");
        assert!(err.contains("leave it out"), "{err}");
    }
}

/// [`answer`], with each evaluated example's answer naming the instruction that produced it,
/// and validation example `v0` scored 1 by every instruction (so candidates tie there).
fn answer_naming(job: &Job) -> JobResult {
    let mut result = answer(job);
    if let (JobSpec::Evaluate { program, .. }, JobOutput::Evaluated { outcomes }) =
        (&job.spec, &mut result.output)
    {
        let text = instructions(program).to_owned();
        for outcome in outcomes {
            outcome.prediction = Some(Prediction::new(Map::from_iter([(
                "answer".to_owned(),
                json!(text),
            )])));
            if outcome.split == crate::protocol::Split::Val && outcome.index == 0 {
                outcome.score = Some(1.0);
            }
        }
    }
    result
}

/// Per validation example, (candidate, answer) of its best outputs.
fn best_outputs(opt: &Gepa) -> Vec<Vec<(usize, String)>> {
    opt.best_outputs()
        .expect("tracked")
        .iter()
        .map(|outputs| {
            outputs
                .iter()
                .map(|o| {
                    let answer = o.prediction.fields()["answer"].as_str().expect("text");
                    (o.candidate, answer.to_owned())
                })
                .collect()
        })
        .collect()
}

#[test]
fn track_best_outputs_keeps_each_examples_best_outputs_and_their_candidates() {
    let mut opt = gepa_with(30, |c| c.track_best_outputs = true);
    drive(&mut opt, None, answer_naming);
    let texts: Vec<&str> = opt
        .candidates()
        .iter()
        .map(|c| c.texts["self"].as_str())
        .collect();
    assert_eq!(texts, ["v0", "v1", "v2"]);
    let tied = |c: usize| (c, format!("v{c}"));
    assert_eq!(
        best_outputs(&opt),
        [
            // Every candidate scores 1 on `v0`: all three outputs are kept.
            vec![tied(0), tied(1), tied(2)],
            // Elsewhere v2 (0.5) replaced v1 (0.25), which replaced the seed (0).
            vec![tied(2)],
            vec![tied(2)],
            vec![tied(2)],
        ]
    );
    // They are in the state.
    let state = Optimizer::state(&opt).expect("a state");
    let text = state.to_string();
    assert!(text.contains("\"best_outputs\""), "{text}");
    // Without the option nothing is kept.
    let mut plain = gepa(30);
    drive(&mut plain, None, answer_naming);
    assert!(plain.best_outputs().is_none());
    assert!(
        !Optimizer::state(&plain)
            .expect("a state")
            .to_string()
            .contains("\"best_outputs\"")
    );
}

/// Runs `make()` handing it `signals(k)` before its `k`-th result, stops after `cut` results,
/// saves and restores its state, answers the jobs it had pending and drives it to its end
/// with the same signals (the count of results going on across the cut).
fn cut_observing(
    make: impl Fn() -> Gepa,
    cut: Option<usize>,
    signals: impl Fn(usize) -> RunSignals,
    answer: impl Fn(&Job) -> JobResult,
) -> (Gepa, usize) {
    let mut opt = make();
    let mut tells = 0;
    let step = |opt: &mut Gepa, job: &Job, tells: &mut usize| {
        *tells += 1;
        opt.observe(signals(*tells));
        assert_eq!(opt.tell(answer(job)), Ok(Told::Accepted));
    };
    'first: while !opt.is_done() {
        for job in opt.ask() {
            if cut.is_some_and(|c| tells >= c) {
                break 'first;
            }
            step(&mut opt, &job, &mut tells);
        }
    }
    if cut.is_none() {
        return (opt, tells);
    }
    let text = serde_json::to_string(&Optimizer::state(&opt).expect("a state")).expect("json");
    let mut resumed =
        <Gepa as crate::restore::Restore>::restore(serde_json::from_str(&text).expect("parses"))
            .expect("restores");
    for job in resumed.pending() {
        step(&mut resumed, &job, &mut tells);
    }
    while !resumed.is_done() {
        let jobs = resumed.ask();
        assert!(!jobs.is_empty(), "not done but nothing to run");
        for job in jobs {
            step(&mut resumed, &job, &mut tells);
        }
    }
    (resumed, tells)
}

/// What a run ended with, to compare a resumed run with the uninterrupted one.
fn ending(opt: &Gepa) -> String {
    serde_json::to_string(&json!({
        "candidates": opt.candidates(),
        "metric_calls": opt.metric_calls(),
        "iterations": iterations(opt),
        "stop": opt.stop_reason(),
        "best_outputs": opt.best_outputs(),
        "log": opt.log(),
    }))
    .expect("serializes")
}

#[test]
fn runs_with_the_new_controls_resumed_from_any_checkpoint_end_as_uninterrupted_ones() {
    type Change = fn(&mut GepaConfig);
    let runs: [(Change, GepaStopReason); 4] = [
        (
            // Two predictors' worth of settings on one: epsilon-greedy parents, every
            // component at once, best outputs, and the no-improvement count across the cut.
            |c| {
                c.candidate_selection_strategy = CandidateSelection::EpsilonGreedy;
                c.epsilon = 0.5;
                c.component_selector = ComponentSelection::All;
                c.track_best_outputs = true;
                c.no_improvement_iterations = Some(3);
                c.max_candidates = Some(10);
                c.timeout_secs = Some(1e6);
            },
            GepaStopReason::NoImprovement,
        ),
        (
            |c| {
                c.candidate_selection_strategy = CandidateSelection::TopKPareto;
                c.top_k = 2;
                c.track_best_outputs = true;
                c.timeout_secs = Some(150.0);
            },
            GepaStopReason::Timeout,
        ),
        (
            |c| {
                c.overlap_full_evals = true;
                c.track_best_outputs = true;
                c.stop_file = Some("gepa.stop".into());
            },
            GepaStopReason::StopRequested,
        ),
        (
            |c| {
                c.frontier_type = FrontierType::Hybrid;
                c.candidate_selection_strategy = CandidateSelection::TopKPareto;
                c.top_k = 2;
                c.no_improvement_iterations = Some(2);
            },
            GepaStopReason::NoImprovement,
        ),
    ];
    for (change, reason) in runs {
        let make = || gepa_with(1000, change);
        let signals = |k: usize| RunSignals {
            elapsed_secs: 10.0 * k as f64,
            stop_requested: k >= 25,
        };
        let answer = |job: &Job| {
            let mut result = answer_naming(job);
            let objectives = answer_objectives(job).output;
            if let (JobOutput::Evaluated { outcomes }, JobOutput::Evaluated { outcomes: scored }) =
                (&mut result.output, objectives)
            {
                for (outcome, with) in outcomes.iter_mut().zip(scored) {
                    outcome.objectives = with.objectives;
                }
            }
            result
        };
        let (whole, total) = cut_observing(make, None, signals, answer);
        assert_eq!(whole.stop_reason(), Some(reason));
        let expected = ending(&whole);
        assert!(total > 10, "{total} results");
        for cut in 1..total {
            let (resumed, tells) = cut_observing(make, Some(cut), signals, answer);
            assert_eq!(tells, total, "{reason:?}: cut after {cut} results");
            assert_eq!(
                ending(&resumed),
                expected,
                "{reason:?}: cut after {cut} results"
            );
        }
    }
}

/// A pool over two validation examples with objective scores `accuracy` and `brevity`:
/// candidate 0 is best on example 0, candidate 1 on example 1, candidate 2 on neither but the
/// only brief one; all three tie on mean accuracy.
fn objective_pool(frontier: FrontierType) -> Gepa {
    let mut opt = Gepa::new(
        &student(STUDENT),
        &examples(8, "t"),
        Some(&examples(2, "v")),
        GepaConfig {
            frontier_type: frontier,
            ..config(100)
        },
    )
    .expect("a valid run");
    let objectives = |pairs: [(f64, f64); 2]| -> Vec<std::collections::BTreeMap<String, f64>> {
        pairs
            .iter()
            .map(|&(a, b)| {
                std::collections::BTreeMap::from([
                    ("accuracy".to_owned(), a),
                    ("brevity".to_owned(), b),
                ])
            })
            .collect()
    };
    let pool = [
        ([1.0, 0.0], objectives([(1.0, 0.0), (0.0, 0.0)])),
        ([0.0, 1.0], objectives([(0.0, 0.0), (1.0, 0.0)])),
        ([0.5, 0.5], objectives([(0.5, 1.0), (0.5, 1.0)])),
    ];
    for (i, (scores, objectives)) in pool.into_iter().enumerate() {
        opt.programs.push(GepaCandidate {
            texts: IndexMap::from([("self".to_owned(), format!("v{i}"))]),
            parents: Vec::new(),
            val_scores: scores.to_vec(),
            val_objectives: objectives,
            discovered_at: 0,
            next_component: 0,
        });
        opt.front.add(i, &scores);
    }
    opt
}

fn parents_seen(opt: &mut Gepa, draws: usize) -> (BTreeSet<usize>, Vec<usize>) {
    let picked = parents(opt, draws);
    let seen = picked.iter().copied().collect();
    (seen, picked)
}

#[test]
fn frontier_types_draw_parents_from_fronts_over_examples_objectives_or_both() {
    // Per example: 0 and 1 stand on a front, 2 on none.
    let (seen, _) = parents_seen(&mut objective_pool(FrontierType::Instance), 200);
    assert_eq!(seen, BTreeSet::from([0, 1]));
    // Per objective: all tie on accuracy, 2 alone is best on brevity, so 0 and 1 are
    // dominated by it.
    let (seen, _) = parents_seen(&mut objective_pool(FrontierType::Objective), 200);
    assert_eq!(seen, BTreeSet::from([2]));
    // Both: each stands alone on some front.
    let (seen, _) = parents_seen(&mut objective_pool(FrontierType::Hybrid), 300);
    assert_eq!(seen, BTreeSet::from([0, 1, 2]));
    // Per (example, objective): 0 leads (v0, accuracy), 1 (v1, accuracy), 2 both brevity
    // pairs, so 2 is drawn about twice as often as either.
    let (seen, picked) = parents_seen(&mut objective_pool(FrontierType::Cartesian), 400);
    assert_eq!(seen, BTreeSet::from([0, 1, 2]));
    let count = |c: usize| picked.iter().filter(|&&p| p == c).count();
    assert!(count(2) > count(0) && count(2) > count(1), "{picked:?}");
    assert_eq!(
        objective_pool(FrontierType::Objective).candidates()[2].objective_scores(),
        std::collections::BTreeMap::from([
            ("accuracy".to_owned(), 0.5),
            ("brevity".to_owned(), 1.0)
        ])
    );
}

/// [`answer`] with objective scores: `quality` (the score) and `length`, the same for all.
fn answer_objectives(job: &Job) -> JobResult {
    let mut result = answer(job);
    if let JobOutput::Evaluated { outcomes } = &mut result.output {
        for outcome in outcomes {
            outcome.objectives = Some(std::collections::BTreeMap::from([
                ("quality".to_owned(), outcome.score.unwrap_or_default()),
                ("length".to_owned(), 1.0),
            ]));
        }
    }
    result
}

#[test]
fn objective_fronts_run_on_the_metrics_objectives_and_refuse_a_metric_without() {
    for frontier in [
        FrontierType::Objective,
        FrontierType::Hybrid,
        FrontierType::Cartesian,
    ] {
        let mut opt = gepa_with(30, |c| c.frontier_type = frontier);
        drive(&mut opt, None, answer_objectives);
        let texts: Vec<&str> = opt
            .candidates()
            .iter()
            .map(|c| c.texts["self"].as_str())
            .collect();
        assert_eq!(texts, ["v0", "v1", "v2"], "{frontier:?}");
        assert_eq!(
            opt.candidates()[2].objective_scores(),
            std::collections::BTreeMap::from([
                ("length".to_owned(), 1.0),
                ("quality".to_owned(), 0.5)
            ])
        );
        assert_eq!(opt.stop_reason(), Some(GepaStopReason::MaxMetricCalls));

        // Without objectives, the seed's valset run ends the run with what to do.
        let mut opt = gepa_with(30, |c| c.frontier_type = frontier);
        let seed = opt.ask();
        let err = opt.tell(answer(&seed[0])).expect_err("no objectives");
        let message = err.to_string();
        assert!(
            message.contains("keeps fronts over objective scores")
                && message.contains("frontier_type = \"instance\""),
            "{message}"
        );
        assert!(opt.is_done());
    }
}
