//! `bawaba demo --script` through the real binary: one process with the
//! simulator SMSC, the mock ministries over HTTP, the gateway on a sled
//! store on disk, and a phone playing demo/*.script. The scripts carry
//! their own checks (`? text`); a failed one exits 1. Together they walk
//! every shipped flow in Arabic and in English, over USSD and SMS.

mod e2e_support;

use std::collections::BTreeSet;
use std::process::Output;
use std::time::Duration;

use e2e_support::{root, run};

const DEADLINE: Duration = Duration::from_secs(120);

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn play(script: &str) -> Output {
    let path = root("demo").join(script);
    let out = run(
        &[
            "demo",
            "--script",
            path.to_str().unwrap(),
            "--step-timeout",
            "20s",
        ],
        DEADLINE,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{script} failed\nstdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    out
}

/// The screens a script printed, as one string.
fn screens(script: &str) -> String {
    text(&play(script).stdout)
}

macro_rules! scripts {
    ($($name:ident: $file:literal => [$($shown:literal),* $(,)?];)*) => {
        const SCRIPTS: &[&str] = &[$($file),*];
        $(
            #[test]
            fn $name() {
                let out = screens($file);
                $(assert!(out.contains($shown), "{:?} not shown by {}:\n{out}", $shown, $file);)*
            }
        )*
    };
}

scripts! {
    home: "home.script" => ["> *123#", "| الخدمات الحكومية", "| خزمەتگوزاری", "| Government e-services"];
    pds_ar: "pds-ar.script" => ["٤٠٬٠٠٠", "[session ended]"];
    pds_en: "pds-en.script" => ["Balance: 40,000 IQD", "This month's ration"];
    electricity_ar: "electricity-ar.script" => ["٢٠٬٠٠٠", "[sms from 2150]"];
    electricity_en: "electricity-en.script" => ["Amount due: 20,000 IQD", "[sms from 2150]"];
    passport_ar: "passport-ar.script" => ["جوازك جاهز"];
    passport_en: "passport-en.script" => ["Your passport is ready.", "being checked"];
    pension_ar: "pension-ar.script" => ["٥٣٠٬٠٠٠"];
    pension_en: "pension-en.script" => ["not correct", "Pension: 530,000 IQD"];
    sms_ar: "sms-ar.script" => ["[sms sent", "[sms from 2150]"];
    sms_en: "sms-en.script" => ["[sms from 2150]", "Amount due: 20,000 IQD"];
}

/// Every script in demo/ has a test above, and every shipped flow has an
/// Arabic and an English walk.
#[test]
fn every_script_runs_and_every_flow_is_walked_in_both_languages() {
    let on_disk: BTreeSet<String> = std::fs::read_dir(root("demo"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".script"))
        .collect();
    let tested: BTreeSet<String> = SCRIPTS.iter().map(|s| s.to_string()).collect();
    assert_eq!(on_disk, tested, "demo/*.script and the tests above differ");
    for entry in std::fs::read_dir(root("flows")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        let Some(flow) = name.strip_suffix(".yaml") else {
            continue;
        };
        if flow == "home" {
            assert!(tested.contains("home.script"));
            continue;
        }
        for lang in ["ar", "en"] {
            let script = format!("{flow}-{lang}.script");
            assert!(
                tested.contains(&script),
                "no demo/{script} for flows/{name}"
            );
        }
    }
}

#[test]
fn a_failed_check_exits_1_and_names_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("wrong.script");
    std::fs::write(&script, "# wrong on purpose\n*123#\n? No such menu line\n").unwrap();
    let out = run(&["demo", "--script", script.to_str().unwrap()], DEADLINE);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("line 3: expected \"No such menu line\""),
        "{err}"
    );
    // The screen it did get was printed before the failure.
    assert!(
        text(&out.stdout).contains("| الخدمات الحكومية"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn a_kept_store_remembers_the_language_between_demo_runs() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let store = store.to_str().unwrap();
    let first = dir.path().join("first.script");
    std::fs::write(&first, "*123#\n5\n3\n? Government e-services\nabort\n").unwrap();
    let second = dir.path().join("second.script");
    std::fs::write(&second, "*123#\n? Government e-services\n").unwrap();
    for script in [&first, &second] {
        let out = run(
            &[
                "demo",
                "--store",
                store,
                "--script",
                script.to_str().unwrap(),
            ],
            DEADLINE,
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
    }
}
