//! End-to-end: train -> save -> load -> recommend / similar / fold-in / export / eval.

#[path = "common/cli.rs"]
mod cli_common;

use cli_common::{ok, wmf, write_triplets};

#[test]
fn train_save_load_recommend_eval() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_triplets(d, "data.csv", 120, 80, 8, 1);
    let common = [
        "-k",
        "6",
        "--iterations",
        "6",
        "--threads",
        "2",
        "--alpha",
        "5",
        "--lambda",
        "0.1",
    ];
    let mut args = vec!["train", "data.csv", "-o", "model.wmf", "--quiet"];
    args.extend(common);
    ok(&wmf(d, &args));
    assert!(d.join("model.wmf").exists());

    // same seed, same threads: the same model file
    let mut args2 = vec!["train", "data.csv", "-o", "model2.wmf", "--quiet"];
    args2.extend(common);
    ok(&wmf(d, &args2));
    assert_eq!(
        std::fs::read(d.join("model.wmf")).unwrap(),
        std::fs::read(d.join("model2.wmf")).unwrap()
    );

    // JSON lines: one per iteration plus a summary
    let mut args3 = vec![
        "train",
        "data.csv",
        "-o",
        "model3.wmf",
        "--json",
        "--solver",
        "eals",
    ];
    args3.extend(common);
    let out = ok(&wmf(d, &args3));
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 7, "{out}");
    assert_eq!(lines[5]["iteration"], 6);
    assert!(lines[5]["loss"].as_f64().unwrap() < lines[0]["loss"].as_f64().unwrap());

    // --loss-every 4: the loss after iterations 4 and 6 (the last) only, and
    // the same model as every iteration's
    let mut args4 = vec![
        "train",
        "data.csv",
        "-o",
        "model4.wmf",
        "--json",
        "--loss-every",
        "4",
    ];
    args4.extend(common);
    let out = ok(&wmf(d, &args4));
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let evaluated: Vec<bool> = lines[..6].iter().map(|l| l["loss"].is_f64()).collect();
    assert_eq!(evaluated, [false, false, false, true, false, true], "{out}");
    assert!(lines[..6].iter().all(|l| l.get("loss").is_some()), "{out}");
    assert_eq!(
        std::fs::read(d.join("model.wmf")).unwrap(),
        std::fs::read(d.join("model4.wmf")).unwrap()
    );

    // CG over bfloat16 rows: a different model, of nearly the same loss
    let mut args5 = vec![
        "train",
        "data.csv",
        "-o",
        "model5.wmf",
        "--json",
        "--cg-rows",
        "bf16",
    ];
    args5.extend(common);
    let out5 = ok(&wmf(d, &args5));
    assert_ne!(
        std::fs::read(d.join("model.wmf")).unwrap(),
        std::fs::read(d.join("model5.wmf")).unwrap()
    );
    let final_loss = |out: &str| -> f64 {
        let lines: Vec<serde_json::Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        lines[5]["loss"].as_f64().unwrap()
    };
    let (l32, l16) = (final_loss(&out), final_loss(&out5));
    assert!((l32 - l16).abs() <= 1e-3 * l32, "f32 {l32} vs bf16 {l16}");

    // recommend one user, excluding seen items
    let out = ok(&wmf(
        d,
        &[
            "recommend",
            "-m",
            "model.wmf",
            "--user",
            "u3",
            "-n",
            "5",
            "--seen",
            "data.csv",
        ],
    ));
    let rows: Vec<Vec<&str>> = out.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(rows.len(), 5);
    let data = std::fs::read_to_string(d.join("data.csv")).unwrap();
    for r in &rows {
        assert_eq!(r[0], "u3");
        assert!(
            !data.contains(&format!("u3,{},", r[2])),
            "seen item {} recommended",
            r[2]
        );
    }
    // planted taste: user 3 is in group 3, whose items are item60..item79
    let in_group = rows
        .iter()
        .filter(|r| r[2][4..].parse::<usize>().unwrap() >= 60)
        .count();
    assert!(in_group >= 4, "{out}");

    // all users, and a users file
    let out = ok(&wmf(
        d,
        &[
            "recommend",
            "-m",
            "model.wmf",
            "--all",
            "-n",
            "3",
            "--include-seen",
            "--batch",
            "7",
        ],
    ));
    assert_eq!(out.lines().count(), 120 * 3);
    std::fs::write(d.join("users.txt"), "u1\nu2\n").unwrap();
    let out = ok(&wmf(
        d,
        &[
            "recommend",
            "-m",
            "model.wmf",
            "--users",
            "users.txt",
            "-n",
            "2",
            "--seen",
            "data.csv",
            "--json",
        ],
    ));
    assert_eq!(out.lines().count(), 2);

    // similar items: an item's neighbours come from its group
    let out = ok(&wmf(
        d,
        &["similar", "-m", "model.wmf", "--item", "item1", "-n", "5"],
    ));
    let near = out
        .lines()
        .filter(|l| l.split('\t').nth(2).unwrap()[4..].parse::<usize>().unwrap() < 20)
        .count();
    assert!(near >= 4, "{out}");
    assert_eq!(
        ok(&wmf(
            d,
            &["similar", "-m", "model.wmf", "--user", "u0", "-n", "4"]
        ))
        .lines()
        .count(),
        4
    );

    // fold-in of a new user who likes group-2 items
    std::fs::write(
        d.join("new.txt"),
        "item40\nitem41,3\nitem42\nitem45\nunknown-item\n",
    )
    .unwrap();
    let out = ok(&wmf(
        d,
        &[
            "fold-in",
            "-m",
            "model.wmf",
            "new.txt",
            "-n",
            "5",
            "--print-vector",
            "--solver",
            "cholesky",
        ],
    ));
    assert!(out.starts_with("vector\t"));
    let recs: Vec<&str> = out
        .lines()
        .skip(1)
        .map(|l| l.split('\t').nth(2).unwrap())
        .collect();
    assert_eq!(recs.len(), 5);
    assert!(!recs.contains(&"item41"));
    let in_group = recs
        .iter()
        .filter(|r| (40..60).contains(&r[4..].parse::<usize>().unwrap()))
        .count();
    assert!(in_group >= 4, "{out}");

    // export
    ok(&wmf(
        d,
        &["export", "-m", "model.wmf", "--to", "npy", "-o", "npy"],
    ));
    let npy = std::fs::read(d.join("npy/item_factors.npy")).unwrap();
    assert_eq!(&npy[..6], b"\x93NUMPY");
    ok(&wmf(
        d,
        &[
            "export",
            "-m",
            "model.wmf",
            "--to",
            "blob",
            "-o",
            "items.wmfb",
        ],
    ));
    assert_eq!(&std::fs::read(d.join("items.wmfb")).unwrap()[..4], b"WMFB");
    ok(&wmf(
        d,
        &[
            "export",
            "-m",
            "model.wmf",
            "--to",
            "c-header",
            "-o",
            "items.h",
        ],
    ));
    assert!(
        std::fs::read_to_string(d.join("items.h"))
            .unwrap()
            .contains("#define WMF_MODEL_K 6")
    );

    // eval: the model beats popularity
    let mut args = vec!["eval", "data.csv", "--quiet", "--json", "--at", "5"];
    args.extend(common);
    let out = ok(&wmf(d, &args));
    let report: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    let model = report["model"]["ndcg"].as_f64().unwrap();
    let pop = report["popularity"]["ndcg"].as_f64().unwrap();
    assert!(model > pop, "{report}");
}

#[test]
fn gradcheck_passes_and_help_works() {
    let dir = tempfile::tempdir().unwrap();
    let out = ok(&wmf(dir.path(), &["gradcheck", "--seed", "3"]));
    assert!(out.contains("ok: largest relative error"), "{out}");
    for sub in [
        "train",
        "eval",
        "recommend",
        "similar",
        "fold-in",
        "export",
        "gradcheck",
        "demo",
    ] {
        let out = ok(&wmf(dir.path(), &[sub, "--help"]));
        assert!(out.contains("Usage: wmf"), "{sub}: {out}");
    }
}

#[test]
fn demo_beats_popularity() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "demo",
        "--users",
        "800",
        "--items",
        "400",
        "--interactions",
        "30000",
        "--json",
        "--threads",
        "2",
    ];
    let out = ok(&wmf(dir.path(), &args));
    let r: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    let (model, pop) = (
        r["model"]["ndcg"].as_f64().unwrap(),
        r["popularity"]["ndcg"].as_f64().unwrap(),
    );
    assert!(model > 1.5 * pop, "{r}");
    let text = ok(&wmf(
        dir.path(),
        &[
            "demo",
            "--users",
            "300",
            "--items",
            "200",
            "--interactions",
            "8000",
            "--quiet",
        ],
    ));
    assert!(
        text.contains("nDCG@10") && text.contains("popularity baseline"),
        "{text}"
    );
}
