//! What `tell` answers for ids an optimizer never issued, whatever point the run is at:
//! `Unknown`, never `Stale` (which is for jobs it issued whose results are no longer needed).

mod common;

use common::{Drive, answer, dataset, drive, student};
use hone_optimize::{
    BootstrapConfig, BootstrapFewShot, Copro, CoproConfig, JobId, JobOutput, JobResult, Optimizer,
    Simba, SimbaConfig, Told,
};

fn never_issued(id: u64) -> JobResult {
    JobResult {
        id: JobId(id),
        output: JobOutput::Failed {
            error: "from elsewhere".into(),
        },
        lm_calls: 0,
    }
}

#[test]
fn bootstrap_answers_unknown_for_ids_it_never_issued_before_during_and_after_the_run() {
    let train = dataset(20, 5);
    let mut opt = BootstrapFewShot::new(&student(), &train, BootstrapConfig::default())
        .expect("valid configuration");
    // Before anything was handed out: job 0 exists in the book but was never issued.
    assert_eq!(opt.tell(never_issued(0)), Ok(Told::Unknown));
    let jobs = opt.ask();
    assert!(!jobs.is_empty());
    let beyond = jobs.iter().map(|j| j.id.0).max().expect("jobs") + 1_000;
    assert_eq!(opt.tell(never_issued(beyond)), Ok(Told::Unknown));
    // Mid-run, with the wave half answered.
    assert_eq!(opt.tell(answer(&jobs[0])), Ok(Told::Accepted));
    assert_eq!(opt.tell(never_issued(beyond)), Ok(Told::Unknown));
    assert_eq!(opt.tell(answer(&jobs[0])), Ok(Told::Duplicate));
    for job in &jobs[1..] {
        assert_eq!(opt.tell(answer(job)), Ok(Told::Accepted));
    }
    drive(&mut opt, Drive::default());
    assert!(opt.is_done());
    // After the end: an id it never issued is unknown, one it issued and answered a duplicate.
    assert_eq!(opt.tell(never_issued(beyond)), Ok(Told::Unknown));
    assert_eq!(opt.tell(answer(&jobs[0])), Ok(Told::Duplicate));
}

#[test]
fn copro_and_simba_answer_unknown_for_ids_they_never_issued() {
    let train = dataset(8, 6);
    let copro = Copro::new(&student(), &train, CoproConfig::default()).expect("valid");
    let simba = Simba::new(
        &student(),
        &train,
        SimbaConfig {
            bsize: 4,
            ..Default::default()
        },
    )
    .expect("valid");
    for mut opt in [Box::new(copro) as Box<dyn Optimizer>, Box::new(simba)] {
        let jobs = opt.ask();
        let beyond = jobs.iter().map(|j| j.id.0).max().expect("jobs") + 1_000;
        assert_eq!(
            opt.tell(never_issued(beyond)),
            Ok(Told::Unknown),
            "{}",
            opt.name()
        );
        assert_eq!(
            opt.tell(answer(&jobs[0])),
            Ok(Told::Accepted),
            "{}",
            opt.name()
        );
        assert_eq!(
            opt.tell(never_issued(beyond)),
            Ok(Told::Unknown),
            "{}",
            opt.name()
        );
    }
}
