//! The command line: one duration grammar for flags, scenario files and
//! metadata; the failure codes in `--help`.

use clap::{CommandFactory, Parser};
use std::process::Command;
use std::time::Duration;
use topups_mock::{Cli, FailureCode};

fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
    Cli::try_parse_from(std::iter::once("topups-mock").chain(args.iter().copied()))
}

#[test]
fn duration_flags_read_durations_as_metadata_and_scenario_files_do() {
    // The grammar of `metadata[mock_settle_after]` and scenario files: a
    // bare number is seconds, anything else humantime.
    for (raw, ms) in [
        ("5", 5_000),
        ("0", 0),
        ("5s", 5_000),
        ("250ms", 250),
        ("2m", 120_000),
        ("1h 30m", 5_400_000),
        ("1d", 86_400_000),
    ] {
        let want = Duration::from_millis(ms);
        let cli = parse(&["--settle-after", raw, "--available-after", raw]).expect(raw);
        assert_eq!(cli.settle_after, want, "--settle-after {raw}");
        assert_eq!(cli.available_after, want, "--available-after {raw}");
    }
    assert_eq!(
        parse(&["--settle-after", "5"]).unwrap().settle_after,
        Duration::from_secs(5)
    );
    let defaults = parse(&[]).unwrap();
    assert_eq!(defaults.settle_after, Duration::from_secs(5));
    assert_eq!(defaults.available_after, Duration::ZERO);
}

#[test]
fn a_bad_duration_is_refused_with_the_grammar() {
    let err = parse(&["--settle-after", "soon"]).unwrap_err().to_string();
    assert!(
        err.contains("'soon' is not a duration such as 5, 30s, 250ms or 1m"),
        "{err}"
    );
}

#[test]
fn help_lists_the_failure_codes() {
    let help = Cli::command().render_long_help().to_string();
    let all = FailureCode::ALL.map(FailureCode::as_str).join(", ");
    assert!(
        help.contains(&format!("[possible values: {all}]")),
        "{help}"
    );
    let err = parse(&["--failure-code", "exploded"]).unwrap_err();
    assert_eq!(err.kind(), clap::error::ErrorKind::InvalidValue);
    let err = err.to_string();
    assert!(err.contains("'exploded'") && err.contains(&all), "{err}");
    for code in FailureCode::ALL {
        assert_eq!(
            parse(&["--failure-code", code.as_str()])
                .unwrap()
                .failure_code,
            code
        );
    }
}

#[test]
fn the_binary_shows_the_failure_codes_in_help() {
    let out = Command::new(env!("CARGO_BIN_EXE_topups-mock"))
        .arg("--help")
        .output()
        .expect("binary runs");
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        help.contains("possible values: account_closed, could_not_process"),
        "{help}"
    );
}

#[test]
fn workers_log_filters_and_limits_are_checked() {
    for bad in [
        &["--workers", "513"][..],
        &["--workers", "0"],
        &["--log-level", "garbage!!"],
        &["--max-accounts", "0"],
        &["--body-timeout", "soon"],
    ] {
        let err = parse(bad).unwrap_err().to_string();
        assert!(err.contains(bad[0]), "{bad:?}: {err}");
    }
    for good in [
        &["--workers", "256"][..],
        &["--log-level", "warn,topups_mock=debug"],
        &["--log-level", "off"],
        &["--max-accounts", "1"],
        &["--shutdown-timeout", "30s"],
    ] {
        assert!(parse(good).is_ok(), "{good:?}");
    }
}
