//! The exported C header compiles warning-free as C99 and its values are the
//! model's f32 values bit for bit (skipped when no C compiler `cc` is found).

use std::process::Command;

use ndarray::Array2;
use wmf_host::export::ItemBlob;
use wmf_host::ids::IdMap;
use wmf_host::{Model, TrainConfig};

#[test]
fn c_header_compiles_and_values_are_exact() {
    if Command::new("cc").arg("--version").output().is_err() {
        eprintln!("no C compiler `cc`: skipped");
        return;
    }
    let (n, k) = (7, 3);
    let model = Model {
        config: TrainConfig {
            k,
            ..TrainConfig::default()
        },
        user_factors: Array2::zeros((1, k)),
        item_factors: Array2::from_shape_fn((n, k), |(i, j)| {
            ((i * 31 + j * 17) as f32).sin() * 10f32.powi(j as i32 - 2) + 1e-9
        }),
        item_c0: (0..n).map(|j| 1.0 / (1.0 + j as f32)).collect(),
        user_ids: IdMap::sequential(1),
        item_ids: IdMap::sequential(n),
    };
    let blob = ItemBlob::from_model(&model).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("wmf_model.h"), blob.c_header().unwrap()).unwrap();
    let prog = r#"
#include <stdio.h>
#include <string.h>
#include <stdint.h>
#include "wmf_model.h"
static void dump(const float *v, int len) {
    for (int i = 0; i < len; i++) { uint32_t b; memcpy(&b, &v[i], 4); printf("%08x\n", (unsigned)b); }
}
int main(void) {
    dump(wmf_item_factors, WMF_MODEL_N * WMF_MODEL_K);
    dump(wmf_gramian, WMF_MODEL_K * WMF_MODEL_K);
    dump(wmf_item_c0, WMF_MODEL_N);
    return 0;
}
"#;
    std::fs::write(dir.path().join("main.c"), prog).unwrap();
    let exe = dir.path().join("dump");
    let out = Command::new("cc")
        .args([
            "-std=c99",
            "-Wall",
            "-Wextra",
            "-Wpedantic",
            "-Werror",
            "-o",
        ])
        .arg(&exe)
        .arg(dir.path().join("main.c"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = Command::new(&exe).output().unwrap();
    let got: Vec<u32> = String::from_utf8(run.stdout)
        .unwrap()
        .lines()
        .map(|l| u32::from_str_radix(l, 16).unwrap())
        .collect();
    let want: Vec<u32> = blob
        .item_factors
        .iter()
        .chain(&blob.gramian)
        .chain(&blob.item_c0)
        .map(|v| v.to_bits())
        .collect();
    assert_eq!(got, want);
}
