use super::*;
use serde_json::json;

/// A key that belongs to another optimizer, per optimizer (the "misplaced key" of each).
fn misplaced(kind: &str) -> &'static str {
    match kind {
        "labeled_few_shot" => "max_bootstrapped_demos",
        "bootstrap_few_shot" => "num_trials",
        "bootstrap_few_shot_with_random_search" => "num_trials",
        "infer_rules" => "num_trials",
        "bootstrap_few_shot_with_optuna" => "num_rules",
        "mipro_v2" => "num_candidate_programs",
        "gepa" => "auto",
        "copro" => "seed",
        "simba" => "breadth",
        "knn_few_shot" => "num_candidate_programs",
        "ensemble" => "k",
        other => panic!("no misplaced key chosen for {other}"),
    }
}

#[test]
fn every_parameter_table_matches_its_config() {
    let catalogue = Catalogue::builtin();
    for kind in catalogue.kinds() {
        let defaults = kind.defaults();
        let fields: Vec<&str> = defaults
            .as_object()
            .unwrap_or_else(|| panic!("{}: defaults are not a table", kind.name()))
            .keys()
            .map(String::as_str)
            .collect();
        let documented: Vec<&str> = kind.param_names().collect();
        assert_eq!(
            documented,
            fields,
            "{}: documented vs config fields",
            kind.name()
        );
        // The defaults, written out, are a valid config.
        assert_eq!(
            kind.parse_config(&defaults).as_ref(),
            Ok(&defaults),
            "{}",
            kind.name()
        );
        assert_eq!(
            kind.parse_config(&json!({})).as_ref(),
            Ok(&defaults),
            "{}",
            kind.name()
        );
        assert!(!kind.description().is_empty());
    }
}

#[test]
fn an_unknown_key_names_it_and_the_closest_valid_key() {
    let catalogue = Catalogue::builtin();
    for kind in catalogue.kinds() {
        let valid = kind.param_names().next().expect("a parameter");
        let typo = format!("{valid}x");
        let err = catalogue
            .parse_config(kind, &json!({ typo.clone(): 1 }))
            .expect_err("a typo is an error");
        assert_eq!(err.key(), Some(typo.as_str()), "{}", kind.name());
        assert_eq!(err.suggestion(), Some(valid), "{}", kind.name());
        let text = err.to_string();
        assert!(text.contains(&typo) && text.contains(kind.name()), "{text}");
        assert!(text.contains(&format!("did you mean `{valid}`?")), "{text}");
    }
}

#[test]
fn a_misplaced_key_names_it_and_the_optimizers_that_take_it() {
    let catalogue = Catalogue::builtin();
    for kind in catalogue.kinds() {
        let key = misplaced(kind.name());
        assert!(!kind.takes(key), "{} takes {key}", kind.name());
        let err = catalogue
            .parse_config(kind, &json!({ key: 5 }))
            .expect_err("a misplaced key is an error");
        assert_eq!(err.key(), Some(key), "{}", kind.name());
        let ConfigError::UnknownKey { taken_by, .. } = &err else {
            panic!("{}: {err:?}", kind.name());
        };
        assert!(!taken_by.is_empty(), "{}: {err}", kind.name());
        assert!(
            taken_by
                .iter()
                .all(|o| catalogue.get(o).is_some_and(|k| k.takes(key)))
        );
        assert!(
            err.to_string()
                .contains(&format!("`{key}` is not a parameter of {}", kind.name()))
        );
    }
    // The issue's own example.
    let bootstrap = catalogue.lookup("bootstrap_few_shot").expect("known");
    let err = catalogue
        .parse_config(bootstrap, &json!({"num_trials": 5}))
        .expect_err("num_trials does nothing for bootstrap_few_shot");
    assert_eq!(
        err.to_string(),
        "`num_trials` is not a parameter of bootstrap_few_shot; expected one of `metric_threshold`, \
         `teacher`, `teacher_lm`, `teacher_settings`, `max_bootstrapped_demos`, `max_labeled_demos`, \
         `max_rounds`, `max_errors`, `wave_size`, `seed` (it is a parameter of mipro_v2)"
    );
}

#[test]
fn an_unknown_key_inside_a_table_parameter_is_named() {
    let catalogue = Catalogue::builtin();
    for name in ["bootstrap_few_shot", "random_search"] {
        let kind = catalogue.lookup(name).expect("known");
        let err = catalogue
            .parse_config(kind, &json!({"teacher_settings": {"temperatur": 0.7}}))
            .expect_err("a typo inside a table");
        assert_eq!(err.key(), Some("teacher_settings.temperatur"), "{name}");
        assert_eq!(err.suggestion(), Some("temperature"), "{name}");
        let all = json!({"temperature": 0.7, "rollout_id": 1, "no_cache": true});
        let parsed = kind
            .parse_config(&json!({ "teacher_settings": all.clone() }))
            .expect("every documented key is read");
        assert_eq!(
            parsed["teacher_settings"], all,
            "{name}: the keys are CallSettings' fields"
        );
    }
}

#[test]
fn a_wrong_value_names_its_key() {
    let catalogue = Catalogue::builtin();
    let mipro = catalogue.lookup("mipro").expect("an alias");
    let err = mipro
        .parse_config(&json!({"seed": 1, "num_trials": "many"}))
        .expect_err("a string is not a count");
    assert_eq!(err.key(), Some("num_trials"));
    assert!(
        err.to_string()
            .contains("invalid `num_trials` for mipro_v2"),
        "{err}"
    );
    let err = mipro.parse_config(&json!([1])).expect_err("not a table");
    assert_eq!(
        err,
        ConfigError::NotATable {
            kind: "mipro_v2",
            found: "a list"
        }
    );
}

#[test]
fn names_and_aliases_resolve_and_unknown_names_suggest() {
    let catalogue = Catalogue::builtin();
    assert_eq!(catalogue.names().len(), 11);
    for (alias, name) in [
        ("random_search", "bootstrap_few_shot_with_random_search"),
        ("labeled", "labeled_few_shot"),
        ("bootstrap", "bootstrap_few_shot"),
        ("miprov2", "mipro_v2"),
        ("knn", "knn_few_shot"),
        ("gepa", "gepa"),
        ("inferrules", "infer_rules"),
        ("optuna", "bootstrap_few_shot_with_optuna"),
    ] {
        assert_eq!(catalogue.lookup(alias).map(OptimizerKind::name), Ok(name));
    }
    let err = catalogue.lookup("simbaa").expect_err("unknown");
    assert_eq!(err.suggestion(), Some("simba"));
    assert_eq!(
        err.to_string(),
        "unknown optimizer `simbaa`; did you mean `simba`?"
    );
}

#[test]
fn the_registry_restores_every_optimizer_and_modules_do_not_build() {
    let catalogue = Catalogue::builtin();
    let registry = catalogue.registry();
    let restorable: Vec<&str> = registry.names().collect();
    let optimizers: Vec<&str> = catalogue
        .kinds()
        .iter()
        .filter(|k| k.form() == Form::Optimizer)
        .map(OptimizerKind::name)
        .collect();
    assert_eq!(restorable.len(), 9);
    // A checkpoint comes back as the optimizer that saved it, continuing where it was.
    let student = {
        use hone_core::state::ProgramStructure;
        let sig = hone_core::Signature::parse("question -> answer").expect("parses");
        ProgramState::from_structure(&ProgramStructure::single(sig))
    };
    let train: Vec<Example> = (0..4)
        .map(|i| {
            Example::new()
                .with("question", format!("q{i}"))
                .with("answer", "a")
                .with_inputs(["question"])
        })
        .collect();
    let inputs = Inputs {
        student: &student,
        trainset: &train,
        valset: None,
    };
    let mut simba = catalogue
        .lookup("simba")
        .expect("known")
        .build(&inputs, &json!({"bsize": 2}))
        .expect("starts");
    let jobs = simba.ask();
    let restored = catalogue
        .restore_state(simba.state().expect("a state"))
        .expect("restores");
    assert_eq!(restored.name(), "simba");
    assert_eq!(restored.pending(), jobs);
    assert!(optimizers.iter().all(|n| restorable.contains(n)));
    let student = ProgramState::default();
    let inputs = Inputs {
        student: &student,
        trainset: &[],
        valset: None,
    };
    for name in ["knn_few_shot", "ensemble"] {
        let kind = catalogue.lookup(name).expect("known");
        assert_eq!(kind.form(), Form::Module);
        let err = kind
            .build(&inputs, &json!({}))
            .err()
            .expect("a module does not build");
        assert!(err.to_string().contains("call time"), "{err}");
        assert!(kind.restore(json!({})).is_err());
    }
    // Building checks the parameters first.
    let copro = catalogue.lookup("copro").expect("known");
    let err = copro
        .build(&inputs, &json!({"seed": 1}))
        .err()
        .expect("copro has no seed");
    assert!(
        err.to_string()
            .contains("`seed` is not a parameter of copro"),
        "{err}"
    );
}

#[test]
fn the_listing_documents_every_parameter_with_its_default() {
    let listing = Catalogue::builtin().to_json();
    let entries = listing.as_array().expect("a list");
    assert_eq!(entries.len(), 11);
    let labeled = &entries[0];
    assert_eq!(labeled["name"], "labeled_few_shot");
    assert_eq!(labeled["form"], "optimizer");
    assert_eq!(
        labeled["params"][0],
        json!({"name": "k", "type": "integer", "default": 16, "description": "Demos per predictor (DSPy's `k`)."})
    );
    let knn = entries
        .iter()
        .find(|e| e["name"] == "knn_few_shot")
        .expect("listed");
    assert_eq!(knn["form"], "module");
    assert_eq!(knn["params"][0]["default"], 3);
}
