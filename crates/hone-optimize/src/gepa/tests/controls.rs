//! Tests of GEPA's controls beside the budget: parent selection strategies, component
//! selection, stop conditions, best outputs per validation example, and checkpoints of runs
//! that use them.

use std::collections::BTreeSet;

use super::*;

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
